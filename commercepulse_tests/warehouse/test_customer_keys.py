"""Pseudonymous customers (SPEC §5) on the data pack: every customer key is the keyed hash of
its source, computed here with hmac from the salt and the staged sources; the same person keeps
one key across vendors; personal data sits only in the tables that must hold it; a changed salt
is refused until a re-key, and a warehouse of plain keys is re-keyed on first use."""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pytest

from commercepulse.lib.customer_keys import load_or_create_salt
from commercepulse.warehouse.customer_rekey import (
    CustomerSaltChangedError,
    ensure_salt,
    recorded_fingerprint,
    rekey,
)
from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse

#: The tables that hold e-mails and phones by design: the customer dimension, the staged orders
#: it is built from, and the platform's own users (SPEC §9).
PERSONAL = {"dim_customer", "stg_orders", "silver_users", "bronze_users"}


def expected_key(salt: str, customer_id, email, phone) -> str | None:
    if isinstance(customer_id, str):
        source = f"id:{customer_id}"
    elif isinstance(email, str):
        source = f"email:{email.strip().lower()}"
    elif isinstance(phone, str):
        source = f"phone:{phone.strip()}"
    else:
        return None
    return "ck_" + hmac.new(salt.encode(), source.encode(), hashlib.sha256).hexdigest()[:20]


def test_customer_keys_are_keyed_hashes_and_facts_carry_no_personal_data(datapack_env):
    settings, _ = datapack_env
    salt = load_or_create_salt(settings.customer_key_salt_file)
    wh = DuckDBWarehouse(path=str(settings.warehouse_path))
    orders = wh.query(
        "SELECT vendor, order_id, customer_id, email, phone, customer_key FROM stg_orders"
    )
    want = [
        expected_key(salt, c, e, p)
        for c, e, p in zip(orders["customer_id"], orders["email"], orders["phone"], strict=True)
    ]
    got = [k if isinstance(k, str) else None for k in orders["customer_key"]]
    assert got == want
    assert sum(k is not None for k in got) > 1000
    # the same e-mail (with no customer id) at several vendors: one key
    by_email = orders[orders["customer_id"].isna() & orders["email"].notna()]
    shared = by_email.groupby("email").filter(lambda g: g["vendor"].nunique() > 1)
    assert len(shared)  # the pack has such customers (14 e-mails)
    assert shared.groupby("email")["customer_key"].nunique().max() == 1
    facts = wh.query("SELECT DISTINCT customer_key FROM fact_orders WHERE customer_key IS NOT NULL")
    assert set(facts["customer_key"]) <= {k for k in want if k}
    # no e-mail or phone of the pack outside the tables that must hold them
    emails = set(orders["email"].dropna()) | set(orders["phone"].dropna())
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
        ).fetchall()
        leaks = {}
        for table, column in columns:
            if table in PERSONAL:
                continue
            values = {
                v for (v,) in con.execute(f"SELECT DISTINCT {column} FROM {table}").fetchall()
            }
            hits = values & emails
            if hits:
                leaks[f"{table}.{column}"] = sorted(hits)[:3]
    assert leaks == {}


