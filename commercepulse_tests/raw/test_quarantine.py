"""Quarantine list / show / replay: lines rejected at landing are listed by reason, day and vendor,
land once their file is fixed (by replay or by landing the fixed file), never twice."""

from __future__ import annotations

import json
import subprocess
import sys

import dagster as dg

from commercepulse.checks.raw_rules import quarantine_open
from commercepulse.mongo.indexes import QUARANTINE, RAW
from commercepulse.raw.live import ingest_live
from commercepulse.raw.quarantine import records, replay, show, summary
from commercepulse_tests.harness import rule_inputs, settings_env

DAY = "2025-02-03"


def _event(n: int, vendor: str, **over) -> dict:
    return {
        "event_id": f"q-{n}",
        "event_type": "payment_succeeded",
        "event_time": f"{DAY}T0{n % 9}:00:00Z",
        "vendor": vendor,
        "ingested_at": f"{DAY}T10:00:00Z",
        "payload": {
            "orderRef": f"A-{n}",
            "paidAt": f"{DAY} 01:00",
            "status": "SUCCESS",
            "amount": 100 + n,
            "currency": "NGN",
            "txRef": f"tx{n}",
        },
    } | over


def _write(path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def test_quarantine_list_replay_and_fixed_file(db, env, tmp_path):
    path = env.data_dir / "live_events" / DAY / "events.jsonl"
    good = [json.dumps(_event(n, "vendor_a")) for n in range(1, 5)]
    truncated = json.dumps(_event(5, "vendor_b"))[:-7]  # line 5
    no_time = json.dumps(
        {k: v for k, v in _event(6, "vendor_b").items() if k != "event_time"}
    )  # line 6
    not_object = json.dumps([_event(7, "vendor_c")])  # line 7
    lines = good + [truncated, no_time, not_object]
    _write(path, lines)
    stats = ingest_live(db, [path])
    assert (stats.landed, stats.quarantined) == (4, 3)

    listed = records(db)
    assert [(r["line"], r["vendor"], r["reason_class"]) for r in listed] == [
        (5, "vendor_b", "invalid JSON"),
        (6, "vendor_b", "missing or unparseable event_time"),
        (7, "vendor_c", "not a JSON object but a list"),
    ]
    assert summary(records(db, vendor="vendor_b")) == [
        {"reason": "invalid JSON", "day": DAY, "vendor": "vendor_b", "lines": 1},
        {
            "reason": "missing or unparseable event_time",
            "day": DAY,
            "vendor": "vendor_b",
            "lines": 1,
        },
    ]
    assert records(db, reason="invalid JSON")[0]["line"] == 5
    assert show(db, f"live_events/{DAY}/events.jsonl:5")["raw_text"] == truncated
    assert open_records(db, env).figure == 3

    # nothing fixed yet: a replay lands nothing and changes nothing
    first = replay(db, env.data_dir)
    assert (first.replayed, first.landed, first.still_failing) == (3, 0, 3)
    assert db[RAW].count_documents({}) == 4

    # the vendor resends the truncated line whole: replay lands it, once, at its original line
    lines[4] = json.dumps(_event(5, "vendor_b"))
    _write(path, lines)
    fixed = replay(db, env.data_dir)
    assert (fixed.replayed, fixed.landed, fixed.already_landed, fixed.still_failing) == (3, 1, 0, 2)
    assert fixed.business_days == {DAY} and fixed.ingestion_days == {DAY}
    doc = db[RAW].find_one({"_id": "q-5"})
    assert (doc["source"]["file"], doc["source"]["line"], doc["seen_count"]) == (
        f"live_events/{DAY}/events.jsonl",
        5,
        1,
    )
    again = replay(db, env.data_dir)
    assert (again.replayed, again.landed, again.still_failing) == (2, 0, 2)
    assert db[RAW].count_documents({}) == 5 and open_records(db, env).figure == 2

    # the fixed file landed normally closes the record of its fixed line too; no line counts twice
    lines[5] = json.dumps(_event(6, "vendor_b"))
    _write(path, lines)
    ingest_live(db, [path])
    assert [r["line"] for r in records(db)] == [7]
    assert db[QUARANTINE].find_one({"line": 6})["resolution"] == "landed"
    assert db[QUARANTINE].find_one({"line": 5})["resolution"] == "replayed"
    assert db[RAW].count_documents({}) == 6
    assert sum(d["seen_count"] for d in db[RAW].find({}, {"seen_count": 1})) == 6
    assert open_records(db, env).details == {"by_reason": {"not a JSON object but a list": 1}}


def test_quarantine_cli_replay_tells_the_instance(db, env, tmp_path):
    path = env.data_dir / "live_events" / DAY / "events.jsonl"
    lines = [json.dumps(_event(1, "vendor_a")), json.dumps(_event(2, "vendor_a"))[:-3]]
    _write(path, lines)
    ingest_live(db, [path])
    home = tmp_path / "dagster_home"
    cli_env = settings_env(env) | {"DAGSTER_HOME": str(home), "DAGSTER_STORAGE": "sqlite"}
    cli = [sys.executable, "-m", "commercepulse.cli", "quarantine"]
    listed = json.loads(
        subprocess.run(
            cli + ["list", "--json"], capture_output=True, text=True, env=cli_env, check=True
        ).stdout
    )
    assert listed["counts"] == [
        {"reason": "invalid JSON", "day": DAY, "vendor": "vendor_a", "lines": 1}
    ]
    lines[1] = json.dumps(_event(2, "vendor_a"))
    _write(path, lines)
    out = json.loads(
        subprocess.run(
            cli + ["replay", "--json"], capture_output=True, text=True, env=cli_env, check=True
        ).stdout
    )
    assert (out["replayed"], out["landed"], out["still_failing"], out["instance_told"]) == (
        1,
        1,
        0,
        1,
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        record = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("events_raw"), asset_partitions=[DAY]),
            limit=1,
        ).records[0]
        assert record.asset_materialization.metadata["business_days"].value == [DAY]
    missing = subprocess.run(cli + ["show", "nope:1"], capture_output=True, text=True, env=cli_env)
    assert missing.returncode == 2 and "no quarantine record" in missing.stderr


def open_records(db, settings):
    """`quarantine_open` over every open record (the rule reads only the raw store)."""
    from datetime import date

    return quarantine_open(rule_inputs(db, None, settings), date.min, date.max)
