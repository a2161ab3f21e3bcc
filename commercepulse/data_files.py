"""The input folders (SPEC §2, §9) as the sensors and the main job see them: which day files
exist, and a fingerprint that tells a changed file from a touched one."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from math import ceil
from pathlib import Path

DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DUMP = re.compile(r"^(orders|payments|refunds|shipments)_\d{4}\.json$")


@dataclass(frozen=True)
class DataFile:
    """One input file: its `kind` (live, platform, bootstrap: which landing it feeds) and its
    partition `day` (None: unpartitioned)."""

    path: Path
    kind: str
    day: str | None

    @property
    def name(self) -> str:
        return str(self.path)


def live_files(data_dir: Path) -> list[DataFile]:
    return [
        DataFile(p, "live", p.parent.name)
        for p in sorted((data_dir / "live_events").glob("*/events.jsonl"))
        if DAY.match(p.parent.name)
    ]


def platform_files(data_dir: Path) -> list[DataFile]:
    return [
        DataFile(p, "platform", p.stem)
        for p in sorted((data_dir / "platform").glob("*/*.jsonl"))
        if DAY.match(p.stem)
    ]


def bootstrap_files(data_dir: Path) -> list[DataFile]:
    folder = data_dir / "bootstrap"
    return [
        DataFile(p, "bootstrap", None) for p in sorted(folder.glob("*.json")) if DUMP.match(p.name)
    ]


def all_files(data_dir: Path) -> list[DataFile]:
    return [*bootstrap_files(data_dir), *live_files(data_dir), *platform_files(data_dir)]


def live_days(data_dir: Path) -> list[str]:
    return sorted({f.day for f in live_files(data_dir)})


def platform_days(data_dir: Path) -> list[str]:
    return sorted({f.day for f in platform_files(data_dir)})


def has_input(data_dir: Path) -> bool:
    return bool(bootstrap_files(data_dir) or live_files(data_dir))


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def not_begun(days: list[str], now: datetime) -> list[str]:
    """What the files of days that have not begun in UTC wait for ("2026-12-08 waits for its UTC
    day, 47 min"): day folders are UTC days (a vendor in Lagos, UTC+1, names tomorrow's file an
    hour early); each lands when its day begins and its partition exists."""
    out = []
    for day in sorted(set(days)):
        try:
            begins = datetime.combine(date.fromisoformat(day), time.min, UTC)
        except ValueError:
            continue
        if begins > now:
            minutes = ceil((begins - now).total_seconds() / 60)
            out.append(f"{day} waits for its UTC day, {minutes} min")
    return out


def waiting_for_their_day(data_dir: Path, now: datetime) -> list[str]:
    """`not_begun` of every day file under `data_dir`."""
    return not_begun([f.day for f in all_files(data_dir) if f.day], now)
