"""CommercePulse data platform."""
