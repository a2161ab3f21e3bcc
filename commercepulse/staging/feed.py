"""Vendor feed figures per live ingestion day: what each vendor sent, and how well.

Each first-landed event counts in the frame the staging rules put it in (figures only), so
"unmapped" and "payment succeeded" mean exactly what they mean in the warehouse. The landing
stores that outcome as a tag (`feed_tags`): a day whose events all carry a current tag is
counted by one aggregation, any other day is classified here again. Duplicate lines come from
the raw sightings (every line read that day). `kpi_late_arrivals` and the duplicate and late
checks are these rows summed per day (`late_arrivals`): nothing else reads a day's raw events
again to count them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from functools import partial

import numpy as np
import orjson
import pandas as pd
from pymongo.database import Database

from commercepulse.lib.processes import bounded_map, worker_pool, worth_workers
from commercepulse.mongo.indexes import RAW
from commercepulse.raw.landing import TAG_FIELD
from commercepulse.staging.extract import chunk_days, extract_ingestion_days
from commercepulse.staging.feed_tags import KIND_COLUMNS
from commercepulse.staging.normalize import normalize
from commercepulse.vendors.mapping import SHAPES_BY_KIND, ShapesByKind
from commercepulse.warehouse.schema import ALL_TABLES

COLUMNS = ALL_TABLES["vendor_feed_daily"].names
UNKNOWN = "unknown"
DAY = timedelta(days=1)


#: Events of ingestion days classified at once: bounds memory (a year's backfill holds one
#: chunk), and amortizes the per-shape overhead of small days.
CHUNK_EVENTS = 50_000
#: First-landed events of one aggregation of stored tags (whole days): bounds the lags held.
TAG_CHUNK_EVENTS = 250_000
#: A smaller window is classified in the step's process (starting workers costs more).
PARALLEL_MIN_EVENTS = 2 * CHUNK_EVENTS
#: vendor_feed_daily columns whose sum over vendors is a kpi_late_arrivals column.
LATE_ARRIVAL_SUMS = ["events", "late_events", "duplicate_lines", "lines"]
#: The vendor_feed_daily rows of ingestion days [$start, $end).
FEED_OF_DAYS = (
    "SELECT * FROM vendor_feed_daily WHERE ingestion_date >= $start AND ingestion_date < $end"
)
LATE_ARRIVAL_COLUMNS = [
    "ingestion_date",
    "events",
    "late_events",
    "late_pct",
    "duplicate_lines",
    "lines",
    "duplicate_rate",
]


def _lines(db: Database, lo: str, hi: str) -> pd.DataFrame:
    """Valid lines read per (ingestion day, vendor): every sighting of an event, repeats
    included (index `sighting_day`)."""
    rows = db[RAW].aggregate(
        [
            {"$match": {"sightings.day": {"$gte": lo, "$lt": hi}}},
            {"$project": {"_id": 0, "vendor": 1, "sightings.day": 1}},
            {"$unwind": "$sightings"},
            {"$match": {"sightings.day": {"$gte": lo, "$lt": hi}}},
            {
                "$group": {
                    "_id": {"day": "$sightings.day", "vendor": "$vendor"},
                    "lines": {"$sum": 1},
                }
            },
        ]
    )
    return pd.DataFrame(
        [
            {
                "ingestion_date": d["_id"]["day"],
                "vendor": d["_id"].get("vendor") or UNKNOWN,
                "lines": d["lines"],
            }
            for d in rows
        ],
        columns=["ingestion_date", "vendor", "lines"],
    )


def _first_landed_counts(db: Database, lo: str, hi: str) -> dict[str, int]:
    """Events first landed per ingestion day (index-only: sizes the chunks)."""
    rows = db[RAW].aggregate(
        [
            {"$match": {"source.ingestion_day": {"$gte": lo, "$lt": hi}}},
            {"$group": {"_id": "$source.ingestion_day", "n": {"$sum": 1}}},
        ],
        hint="ingestion_day",
    )
    return {d["_id"]: d["n"] for d in sorted(rows, key=lambda d: d["_id"])}


def feed_figures(
    db: Database,
    start: date,
    end: date,
    rates: pd.DataFrame,
    late_hours: float,
    shapes: ShapesByKind = SHAPES_BY_KIND,
    processes: int = 1,
    address: str | None = None,
    tags: str | None = None,
) -> pd.DataFrame:
    """vendor_feed_daily rows (without the judgement columns) for ingestion days [start, end).

    With `tags` (the rules version of today's `feed_tags.FeedTagger`), the events' counts come out
    of aggregations of the tags stored at landing (spans of whole days); a day holding an event without a current
    tag is classified again, as without `tags`: one read of the day's first-landed events
    (classified by the staging rules, figures only), in chunks of about CHUNK_EVENTS events, by
    `processes` worker processes given the server's `address` (a window of one chunk, or of fewer
    than PARALLEL_MIN_EVENTS events, stays in this process). Lines read come from one
    aggregation of the sightings. Both ways give the same rows."""
    lo, hi = start.isoformat(), end.isoformat()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-read") as reader:
        sightings = reader.submit(_lines, db, lo, hi)
        counts = _first_landed_counts(db, lo, hi)
        frames, stale = [], None
        if tags is not None:
            frames, stale = _tagged_figures(db, counts, tags, late_hours, processes)
        if stale is None or stale:
            figures = _classified_figures(
                db, reader, counts, stale, rates, late_hours, shapes, processes, address
            )
            frames += figures
        lines_read = sightings.result()
    frames = [frame for frame in frames if not frame.empty]
    keys = ["ingestion_date", "vendor"]
    # chunks hold whole days: each (day, vendor) is in one of them
    events = (
        pd.concat(frames)
        if frames
        else pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=keys))
    )
    lines = lines_read.set_index(keys)["lines"]
    # a vendor-day with only repeats of earlier days' events has lines and no events
    out = events.reindex(events.index.union(lines.index))
    for column in ["events", "late_events", *KIND_COLUMNS.values(), "payment_attempts", "paid"]:
        out[column] = out[column].fillna(0).astype("int64") if column in out else 0
    out["lines"] = lines.reindex(out.index).fillna(out["events"]).astype("int64")
    out["duplicate_lines"] = out["lines"] - out["events"]
    out["duplicate_rate"] = _ratio(out["duplicate_lines"], out["lines"])
    out["late_pct"] = _ratio(out["late_events"], out["events"])
    out["unmapped_share"] = _ratio(out["unmapped"], out["events"])
    out["payment_success_rate"] = _ratio(out["paid"], out["payment_attempts"])
    out = out.reset_index()
    if out.empty:
        return pd.DataFrame(columns=COLUMNS)
    out["ingestion_date"] = pd.to_datetime(out["ingestion_date"])
    if "median_lag_minutes" in out:
        out["median_lag_minutes"] = out["median_lag_minutes"].astype("float64").round(4)
    for column in COLUMNS:
        if column not in out:
            out[column] = None
    return out[COLUMNS].sort_values(keys).reset_index(drop=True)


def _classified_figures(
    db: Database,
    reader: ThreadPoolExecutor,
    counts: dict[str, int],
    days: set[str] | None,
    rates: pd.DataFrame,
    late_hours: float,
    shapes: ShapesByKind,
    processes: int,
    address: str | None,
) -> list[pd.DataFrame]:
    """Figures of the ingestion days of `counts` (first-landed events per day; only `days`, if
    given), their first-landed events read back and classified here or by worker processes."""
    if days is not None:
        counts = {day: n for day, n in counts.items() if day in days}
    chunks = chunk_days(counts, CHUNK_EVENTS)
    parallel = worth_workers(
        processes, address, len(chunks), sum(counts.values()), PARALLEL_MIN_EVENTS
    )
    if parallel:
        task = partial(
            _chunk_figures, address, db.name, rates=rates, late_hours=late_hours, shapes=shapes
        )
        with worker_pool(min(processes, len(chunks))) as pool:
            frames = list(pool.map(task, chunks))
    else:
        frames = [
            _events_figures(events, rates, late_hours, shapes)
            for events in _read_ahead(reader, db, chunks)
        ]
    if days is None:
        return frames
    # a chunk spans the days between its first and last: keep the asked days' rows
    return [f[f.index.get_level_values("ingestion_date").isin(days)] for f in frames if len(f)]


def _tag_pipeline(lo: str, hi: str, tags: str) -> list[dict]:
    """First-landed live events of ingestion days [lo, hi), grouped by day, vendor, event type,
    payload key set and tag (frame, paid: null without a current tag), each group's lags (ms)."""
    current = {"$eq": [f"${TAG_FIELD}.by", tags]}
    return [
        {"$match": {"source.ingestion_day": {"$gte": lo, "$lt": hi}, "source.kind": "live"}},
        {
            "$group": {
                "_id": {
                    "day": "$source.ingestion_day",
                    "vendor": {"$ifNull": ["$vendor", UNKNOWN]},
                    "type": "$event_type",
                    "keys": {
                        "$cond": [
                            {"$eq": [{"$type": "$payload"}, "object"]},
                            {"$map": {"input": {"$objectToArray": "$payload"}, "in": "$$this.k"}},
                            [],
                        ]
                    },
                    "frame": {"$cond": [current, f"${TAG_FIELD}.frame", None]},
                    "paid": {"$cond": [current, {"$ifNull": [f"${TAG_FIELD}.paid", False]}, None]},
                },
                "n": {"$sum": 1},
                "lags": {"$push": {"$subtract": ["$ingested_at", "$event_time"]}},
            }
        },
    ]


