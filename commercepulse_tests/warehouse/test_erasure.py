"""Erasure on request, on a copy of the data-pack world: after `erase-customer`, the person's
e-mail and phone are nowhere in the raw store, the quarantine, the warehouse or the read
snapshots; their orders and every figure stay; a re-staging of their raw events gives the same
keys; the audit says what, when and why, never the data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import orjson
import pytest

from commercepulse.erasure import ERASURES, erase_customer
from commercepulse.errors import InputError
from commercepulse.lib.customer_keys import load_or_create_salt
from commercepulse.mongo.client import get_database
from commercepulse.mongo.indexes import QUARANTINE, RAW
from commercepulse.staging.stage import stage_window
from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse
from commercepulse.warehouse.snapshots import HELD, published, snapshot_info


def cells(path, read_only=True) -> str:
    """Every text cell of every table of a DuckDB file, lower-cased, as one string."""
    out = []
    with duckdb.connect(str(path), read_only=read_only) as con:
        for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
        ).fetchall():
            out += [
                str(v).lower() for (v,) in con.execute(f"SELECT {column} FROM {table}").fetchall()
            ]
    return "\n".join(out)


def test_erasure_removes_the_person_everywhere_and_keeps_the_figures(datapack_copy, tmp_path):
    settings, _ = datapack_copy
    wh = DuckDBWarehouse(path=str(settings.warehouse_path), snapshots_dir=str(tmp_path / "snaps"))
    db = get_database(settings.mongo_uri, settings.mongo_db)
    salt = load_or_create_salt(settings.customer_key_salt_file)
    for run in ("r1", "r2"):  # two snapshots published before the request
        wh.publish_snapshot(snapshot_info(wh.query(HELD), run, datetime.now(UTC), None))
    person = wh.query(
        "SELECT email, phone, list(vendor || '/' || order_id) AS orders FROM stg_orders "
        "WHERE email IS NOT NULL AND phone IS NOT NULL GROUP BY email, phone ORDER BY email LIMIT 1"
    ).iloc[0]
    email, phone, orders = person["email"], person["phone"], list(person["orders"])
    days = [
        d.date()
        for d in wh.query(
            "SELECT DISTINCT event_date FROM stg_orders WHERE email = $e", {"e": email}
        )["event_date"]
    ]
    # a quarantined line carrying them
    db[QUARANTINE].insert_one(
        {"_id": "probe", "file": "x.jsonl", "line": 1, "day": "2025-01-15", "reason": "invalid JSON",
         "raw_text": f"broken {{ {email.upper()} {phone}", "raw_bytes": f"{email} {phone}".encode()}
    )  # fmt: skip
    revenue, retention = wh.table("kpi_daily_revenue"), wh.table("kpi_retention")
    facts = wh.query("SELECT order_id, vendor, total_ngn, paid_ngn FROM fact_orders ORDER BY 1, 2")
    customers = wh.query("SELECT count(*) FROM dim_customer").iloc[0, 0]
    raw_before = [d for d in db[RAW].find() if email in orjson.dumps(d["payload"]).decode().lower()]
    assert raw_before

    with pytest.raises(InputError, match="exactly one"):
        erase_customer(db, wh, salt, "ticket", email=email, phone=phone)
    record = erase_customer(db, wh, salt, "DPA request #17", email=email.upper())

    for doc in db[RAW].find({}, {"payload": 1}):
        text = orjson.dumps(doc.get("payload")).decode().lower()
        assert email not in text and phone not in text, doc["_id"]
    probe = db[QUARANTINE].find_one({"_id": "probe"})
    assert email not in probe["raw_text"].lower() and phone not in probe["raw_text"]
    assert email.encode() not in bytes(probe["raw_bytes"])
    assert record["counts"]["raw_events"] >= len(raw_before)
    everything = cells(settings.warehouse_path, read_only=False)
    assert email not in everything and phone not in everything
    snapshots = published(tmp_path / "snaps")
    assert len(snapshots) == 1  # the older ones held the person: removed
    shown = cells(snapshots[0])
    assert email not in shown and phone not in shown
    # the orders and every figure stay
    assert wh.table("kpi_daily_revenue").equals(revenue)
    assert wh.table("kpi_retention").equals(retention)
    after = wh.query("SELECT order_id, vendor, total_ngn, paid_ngn FROM fact_orders ORDER BY 1, 2")
    assert after.equals(facts)
    assert wh.query("SELECT count(*) FROM dim_customer").iloc[0, 0] == customers
    keys = wh.query(
        "SELECT order_id, customer_key FROM fact_orders "
        "WHERE list_contains($o, vendor || '/' || order_id) ORDER BY 1",
        {"o": orders},
    )
    assert keys["customer_key"].str.startswith("ck_").all()
    # a re-staging of the erased raw events (their days) gives the same keys
    for day in days:
        stage_window(
            db, wh, day, day + timedelta(days=1), settings.data_dir, 24.0, customer_salt=salt
        )
    again = wh.query(
        "SELECT DISTINCT order_id, customer_key FROM stg_orders "
        "WHERE list_contains($o, vendor || '/' || order_id) "
        "ORDER BY 1",
        {"o": orders},
    )
    assert (
        again.drop_duplicates("order_id")["customer_key"].tolist() == keys["customer_key"].tolist()
    )
    # the audit: what, when and why, never the data
    audit = db[ERASURES].find_one({"_id": record["_id"]})
    assert audit["reason"] == "DPA request #17" and audit["identified_by"] == "email"
    assert email not in orjson.dumps(audit, default=str).decode().lower()


def test_raw_fields_are_erased_whatever_their_spelling(db):
    """A customer id sent as a number, an e-mail in other case and with spaces, each vendor's
    field name: all found and replaced; other fields and other people untouched."""
    from commercepulse.erasure import _erase_raw

    db[RAW].insert_many(
        [
            {"_id": "a", "payload": {"customerId": 12345, "buyerEmail": " Ada@Example.COM "}},
            {"_id": "b", "payload": {"customer": {"id": "C-9", "email": "ada@example.com"}}},
            {"_id": "c", "payload": {"cust_id": "123456", "email": "bob@example.com"}},
        ]
    )
    people = {"customer_id": {"12345"}, "email": {"ada@example.com"}, "phone": set()}
    assert _erase_raw(db, people, "erased:t") == 2
    assert db[RAW].find_one({"_id": "a"})["payload"] == {
        "customerId": "erased:t",
        "buyerEmail": "erased:t",
    }
    assert db[RAW].find_one({"_id": "b"})["payload"] == {
        "customer": {"id": "C-9", "email": "erased:t"}
    }
    assert db[RAW].find_one({"_id": "c"})["payload"]["email"] == "bob@example.com"
