"""Daily data-quality reports."""
