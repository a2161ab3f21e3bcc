"""Rows written as they come: a text table, CSV or JSON Lines; nothing waits for the whole result.

The text table sizes its columns from the first batch (values wider than MAX_WIDTH are cut
with …); CSV and JSON Lines write every value whole. Money and dates are written as the
warehouse holds them (ISO dates and times, UTC)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TextIO

import orjson

FORMATS = ("table", "csv", "json")
MAX_WIDTH = 40


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float) and value != value:  # NaN
        return ""
    return str(value)


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_rows(
    columns: Sequence[str], batches: Iterable[Sequence[tuple]], fmt: str, out: TextIO
) -> int:
    """Write every row in `fmt` (FORMATS) to `out`; returns the number of rows."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for batch in batches:
            writer.writerows([_text(v) for v in row] for row in batch)
            count += len(batch)
        return count
    if fmt == "json":
        for batch in batches:
            for row in batch:
                out.write(
                    orjson.dumps(
                        dict(zip(columns, row, strict=True)),
                        default=_json_default,
                        option=orjson.OPT_NON_STR_KEYS,
                    ).decode()
                    + "\n"
                )
            count += len(batch)
        return count
    widths: list[int] | None = None
    for batch in batches:
        cells = [[_text(v) for v in row] for row in batch]
        if widths is None:
            widths = [
                min(MAX_WIDTH, max([len(c)] + [len(r[i]) for r in cells]))
                for i, c in enumerate(columns)
            ]
            out.write(_line(columns, widths) + "\n" + "  ".join("-" * w for w in widths) + "\n")
        out.writelines(_line(r, widths) + "\n" for r in cells)
        count += len(batch)
    if widths is None:
        out.write(_line(columns, [len(c) for c in columns]) + "\n")
    return count


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(
        (c if len(c) <= w else c[: w - 1] + "…").ljust(w)
        for c, w in zip(cells, widths, strict=True)
    ).rstrip()
