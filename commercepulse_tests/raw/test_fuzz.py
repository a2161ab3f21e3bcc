"""Hostile input: 10,000 generated lines of every kind of damage, landed without a crash, every
line accounted for, every quarantined line with a reason that names its problem."""

from __future__ import annotations

import json
import random

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commercepulse.lib.days import utc_now
from commercepulse.mongo.indexes import QUARANTINE, RAW
from commercepulse.raw.landing import Landing, Rejection, Sighting
from commercepulse.raw.live import ingest_live, parse_line
from commercepulse.staging.feed_tags import FeedTagger

GOOD = {
    "event_id": "x",
    "event_type": "order_created",
    "event_time": "2025-01-15T10:00:00Z",
    "vendor": "vendor_a",
    "payload": {"orderRef": "O1", "total": 1000},
    "ingested_at": "2025-01-15T10:05:00Z",
}
WRONG_VALUES = [None, 0, -1.5, True, [], {}, [1, "a"], {"nested": 1}, "", "   ", 10**30, "\u0000"]
#: Each kind of damage and the words its quarantine reason must contain.
REASONS = {
    "truncated": "invalid JSON",
    "not_object": "not a JSON object",
    "invalid_utf8": "invalid UTF-8",
    "nul_raw": "invalid JSON",
    "deep": "invalid JSON",
    "bad_event_id": "event_id",
    "bad_event_type": "event_type",
    "bad_event_time": "event_time",
    "nul_key": "BSON",
    "huge_line": "16 MB",
}


