"""A dump record's own time (`raw/bootstrap.record_times`), parsed for a whole batch at once:
for any batch, each record's time is what parsing that record alone gives (a shipment with a
history: the latest of its entries, each parsed alone; else its status time)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from commercepulse.lib.timeparse import parse_times
from commercepulse.raw.bootstrap import record_times
from commercepulse.vendors.mapping import match_shape

TIMES = st.sampled_from(
    ["2023-03-04T23:44:39Z", "2023-03-05T13:44:39+01:00", "2023-03-08 04:44", "1678233600",
     1678233600, "not a time", None, "", "2023/03/09 10:00:00", "2023-03-07T13:44:39"]
)  # fmt: skip
UPDATES = st.lists(
    st.one_of(st.fixed_dictionaries({"status": st.just("IN_TRANSIT"), "time": TIMES}), st.just(7)),
    max_size=4,
)
SHIPMENT = st.fixed_dictionaries(
    {"orderRef": st.just("ORD-1"), "carrier": st.just("DHL"), "tracking": st.just("TRK-1"),
     "updates": UPDATES}
)  # fmt: skip


def alone(record: dict) -> pd.Timestamp:
    """The record's time parsed on its own (the oracle: one record, one parse per entry)."""
    updates = record["updates"]
    entries = [parse_times([u.get("time") if isinstance(u, dict) else None]).iloc[0]
               for u in updates]  # fmt: skip
    if updates:
        known = [t for t in entries if not pd.isna(t)]
        return max(known) if known else pd.NaT
    return pd.NaT  # this shape has no status time of its own


@given(st.lists(SHIPMENT, min_size=1, max_size=12))
def test_each_shipments_time_is_its_latest_entry_whatever_the_batch(records):
    shapes = [match_shape("shipments", r) for r in records]
    got = record_times("shipments", records, shapes)
    for record, value in zip(records, got):
        expected = alone(record)
        assert (pd.isna(value) and pd.isna(expected)) or value == expected
