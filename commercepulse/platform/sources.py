"""Each platform source as data: its business key, its time field and its required fields.

Bronze parses only what these name (key and time, for indexing); Silver reads the rest.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    name: str  # source_system, also the folder DATA_DIR/platform/<name>/
    key: str  # the business key Silver deduplicates and versions by
    time_field: str  # the record's own time (validity start, status time, event time)
    required: tuple[str, ...]  # a record without one of these is quarantined


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("users", "user_id", "updated_at", ("user_id", "email", "updated_at")),
        Source("products", "product_id", "updated_at", ("product_id", "price", "updated_at")),
        Source("orders", "order_id", "status_ts", ("order_id", "status", "status_ts")),
        Source(
            "order_items",
            "order_id",
            "created_at",
            ("order_id", "product_id", "quantity", "unit_price", "created_at"),
        ),
        Source(
            "behaviour_events",
            "event_id",
            "event_ts",
            ("event_id", "session_id", "event_type", "event_ts", "device_type"),
        ),
    )
}
