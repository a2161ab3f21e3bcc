"""Read snapshots: after each refresh, the DuckDB warehouse is published as a file that no run
ever writes again, so analysts' tools read it while the platform keeps working.

Why a copied file and not Parquet or DuckLake: DuckDB allows one process on a file, and a
reader's lock blocks the writer (a notebook left open stopped the platform). A copy taken while
the refresh still holds the writer lock, after a checkpoint, is a complete DuckDB database of
exactly what that refresh left: every table, its types and its column comments, opened by the
DuckDB CLI, pandas, a notebook or a BI tool's DuckDB driver with no views to keep in step. It
costs one sequential copy of the file (`copy_file_range`: a reflink where the filesystem has
them). Publication is two renames, each atomic: the new file under its own name, then
`latest.duckdb` pointed at it (a hard link). A reader that opened the previous snapshot keeps
reading it (an open file outlives its name), and a reader never sees a half-written one.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from commercepulse.warehouse.schema import EVENT_TABLES

#: The name readers open: always the newest complete snapshot.
LATEST = "latest.duckdb"
SUFFIX = ".duckdb"
TEMPORARY = ".tmp"


def snapshot_id(published_at: datetime, run_id: str) -> str:
    """Sortable by publication time (UTC, to the microsecond), then the refresh run."""
    return f"{published_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{run_id[:8]}"


def copy_file(source: Path, target: Path) -> None:
    """Copy a file in the kernel (`copy_file_range`: no pass through Python's memory, and a
    reflink on filesystems that share blocks), flushed to disk before it is published."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        left = os.fstat(src.fileno()).st_size
        while left > 0:
            done = os.copy_file_range(src.fileno(), dst.fileno(), min(left, 1 << 30))
            if done == 0:
                break
            left -= done
        os.fsync(dst.fileno())


def publish_file(source: Path, directory: Path, name: str, keep: int) -> Path:
    """Publish a copy of `source` as `<directory>/<name>.duckdb` and point `latest.duckdb` at it;
    keep the newest `keep` snapshots. Called with the writer lock held (one publisher at a
    time), so leftovers of a publisher killed mid-copy are removed first."""
    directory.mkdir(parents=True, exist_ok=True)
    for left_over in directory.glob(f"*{TEMPORARY}"):
        left_over.unlink(missing_ok=True)
    final = directory / f"{name}{SUFFIX}"
    partial = directory / f"{name}{TEMPORARY}"
    copy_file(source, partial)
    partial.chmod(0o444)  # a reader that forgets read_only cannot change what others read
    os.replace(partial, final)
    link = directory / f"{LATEST}.{name}{TEMPORARY}"
    os.link(final, link)
    os.replace(link, directory / LATEST)
    prune(directory, keep)
    return final


def published(directory: Path) -> list[Path]:
    """The snapshot files, oldest first (`latest.duckdb` is a second name of the newest)."""
    return sorted(p for p in directory.glob(f"*{SUFFIX}") if p.name != LATEST)


def prune(directory: Path, keep: int) -> None:
    """Remove all but the newest `keep` snapshots. A reader holding a removed one keeps it until
    it closes (the file lives while open), so pruning never breaks a session."""
    for old in published(directory)[: -keep or None]:
        old.unlink(missing_ok=True)


#: What the data itself says a snapshot holds: the newest staged event and business day.
HELD = (
    "SELECT (SELECT max(ingested_at) FROM ("
    + " UNION ALL ".join(f"SELECT max(ingested_at) AS ingested_at FROM {t}" for t in EVENT_TABLES)
    + ")) AS latest_ingested_at, (SELECT max(date) FROM kpi_daily_revenue) AS last_business_day"
)


def snapshot_info(
    held: pd.DataFrame,
    run_id: str,
    published_at: datetime,
    landing: tuple[str, datetime, str] | None,
) -> pd.DataFrame:
    """The `snapshot_info` row of a snapshot: the refresh run, its newest landing (run, time,
    partition) and what the data holds (`HELD`, read from the warehouse). Its `location` is the
    engine's to fill in when it publishes."""
    landing_run, landed_at, partition = landing or (None, None, None)
    return pd.DataFrame(
        {
            "snapshot_id": [snapshot_id(published_at, run_id)],
            "published_at": [pd.Timestamp(published_at).tz_convert(UTC)],
            "refresh_run_id": [run_id],
            "latest_landing_run_id": [landing_run],
            "latest_landing_at": [pd.Timestamp(landed_at) if landed_at else pd.NaT],
            "latest_landing_partition": [partition],
            "latest_ingested_at": held["latest_ingested_at"].iloc[:1].to_list(),
            "last_business_day": held["last_business_day"].iloc[:1].to_list(),
            "location": [None],
        }
    )
