"""Generators (determinism, shape coverage) and staging on the data pack."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime

import pandas as pd

from commercepulse.generate.writers import write_bootstrap, write_live
from commercepulse.raw.bootstrap import ingest_bootstrap
from commercepulse.raw.live import ingest_live
from commercepulse.staging.extract import PROJECTION, extract_window, window_filter
from commercepulse.staging.fx import load_rates
from commercepulse.staging.normalize import normalize
from commercepulse.vendors.mapping import EVENT_KINDS, match_shape
from commercepulse_tests import independent as ind

ALL = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def shapes_of_live(lines: list[dict]) -> set:
    return {(e["event_type"], e["vendor"], tuple(sorted(e["payload"]))) for e in lines}


def shapes_of_dumps(folder) -> set:
    out = set()
    for path in sorted(folder.glob("*.json")):
        kind = path.name.split("_")[0]
        out |= {(kind, tuple(sorted(r))) for r in json.loads(path.read_text())}
    return out


def test_same_seed_same_bytes(tmp_path):
    a = write_live(tmp_path / "a", 3, date(2025, 2, 1), days=2, events=500)
    b = write_live(tmp_path / "b", 3, date(2025, 2, 1), days=2, events=500)
    alone = write_live(tmp_path / "c", 3, date(2025, 2, 2), days=1, events=500)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert a[1].read_bytes() == alone[0].read_bytes()  # a day alone == the same day inside a range
    x, y = write_bootstrap(tmp_path / "x", 9, 300), write_bootstrap(tmp_path / "y", 9, 300)
    assert [p.read_bytes() for p in x] == [p.read_bytes() for p in y]


def test_generator_covers_every_datapack_shape_and_no_other(tmp_path, datapack):
    lines = [
        json.loads(line)
        for p in write_live(
            tmp_path / "live", 1, date(2025, 1, 10), days=3, events=2000, drift_rate=0.3
        )
        for line in p.read_text().splitlines()
    ]
    generated = shapes_of_live(lines)
    assert shapes_of_live(ind.live_lines(datapack)) <= generated
    write_bootstrap(tmp_path, 1, 1200)
    assert shapes_of_dumps(datapack / "bootstrap") <= shapes_of_dumps(tmp_path / "bootstrap")
    for event in lines:  # nothing generated falls outside the mapping table
        assert match_shape(EVENT_KINDS[event["event_type"]], event["payload"]) is not None
    kinds = Counter(e["event_type"] for e in lines)
    assert set(kinds) == set(EVENT_KINDS) - {"payment_failed"}
    assert any(
        e["payload"]
        .get("order_id", e["payload"].get("orderRef", e["payload"].get("order", "")))
        .__str__()
        .startswith("ORD-UNKNOWN")
        for e in lines
    )
    assert {"USD", "NGN"} <= {
        e["payload"].get("currency") or e["payload"].get("currencyCode") or e["payload"].get("ccy")
        for e in lines
    }
    ids = Counter(e["event_id"] for e in lines)
    assert any(n > 1 for n in ids.values())
    late = [e for e in lines if (ind.when(e["ingested_at"]) - ind.when(e["event_time"])).days >= 1]
    assert 0.05 < len(late) / len(ids) < 0.2


def staged(db, datapack) -> dict[str, pd.DataFrame]:
    ingest_bootstrap(db, datapack / "bootstrap")
    ingest_live(db, [datapack / "live_events"])
    return normalize(extract_window(db, *ALL), load_rates(datapack))


def test_datapack_staging_matches_independent_counts(db, datapack):
    frames = staged(db, datapack)
    dump_pay = [ind.payment(r) for r in ind.load_dump(datapack, "payments")]
    live = list(ind.first_arrivals(datapack).values())
    live_pay = [ind.payment(e["payload"]) for e in live if e["event_type"] == "payment_succeeded"]
    by_status = Counter((p["vendor"], p["status"]) for p in dump_pay + live_pay)
    got = Counter(zip(frames["stg_payments"]["vendor"], frames["stg_payments"]["status"]))
    assert got == by_status
    # rows per frame = records of each kind; shipments explode into one row per status
    live_kinds = Counter(e["event_type"] for e in live)
    assert len(frames["stg_orders"]) == 1200 + live_kinds["order_created"]
    assert len(frames["stg_refunds"]) == 216 + live_kinds["refund_issued"]
    assert len(frames["stg_order_updates"]) == live_kinds["order_updated"]
    dump_history = sum(ind.history_length(r) for r in ind.load_dump(datapack, "shipments"))
    assert len(frames["stg_shipments"]) == dump_history + live_kinds["shipment_updated"]
    assert len(frames["stg_unmapped"]) == 0  # every drift variant of the live day mapped
    vendors = Counter(frames["stg_orders"]["vendor"])
    assert vendors == Counter(
        e["vendor"] for e in live if e["event_type"] == "order_created"
    ) + Counter({"vendor_a": 394, "vendor_b": 400, "vendor_c": 406})
    # 2023 successful payments in NGN with the FX file
    rates = ind.fx(datapack)
    expected = sum(
        ind.to_ngn(p["amount"], p["currency"], p["time"].date(), rates)
        for p in dump_pay
        if p["status"] == "SUCCESS" and p["time"].year == 2023
    )
    pay = frames["stg_payments"]
    got_total = pay.loc[
        (pay["status"] == "SUCCESS") & (pay["paid_time"].dt.year == 2023), "amount_ngn"
    ].sum()
    assert round(got_total, 2) == float(expected)
    partial = sum(1 for r in ind.load_dump(datapack, "refunds") if ind.refund(r)["items"]) + sum(
        1 for e in live if e["event_type"] == "refund_issued" and ind.refund(e["payload"])["items"]
    )
    assert int(frames["stg_refunds"]["lists_items"].sum()) == partial
    late = sum(
        1
        for e in live
        if (ind.when(e["ingested_at"]) - ind.when(e["event_time"])).total_seconds() > 86400
    )
    assert late == 200
    is_late = pd.concat(
        [
            frames[n][["event_id", "is_late"]]
            for n in (
                "stg_orders",
                "stg_payments",
                "stg_refunds",
                "stg_shipments",
                "stg_order_updates",
            )
        ]
    )
    assert is_late.drop_duplicates("event_id")["is_late"].sum() == 200


def test_usd_after_fx_table_uses_last_rate_and_says_so(db, datapack):
    frames = staged(db, datapack)
    usd = frames["stg_payments"].query("currency == 'USD' and paid_time.dt.year == 2025")
    assert len(usd) > 0
    last = max(ind.fx(datapack))
    assert (usd["fx_rate_date"] == pd.Timestamp(last)).all()
    assert (usd["fx_rate"] == ind.fx(datapack)[last]).all()
    # one half-even rounding per event, to the kobo, in decimal arithmetic (SPEC §4)
    exact = [float(ind.kobo(a, r)) for a, r in zip(usd["amount"], usd["fx_rate"], strict=True)]
    assert usd["amount_ngn"].tolist() == exact


def test_unknown_shape_and_type_land_in_unmapped(db, tmp_path):
    lines = [
        {
            "event_id": "u1",
            "event_type": "payment_succeeded",
            "event_time": "2025-01-15T10:00:00Z",
            "vendor": "vendor_z",
            "payload": {"ref": "O-1", "value": 10, "when": "soon"},
            "ingested_at": "2025-01-15T10:00:00Z",
        },
        {
            "event_id": "u2",
            "event_type": "loyalty_points",
            "event_time": "2025-01-15T11:00:00Z",
            "vendor": "vendor_a",
            "payload": {"points": 3},
            "ingested_at": "2025-01-15T11:00:00Z",
        },
    ]
    (tmp_path / "e.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    ingest_live(db, [tmp_path / "e.jsonl"])
    unmapped = normalize(extract_window(db, *ALL), load_rates(tmp_path))["stg_unmapped"].set_index(
        "event_id"
    )
    assert unmapped.loc["u1", "unknown_keys"] == "ref,value,when"
    assert "no payments shape" in unmapped.loc["u1", "reason"]
    assert (
        "loyalty_points" in unmapped.loc["u2", "reason"]
        and unmapped.loc["u2", "unknown_keys"] == "points"
    )


def test_resent_payment_counted_once_but_same_ref_on_other_order_kept(db, tmp_path):
    base = {
        "event_type": "payment_succeeded",
        "event_time": "2025-01-15T10:00:00Z",
        "vendor": "vendor_c",
        "ingested_at": "2025-01-15T10:05:00Z",
    }
    pay = {
        "order": "O-1",
        "timestamp": 1736935200,
        "state": "SUCCESS",
        "amt": 500,
        "ccy": "NGN",
        "txn": "TRX1",
    }
    lines = [
        {**base, "event_id": "p1", "payload": pay},
        {**base, "event_id": "p2", "payload": pay, "ingested_at": "2025-01-15T10:09:00Z"},
        {**base, "event_id": "p3", "payload": {**pay, "order": "O-2"}},
    ]
    (tmp_path / "e.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    ingest_live(db, [tmp_path / "e.jsonl"])
    pays = normalize(extract_window(db, *ALL), load_rates(tmp_path))["stg_payments"].set_index(
        "event_id"
    )
    assert pays["duplicate_of"].isna().to_dict() == {"p1": True, "p2": False, "p3": True}
    assert pays.loc["p2", "duplicate_of"] == "p1"


def test_window_extraction_uses_the_event_time_index(db, datapack):
    ingest_live(db, [datapack / "live_events"])
    start, end = (
        datetime(2025, 1, 14, tzinfo=UTC),
        datetime(2025, 1, 15, tzinfo=UTC),
    )
    plan = db["events_raw"].find(window_filter(start, end), PROJECTION).hint("event_time").explain()
    text = json.dumps(plan["queryPlanner"]["winningPlan"], default=str)
    assert "IXSCAN" in text and "COLLSCAN" not in text
    assert len(extract_window(db, start, end)) == 86  # independently: 86 events dated 2025-01-14


def test_usd_payment_with_an_unparseable_time_is_unmapped_not_a_crash(db, tmp_path):
    """A USD amount is converted at its own day's rate; a payment whose own time is garbage has no
    day, so it goes to stg_unmapped (SPEC: unparseable = unmapped) instead of failing the whole
    staging window in the FX join (it did: merge_asof on a null day)."""
    (tmp_path / "fx_rates_2025.csv").write_text("date,USDNGN\n2025-01-14,1500.0\n")
    base = {
        "event_type": "payment_succeeded",
        "event_time": "2025-01-15T10:00:00Z",
        "vendor": "vendor_c",
        "ingested_at": "2025-01-15T10:05:00Z",
    }
    pay = {"order": "O-1", "timestamp": 1736935200, "state": "SUCCESS", "amt": 2, "ccy": "USD"}
    lines = [
        {**base, "event_id": "good", "payload": {**pay, "txn": "T1"}},
        {**base, "event_id": "bad", "payload": {**pay, "txn": "T2", "timestamp": "yesterday"}},
    ]
    (tmp_path / "e.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    ingest_live(db, [tmp_path / "e.jsonl"])
    frames = normalize(extract_window(db, *ALL), load_rates(tmp_path))
    pays = frames["stg_payments"].set_index("event_id")
    assert list(pays.index) == ["good"]
    assert pays.loc["good", "amount_ngn"] == 3000.0
    unmapped = frames["stg_unmapped"].set_index("event_id")
    assert unmapped.loc["bad", "reason"] == "unparseable paid_time"
