"""MongoDB: the local server manager, the cached client and the index catalogue (the Dagster
resource that hands a database to the assets is defs/resources.py's MongoResource)."""
