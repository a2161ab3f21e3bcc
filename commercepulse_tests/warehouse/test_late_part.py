"""The part of a provisional day's net revenue still expected from late data
(`warehouse/late_part.py`), on a vendor whose days arrive in a known pattern: of each day's
payments, three in four arrive within the day and one 30 hours after it ends."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse
from commercepulse.warehouse.late_part import expected_late
from commercepulse.warehouse.schema import ALL_TABLES

DAY = date(2031, 6, 20)  # the provisional day
AMOUNTS = (100.0, 250.0, 50.0, 400.0)  # the last one of each day arrives 30 h after it


def payments(day: date, arrived_by: datetime | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One day's four payments: fact rows and their staged events (those arrived by then)."""
    start = datetime(day.year, day.month, day.day)
    rows = []
    for k, amount in enumerate(AMOUNTS):
        paid = start + timedelta(hours=2 + 5 * k)
        arrival = paid + timedelta(minutes=20) if k < 3 else start + timedelta(hours=24 + 30)
        if arrived_by is None or arrival <= arrived_by:
            rows.append((f"{day}-{k}", paid, arrival, amount))
    ids, paid_at, arrivals, amounts = zip(*rows, strict=True)
    facts = pd.DataFrame(
        {
            "event_id": ids,
            "event_date": day,
            "paid_date": day,
            "paid_time": paid_at,
            "vendor": "vendor_a",
            "order_id": ids,
            "status": "SUCCESS",
            "amount": amounts,
            "currency": "NGN",
            "amount_ngn": amounts,
            "event_ids": ids,
            "run_id": "test",
        }
    )
    staged = facts[["event_id", "vendor", "order_id", "status", "amount", "currency", "amount_ngn"]]
    staged = staged.assign(
        event_time=list(paid_at),
        paid_time=list(paid_at),
        event_date=day,
        ingested_at=pd.to_datetime(list(arrivals)).tz_localize("UTC"),
        is_late=False,
        source_kind="live",
    )
    return facts, staged


@pytest.mark.parametrize("age_hours", [6, 40])
def test_a_provisional_day_expects_what_its_vendors_days_usually_still_get(tmp_path, age_hours):
    wh = DuckDBWarehouse(path=str(tmp_path / "late.duckdb"))
    watermark = datetime(DAY.year, DAY.month, DAY.day) + timedelta(days=1, hours=age_hours)
    frames = [payments(DAY - timedelta(days=k)) for k in range(1, 15)]
    frames.append(payments(DAY, arrived_by=watermark))
    wh.replace_table(
        "fact_payments",
        pd.concat([f for f, _ in frames]).reindex(columns=ALL_TABLES["fact_payments"].names),
    )
    wh.replace_table(
        "stg_payments",
        pd.concat([s for _, s in frames]).reindex(columns=ALL_TABLES["stg_payments"].names),
    )
    lateness = pd.DataFrame(
        {
            "vendor": ["vendor_a"],
            "watermark": [pd.Timestamp(watermark, tz="UTC")],
            "final_through": [pd.Timestamp(DAY - timedelta(days=1))],
        }
    ).reindex(columns=ALL_TABLES["kpi_vendor_lateness"].names)
    wh.replace_table("kpi_vendor_lateness", lateness)

    (part,) = expected_late(wh, DAY)
    if age_hours < 30:  # three in four of the NGN of a day are in by then: the fourth is expected
        arrived = sum(AMOUNTS[:3])
        assert part.completeness["gross"] == pytest.approx(arrived / sum(AMOUNTS))
        assert part.so_far["gross"] == arrived
        assert part.late_net == pytest.approx(AMOUNTS[3])
    else:  # everything usually in by then, and it is
        assert part.completeness["gross"] == 1.0 and part.late_net == 0.0
    assert part.age_hours == pytest.approx(age_hours)
    # a final day expects nothing
    assert expected_late(wh, DAY - timedelta(days=1)) == []
