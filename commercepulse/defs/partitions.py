"""What the definitions need before any resource exists: the partition calendar and the
warehouse kind shown on assets.

These are the only settings read when the definitions are built: a PartitionsDefinition and
an asset's kind tags are part of each asset's definition (the UI, the asset graph and the
instance's partition records key on them), so they cannot come from a resource at run time.
Everything else reaches assets through resources (`defs/resources.py`).
"""

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from commercepulse.settings import load_settings

_settings = load_settings()
#: Business days (event time): staging, facts, dims, reports.
DAILY = dg.DailyPartitionsDefinition(
    start_date=_settings.partitions_start, end_offset=1, timezone="UTC"
)
#: Ingestion days (the live stream's and platform sources' day folders): landing and its figures.
#: A calendar of its own, starting when the stream starts: a business day draws on any ingestion
#: day, so the two are not aligned day for day (and the UI does not pair them as if they were).
INGESTION_DAILY = dg.DailyPartitionsDefinition(
    start_date=_settings.ingestion_start, end_offset=1, timezone="UTC"
)
WAREHOUSE_KIND = _settings.warehouse  # `duckdb` or `bigquery`: where the warehouse tables live
SINGLE_RUN = dg.BackfillPolicy.single_run()
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
PARTITION = "dagster/partition"


def window_days(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> tuple[date, date]:
    """[start, end) of the run's partition window (one day, or a whole single-run backfill)."""
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def run_partition_keys(run: dg.DagsterRun) -> list[str]:
    """The daily partitions a run targets (its partition tag or range tags); [] for an unpartitioned run."""
    if PARTITION in run.tags:
        return [run.tags[PARTITION]]
    if RANGE_START in run.tags and RANGE_END in run.tags:
        first, last = (
            date.fromisoformat(run.tags[RANGE_START]),
            date.fromisoformat(run.tags[RANGE_END]),
        )
        return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    return []


def history_window() -> tuple[date, date]:
    """[start, end) of every day the calendar has: what a whole-history check judges."""
    # the first and last keys only: listing every key costs ~30 ms, once per history check
    last = DAILY.get_last_partition_key()
    first = DAILY.start.date()
    return first, (date.fromisoformat(last) if last else first) + timedelta(days=1)


def range_tags(first: str, last: str) -> dict[str, str]:
    """Tags that make a run cover the partitions first..last (inclusive) in one single-run backfill."""
    return {RANGE_START: first, RANGE_END: last}


_KEYS: dict[tuple[int, date], frozenset[str]] = {}


def valid_days(days: list[str], calendar: dg.DailyPartitionsDefinition = DAILY) -> list[str]:
    """The days that are partitions of `calendar` (business days by default). The calendar's keys
    are listed once a day (listing them costs ~0.1 s; sensors ask every few seconds)."""
    today = datetime.now(UTC).date()
    key = (id(calendar), today)
    if key not in _KEYS:
        for stale in [k for k in _KEYS if k[1] != today]:
            del _KEYS[stale]
        _KEYS[key] = frozenset(calendar.get_partition_keys())
    return [d for d in days if d in _KEYS[key]]


def day_range(first: str | None, last: str | None = None) -> tuple[str | None, dict[str, str]]:
    """(partition key, tags) of one run over the days first..last: the partition itself for one
    day, the range tags (a single-run backfill) for several, neither for an unpartitioned run."""
    if first is None:
        return None, {}
    last = last or first
    return (first, {}) if first == last else (None, range_tags(first, last))


def day_range_request(
    run_key: str, first: str, last: str, tags: dict[str, str], job_name: str | None = None
) -> dg.RunRequest:
    """A sensor's run request over the days first..last (see `day_range`)."""
    partition_key, range_ = day_range(first, last)
    return dg.RunRequest(
        run_key=run_key, job_name=job_name, partition_key=partition_key, tags={**tags, **range_}
    )