def test_plain_keys_are_rehashed_on_first_use_and_a_changed_salt_waits_for_a_rekey(
    datapack_warehouse_copy,
):
    """One copy of the world, two stories: a warehouse of an earlier version (plain keys, no salt
    recorded) is re-keyed on first use to exactly the keys of a fresh run; then a changed salt is
    refused until `rekey`, which moves every key one for one and leaves every figure."""
    settings, _ = datapack_warehouse_copy
    wh = DuckDBWarehouse(path=str(settings.warehouse_path))
    salt = load_or_create_salt(settings.customer_key_salt_file)
    hashed = wh.query("SELECT order_id, vendor, customer_key FROM fact_orders ORDER BY 1, 2")
    plain = "coalesce(s.customer_id, s.email, s.phone)"
    mapping = f"(SELECT DISTINCT customer_key, {plain} AS plain FROM stg_orders s) p"
    wh.execute(
        [
            ("DELETE FROM customer_key_salts", {}),
            (
                f"UPDATE fact_orders SET customer_key = p.plain FROM {mapping} "
                "WHERE fact_orders.customer_key = p.customer_key",
                {},
            ),
            (
                f"UPDATE dim_customer SET customer_key = p.plain FROM {mapping} "
                "WHERE dim_customer.customer_key = p.customer_key",
                {},
            ),
            (f"UPDATE stg_orders s SET customer_key = {plain}", {}),
        ]
    )
    assert recorded_fingerprint(wh) is None
    assert ensure_salt(wh, salt) > 0
    assert wh.query("SELECT order_id, vendor, customer_key FROM fact_orders ORDER BY 1, 2").equals(
        hashed
    )
    assert ensure_salt(wh, salt) == 0  # recorded now

    before = wh.table("kpi_retention")
    customers = wh.query("SELECT count(*) AS n FROM dim_customer").iloc[0, 0]
    with pytest.raises(CustomerSaltChangedError, match="rekey-customers"):
        ensure_salt(wh, "another secret")
    changed = rekey(wh, "another secret")
    assert changed == customers  # every key moved, one for one
    assert ensure_salt(wh, "another secret") == 0
    orders = wh.query("SELECT customer_id, email, phone, customer_key FROM stg_orders")
    assert [k if isinstance(k, str) else None for k in orders["customer_key"]] == [
        expected_key("another secret", c, e, p)
        for c, e, p in zip(orders["customer_id"], orders["email"], orders["phone"], strict=True)
    ]
    assert wh.query("SELECT count(*) FROM dim_customer").iloc[0, 0] == customers
    orphans = wh.query(
        "SELECT count(*) FROM fact_orders f WHERE customer_key IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM dim_customer d WHERE d.customer_key = f.customer_key)"
    ).iloc[0, 0]
    assert orphans == 0
    assert wh.table("kpi_retention").equals(before)


def test_the_salt_reaches_staging_as_an_env_var_and_no_run_records_it(env, tmp_path, capfd):
    """CUSTOMER_KEY_SALT is a secret like the MongoDB URI: the resource holds `dg.EnvVar` (the UI
    shows "Env var"), the keys are hashed under it, and no run config, event or log holds it."""
    import json
    import os

    import dagster as dg

    from commercepulse.defs.resources import project_settings
    from commercepulse_tests.harness import definitions, run_job

    secret = "salt-that-must-stay-secret-42"
    folder = tmp_path / "data" / "live_events" / "2025-01-15"
    folder.mkdir(parents=True)
    order = {
        "event_id": "o1",
        "event_type": "order_created",
        "event_time": "2025-01-15T10:00:00Z",
        "vendor": "vendor_b",
        "payload": {"order_id": "B-1", "buyerEmail": "Ada@Example.com",
                    "created_at": "2025-01-15T10:00:00Z", "currency": "NGN", "totalAmount": 100},
    }  # fmt: skip
    (folder / "events.jsonl").write_text(json.dumps(order) + "\n")
    settings = env.model_copy(update={"customer_key_salt": secret, "data_dir": tmp_path / "data"})
    os.environ["CUSTOMER_KEY_SALT"] = secret
    try:
        assert isinstance(project_settings(settings).customer_key_salt, dg.EnvVar)
        defs = definitions(settings)
        instance = dg.DagsterInstance.ephemeral()
        runs = [
            run_job(defs, "ingest_job", instance, "2025-01-15"),
            run_job(defs, "business_day_job", instance, "2025-01-15"),
        ]
    finally:
        del os.environ["CUSTOMER_KEY_SALT"]
    recorded = ""
    for result in runs:
        assert result.success
        recorded += json.dumps(instance.get_run_by_id(result.run_id).run_config, default=str)
        recorded += json.dumps([str(e) for e in instance.all_logs(result.run_id)], default=str)
    out, err = capfd.readouterr()
    assert secret not in recorded and secret not in out and secret not in err
    keys = DuckDBWarehouse(path=str(settings.warehouse_path)).query(
        "SELECT customer_key FROM fact_orders"
    )["customer_key"]
    assert keys.tolist() == [expected_key(secret, None, "ada@example.com", None)]
