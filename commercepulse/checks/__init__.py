"""Data-quality rules (SPEC §7), Dagster-free. Every rule takes `(inputs: RuleInputs, start, end)`
(`spec.py`) and returns an `Outcome` (`outcome.py`). One module per domain holds its rules and
ends with their catalogue rows: `raw_rules.py`, `fact_rules.py`, `revenue_rules.py`,
`platform_rules.py`, `anomalies.py`; `catalogue.py` lists every check once. Their verdicts per day
and over the whole history are in `windows.py`. The asset checks that run them are built in
`defs/asset_checks.py`; the daily reports read them too."""
