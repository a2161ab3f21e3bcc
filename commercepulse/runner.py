"""The main job end to end (`commercepulse run`): named jobs of the definitions, launched as real
runs in the persistent Dagster instance the UI uses, in the order the asset graph gives.

Which partitions each job gets comes from the data: the bootstrap dumps once, live and
platform files by their ingestion days, business days where the raw store has events, the
whole-history refresh once, and a report for every processed day.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from graphlib import TopologicalSorter
from pathlib import Path

import dagster as dg

from commercepulse.data_files import has_input, live_days, platform_days
from commercepulse.defs.job_names import (
    BOOTSTRAP_JOB,
    BUSINESS_DAY_JOB,
    INGEST_JOB,
    PLATFORM_JOB,
    REFRESH_JOB,
    REPORTS_JOB,
)
from commercepulse.defs.landing_contract import in_this_process, trigger
from commercepulse.defs.partitions import DAILY, INGESTION_DAILY, day_range, valid_days
from commercepulse.defs.resources import (
    build_resources,
    build_warehouse,
    run_topology,
    warehouse_location,
)
from commercepulse.instance.home import event_batching_environment, pooled, prepare_dagster_home
from commercepulse.lib.data_calendar import remember as remember_calendar
from commercepulse.lib.days import contiguous_ranges, utc_midnight
from commercepulse.settings import Settings
from commercepulse.staging.extract import days_with_events
from commercepulse.warehouse.base import Warehouse

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
#: The demo's live stream: its last DEMO_LIVE_DAYS days, ending yesterday (UTC), so the UI's partition
#: views, timelines and missing counts look as on a live deployment; the dumps are the year before.
DEMO_LIVE_DAYS = 7


def demo_window(today: date | None = None) -> tuple[date, date]:
    """(first, last) live day of the demo: the DEMO_LIVE_DAYS days up to yesterday."""
    last = (today or datetime.now(UTC).date()) - timedelta(days=1)
    return last - timedelta(days=DEMO_LIVE_DAYS - 1), last


MAIN_JOBS = (BOOTSTRAP_JOB, INGEST_JOB, PLATFORM_JOB, BUSINESS_DAY_JOB, REFRESH_JOB, REPORTS_JOB)
TRIGGER = trigger("commercepulse run")
#: Business days at most this far apart go in one range run (the empty days between cost little).
BRIDGE_DAYS = 31


class StepFailedError(RuntimeError):
    """A run failed for a reason other than a check finding (a bug, a missing input, a dead service)."""


@dataclass
class Finding:
    """A failed check of the run: its worst figure and the days it failed on."""

    check: str
    severity: str
    figure: str
    why: str = ""
    days: list[str] = field(default_factory=list)
    day_count: int = 0

    def add(self, evaluation: dg.AssetCheckEvaluation) -> None:
        """One failed result: per partition, or over all history (failing days in its metadata)."""
        if evaluation.partition:
            self.days.append(evaluation.partition)
            self.day_count += 1
        elif "failing_days" in evaluation.metadata:
            self.days.extend(evaluation.metadata["failing_days"].value)
            self.day_count += evaluation.metadata["days_failing"].value
        if not self.figure:
            self.figure = f"{evaluation.metadata['figure'].value} (threshold {evaluation.metadata['threshold'].value})"

    def line(self) -> str:
        days = (
            f" on {self.day_count} day(s) ({', '.join(self.days[:3])}{', …' if self.day_count > 3 else ''})"
            if self.days
            else ""
        )
        return f"{self.check} [{self.severity}] {self.figure}{days}" + (
            f" — {self.why}" if self.why else ""
        )


def generate_demo(data_dir: Path, today: date | None = None) -> str:
    """Demo data: dumps of the year before the live window, FX for the window's years, and the
    live and platform days ending yesterday. Returns what was generated, in words."""
    from commercepulse.generate.platform import write_platform
    from commercepulse.generate.writers import write_bootstrap, write_fx, write_live

    first, last = demo_window(today)
    write_bootstrap(data_dir, seed=7, orders=1200, year=first.year - 1)
    for year in sorted({first.year, last.year}):
        write_fx(data_dir, year)
    write_live(data_dir / "live_events", seed=42, start=first, days=DEMO_LIVE_DAYS, events=2000)
    write_platform(data_dir / "platform", start=first, days=DEMO_LIVE_DAYS, seed=42)
    return f"bootstrap {first.year - 1}, {DEMO_LIVE_DAYS} live and platform days {first} … {last}"


def job_order(defs: dg.Definitions, names: tuple[str, ...]) -> list[str]:
    """The jobs in dependency order: a job runs after every job that builds an upstream of its assets."""
    graph = defs.resolve_asset_graph()
    keys = {
        name: set(defs.resolve_job_def(name).asset_layer.executable_asset_keys) for name in names
    }
    owner = {key: name for name, assets in keys.items() for key in assets}
    sorter = TopologicalSorter(
        {
            name: {
                owner[p]
                for key in assets
                for p in graph.get(key).parent_keys
                if p in owner and owner[p] != name
            }
            for name, assets in keys.items()
        }
    )
    return list(sorter.static_order())


def business_days(db, say: Callable[[str], None] = print) -> list[str]:
    """The business days with events, within the calendar; days before its start are named, never
    dropped in silence (they need PARTITIONS_START earlier)."""
    found = days_with_events(
        db, utc_midnight(date(1970, 1, 1)), utc_midnight(date.today() + timedelta(days=2))
    )
    start = DAILY.start.date().isoformat()
    early = sorted(d for d in found if d < start)
    if early:
        say(
            f"  ! {len(early)} business day(s) with events before PARTITIONS_START "
            f"({early[0]}…{early[-1]}) are not built: set PARTITIONS_START={early[0]} or earlier"
        )
    return valid_days(found)


def why_of(defs: dg.Definitions, evaluation: dg.AssetCheckEvaluation) -> str:
    """The check's own one-line description (what it looks for)."""
    key = dg.AssetCheckKey(evaluation.asset_key, evaluation.check_name)
    description = defs.resolve_asset_graph().get_check_spec(key).description or ""
    return re.sub(r"\s*\([^()]*\)\.?$", "", description)  # without the trailing "(WARN)." note


