"""The Dagster instance the CLI and the UI share: its folder (DAGSTER_HOME), its dagster.yaml and
the local PostgreSQL that stores its runs and events by default."""