def hostile_lines(n: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """(kind, line) pairs: valid events (some repeated, some with odd but storable payloads) and damage."""
    rng = random.Random(seed)
    lines: list[tuple[str, bytes]] = []
    for i in range(n):
        event = {**GOOD, "event_id": f"fz-{i}"}
        kind = rng.choice(
            [
                "good",
                "good",
                "repeat",
                "odd_payload",
                "truncated",
                "not_object",
                "invalid_utf8",
                "nul_raw",
                "deep",
                "bad_event_id",
                "bad_event_type",
                "bad_event_time",
                "wrong_optional",
                "nul_key",
                "big_numbers",
            ]
        )
        if kind == "good":
            line = orjson.dumps(event)
        elif kind == "repeat":
            line = orjson.dumps({**GOOD, "event_id": f"fz-{rng.randrange(max(i, 1))}"})
        elif kind == "odd_payload":
            line = json.dumps(
                {
                    **event,
                    "payload": rng.choice(
                        [
                            {"a.b": {"$c": "d"}},
                            "just text",
                            42,
                            None,
                            [1, [2, [3]]],
                            {"u": "Ìbàdàn ✓ 日本 \u0000 inside"},
                        ]
                    ),
                },
                ensure_ascii=rng.random() < 0.5,
            ).encode()
        elif kind == "truncated":
            full = orjson.dumps(event)
            line = full[: rng.randrange(1, len(full) - 1)]
        elif kind == "not_object":
            line = orjson.dumps(rng.choice([[1, 2], 42, "text", None, True, 3.5]))
        elif kind == "invalid_utf8":
            line = orjson.dumps(event)[:-2] + b'\xff\xfe"}'
        elif kind == "nul_raw":
            line = orjson.dumps(event)[:10] + b"\x00" + orjson.dumps(event)[10:]
        elif kind == "deep":
            depth = rng.choice([1100, 5000])
            line = (
                b'{"event_id": "d%d", "event_type": "x", "event_time": "2025-01-15T10:00:00Z", "payload": '
                % i
                + b"[" * depth
                + b"]" * depth
                + b"}"
            )
        elif kind in ("bad_event_id", "bad_event_type", "bad_event_time"):
            field = kind.removeprefix("bad_")
            value = rng.choice(
                WRONG_VALUES
                + (["yesterday", "2025-13-45T99:00:00Z"] if field == "event_time" else [])
            )
            if field == "event_id" and isinstance(value, int) and not isinstance(value, bool):
                value = None  # integer ids are valid (read as text): keep this line a rejection
            broken = (
                {**event, field: value}
                if rng.random() < 0.8
                else {k: v for k, v in event.items() if k != field}
            )
            line = json.dumps(broken).encode()
        elif (
            kind == "wrong_optional"
        ):  # vendor, ingested_at of the wrong type: the event still lands
            line = json.dumps(
                {
                    **event,
                    "vendor": rng.choice(WRONG_VALUES),
                    "ingested_at": rng.choice(WRONG_VALUES),
                }
            ).encode()
        elif kind == "nul_key":
            line = json.dumps({**event, "payload": {"bad\u0000key": 1}}).encode()
        else:  # big_numbers
            line = json.dumps(
                {
                    **event,
                    "payload": {"n": rng.choice([2**63 - 1, -(2**63), 2**64 + 7, 10**40, 1e300])},
                }
            ).encode()
        lines.append((kind, line))
    lines.append(
        (
            "huge_line",
            json.dumps({**GOOD, "event_id": "huge", "payload": "x" * (17 * 1024 * 1024)}).encode(),
        )
    )
    lines.append(
        (
            "good",
            json.dumps(
                {**GOOD, "event_id": "five-mb", "payload": "y" * (5 * 1024 * 1024)}
            ).encode(),
        )
    )
    return lines


def test_ten_thousand_hostile_lines_land_or_quarantine_with_their_reason(db, tmp_path):
    lines = hostile_lines(10_000)
    folder = tmp_path / "2025-01-15"
    folder.mkdir()
    (folder / "events.jsonl").write_bytes(b"\n".join(line for _, line in lines) + b"\n")
    tagger = FeedTagger()
    stats = ingest_live(db, [folder], tagger=tagger)
    # hostile payloads are classified too: every landed event carries today's feed tag
    assert db[RAW].count_documents({"feed.by": tagger.version}) == stats.landed
    assert stats.lines_read == len(lines) == stats.landed + stats.duplicates + stats.quarantined
    assert stats.blank_lines == 0
    reasons = {d["line"]: d["reason"] for d in db[QUARANTINE].find({}, {"line": 1, "reason": 1})}
    assert len(reasons) == stats.quarantined
    for number, (kind, _) in enumerate(lines, start=1):
        if kind in REASONS:
            assert REASONS[kind] in reasons.get(number, ""), (kind, number, reasons.get(number))
        else:
            assert number not in reasons, (kind, number, reasons[number])
    # the 17 MB line cannot be a MongoDB document: its record keeps the start, the length and a digest
    huge_number, huge_line = next(
        (n, line) for n, (kind, line) in enumerate(lines, start=1) if kind == "huge_line"
    )
    record = db[QUARANTINE].find_one({"line": huge_number})
    assert record["truncated"] and record["raw_length"] == len(huge_line)
    assert huge_line.decode().startswith(record["raw_text"])
    distinct = {orjson.loads(line)["event_id"] for kind, line in lines if kind not in REASONS}
    assert stats.landed == len(distinct) == db[RAW].count_documents({})
    assert db[RAW].find_one({"_id": "five-mb"})["payload"] == "y" * (5 * 1024 * 1024)
    # a second pass changes nothing but counts every valid line as already landed
    again = ingest_live(db, [folder])
    assert (again.landed, again.duplicates, again.quarantined) == (
        0,
        stats.landed + stats.duplicates,
        stats.quarantined,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=400)
    | st.text(max_size=200).map(str.encode)
    | st.dictionaries(
        st.sampled_from(
            ["event_id", "event_type", "event_time", "vendor", "payload", "ingested_at"]
        ),
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(max_size=30)
        | st.lists(st.integers(), max_size=3),
    ).map(lambda d: json.dumps(d).encode())
)
def test_any_line_parses_to_a_landing_a_rejection_or_a_blank(raw):
    item = parse_line(
        raw, Sighting("2025-01-15", "live_events/2025-01-15/events.jsonl", 1), utc_now()
    )
    assert item is None or isinstance(item, (Landing, Rejection))
    if isinstance(item, Rejection):
        assert item.reason and item.raw_text is not None
    if item is None:
        assert not raw.strip()


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=80)
    | st.lists(
        st.sampled_from([b"0", b"7", b"9", b"a", b"-", b".", b"\xd9", b"\x00"]), max_size=60
    ).map(b"".join)
)
def test_the_wide_integer_prefilter_finds_exactly_the_runs_of_19_digits(raw):
    """`has_long_integer` (a translate and a substring search) flags exactly the lines the regex
    `\\d{19}` (ASCII digits) flags, so no wide integer reaches orjson's rounding parse."""
    import re

    from commercepulse.raw.landing import has_long_integer

    for line in (raw, raw + b"1234567890123456789", b"x" + raw * 3):
        assert has_long_integer(line) == bool(re.search(rb"[0-9]{19}", line))
