"""Data-quality rules (SPEC §7), Dagster-free: one implementation each in rules.py, their verdicts
per day and over the whole history in windows.py, vendor feed anomalies in anomalies.py. The
asset checks that run them are built in defs/checks.py; the daily reports read them too."""
