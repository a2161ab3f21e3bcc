"""The vendors' shapes (SPEC §2.3) as one table, and the extra shapes from mapping files."""
