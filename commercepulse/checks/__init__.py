"""Asset checks (SPEC §7): rules in rules.py, their Dagster definitions in assets.py."""
