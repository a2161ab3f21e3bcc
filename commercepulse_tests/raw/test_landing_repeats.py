"""Repeated lines, shares and batches: the landing stores the same events whichever worker, batch
or file order a line meets (the writer skips the insert of a repeat it knows; files are shared
out among workers by event id). The oracle is computed from the lines themselves."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commercepulse.mongo.indexes import QUARANTINE, RAW
from commercepulse.raw.landing import land_all
from commercepulse.raw.live import file_items, ingest_live, ingest_live_parallel, line_share

DAYS = ["2025-06-01", "2025-06-02", "2025-06-03"]

line_st = st.one_of(
    # (kind, event number, file index): most lines are events of a small pool, so repeats abound
    st.tuples(st.just("event"), st.integers(0, 12), st.integers(0, 2)),
    st.tuples(st.just("no_time"), st.integers(0, 12), st.integers(0, 2)),
    st.tuples(st.just("not_json"), st.just(0), st.integers(0, 2)),
    st.tuples(st.just("blank"), st.just(0), st.integers(0, 2)),
)


def _write_files(folder: Path, lines: list[tuple[str, int, int]]) -> list[Path]:
    """One events.jsonl per day folder; each event line carries its copy number in its payload."""
    texts: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for copy, (kind, number, file) in enumerate(lines):
        base = datetime(2025, 6, 1, 9, tzinfo=UTC) + timedelta(hours=number)
        if kind == "event":
            texts[file].append(
                json.dumps(
                    {
                        "event_id": f"E{number}",
                        "event_type": "order_created",
                        "event_time": base.isoformat(),
                        "ingested_at": (base + timedelta(minutes=copy)).isoformat(),
                        "vendor": "vendor_a",
                        "payload": {"copy": copy},
                    }
                )
            )
        elif kind == "no_time":
            texts[file].append(json.dumps({"event_id": f"E{number}", "event_type": "x"}))
        elif kind == "not_json":
            texts[file].append("{not json")
        else:
            texts[file].append("   ")
    paths = []
    for file, rows in texts.items():
        if rows:
            path = folder / DAYS[file] / "events.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(rows) + "\n")
            paths.append(path)
    return paths


def _oracle(paths: list[Path]) -> tuple[dict[str, dict], dict[str, int]]:
    """Per event: every sighting and the copy stored (the first by day, file, line); the counts."""
    copies: dict[str, list[tuple[tuple[str, str, int], int]]] = {}
    counts = {"lines_read": 0, "quarantined": 0, "blank_lines": 0}
    for path in paths:
        key = f"live_events/{path.parent.name}/{path.name}"
        for number, text in enumerate(path.read_text().splitlines(), start=1):
            if not text.strip():
                counts["blank_lines"] += 1
                continue
            counts["lines_read"] += 1
            try:
                event = json.loads(text)
            except ValueError:
                counts["quarantined"] += 1
                continue
            if "event_time" not in event:
                counts["quarantined"] += 1
                continue
            order = (path.parent.name, key, number)
            copies.setdefault(event["event_id"], []).append((order, event["payload"]["copy"]))
    expected = {
        event_id: {
            "sightings": sorted(order for order, _ in seen),
            "source": min(seen)[0],
            "copy": min(seen)[1],
        }
        for event_id, seen in copies.items()
    }
    valid = sum(len(seen) for seen in copies.values())
    counts |= {"landed": len(expected), "duplicates": valid - len(expected)}
    return expected, counts


@given(
    lines=st.lists(line_st, min_size=1, max_size=60),
    shares=st.integers(1, 3),
    batch_size=st.sampled_from([1, 2, 3, 50]),
    rng=st.randoms(use_true_random=False),
)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_share_batch_and_file_order_stores_the_first_copy_with_every_sighting(
    db, tmp_path_factory, lines, shares, batch_size, rng
):
    db[RAW].delete_many({})
    db[QUARANTINE].delete_many({})
    paths = _write_files(tmp_path_factory.mktemp("repeats"), lines)
    expected, counts = _oracle(paths)
    tasks = [(path, share) for path in paths for share in range(shares)]
    rng.shuffle(tasks)  # workers finish in any order, files are given in any order
    now = datetime(2025, 6, 4, tzinfo=UTC)
    totals = {name: 0 for name in counts}
    for path, share in tasks:
        stats = land_all(db, file_items(path, now, share, shares), now, batch_size=batch_size)
        for name in totals:
            totals[name] += getattr(stats, name)
    assert totals == counts
    stored = {
        doc["_id"]: {
            "sightings": sorted((s["day"], s["file"], s["line"]) for s in doc["sightings"]),
            "source": (
                doc["source"]["ingestion_day"],
                doc["source"]["file"],
                doc["source"]["line"],
            ),
            "copy": doc["payload"]["copy"],
            "seen_count": doc["seen_count"],
        }
        for doc in db[RAW].find({})
    }
    assert stored == {
        event_id: want | {"seen_count": len(want["sightings"])}
        for event_id, want in expected.items()
    }
    assert db[QUARANTINE].count_documents({}) == counts["quarantined"]


def test_every_copy_of_an_event_falls_in_one_share_whatever_its_spelling():
    """Copies differing in spacing or other fields go to the same worker; a line without an id
    still goes to exactly one."""
    copies = [
        b'{"event_id":"E-42","ingested_at":"2025-06-01T10:00:00Z"}',
        b'{"ingested_at": "2025-06-01T11:00:00Z", "event_id" : "E-42", "payload": {}}',
        b'{"event_id":\t"E-42"}',
    ]
    for shares in (2, 3, 7):
        assert len({line_share(raw, n, shares) for n, raw in enumerate(copies)}) == 1
        assert 0 <= line_share(b"{not json", 5, shares) < shares


def test_a_file_shared_among_worker_processes_stores_what_one_process_stores(db, env, tmp_path):
    """A file shared out among two workers (parts of ~8 KB) stores the same documents, sightings in
    the same order, and the same counts as the file landed by one process."""
    from commercepulse.generate.writers import write_live
    from commercepulse.mongo.client import get_database

    [path] = write_live(tmp_path / "live", seed=9, start=date(2025, 6, 1), days=1, events=1500)
    stats = ingest_live_parallel(env.mongo_uri, db.name, [path], 2, part_bytes=8192)
    serial_db = get_database(env.mongo_uri, f"{db.name}_serial")
    try:
        serial = ingest_live(serial_db, [path])
        assert stats.duplicates > 0
        assert stats.as_dict() == serial.as_dict()
        fields = {"_id": 1, "source": 1, "seen_count": 1, "sightings": 1, "payload": 1}
        assert list(db[RAW].find({}, fields).sort("_id")) == list(
            serial_db[RAW].find({}, fields).sort("_id")
        )
    finally:
        serial_db.client.drop_database(serial_db.name)


@pytest.mark.parametrize("depth", [185, 250])
def test_a_payload_too_deep_for_the_server_is_quarantined_and_the_rest_lands(db, tmp_path, depth):
    """MongoDB refuses a document nested deeper than it stores (one insert fails) or parses (the
    whole batch's command fails): either way that line, and its repeat, are quarantined with the
    server's reason and every other line of the batch lands."""
    nested: dict = {}
    inner = nested
    for _ in range(depth):
        inner["a"] = {}
        inner = inner["a"]
    envelope = {"event_type": "order_created", "event_time": "2025-06-01T10:00:00+01:00"}
    rows = [{"event_id": f"ok{i}", **envelope, "payload": {"i": i}} for i in range(5)]
    rows.insert(2, {"event_id": "deep", **envelope, "payload": nested})
    rows.append(rows[2])
    path = tmp_path / "2025-06-01" / "events.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    stats = ingest_live(db, [path])
    assert (stats.landed, stats.quarantined, stats.duplicates) == (5, 2, 0)
    assert sorted(d["_id"] for d in db[RAW].find({}, {"_id": 1})) == [f"ok{i}" for i in range(5)]
    reasons = [q["reason"] for q in db[QUARANTINE].find({})]
    assert len(reasons) == 2 and all("write rejected by MongoDB" in r for r in reasons)
    assert all("nest" in r for r in reasons), reasons
