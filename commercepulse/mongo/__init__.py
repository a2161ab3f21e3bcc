"""MongoDB: the local server manager, the Dagster resource and the index catalogue."""
