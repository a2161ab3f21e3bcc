"""What analysts read: the published snapshot (DuckDB) or the dataset (BigQuery), one statement
at a time, streamed (`readers.py`), written as a table, CSV or JSON Lines (`output.py`); the KPI
reads of `commercepulse kpi` (`kpi_reads.py`)."""
