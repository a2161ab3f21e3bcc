"""The per-day figures are counted once, by the vendor feed, and `kpi_late_arrivals` is their sum:
both checked against an oracle that reads the files line by line (not the platform's code)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import orjson
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commercepulse.generate.writers import live_days
from commercepulse.raw.live import ingest_live
from commercepulse.staging.feed import feed_figures, late_arrivals
from commercepulse.staging.feed_tags import FeedTagger
from commercepulse.staging.fx import load_rates

DAYS = [date(2024, 3, 1) + timedelta(days=n) for n in range(3)]
KINDS = ["orders", "payments", "refunds", "shipments", "updates", "unmapped"]


def _files(seed: int) -> dict[date, list[bytes]]:
    """Generated days, plus hostile arrivals: day 3 repeats some of day 1's vendor_c events while
    vendor_c sends nothing new that day, an event without a vendor, one no shape fits."""
    files = {day: list(lines) for day, lines in live_days(seed, DAYS, 60, 0.1, 0.3, 0.3)}
    first_c = [line for line in files[DAYS[0]] if orjson.loads(line)["vendor"] == "vendor_c"]
    files[DAYS[2]] = [
        line for line in files[DAYS[2]] if orjson.loads(line)["vendor"] != "vendor_c"
    ] + first_c[:5]
    event = orjson.loads(files[DAYS[1]][0]) | {"event_id": f"no-vendor-{seed}"}
    event.pop("vendor")
    files[DAYS[1]].append(orjson.dumps(event))
    unmappable = event | {
        "event_id": f"unmappable-{seed}",
        "vendor": "vendor_a",
        "payload": {"x": 1},
    }
    files[DAYS[1]].append(orjson.dumps(unmappable))
    return files


def _when(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # naive = UTC (SPEC §2.3)


def _oracle(files: dict[date, list[bytes]], late_hours: float) -> pd.DataFrame:
    """lines, events first landed, late events per (ingestion day, vendor), read line by line."""
    seen: dict[str, str] = {}
    lines: Counter = Counter()
    events: Counter = Counter()
    late: Counter = Counter()
    for day in sorted(files):
        for raw in files[day]:
            event = orjson.loads(raw)
            first = event["event_id"] not in seen
            if first:
                seen[event["event_id"]] = event.get("vendor") or "unknown"
            key = (pd.Timestamp(day), seen[event["event_id"]])
            lines[key] += 1
            if first:
                events[key] += 1
                lag = _when(event["ingested_at"]) - _when(event["event_time"])
                late[key] += lag > timedelta(hours=late_hours)
    keys = sorted(lines)
    return pd.DataFrame(
        {
            "ingestion_date": [k[0] for k in keys],
            "vendor": [k[1] for k in keys],
            "events": [events[k] for k in keys],
            "late_events": [late[k] for k in keys],
            "lines": [lines[k] for k in keys],
        }
    )


def _land(db, tmp_path, files: dict[date, list[bytes]], tagger: FeedTagger | None = None) -> None:
    for day, lines in sorted(files.items()):
        path = tmp_path / "live_events" / day.isoformat() / "events.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\n".join(lines) + b"\n")
        ingest_live(db, [path], tagger=tagger)


def test_feed_figures_and_late_arrivals_match_a_line_by_line_oracle(db, tmp_path, monkeypatch):
    from commercepulse.generate.writers import write_fx

    write_fx(tmp_path, 2024)
    files = _files(seed=5)
    tagger = FeedTagger(str(tmp_path))
    _land(db, tmp_path, files, tagger)
    end = DAYS[-1] + timedelta(days=1)
    feed = feed_figures(db, DAYS[0], end, load_rates(tmp_path), 24.0, tags=tagger.version)
    # the counts of the tags stored at landing are those of the events classified again
    again = feed_figures(db, DAYS[0], end, load_rates(tmp_path), 24.0)
    pd.testing.assert_frame_equal(feed, again)
    # and so do the tags aggregated a day at a time (the spans that bound a long window's memory)
    import commercepulse.staging.feed as feed_module

    monkeypatch.setattr(feed_module, "TAG_CHUNK_EVENTS", 1)
    by_day = feed_figures(
        db, DAYS[0], end, load_rates(tmp_path), 24.0, processes=2, tags=tagger.version
    )
    pd.testing.assert_frame_equal(by_day, again)
    expected = _oracle(files, 24.0)
    got = feed[["ingestion_date", "vendor", "events", "late_events", "lines"]]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    # a vendor-day of repeats only is a row: lines, no events, every line a duplicate
    repeats = feed[(feed["vendor"] == "vendor_c") & (feed["ingestion_date"] == str(DAYS[2]))]
    assert repeats[["events", "lines", "duplicate_lines"]].values.tolist() == [[0, 5, 5]]
    assert repeats["late_pct"].isna().all() and (repeats["duplicate_rate"] == 1.0).all()
    assert "unknown" in set(feed["vendor"])
    # every event first landed is counted in exactly one canonical frame, or unmapped
    assert (feed[KINDS].sum(axis=1) == feed["events"]).all()
    assert feed["unmapped"].sum() > 0 and feed["payment_attempts"].sum() > 0

    per_day = late_arrivals(feed)
    sums = expected.groupby("ingestion_date", as_index=False)[
        ["events", "late_events", "lines"]
    ].sum()
    assert per_day[["events", "late_events", "lines"]].values.tolist() == (
        sums[["events", "late_events", "lines"]].values.tolist()
    )
    assert (per_day["duplicate_lines"] == per_day["lines"] - per_day["events"]).all()


def test_feed_figures_do_not_depend_on_line_order_or_repeated_lines(db, tmp_path, env):
    """The same days landed with lines shuffled and a line repeated twice more: the per-event
    figures are equal; lines and duplicates grow by exactly the repeats."""
    from commercepulse.generate.writers import write_fx
    from commercepulse.mongo.client import get_database

    write_fx(tmp_path, 2024)
    files = _files(seed=9)
    _land(db, tmp_path / "a", files)
    rng = random.Random(3)
    shuffled = {day: rng.sample(lines, len(lines)) for day, lines in files.items()}
    shuffled[DAYS[1]] = shuffled[DAYS[1]] + [files[DAYS[0]][0]] * 2
    other = get_database(env.mongo_uri, f"{env.mongo_db}_b")
    try:
        _land(other, tmp_path / "b", shuffled)
        rates, end = load_rates(tmp_path), DAYS[-1] + timedelta(days=1)
        a = feed_figures(db, DAYS[0], end, rates, 24.0).set_index(["ingestion_date", "vendor"])
        b = feed_figures(other, DAYS[0], end, rates, 24.0).set_index(["ingestion_date", "vendor"])
        same = ["events", "late_events", *KINDS, "payment_attempts", "payment_success_rate"]
        pd.testing.assert_frame_equal(a[same], b[same])
        extra = b["lines"] - a["lines"]
        assert extra.sum() == 2 and (b["duplicate_lines"] - a["duplicate_lines"]).sum() == 2
    finally:
        other.client.drop_database(other.name)


def test_payload_keys_against_the_vendor_baseline_unit():
    """New keys, and usual keys lost where their absence is no chance, per event type, only with
    enough days of that type."""
    import json

    from commercepulse.checks.anomalies import schema_changes

    def day(events: int, **keys: int) -> str:
        return json.dumps({"payment_succeeded": [events, keys]})

    past = pd.Series([day(10, amount=10, order_id=10, note=1)] * 7)
    assert schema_changes(day(10, amount=10, order_id=10), past, 7) == []  # `note` is rare
    assert schema_changes(day(3, order_id=3), past, 7) == []  # 3 expected carriers: chance
    renamed = day(10, amount_paid=10, order_id=10)
    assert schema_changes(renamed, past, 7) == [
        "payment_succeeded: new key(s) amount_paid; missing usual key(s) amount (vs 7 days)"
    ]
    assert schema_changes(renamed, past, 8) == []  # not enough days to hold a baseline
    new_type = json.dumps({"refund_issued": [4, {"x": 4}]})
    assert schema_changes(new_type, past, 7) == []  # no baseline for a type never seen


def test_a_renamed_payload_key_is_flagged_on_its_day_for_its_vendor_only(db, tmp_path, env):
    """Generated days (drift included: drifted shapes are in the baseline too), then vendor_b
    renames `transaction_id` in every payment: that day and vendor are flagged with the key names,
    and no other vendor-day is (no false alarm on ordinary days)."""
    from commercepulse.checks.anomalies import judge
    from commercepulse.generate.writers import write_fx

    write_fx(tmp_path, 2024)
    days = [date(2024, 3, 1) + timedelta(days=n) for n in range(10)]
    files = {day: list(lines) for day, lines in live_days(3, days, 150, 0.05, 0.1, 0.3)}

    def renamed(raw: bytes) -> bytes:
        event = orjson.loads(raw)
        payload = event.get("payload")
        if event["vendor"] == "vendor_b" and event["event_type"] == "payment_succeeded":
            event["payload"] = {
                ("txn_id" if k == "transaction_id" else k): v for k, v in payload.items()
            }
        return orjson.dumps(event)

    files[days[-1]] = [renamed(line) for line in files[days[-1]]]
    _land(db, tmp_path, files)
    figures = feed_figures(db, days[0], days[-1] + timedelta(days=1), load_rates(tmp_path), 24.0)
    judged = judge(figures, days, env)
    flagged = judged[judged["flagged"].fillna("").str.contains("payload_keys")]
    assert [(str(r.ingestion_date.date()), r.vendor) for r in flagged.itertuples()] == [
        (str(days[-1]), "vendor_b")
    ]
    assert (
        "payment_succeeded: new key(s) txn_id; missing usual key(s) transaction_id"
        in (flagged["anomalies"].iat[0])
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["2025-01-01", "2025-01-02"]),
            st.sampled_from(["vendor_a", "vendor_b"]),
            st.sampled_from(["order_created", "payment_succeeded"]),
            st.one_of(
                st.none(),
                st.text(max_size=3),
                st.dictionaries(st.sampled_from(["a", "b", "amount", "txn_id"]), st.integers()),
            ),
        ),
        max_size=40,
    )
)
def test_payload_keys_count_each_event_once_per_key(rows):
    """The day's schema per (day, vendor): for each event type, its events and how many carry
    each top-level key, counted here one event at a time."""
    from commercepulse.staging.feed import _payload_keys

    if not rows:
        return
    tags = pd.DataFrame({"ingestion_date": [r[0] for r in rows], "vendor": [r[1] for r in rows]})
    events = pd.DataFrame({"event_type": [r[2] for r in rows], "payload": [r[3] for r in rows]})
    expected: dict = {}
    for day, vendor, event_type, payload in rows:
        entry = expected.setdefault((day, vendor), {}).setdefault(event_type, [0, Counter()])
        entry[0] += 1
        entry[1].update(list(payload) if isinstance(payload, dict) else [])
    got = {key: orjson.loads(value) for key, value in _payload_keys(tags, events).items()}
    assert got == {
        key: {t: [n, dict(keys)] for t, (n, keys) in by_type.items()}
        for key, by_type in expected.items()
    }


def test_feed_figures_in_worker_processes_equal_those_of_one_process(
    db, tmp_path, env, monkeypatch
):
    """A window of several chunks classified by two worker processes gives the very rows of the
    in-process path (chunks are cut small here so that three days make three chunks)."""
    import commercepulse.staging.feed as feed
    from commercepulse.generate.writers import write_fx

    write_fx(tmp_path, 2024)
    _land(db, tmp_path, _files(seed=11))
    monkeypatch.setattr(feed, "CHUNK_EVENTS", 1)
    monkeypatch.setattr(feed, "PARALLEL_MIN_EVENTS", 0)
    rates, end = load_rates(tmp_path), DAYS[-1] + timedelta(days=1)
    alone = feed_figures(db, DAYS[0], end, rates, 24.0)
    shared = feed_figures(db, DAYS[0], end, rates, 24.0, processes=2, address=env.mongo_uri)
    assert len(alone) > 6
    pd.testing.assert_frame_equal(shared, alone)


def _feed_both_ways(db, tmp_path, tagger: FeedTagger) -> tuple[pd.DataFrame, pd.DataFrame]:
    rates, end = load_rates(tmp_path), DAYS[-1] + timedelta(days=1)
    return (
        feed_figures(db, DAYS[0], end, rates, 24.0, tags=tagger.version),
        feed_figures(db, DAYS[0], end, rates, 24.0),
    )


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # each example: its own db
)
@given(order=st.permutations(range(3)), tagged=st.lists(st.booleans(), min_size=3, max_size=3))
def test_feed_from_landing_tags_equals_the_feed_classified_again(order, tagged, env, tmp_path):
    """Whatever order the days' files land in (a later day first: its repeats of earlier events
    are then replaced by the earlier copy, tag included) and whether a file was tagged as it
    landed (an untagged copy replacing a tagged one drops the tag), the feed's rows from the stored
    tags are those of classifying the events again; a day with an untagged event is classified."""
    import uuid

    from commercepulse.generate.writers import write_fx
    from commercepulse.mongo.client import get_database
    from commercepulse.mongo.indexes import RAW

    folder = tmp_path / uuid.uuid4().hex[:8]  # hypothesis reuses tmp_path across examples
    folder.mkdir()
    write_fx(folder, 2024)
    tagger = FeedTagger(str(folder))
    files = _files(seed=13)
    # day 3 repeats day 1's first lines, under day 1's ids
    files[DAYS[2]] = files[DAYS[2]] + files[DAYS[0]][:4]
    db = get_database(env.mongo_uri, f"{env.mongo_db}_{uuid.uuid4().hex[:6]}")
    try:
        for position in order:
            day = DAYS[position]
            _land(db, folder, {day: files[day]}, tagger if tagged[position] else None)
        tagged_doc = {"feed.by": tagger.version}
        assert db[RAW].count_documents(tagged_doc) == sum(
            db[RAW].count_documents({"source.ingestion_day": d.isoformat()})
            for d, t in zip(DAYS, tagged)
            if t
        )
        from_tags, again = _feed_both_ways(db, folder, tagger)
        pd.testing.assert_frame_equal(from_tags, again)
        assert from_tags["events"].sum() == len(
            {orjson.loads(line)["event_id"] for lines in files.values() for line in lines}
        )
    finally:
        db.client.drop_database(db.name)


def test_tags_of_other_rules_are_not_counted(db, tmp_path):
    """Tags stored under other rules (a mapping file changed, the code changed) are ignored: the
    feed classifies those days again, by today's rules."""
    from commercepulse.generate.writers import write_fx
    from commercepulse.mongo.indexes import RAW

    write_fx(tmp_path, 2024)
    tagger = FeedTagger(str(tmp_path))
    _land(db, tmp_path, _files(seed=17), tagger)
    # every tag says "unmapped", as rules of another version could
    db[RAW].update_many({}, {"$set": {"feed.by": "0" * 16, "feed.frame": "unmapped"}})
    from_tags, again = _feed_both_ways(db, tmp_path, tagger)
    pd.testing.assert_frame_equal(from_tags, again)
    assert from_tags["orders"].sum() > 0
