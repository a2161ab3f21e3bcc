"""A table spec: columns with types and descriptions, key, partition column, upstream tables; and the columns
several tables share (the event envelope, the FX columns, the audit columns)."""

from __future__ import annotations

from dataclasses import dataclass

PANDAS_DTYPES = {
    "STRING": "string",
    "INT64": "Int64",
    "FLOAT64": "float64",
    # exact in the warehouse (DECIMAL/NUMERIC), each value the double nearest it in frames
    "MONEY": "float64",
    "DECIMAL6": "float64",
    "BOOL": "boolean",
    "TIMESTAMP": "datetime64[ns, UTC]",
    "DATE": "datetime64[ns]",
}


@dataclass(frozen=True)
class Col:
    name: str
    type: str
    description: str = ""
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ()
    partition_col: str | None = None  # the column a partition window replaces
    cluster: tuple[str, ...] = ()
    partition_by: str | None = None  # BigQuery DAY partitioning when it differs from partition_col
    #: the tables its rows are built from (its asset's dependencies, the lineage in the UI)
    upstream: tuple[str, ...] = ()

    @property
    def time_partition(self) -> str | None:
        """The DATE/TIMESTAMP column BigQuery partitions the table by (None = unpartitioned)."""
        return self.partition_by or self.partition_col

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)


def C(name: str, type_: str, description: str = "", nullable: bool = True) -> Col:
    return Col(name, type_, description, nullable)


ENVELOPE = (
    C("event_id", "STRING", "raw MongoDB events_raw _id this row came from", False),
    C("vendor", "STRING", "vendor_a|vendor_b|vendor_c (inferred from shape for dumps)", False),
    C("order_id", "STRING", "order reference as sent by the vendor"),
    C("event_time", "TIMESTAMP", "envelope event time (UTC)", False),
    C("event_date", "DATE", "UTC day of event_time: the partition", False),
    C("ingested_at", "TIMESTAMP", "when the event was ingested", False),
    C("is_late", "BOOL", "ingested_at - event_time > LATE_THRESHOLD_HOURS (live only)", False),
    C("source_kind", "STRING", "live or bootstrap", False),
)
FX = (
    C("fx_rate", "DECIMAL6", "USDNGN rate used (1 for NGN)"),
    C("fx_rate_date", "DATE", "date of the FX rate used (as-of rule)"),
)


AUDIT = (
    C("event_ids", "STRING", "comma-separated raw event ids this row came from", False),
    C("run_id", "STRING", "Dagster run that wrote the row", False),
)
