"""A vendor onboarded by a mapping file: its events, unmapped until then, are re-staged by the
`restage_on_mapping_change` sensor and reach the facts."""
from __future__ import annotations

import json

import pytest

from commercepulse.errors import InputError
from commercepulse.generate.writers import write_fx
from commercepulse.mapping_files import shapes_for
from commercepulse_tests.harness import definitions, run_job, warehouse_of
from commercepulse_tests.test_automation import launch, run_requests

DAY = "2025-02-03"
VENDOR_D = {
    "vendor": "vendor_d",
    "shapes": [
        {"kind": "orders", "required": ["order_id", "order_time"],
         "fields": {"order_id": ["ref"], "order_time": ["placedAt"], "email": ["buyer.mail"], "total": ["sum"],
                    "currency": ["cur"], "items": ["lines"]},
         "item_fields": {"sku": ["code"], "qty": ["n"], "unit_price": ["each"]}},
        {"kind": "payments", "required": ["order_id", "paid_time", "amount"],
         "fields": {"order_id": ["ref"], "paid_time": ["at"], "status": ["state"], "amount": ["value"],
                    "currency": ["cur"], "transaction_ref": ["tx"]}},
    ],
}


def _event(event_id: str, event_type: str, vendor: str, payload: dict, hour: int) -> str:
    t = f"{DAY}T{hour:02d}:00:00Z"
    return json.dumps({"event_id": event_id, "event_type": event_type, "event_time": t, "vendor": vendor,
                       "ingested_at": t, "payload": payload})


def test_vendor_d_mapping_file_restages_its_unmapped_events_into_the_facts(env, instance):
    data = env.data_dir
    (data / "live_events" / DAY).mkdir(parents=True)
    write_fx(data, 2025)
    lines = [
        _event("a-1", "order_created", "vendor_a", {"orderRef": "A-1", "created": f"{DAY} 08:00", "total": 1000,
                                                    "currency": "NGN", "items": [{"sku": "SKU-0001", "qty": 1,
                                                                                   "price": 1000}]}, 8),
        _event("d-1", "order_created", "vendor_d", {"ref": "D-1", "placedAt": f"{DAY}T09:00:00Z", "sum": 5000,
                                                    "cur": "NGN", "buyer": {"mail": "d1@x.com"},
                                                    "lines": [{"code": "SKU-0002", "n": 2, "each": 2500}]}, 9),
        _event("d-2", "payment_succeeded", "vendor_d", {"ref": "D-1", "at": f"{DAY}T10:00:00Z", "state": "SUCCESS",
                                                        "value": 5000, "cur": "NGN", "tx": "TXD1"}, 10),
    ]
    (data / "live_events" / DAY / "events.jsonl").write_text("\n".join(lines) + "\n")
    defs = definitions(env)
    assert run_job(defs, "ingest_job", instance, DAY).success
    assert run_job(defs, "business_day_job", instance, DAY).success
    wh = warehouse_of(env)
    assert sorted(wh.table("stg_unmapped")["event_id"]) == ["d-1", "d-2"]
    assert "vendor_d" not in set(wh.table("fact_orders")["vendor"])

    requests, cursor = run_requests(defs, instance, "restage_on_mapping_change")
    assert requests == []  # first look: remembers the mappings as they are
    (data / "mappings").mkdir()
    (data / "mappings" / "vendor_d.json").write_text(json.dumps(VENDOR_D))
    requests, cursor = run_requests(defs, instance, "restage_on_mapping_change", cursor)
    assert [(r.job_name, r.partition_key) for r in requests] == [(None, DAY)]
    assert launch(defs, instance, requests[0], "business_day_job").success

    assert wh.table("stg_unmapped").empty
    order = wh.query("SELECT * FROM fact_orders WHERE vendor = 'vendor_d'").iloc[0]
    assert (order["order_id"], order["total"], order["paid_ngn"], order["item_count"]) == ("D-1", 5000.0, 5000.0, 1)
    items = wh.query("SELECT sku, qty, unit_price_ngn FROM stg_order_items WHERE vendor = 'vendor_d'")
    assert items.values.tolist() == [["SKU-0002", 2.0, 2500.0]]
    payment = wh.query("SELECT event_id, amount_ngn, transaction_ref FROM fact_payments WHERE vendor = 'vendor_d'")
    assert payment.values.tolist() == [["d-2", 5000.0, "TXD1"]]
    assert run_requests(defs, instance, "restage_on_mapping_change", cursor)[0] == []  # nothing changed since


def test_invalid_mapping_files_say_what_is_wrong(tmp_path):
    (tmp_path / "mappings").mkdir()
    bad = {"vendor": "vendor_d", "shapes": [{"kind": "orders", "fields": {"order_id": ["ref"], "colour": ["c"]},
                                             "required": ["order_id"]}]}
    (tmp_path / "mappings" / "d.json").write_text(json.dumps(bad))
    with pytest.raises(InputError, match="unknown field.*colour"):
        shapes_for(tmp_path)
    clash = {"vendor": "vendor_a", "shapes": [{"kind": "orders", "fields": {"order_id": ["x"], "order_time": ["t"]},
                                               "required": ["order_id", "order_time"]}]}
    (tmp_path / "mappings" / "d.json").write_text(json.dumps(clash))
    with pytest.raises(InputError, match="redefine built-in shapes"):
        shapes_for(tmp_path)
