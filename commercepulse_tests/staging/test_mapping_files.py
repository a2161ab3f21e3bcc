"""A vendor onboarded by a mapping file: its events, unmapped until then, are re-staged by the
`restage_on_mapping_change` sensor and reach the facts."""

from __future__ import annotations

import json
from dataclasses import dataclass

import dagster as dg
import pytest

from commercepulse.errors import InputError
from commercepulse.generate.writers import write_fx
from commercepulse.vendors.mapping_files import shapes_for
from commercepulse_tests.defs.test_automation import launch, run_requests
from commercepulse_tests.harness import definitions, run_job, warehouse_of

DAY = "2025-02-03"
VENDOR_D = {
    "vendor": "vendor_d",
    "shapes": [
        {
            "kind": "orders",
            "required": ["order_id", "order_time"],
            "fields": {
                "order_id": ["ref"],
                "order_time": ["placedAt"],
                "email": ["buyer.mail"],
                "total": ["sum"],
                "currency": ["cur"],
                "items": ["lines"],
            },
            "item_fields": {"sku": ["code"], "qty": ["n"], "unit_price": ["each"]},
        },
        {
            "kind": "payments",
            "required": ["order_id", "paid_time", "amount"],
            "fields": {
                "order_id": ["ref"],
                "paid_time": ["at"],
                "status": ["state"],
                "amount": ["value"],
                "currency": ["cur"],
                "transaction_ref": ["tx"],
            },
        },
    ],
}


@dataclass
class Evaluation:
    requests: list
    events: list
    cursor: str | None
    skip: bool


def _evaluate(defs, instance, cursor) -> Evaluation:
    """One tick of restage_on_mapping_change, as the daemon runs it."""
    with dg.build_sensor_context(
        instance=instance, definitions=defs, cursor=cursor, resources=defs.resources
    ) as context:  # the resources live as long as the tick, as in the daemon
        result = defs.get_sensor_def("restage_on_mapping_change")(context)
    if isinstance(result, dg.SkipReason) or result is None:
        return Evaluation([], [], context.cursor, True)
    return Evaluation(
        list(result.run_requests or []), list(result.asset_events or []), context.cursor, False
    )


def _event(event_id: str, event_type: str, vendor: str, payload: dict, hour: int) -> str:
    t = f"{DAY}T{hour:02d}:00:00Z"
    return json.dumps(
        {
            "event_id": event_id,
            "event_type": event_type,
            "event_time": t,
            "vendor": vendor,
            "ingested_at": t,
            "payload": payload,
        }
    )


def test_vendor_d_mapping_file_restages_its_unmapped_events_into_the_facts(env, instance):
    data = env.data_dir
    (data / "live_events" / DAY).mkdir(parents=True)
    write_fx(data, 2025)
    lines = [
        _event(
            "a-1",
            "order_created",
            "vendor_a",
            {
                "orderRef": "A-1",
                "created": f"{DAY} 08:00",
                "total": 1000,
                "currency": "NGN",
                "items": [{"sku": "SKU-0001", "qty": 1, "price": 1000}],
            },
            8,
        ),
        _event(
            "d-1",
            "order_created",
            "vendor_d",
            {
                "ref": "D-1",
                "placedAt": f"{DAY}T09:00:00Z",
                "sum": 5000,
                "cur": "NGN",
                "buyer": {"mail": "d1@x.com"},
                "lines": [{"code": "SKU-0002", "n": 2, "each": 2500}],
            },
            9,
        ),
        _event(
            "d-2",
            "payment_succeeded",
            "vendor_d",
            {
                "ref": "D-1",
                "at": f"{DAY}T10:00:00Z",
                "state": "SUCCESS",
                "value": 5000,
                "cur": "NGN",
                "tx": "TXD1",
            },
            10,
        ),
    ]
    (data / "live_events" / DAY / "events.jsonl").write_text("\n".join(lines) + "\n")
    defs = definitions(env)
    assert run_job(defs, "ingest_job", instance, DAY).success
    assert run_job(defs, "business_day_job", instance, DAY).success
    wh = warehouse_of(env)
    assert sorted(wh.table("stg_unmapped")["event_id"]) == ["d-1", "d-2"]
    assert "vendor_d" not in set(wh.table("fact_orders")["vendor"])

    first = _evaluate(defs, instance, None)
    assert (
        first.skip and first.cursor
    )  # first look: remembers the mappings as they are (never an empty cursor)
    (data / "mappings").mkdir()
    (data / "mappings" / "vendor_d.json").write_text(json.dumps(VENDOR_D))
    changed = _evaluate(defs, instance, first.cursor)
    # the unmapped events' landing is recorded again: the reconcile sensor rebuilds their business day
    assert [
        (e.asset_key.to_user_string(), e.partition, e.metadata["business_days"].value)
        for e in changed.events
    ] == [("events_raw", DAY, [DAY])]
    assert [(r.job_name, r.partition_key) for r in changed.requests] == [("feeds_job", DAY)]
    for event in changed.events:
        instance.report_runless_asset_event(event)
    rebuild, _ = run_requests(defs, instance, "reconcile_business_days")
    assert [r.partition_key for r in rebuild] == [DAY]
    assert launch(defs, instance, rebuild[0], "business_day_job").success
    assert launch(defs, instance, changed.requests[0]).success
    assert run_job(
        defs, "refresh_job", instance
    ).success  # the KPI refresh (automation's, as in test_automation)
    reports, _ = run_requests(defs, instance, "report_touched_days")
    assert [r.partition_key for r in reports] == [DAY]  # and the day's report is rewritten
    assert wh.table("stg_unmapped").empty
    order = wh.query("SELECT * FROM fact_orders WHERE vendor = 'vendor_d'").iloc[0]
    assert (order["order_id"], order["total"], order["paid_ngn"], order["item_count"]) == (
        "D-1",
        5000.0,
        5000.0,
        1,
    )
    items = wh.query(
        "SELECT sku, qty, unit_price_ngn FROM stg_order_items WHERE vendor = 'vendor_d'"
    )
    assert items.values.tolist() == [["SKU-0002", 2.0, 2500.0]]
    payment = wh.query(
        "SELECT event_id, amount_ngn, transaction_ref FROM fact_payments WHERE vendor = 'vendor_d'"
    )
    assert payment.values.tolist() == [["d-2", 5000.0, "TXD1"]]
    feed = wh.query(
        "SELECT orders, payments, unmapped FROM vendor_feed_daily WHERE vendor = 'vendor_d'"
    )
    assert feed.values.tolist() == [[1, 1, 0]]  # the feed figures follow the new mapping
    assert _evaluate(defs, instance, changed.cursor).skip  # nothing changed since


def test_invalid_mapping_files_say_what_is_wrong(tmp_path):
    (tmp_path / "mappings").mkdir()
    bad = {
        "vendor": "vendor_d",
        "shapes": [
            {
                "kind": "orders",
                "fields": {"order_id": ["ref"], "colour": ["c"]},
                "required": ["order_id"],
            }
        ],
    }
    (tmp_path / "mappings" / "d.json").write_text(json.dumps(bad))
    with pytest.raises(InputError, match="unknown field.*colour"):
        shapes_for(tmp_path)
    clash = {
        "vendor": "vendor_a",
        "shapes": [
            {
                "kind": "orders",
                "fields": {"order_id": ["x"], "order_time": ["t"]},
                "required": ["order_id", "order_time"],
            }
        ],
    }
    (tmp_path / "mappings" / "d.json").write_text(json.dumps(clash))
    with pytest.raises(InputError, match="redefine built-in shapes"):
        shapes_for(tmp_path)
