"""Where the partition calendars start: where the data starts (PARTITIONS_START, INGESTION_START).

Dagster lists every partition from a calendar's start, and an asset missing days before its data
shows them as "missing" (the demo's 1,061). Unless set, both starts come from the data present
when the platform first runs, remembered in COMMERCEPULSE_HOME/calendar.json (a partition
calendar must not move under an instance's records) and only ever moved earlier, when older data
arrives:

- ingestion days: the earliest live-events day folder or platform source file;
- business days: January 1 of the earliest dump year (`bootstrap/*_YYYY.json`, SPEC §2.1), or
  the first of the month a month before the earliest ingestion day (a late event's business day
  is earlier than the day it landed), whichever is earlier.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

FILE = "calendar.json"
DUMP_YEAR = re.compile(r"_(\d{4})\.json$")
DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.jsonl)?$")
#: How far before the first ingestion day business days may reach (late events).
LATE_REACH = timedelta(days=31)


def _days(paths) -> list[date]:
    out = []
    for path in paths:
        found = DAY.match(path.name)
        if found:
            try:
                out.append(date.fromisoformat(found[1]))
            except ValueError:
                continue
    return out


def detect(data_dir: Path) -> dict[str, str]:
    """{"partitions_start", "ingestion_start"} from the data under `data_dir` (those it can say)."""
    years = [
        int(m[1])
        for p in (data_dir / "bootstrap").glob("*.json")
        if (m := DUMP_YEAR.search(p.name))
    ]
    ingestion = _days((data_dir / "live_events").glob("*")) + _days(
        (data_dir / "platform").glob("*/*.jsonl")
    )
    starts: list[date] = [date(min(years), 1, 1)] if years else []
    out: dict[str, str] = {}
    if ingestion:
        first = min(ingestion)
        out["ingestion_start"] = first.isoformat()
        starts.append((first - LATE_REACH).replace(day=1))
    if starts:
        out["partitions_start"] = min(starts).isoformat()
    return out


def remembered(home: Path) -> dict[str, str]:
    """The starts remembered in the state folder ({} when none)."""
    try:
        found = json.loads((home / FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in found.items() if k in ("partitions_start", "ingestion_start")}


def remember(home: Path, data_dir: Path) -> dict[str, str]:
    """Remember the data's starts, moving a remembered one only earlier; returns what is kept."""
    kept = remembered(home)
    for name, value in detect(data_dir).items():
        if name not in kept or value < kept[name]:
            kept[name] = value
    if kept:
        home.mkdir(parents=True, exist_ok=True)
        (home / FILE).write_text(json.dumps(kept, indent=1) + "\n")
    return kept
