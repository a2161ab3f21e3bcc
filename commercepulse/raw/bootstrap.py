"""Historical dumps (`bootstrap/{kind}_YYYY.json`) -> synthetic raw events (SPEC §3).

Each record becomes an event whose id is a hash of its kind and canonical JSON (same dump
=> same ids on every machine; distinct records => distinct ids), whose vendor is inferred
from its shape and whose event time is the record's own time. Arrays are streamed (ijson),
so a dump larger than memory lands in bounded memory.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import ijson
import orjson
import pandas as pd
from bson.errors import InvalidDocument
from pymongo.database import Database

from commercepulse.errors import InputError
from commercepulse.lib.timeparse import parse_times, to_pydatetimes
from commercepulse.raw.landing import (
    BATCH_SIZE,
    IngestStats,
    Landing,
    Rejection,
    Sighting,
    encode,
    envelope,
    land_files,
)
from commercepulse.vendors.mapping import DUMP_EVENT_TYPES, TIME_FIELD, match_shape, resolve

DUMP_FILE = re.compile(r"^(orders|payments|refunds|shipments)_(\d{4})\.json$")


def bootstrap_event_id(kind: str, record: Any) -> str:
    canonical = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    return f"bs-{kind}-" + hashlib.sha256(kind.encode() + b"\0" + canonical).hexdigest()[:24]


def record_times(kind: str, records: list, shapes: list) -> pd.Series:
    """Each record's own time, parsed in one pass (NaT when none); for a shipment with a
    history, its latest entry."""
    values: list[Any] = [None] * len(records)
    owners: list[int] = []
    history_times: list[Any] = []
    for i, (record, shape) in enumerate(zip(records, shapes)):
        if not isinstance(record, dict) or shape is None:
            continue
        if kind != "shipments":
            values[i] = resolve(record, shape.fields[TIME_FIELD[kind]])
            continue
        history = resolve(record, shape.fields["history"])
        if isinstance(history, list) and history:
            owners += [i] * len(history)
            history_times += [h.get("time") if isinstance(h, dict) else None for h in history]
        else:
            values[i] = resolve(record, shape.fields["status_time"])
    times = parse_times(values)
    if owners:  # a history's latest parseable entry (NaT when none parses)
        latest = parse_times(history_times).groupby(owners).max()
        times.iloc[latest.index.to_numpy()] = latest.to_numpy()
    return times


def dump_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise InputError(f"bootstrap folder {directory} does not exist")
    files = sorted(p for p in directory.iterdir() if DUMP_FILE.match(p.name))
    if not files:
        raise InputError(
            f"{directory} holds no dump ({{orders,payments,refunds,shipments}}_YYYY.json)"
        )
    return files


def _records(path: Path) -> Iterator[tuple[int, Any]]:
    with open(path, "rb") as handle:
        yield from enumerate(ijson.items(handle, "item", use_float=True), start=1)


def _wrap_batch(
    kind: str, key: str, batch: list[tuple[int, Any]], now
) -> list[Landing | Rejection]:
    shapes = [match_shape(kind, rec) if isinstance(rec, dict) else None for _, rec in batch]
    times = record_times(kind, [rec for _, rec in batch], shapes)
    out: list[Landing | Rejection] = []
    for (number, record), shape, when in zip(batch, shapes, to_pydatetimes(times)):
        sighting = Sighting("", key, number)
        text = orjson.dumps(record).decode()
        if not isinstance(record, dict):
            out.append(
                Rejection(
                    sighting,
                    f"dump record is not a JSON object but a {type(record).__name__}",
                    text,
                )
            )
            continue
        if when is None:
            out.append(Rejection(sighting, f"no parseable {kind} time in the record", text))
            continue
        event_id = bootstrap_event_id(kind, record)
        doc = envelope(
            event_id=event_id,
            event_type=DUMP_EVENT_TYPES[kind],
            event_time=when,
            vendor=shape.vendor if shape else "unknown",
            payload=record,
            ingested_at=now,
            kind="bootstrap",
            sighting=sighting,
            now=now,
        )
        try:
            out.append(Landing(event_id, encode(doc), sighting, when.date().isoformat()))
        except (OverflowError, InvalidDocument) as exc:
            out.append(Rejection(sighting, f"cannot be stored as BSON: {exc}", text))
    return out


def ingest_bootstrap(
    db: Database, directory: Path, on_records: Callable[[int], None] | None = None
) -> tuple[IngestStats, dict[str, int]]:
    """Land every dump of `directory`; returns the counts and records read per dump kind."""

    def items(path: Path, now: datetime) -> Iterator[Landing | Rejection]:
        kind, key = _kind(path), f"bootstrap/{path.name}"
        records = _records(path)
        try:
            while batch := list(islice(records, BATCH_SIZE)):
                yield from _wrap_batch(kind, key, batch, now)
        except ijson.JSONError as exc:
            raise InputError(f"{path} is not a JSON array of records: {exc}") from exc

    return land_files(
        db, [(_kind(path), path) for path in dump_files(directory)], items, on_batch=on_records
    )


def _kind(path: Path) -> str:
    return DUMP_FILE.match(path.name).group(1)  # type: ignore[union-attr]