def ingestion_days(days: list[str], folder: str, say: Callable[[str], None]) -> list[str]:
    """The day folders that are ingestion-day partitions; the others are named, not silently dropped."""
    valid = valid_days(days, INGESTION_DAILY)
    if skipped := sorted(set(days) - set(valid)):
        say(
            f"! skipping {len(skipped)} {folder} day(s) outside the ingestion calendar (INGESTION_START="
            f"{INGESTION_DAILY.start.date()}, up to tomorrow): {', '.join(skipped[:5])}"
        )
    return valid


def run_all(
    settings: Settings,
    say: Callable[[str], None] = print,
    instance: dg.DagsterInstance | None = None,
    reports: bool = True,
    warehouse: Warehouse | None = None,
) -> dict:
    """Materialize everything for DATA_DIR through the definitions' jobs; returns timings and where things are.

    `reports=False` skips the daily report files; `warehouse` replaces the configured engine (tests)."""
    from commercepulse.definitions import build_definitions

    engine = warehouse or build_warehouse(settings)
    resources = build_resources(settings, engine)
    defs = build_definitions(resources, settings.asset_owners, run_topology(settings))
    if instance is None:
        prepare_dagster_home(settings)
        instance = dg.DagsterInstance.get()
        pooled(instance)
    event_batching_environment()
    data_dir = settings.data_dir
    if not has_input(data_dir):
        say(f"→ {data_dir} has no input: generating demo data …")
        say(f"  {generate_demo(data_dir)}")
    remember_calendar(settings.home, data_dir)  # the UI's calendars start where this data starts
    db = resources["mongo"].db()
    say(f"→ MongoDB ready: database {settings.mongo_db}")
    timings: dict[str, float] = {}
    findings: dict[str, Finding] = {}
    run_ids: list[str] = []
    state: dict[str, list[str]] = {
        "live": ingestion_days(live_days(data_dir), "live_events", say),
        "platform": ingestion_days(platform_days(data_dir), "platform", say),
    }

    def business() -> list[tuple[str, str]]:
        state["business"] = business_days(db, say)
        return contiguous_ranges(state["business"], bridge=BRIDGE_DAYS)

    def report_days() -> list[tuple[str, str]]:
        state["reports"] = (
            sorted(set(state.get("business", [])) | set(state["live"])) if reports else []
        )
        return contiguous_ranges(state["reports"], bridge=BRIDGE_DAYS)

    #: job -> its runs: None for one unpartitioned run, else the (first, last) ranges ([]: none)
    spans_of: dict[str, Callable[[], list[tuple[str, str]] | None]] = {
        BOOTSTRAP_JOB: lambda: None if (data_dir / "bootstrap").is_dir() else [],
        INGEST_JOB: lambda: contiguous_ranges(state["live"]),
        PLATFORM_JOB: lambda: contiguous_ranges(state["platform"]),
        BUSINESS_DAY_JOB: business,
        REPORTS_JOB: report_days,
    }

    def partitions(job: str) -> list[tuple[str, str]] | None:
        return spans_of[job]() if job in spans_of else None

    for job in job_order(defs, MAIN_JOBS):
        spans = partitions(job)
        for span in [None] if spans is None else spans:
            label = job if span is None else f"{job} {span[0]}..{span[1]}"
            say(f"→ {label}")
            started = time.perf_counter()
            partition_key, range_ = day_range(*(span or (None, None)))
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance,
                run_config=QUIET,
                raise_on_error=False,
                tags={**TRIGGER, **in_this_process(), **range_},
                partition_key=partition_key,
            )
            run_ids.append(result.run_id)
            errors = [
                e
                for e in result.get_step_failure_events()
                if e.step_failure_data.error is None
                or e.step_failure_data.error.cls_name != "DagsterAssetCheckFailedError"
            ]
            if errors:
                error = errors[0].step_failure_data.error
                raise StepFailedError(
                    f"{label}: step {errors[0].step_key} failed (run {result.run_id}):\n"
                    f"{error.message.strip() if error else ''}"
                )
            timings[label] = round(time.perf_counter() - started, 2)
            for evaluation in result.get_asset_check_evaluations():
                if not evaluation.passed:
                    name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                    findings.setdefault(
                        name, Finding(name, evaluation.severity.value, "", why_of(defs, evaluation))
                    ).add(evaluation)
    return {
        "timings": timings,
        "warehouse": warehouse_location(settings),
        "snapshot": engine.readers_location(),
        "business_days": len(state.get("business", [])),
        "live_days": state["live"],
        "failed_checks": [f.line() for f in findings.values()],
        "findings": findings,
        "reports_dir": str(settings.reports_dir.resolve()),
        "report_days": state.get("reports", []),
        "platform_days": state["platform"],
        "run_ids": run_ids,
    }