def _tagged_figures(
    db: Database, counts: dict[str, int], tags: str, late_hours: float, processes: int
) -> tuple[list[pd.DataFrame], set[str]]:
    """Figures of the days of `counts` (first-landed events per day) whose events all carry a
    current tag, and the other days.

    The window is aggregated in spans of about TAG_CHUNK_EVENTS first-landed events (whole days),
    up to `processes` at a time (each aggregation is one server thread); each span's groups (its
    lags: one number per event) become figures before more are asked for, so memory holds a few
    spans, whatever the window."""
    spans = [
        (first, (date.fromisoformat(last) + DAY).isoformat())
        for first, last in chunk_days(counts, TAG_CHUNK_EVENTS)
    ]
    frames: list[pd.DataFrame] = []
    stale: set[str] = set()
    workers = max(1, min(processes, len(spans)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="feed-tags") as pool:
        task = partial(_tag_groups, db, tags=tags)
        for groups in bounded_map(pool, task, spans, ahead=workers):
            untagged = set(groups.loc[groups["frame"].isna(), "ingestion_date"])
            stale |= untagged
            frames.append(
                _groups_figures(groups[~groups["ingestion_date"].isin(untagged)], late_hours)
            )
    return frames, stale


def _tag_groups(db: Database, span: tuple[str, str], tags: str) -> pd.DataFrame:
    """The tag groups of ingestion days [span)."""
    rows = list(
        db[RAW].aggregate(
            _tag_pipeline(span[0], span[1], tags), hint="ingestion_day", allowDiskUse=True
        )
    )
    return pd.DataFrame(
        {
            "ingestion_date": [d["_id"]["day"] for d in rows],
            "vendor": [d["_id"]["vendor"] for d in rows],
            "event_type": [d["_id"]["type"] for d in rows],
            "signature": [tuple(d["_id"]["keys"]) for d in rows],
            "frame": [d["_id"].get("frame") for d in rows],
            "paid": [bool(d["_id"].get("paid")) for d in rows],
            "n": np.array([d["n"] for d in rows], dtype="int64"),
            "lags": [d["lags"] for d in rows],
        },
    )


def _groups_figures(groups: pd.DataFrame, late_hours: float) -> pd.DataFrame:
    """`_events_figures`' rows from tag groups: the same counts, lags and payload keys."""
    if groups.empty:
        return pd.DataFrame()
    codes, index = _group_codes(groups["ingestion_date"], groups["vendor"])
    size = len(index)
    counts = groups["n"].to_numpy()
    lag_ms = np.concatenate([np.asarray(lags, dtype="int64") for lags in groups["lags"]])
    lag = (pd.Series(pd.to_timedelta(lag_ms, unit="ms")).dt.total_seconds() / 60).to_numpy()
    lag_codes = np.repeat(codes, counts)
    out = pd.DataFrame(index=index)
    out["events"] = np.bincount(codes, weights=counts, minlength=size).astype("int64")
    out["late_events"] = np.bincount(lag_codes, weights=lag > late_hours * 60, minlength=size)
    out["median_lag_minutes"] = pd.Series(lag).groupby(lag_codes).median().to_numpy()
    for column in KIND_COLUMNS.values():
        out[column] = np.bincount(
            codes, weights=counts * groups["frame"].eq(column).to_numpy(), minlength=size
        )
    out["payload_keys"] = _keys_json(
        groups.groupby(["ingestion_date", "vendor", "event_type", "signature"], sort=False)[
            "n"
        ].sum()
    ).reindex(out.index)
    payments = groups["frame"].eq("payments").to_numpy()
    out["payment_attempts"] = np.bincount(codes, weights=counts * payments, minlength=size)
    out["paid"] = np.bincount(
        codes, weights=counts * (payments & groups["paid"].to_numpy(bool)), minlength=size
    )
    return out


def _read_chunk(db: Database, chunk: tuple[str, str]) -> pd.DataFrame:
    """The first-landed events of the inclusive (first, last) ingestion days."""
    first, last = chunk
    return extract_ingestion_days(db, first, (date.fromisoformat(last) + DAY).isoformat())


def _chunk_figures(
    address: str,
    database: str,
    chunk: tuple[str, str],
    *,
    rates: pd.DataFrame,
    late_hours: float,
    shapes: ShapesByKind,
) -> pd.DataFrame:
    """One chunk's figures, in a worker process with its own connection."""
    from commercepulse.mongo.client import get_database

    events = _read_chunk(get_database(address, database), chunk)
    return _events_figures(events, rates, late_hours, shapes)


def _read_ahead(
    reader: ThreadPoolExecutor, db: Database, chunks: list[tuple[str, str]]
) -> Iterator[pd.DataFrame]:
    """Each chunk's first-landed events, the next chunk read while this one is classified (the
    read waits on mongod, the classification on this process): two chunks in memory at most."""

    ahead: Future | None = reader.submit(_read_chunk, db, chunks[0]) if chunks else None
    for position in range(len(chunks)):
        events = ahead.result()
        ahead = (
            reader.submit(_read_chunk, db, chunks[position + 1])
            if position + 1 < len(chunks)
            else None
        )
        yield events


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, None where nothing was counted."""
    return (numerator / denominator.where(denominator > 0)).astype("float64")


def _events_figures(
    events: pd.DataFrame, rates: pd.DataFrame, late_hours: float, shapes: ShapesByKind
) -> pd.DataFrame:
    """Per (ingestion day, vendor): events, late events, median lag, events per canonical frame,
    payment attempts and successes, from one chunk of first-landed events (distinct ids).

    The (day, vendor) groups are factorized once; each count is a bincount over them."""
    if events.empty:
        return pd.DataFrame()
    tags = pd.DataFrame(
        {"ingestion_date": events["ingestion_day"], "vendor": events["vendor"].fillna(UNKNOWN)}
    )
    codes, groups = _group_codes(tags["ingestion_date"], tags["vendor"])
    size = len(groups)
    lag = ((events["ingested_at"] - events["event_time"]).dt.total_seconds() / 60).to_numpy()
    out = pd.DataFrame(index=groups)
    out["events"] = np.bincount(codes, minlength=size)
    out["late_events"] = np.bincount(codes, weights=lag > late_hours * 60, minlength=size)
    out["median_lag_minutes"] = pd.Series(lag).groupby(codes).median().to_numpy()
    frames = normalize(
        events.drop(columns=["ingestion_day"]), rates, late_hours, shapes, figures_only=True
    )
    position = pd.Index(events["event_id"]).get_indexer
    for frame_name, column in KIND_COLUMNS.items():
        rows = position(frames[frame_name]["event_id"].drop_duplicates())
        out[column] = np.bincount(codes[rows], minlength=size)
    out["payload_keys"] = _payload_keys(tags, events).reindex(out.index)
    payments = frames["stg_payments"]
    rows = position(payments["event_id"])
    out["payment_attempts"] = np.bincount(codes[rows], minlength=size)
    out["paid"] = np.bincount(
        codes[rows],
        weights=payments["status"].eq("SUCCESS").fillna(False).to_numpy(bool),
        minlength=size,
    )
    return out


def _group_codes(days: pd.Series, vendors: pd.Series) -> tuple[np.ndarray, pd.MultiIndex]:
    """Each row's (day, vendor) group number, and the groups: each column factorized alone, then
    the pair as one integer (a MultiIndex factorized as tuples costs ~50 ms per 40k rows)."""
    day_codes, day_values = pd.factorize(days)
    vendor_codes, vendor_values = pd.factorize(vendors)
    codes, pairs = pd.factorize(day_codes * len(vendor_values) + vendor_codes)
    groups = pd.MultiIndex.from_arrays(
        [day_values[pairs // len(vendor_values)], vendor_values[pairs % len(vendor_values)]],
        names=["ingestion_date", "vendor"],
    )
    return codes, groups


def _payload_keys(tags: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """Per (ingestion day, vendor): JSON {event type: [events, {top-level payload key: events
    carrying it}]}, the day's schema that `checks.anomalies` holds against the vendor's baseline.

    Events are counted per key set first (a vendor's events of one type share a handful of key
    sets), so the keys are expanded once per set, not once per event."""
    signature = [tuple(p) if isinstance(p, dict) else () for p in events["payload"]]
    groups = (
        pd.DataFrame(
            {
                "day": tags["ingestion_date"].to_numpy(),
                "vendor": tags["vendor"].to_numpy(),
                "event_type": events["event_type"].to_numpy(),
                "signature": signature,
            }
        )
        .groupby(["day", "vendor", "event_type", "signature"], dropna=False, sort=False)
        .size()
    )
    return _keys_json(groups)


def _keys_json(groups: pd.Series) -> pd.Series:
    """Events per (day, vendor, event type, payload key set) -> the `payload_keys` JSON per
    (day, vendor)."""
    events_of: Counter = Counter()
    keys_of: Counter = Counter()
    for (day, vendor, event_type, keys), n in groups.items():
        events_of[day, vendor, event_type] += n
        for key in keys:
            keys_of[day, vendor, event_type, key] += n
    seen: dict[tuple, dict[str, list]] = {}
    for (day, vendor, event_type), n in sorted(events_of.items()):
        seen.setdefault((day, vendor), {})[event_type] = [int(n), {}]
    for (day, vendor, event_type, key), n in sorted(keys_of.items()):
        seen[day, vendor][event_type][1][key] = int(n)
    return pd.Series(
        {key: orjson.dumps(by_type).decode() for key, by_type in seen.items()}, dtype="object"
    ).rename_axis(["ingestion_date", "vendor"])


def late_arrivals(feed: pd.DataFrame) -> pd.DataFrame:
    """kpi_late_arrivals rows from vendor_feed_daily rows: per ingestion day, the vendors' sums.

    events: distinct live events first landed that day; late: of those, ingested more than the
    late threshold after their event time; lines: valid lines read that day (every sighting);
    duplicate_lines: lines repeating an already-landed id = lines - events (SPEC §6)."""
    if feed.empty:
        return pd.DataFrame(columns=LATE_ARRIVAL_COLUMNS).astype(
            {"ingestion_date": "datetime64[ns]", "late_pct": "float64", "duplicate_rate": "float64"}
        )
    out = feed.groupby("ingestion_date", as_index=False)[LATE_ARRIVAL_SUMS].sum()
    out[LATE_ARRIVAL_SUMS] = out[LATE_ARRIVAL_SUMS].astype("int64")
    out["late_pct"] = _ratio(out["late_events"], out["events"])
    out["duplicate_rate"] = _ratio(out["duplicate_lines"], out["lines"])
    out["ingestion_date"] = pd.to_datetime(out["ingestion_date"]).astype("datetime64[ns]")
    return out[LATE_ARRIVAL_COLUMNS]
