"""Raw landing (SPEC §3) on a real mongod."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date

import pandas as pd
import pytest

from commercepulse.mongo.indexes import QUARANTINE, RAW
from commercepulse.raw.bootstrap import ingest_bootstrap
from commercepulse.raw.live import ingest_live
from commercepulse_tests.harness import settings_env
from commercepulse_tests.independent import first_arrivals, live_lines, load_dump

AUDIT = {"seen_count", "last_seen_at", "first_seen_at", "sightings", "ingested_at"}


def snapshot(db, drop_audit=True) -> dict:
    docs = {}
    for doc in db[RAW].find({}):
        docs[doc["_id"]] = {k: v for k, v in doc.items() if not (drop_audit and k in AUDIT)}
    return docs


def test_datapack_bootstrap_counts_and_idempotence(db, datapack):
    expected = {
        kind: len(load_dump(datapack, kind))
        for kind in ("orders", "payments", "refunds", "shipments")
    }
    stats, per_kind = ingest_bootstrap(db, datapack / "bootstrap")
    assert (
        per_kind == expected == {"orders": 1200, "payments": 1104, "refunds": 216, "shipments": 960}
    )
    assert stats.landed == sum(expected.values()) and stats.quarantined == 0
    by_type = Counter(d["event_type"] for d in db[RAW].find({}, {"event_type": 1}))
    assert by_type == {
        "order_created": 1200,
        "payment_succeeded": 1104,
        "refund_issued": 216,
        "shipment_updated": 960,
    }
    assert db[RAW].count_documents({"vendor": "unknown"}) == 0
    before = snapshot(db, drop_audit=False)
    again, _ = ingest_bootstrap(db, datapack / "bootstrap")
    assert (again.landed, again.duplicates) == (0, 3480)
    assert snapshot(db, drop_audit=False).keys() == before.keys()
    assert {
        k: {f: v for f, v in d.items() if f != "last_seen_at"}
        for k, d in snapshot(db, False).items()
    } == {k: {f: v for f, v in d.items() if f != "last_seen_at"} for k, d in before.items()}


def test_bootstrap_ids_identical_across_processes(db, datapack, env):
    ingest_bootstrap(db, datapack / "bootstrap")
    ids = sorted(d["_id"] for d in db[RAW].find({}, {"_id": 1}))
    code = (
        "import json,sys; from pathlib import Path; from commercepulse.raw.bootstrap import _records, "
        "bootstrap_event_id, dump_files, DUMP_FILE\n"
        "out=[]\nfor p in dump_files(Path(sys.argv[1])):\n"
        "  kind=DUMP_FILE.match(p.name).group(1)\n"
        "  out += [bootstrap_event_id(kind, r) for _, r in _records(p)]\n"
        "print(json.dumps(sorted(out)))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code, str(datapack / "bootstrap")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    assert json.loads(other.stdout) == ids
    assert len(set(ids)) == 3480


def test_datapack_live_day(db, datapack):
    lines = live_lines(datapack)
    distinct = first_arrivals(datapack)
    stats = ingest_live(db, [datapack / "live_events/2025-01-15"])
    assert stats.lines_read == len(lines) == 2106
    assert (
        (stats.landed, stats.duplicates, stats.quarantined)
        == (len(distinct), 106, 0)
        == (2000, 106, 0)
    )
    repeats = Counter(e["event_id"] for e in lines)
    stored = {d["_id"]: d["seen_count"] for d in db[RAW].find({}, {"seen_count": 1})}
    assert stored == dict(repeats)
    # first arrival kept: the ingested_at of the first line of each id
    first = {d["_id"]: d["ingested_at"] for d in db[RAW].find({}, {"ingested_at": 1})}
    for event_id, event in list(distinct.items())[:200]:
        assert first[event_id].strftime("%Y-%m-%dT%H:%M:%SZ") == event["ingested_at"]
    before = snapshot(db)
    seen_before = {d["_id"]: d["seen_count"] for d in db[RAW].find({}, {"seen_count": 1})}
    again = ingest_live(db, [datapack / "live_events"])
    assert (again.landed, again.duplicates) == (0, 2106)
    assert snapshot(db) == before
    assert {d["_id"]: d["seen_count"] for d in db[RAW].find({}, {"seen_count": 1})} == seen_before


def test_malformed_lines_quarantined_never_raised(db, tmp_path):
    good = {
        "event_id": "e1",
        "event_type": "order_created",
        "event_time": "2025-01-15T10:00:00Z",
        "vendor": "vendor_a",
        "payload": {"orderRef": "O1"},
        "ingested_at": "2025-01-15T10:01:00Z",
    }
    day = tmp_path / "2025-01-15"
    day.mkdir()
    lines = [
        b"\xef\xbb\xbf" + json.dumps(good).encode(),  # BOM on the first line
        json.dumps({**good, "event_id": "e2"}).encode() + b"\r",  # CRLF
        b"",  # blank
        b"   ",  # blank (spaces)
        b'{"event_id": "e3", "event_type": "order_cr',  # truncated JSON
        b"[1, 2, 3]",  # array
        b"42",  # number
        json.dumps({k: v for k, v in good.items() if k != "event_id"}).encode(),  # no event_id
        json.dumps({**good, "event_id": "e4", "event_type": None}).encode(),  # no event_type
        b'{"event_id": "e5", "event_type": "x", "payload": "\xff\xfe"}',  # invalid UTF-8
        json.dumps({**good, "event_id": "e6", "event_time": "yesterday"}).encode(),  # bad time
        json.dumps(
            {**good, "event_id": "e7", "event_type": "loyalty_points_added"}
        ).encode(),  # future type
    ]
    (day / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    stats = ingest_live(db, [day])
    assert stats.blank_lines == 2
    assert stats.lines_read == 10 == stats.landed + stats.duplicates + stats.quarantined
    assert (stats.landed, stats.quarantined) == (3, 7)
    assert sorted(d["_id"] for d in db[RAW].find()) == ["e1", "e2", "e7"]
    reasons = {d["line"]: d["reason"] for d in db[QUARANTINE].find()}
    assert sorted(reasons) == [5, 6, 7, 8, 9, 10, 11]
    assert reasons[5].startswith("invalid JSON") and "list" in reasons[6] and "int" in reasons[7]
    assert "event_id" in reasons[8] and "event_type" in reasons[9] and "UTF-8" in reasons[10]
    assert "event_time" in reasons[11]
    assert db[QUARANTINE].find_one({"line": 10})["raw_bytes"].endswith(b'"\xff\xfe"}')
    again = ingest_live(db, [day])  # quarantine is idempotent too
    assert again.quarantined == 7 and db[QUARANTINE].count_documents({}) == 7


def test_payload_round_trip(db, tmp_path):
    payload = {
        "a.b": 1,
        "$weird": {"x.y": "z"},
        "uni": "Lagos — Ìbàdàn ✓ 日本",
        "deep": {"l1": {"l2": {"l3": [1, {"l4": None}]}}},
        "big": 9_007_199_254_740_993,
        "neg": -(2**63),
        "max": 2**63 - 1,
        "f": 0.1,
    }
    event = {
        "event_id": "rt1",
        "event_type": "order_created",
        "event_time": "2025-01-15T10:00:00Z",
        "vendor": "vendor_a",
        "payload": payload,
        "ingested_at": "2025-01-15T10:00:00Z",
    }
    wide = {
        **event,
        "event_id": "rt2",
        "payload": {"n": 2**64 - 1, "m": -(10**30), "s": "12345678901234567890"},
    }
    path = tmp_path / "events.jsonl"
    path.write_text(
        json.dumps(event, ensure_ascii=False) + "\n" + json.dumps(wide) + "\n", encoding="utf-8"
    )
    stats = ingest_live(db, [path])
    assert (stats.landed, stats.quarantined) == (2, 0)
    assert db[RAW].find_one({"_id": "rt1"})["payload"] == payload
    # integers wider than 64 bits keep every digit (Decimal128), never a rounded float
    stored = db[RAW].find_one({"_id": "rt2"})["payload"]
    assert (str(stored["n"]), str(stored["m"]), stored["s"]) == (
        str(2**64 - 1),
        str(-(10**30)),
        "12345678901234567890",
    )
    # rt2 fits no shape: staged unmapped, its payload's JSON keeps every digit (as text)
    from datetime import UTC, datetime

    from commercepulse.staging.extract import extract_window
    from commercepulse.staging.feed_tags import NO_RATES
    from commercepulse.staging.normalize import normalize

    events = extract_window(db, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    unmapped = normalize(events, NO_RATES)["stg_unmapped"].set_index("event_id")
    assert json.loads(unmapped.loc["rt2", "payload"]) == {
        "m": str(-(10**30)),
        "n": str(2**64 - 1),
        "s": "12345678901234567890",
    }


@pytest.mark.slow
def test_sigkill_half_way_then_rerun_lands_exactly_the_distinct_set(db, env, tmp_path):
    from datetime import date

    from commercepulse.generate.writers import write_live

    [path] = write_live(tmp_path / "live", seed=5, start=date(2025, 3, 1), days=1, events=60_000)
    distinct = {json.loads(line)["event_id"] for line in path.read_text().splitlines()}
    cmd = [sys.executable, "-m", "commercepulse.cli", "ingest", "live", str(path), "--json"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=settings_env(env)
    )
    deadline = time.monotonic() + 60
    while db[RAW].estimated_document_count() < 5000 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial, previous = db[RAW].count_documents({}), -1
    while partial != previous:  # the server finishes the batch already in flight
        time.sleep(0.5)
        partial, previous = db[RAW].count_documents({}), partial
    assert 0 < partial < len(distinct), "the kill must land half-way"
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=settings_env(env))
    counts = json.loads(out.stdout)
    assert counts["landed"] == len(distinct) - partial
    assert db[RAW].count_documents({}) == len(distinct)
    assert {d["_id"] for d in db[RAW].find({}, {"_id": 1})} == distinct
    total_lines = len(path.read_text().splitlines())
    assert sum(d["seen_count"] for d in db[RAW].find({}, {"seen_count": 1})) == total_lines


def test_cli_user_errors_are_messages_not_tracebacks(env, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "commercepulse.cli", "ingest", "live", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        env=settings_env(env),
    )
    assert out.returncode == 2 and "does not exist" in out.stderr and "Traceback" not in out.stderr


def test_cli_ingest_live_lands_untagged_and_the_feed_counts_its_days(db, env, tmp_path):
    """`commercepulse ingest live` (the bulk path) lands without feed tags, keeping its rate; the
    vendor feed classifies those days itself and counts them as it counts tagged ones."""
    from commercepulse.generate.writers import write_fx, write_live
    from commercepulse.staging.feed import feed_figures
    from commercepulse.staging.feed_tags import FeedTagger
    from commercepulse.staging.fx import load_rates

    [path] = write_live(tmp_path / "live", seed=6, start=date(2025, 6, 1), days=1, events=300)
    out = subprocess.run(
        [sys.executable, "-m", "commercepulse.cli", "ingest", "live", str(path), "--json"],
        capture_output=True,
        text=True,
        env=settings_env(env),
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["landed"] == db[RAW].count_documents({}) > 0
    assert db[RAW].count_documents({"feed": {"$exists": True}}) == 0
    write_fx(tmp_path, 2025)
    tagger = FeedTagger(str(tmp_path))
    day, end = date(2025, 6, 1), date(2025, 6, 2)
    untagged = feed_figures(db, day, end, load_rates(tmp_path), 24.0, tags=tagger.version)
    from commercepulse.mongo.client import get_database

    tagged_db = get_database(env.mongo_uri, f"{db.name}_tagged")
    try:
        ingest_live(tagged_db, [path], tagger=tagger)
        assert tagged_db[RAW].count_documents({"feed.by": tagger.version}) > 0
        tagged = feed_figures(tagged_db, day, end, load_rates(tmp_path), 24.0, tags=tagger.version)
        pd.testing.assert_frame_equal(untagged, tagged)
    finally:
        db.client.drop_database(tagged_db.name)


def test_landing_commands_print_every_count_to_a_file_and_exit_zero(db, env, tmp_path):
    """The landing commands end with `os._exit` (skipping pymongo's slow exit handler): their
    counts must still reach a redirected stdout whole, and the exit code stay 0."""
    from commercepulse.generate.writers import write_bootstrap, write_live

    [path] = write_live(tmp_path / "live", seed=8, start=date(2025, 6, 1), days=1, events=200)
    write_bootstrap(tmp_path, seed=8, orders=50)
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    for args, lines_read in (
        (["ingest", "live", str(path)], len(lines)),
        (["ingest", "bootstrap", str(tmp_path / "bootstrap")], None),
    ):
        before = db[RAW].count_documents({})
        out_file = tmp_path / "out.txt"
        with out_file.open("w") as out:
            done = subprocess.run(
                [sys.executable, "-m", "commercepulse.cli", *args],
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
                env=settings_env(env),
            )
        assert done.returncode == 0, done.stderr
        counts = dict(pair.split("=") for pair in out_file.read_text().split())
        assert out_file.read_text().endswith("\n")
        assert int(counts["landed"]) == db[RAW].count_documents({}) - before > 0
        if lines_read is not None:
            assert int(counts["lines_read"]) == lines_read


def test_files_landed_by_worker_processes_store_what_one_process_stores(db, env, tmp_path):
    """Three days landed by two processes (parts finishing in any order) store the same documents,
    sightings and counts as the same files landed one after another, and report each file once."""
    from commercepulse.generate.writers import write_live
    from commercepulse.mongo.client import get_database
    from commercepulse.raw.live import ingest_live_parallel
    from commercepulse.staging.feed_tags import FeedTagger

    paths = write_live(tmp_path / "live", seed=4, start=date(2025, 6, 1), days=3, events=400)
    lines = sum(len(p.read_bytes().splitlines()) for p in paths)
    reported: dict[str, int] = {}
    tagger = FeedTagger(str(tmp_path))  # pickled to the workers
    stats = ingest_live_parallel(
        env.mongo_uri,
        db.name,
        paths,
        2,
        on_file=lambda path, s: reported.__setitem__(path.parent.name, s.lines_read),
        tagger=tagger,
    )
    serial_db = get_database(env.mongo_uri, f"{db.name}_serial")
    try:
        serial = ingest_live(serial_db, paths, tagger=tagger)
        assert stats.as_dict() == serial.as_dict() and stats.lines_read == lines
        assert reported == {p.parent.name: len(p.read_bytes().splitlines()) for p in paths}
        assert db[RAW].count_documents({"feed.by": tagger.version}) == stats.landed
        fields = {"_id": 1, "source": 1, "seen_count": 1, "sightings": 1, "payload": 1, "feed": 1}
        assert list(db[RAW].find({}, fields).sort("_id")) == list(
            serial_db[RAW].find({}, fields).sort("_id")
        )
    finally:
        serial_db.client.drop_database(serial_db.name)


def test_a_failing_tagger_never_stops_an_event_from_landing(db, tmp_path):
    """A tag is derived: when tagging fails, the events land untagged (the vendor feed then
    classifies their day itself), nothing is quarantined or lost."""

    def broken(envelopes: list[dict]) -> list[dict]:
        raise RuntimeError("tagger bug")

    path = tmp_path / "events.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(
                {
                    "event_id": f"t{n}",
                    "event_type": "order_created",
                    "event_time": "2025-01-15T10:00:00Z",
                    "vendor": "vendor_a",
                    "payload": {},
                }
            )
            for n in range(3)
        )
        + "\n"
    )
    stats = ingest_live(db, [path], tagger=broken)
    assert (stats.landed, stats.quarantined) == (3, 0)
    assert db[RAW].count_documents({"feed": {"$exists": True}}) == 0


def _day_file(tmp_path, events: int):
    path = tmp_path / "2025-01-15" / "events.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(
            json.dumps(
                {
                    "event_id": f"s{n}",
                    "event_type": "order_created",
                    "event_time": "2025-01-15T10:00:00+01:00",
                    "vendor": "vendor_a",
                    "payload": {"order_id": f"o{n}"},
                }
            )
            + "\n"
            for n in range(events)
        )
    )
    return path


def test_two_ingestions_of_one_file_in_the_same_millisecond_count_each_event_once(db, tmp_path):
    """Two processes that start at once may take the same landing time to the millisecond; the
    second must still count the file's events as repeats, not as its own retried writes."""
    from commercepulse.lib.days import utc_now
    from commercepulse.raw.landing import land_all
    from commercepulse.raw.live import file_items

    path = _day_file(tmp_path, 50)
    now = utc_now()
    first = land_all(db, file_items(path, now), now)
    second = land_all(db, file_items(path, now), now)
    assert (first.landed, first.duplicates) == (50, 0)
    assert (second.landed, second.duplicates) == (0, 50)
    assert db[RAW].count_documents({}) == 50
    assert db[RAW].count_documents({"seen_count": 1}) == 50  # the same line, read twice


def test_a_batch_sent_again_after_a_lost_reply_counts_its_own_writes_as_landed(
    db, tmp_path, monkeypatch
):
    """The server writes the batch, then the connection drops before the reply: the retry sees
    the batch's ids as duplicates; they are this ingestion's own writes, landed once."""
    from pymongo.collection import Collection
    from pymongo.errors import AutoReconnect

    from commercepulse.raw.landing import retries

    insert_many = Collection.insert_many
    lost = []

    def write_then_drop(self, documents, *args, **kwargs):
        result = insert_many(self, documents, *args, **kwargs)
        if not lost:
            lost.append(len(documents))
            raise AutoReconnect("reply lost")
        return result

    monkeypatch.setattr(Collection, "insert_many", write_then_drop)
    monkeypatch.setattr(retries, "RETRY_DELAYS", (0.0,))
    stats = ingest_live(db, [_day_file(tmp_path, 40)])
    assert lost == [40]
    assert (stats.landed, stats.duplicates, stats.quarantined) == (40, 0, 0)
    assert db[RAW].count_documents({"seen_count": 1}) == 40
