"""All configuration in one place, read from the environment (and an optional `.env`)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: A size DuckDB's SET takes (validated here: SET takes no parameters).
SIZE = r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)"


class CheckThresholds(BaseModel):
    """The late threshold and every check threshold (fractions 0-1 unless said otherwise): part of
    the settings, and of the Dagster resource that hands them to the checks."""

    late_threshold_hours: float = 24.0
    check_duplicate_rate_max: float = 0.10
    check_late_rate_max: float = 0.15
    # payments_without_order judges true orphans only: not an order id matching this pattern (a
    # vendor's own "unknown order" marker), nor a payment within CHECK_ORPHAN_EDGE_DAYS of the first
    # order of its vendor's source (dumps / live stream), whose order may predate the data
    check_orphan_payments_max: int = 0
    check_unknown_order_pattern: str = "UNKNOWN"
    check_orphan_edge_days: int = 30
    check_unmapped_max: int = 0
    # a restatement of a reported day's net revenue is material beyond
    # max(CHECK_REVENUE_DRIFT_FLOOR_NGN, CHECK_REVENUE_DRIFT_MAX_SHARE x |the accepted net| (revenue_rules.drift_states))
    check_revenue_drift_max_share: float = 0.01
    check_revenue_drift_floor_ngn: float = 10_000.0
    # mixed-currency refunds vs payments are compared in NGN within this share (FX moves between the days)
    check_over_refund_fx_tolerance: float = 0.02
    check_behaviour_duplicate_rate_max: float = 0.05
    check_anonymous_share_max: float = 0.25
    # data realities SPEC expects every day (shared e-mails, status records out of order, refunds
    # of orders paid before the data window, orders without CREATED) are judged against their own
    # normal share of the previous CHECK_NORMAL_WINDOW_DAYS days with data (checks/normal.py)
    check_normal_window_days: int = Field(28, ge=1)
    check_normal_min_history_days: int = Field(7, ge=1)
    check_normal_z_max: float = Field(4.0, gt=0)
    # provisional or final (warehouse/lateness.py): a KPI day is final once each vendor's newest
    # live event is later than the day's end by this quantile of the vendor's lateness (per
    # event day, the lag of its last event to arrive) over the trailing FINAL_LAG_WINDOW_DAYS
    final_lag_quantile: float = Field(0.99, gt=0, le=1)
    final_lag_window_days: int = Field(28, ge=1)
    # freshness (sensor `freshness`): live ingestion day D is due at this hour (UTC) of D+1, and the
    # KPIs are stale when not refreshed KPI_FRESH_MINUTES after the last landing
    freshness_deadline_hour: int = Field(6, ge=0, le=23)
    # the last due ingestion days the freshness check judges (it names the overdue ones)
    freshness_lookback_days: int = Field(7, ge=1, le=366)
    kpi_fresh_minutes: int = Field(30, ge=1)
    # quarantined lines not landed since (replay or a fixed file)
    check_quarantine_open_max: int = 0
    # vendor feed anomalies: a day is judged against the vendor's previous FEED_WINDOW_DAYS ingestion days
    # (robust z = (value - median) / max(1.4826 MAD, share x |median|, the metric's floor))
    check_feed_window_days: int = 28
    check_feed_min_history_days: int = 7
    check_feed_z_max: float = 4.0
    # the scale never falls below this share of the median (a steady feed is not flagged for noise)
    check_feed_min_scale_share: float = 0.10
    # KPI anomalies (checks/kpi_anomalies.py): net revenue, orders, payment success and refund rate,
    # overall and per vendor, against the previous CHECK_KPI_WINDOW_DAYS eligible days (not
    # annotated, not provisional) with weekday and month-end (payday) factors; judged from
    # CHECK_KPI_MIN_HISTORY_DAYS such days, flagged beyond CHECK_KPI_Z_MAX robust deviations
    check_kpi_window_days: int = Field(84, ge=7)
    check_kpi_min_history_days: int = Field(28, ge=7)
    check_kpi_z_max: float = Field(4.0, gt=0)
    # volumes: the scale never falls below this share of the expected value
    check_kpi_min_scale_share: float = Field(0.10, gt=0)
    # rates: the scale never falls below this (absolute, 0.02 = 2 points)
    check_kpi_rate_floor: float = Field(0.02, gt=0)
    # the month-end window: the last N days of a month and the first M of the next
    check_kpi_payday_last_days: int = Field(3, ge=0, le=14)
    check_kpi_payday_first_days: int = Field(2, ge=0, le=14)
    # payday days needed in the history before a month-end rise is judged
    check_kpi_min_payday_days: int = Field(3, ge=1)


class Settings(BaseSettings, CheckThresholds):
    """Every knob of the platform; see `.env.example` for the documented list."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    mongo_uri: str | None = Field(None, description="MongoDB URI; unset = start a local mongod")
    mongo_db: str = Field(
        "commercepulse", pattern=r'^[^/\\. "$*<>:|?]+$', description="MongoDB database name"
    )
    commercepulse_home: Path = Path(".commercepulse")
    data_dir: Path = Path("data")
    reports_dir: Path = Path("reports")
    duckdb_path: Path | None = None
    duckdb_memory_limit: str = Field("320MB", pattern=f"^{SIZE}$")
    # opt-in: DuckDB hands evicted memory back (less memory at the limit, slower small runs)
    duckdb_allocator_flush: str = Field("", pattern=f"^({SIZE})?$")
    # read snapshots published after each refresh (DuckDB): where ("" = `snapshots/` beside the
    # warehouse file) and how many are kept; readers open <SNAPSHOTS_DIR>/latest.duckdb
    snapshots_dir: Path | None = None
    snapshots_keep: int = Field(3, ge=1)
    # first business day (event time) and first ingestion day (live and platform day folders);
    # unset: where the data starts, remembered in COMMERCEPULSE_HOME/calendar.json
    # (lib/data_calendar.py), else these defaults
    partitions_start: str = "2023-01-01"
    ingestion_start: str = "2024-01-01"

    # Dagster instance storage: a local PostgreSQL started by the project (default), the PostgreSQL of
    # DAGSTER_PG_URL (production), or SQLite files under DAGSTER_HOME
    dagster_storage: Literal["postgres", "sqlite"] = "postgres"
    dagster_pg_url: str | None = Field(
        None, description="PostgreSQL for the Dagster instance; unset = local"
    )

    # every asset's owner, by asset group ("team:<name>" or an e-mail; ASSET_OWNERS as JSON): the
    # asset catalog filters by owner, alerts name them
    asset_owners: dict[str, str] = {
        "raw": "team:ingestion",
        "feeds": "team:ingestion",
        "staging": "team:data-platform",
        "warehouse": "team:data-platform",
        "kpis": "team:analytics",
        "reports": "team:analytics",
        "platform_bronze": "team:platform-data",
        "platform_silver": "team:platform-data",
        "platform_gold": "team:platform-data",
        "snapshots": "team:data-platform",
    }

    # the secret the pseudonymous customer keys are hashed under; unset = generated once into
    # COMMERCEPULSE_HOME/customer_key_salt (keep it: a new salt needs `commercepulse rekey-customers`)
    customer_key_salt: str | None = Field(None, description="customer key salt; unset = state file")

    # alerts (sensor alert_webhook): failed runs and ERROR / blocking check failures, Slack-compatible
    alert_webhook_url: str | None = Field(None, description="webhook for alerts; unset = no alerts")
    # the Dagster UI's address, for the links in alerts
    ui_base_url: str = "http://127.0.0.1:3000"

    warehouse: Literal["duckdb", "bigquery"] = "duckdb"
    bq_project: str | None = None
    bq_dataset: str = "commercepulse"
    bq_location: str = "US"
    # scale-out (WAREHOUSE=bigquery only; DuckDB allows one writing process, so a backfill is one
    # run there and the queue runs one run at a time): a backfill is split into runs of
    # BACKFILL_RUN_DAYS partitions, the run queue executes MAX_CONCURRENT_RUNS of them side by
    # side, and a run's independent steps run in RUN_MAX_PARALLEL_STEPS processes
    backfill_run_days: int = Field(30, ge=1)
    # processes for the CPU-bound work of one step (landing several days' files, the vendor feed
    # of a multi-day window, report charts); 0 = one per core
    workers: int = Field(0, ge=0)
    run_max_parallel_steps: int = Field(2, ge=1)
    max_concurrent_runs: int = Field(2, ge=1)

    @field_validator("asset_owners")
    @classmethod
    def _owners_are_teams_or_emails(cls, owners: dict[str, str]) -> dict[str, str]:
        bad = {
            g: o for g, o in owners.items() if not re.fullmatch(r"team:[\w.-]+|[^@\s]+@[^@\s]+", o)
        }
        if bad:
            raise ValueError(f"owners must be 'team:<name>' or an e-mail, got {bad}")
        return owners

    @model_validator(mode="after")
    def _calendar_from_the_data(self) -> Settings:
        """PARTITIONS_START / INGESTION_START not set: the starts remembered from the data."""
        from commercepulse.lib.data_calendar import remembered

        unset = {"partitions_start", "ingestion_start"} - self.model_fields_set
        if unset:
            for name, value in remembered(self.home).items():
                if name in unset:
                    object.__setattr__(self, name, value)
        return self

    @property
    def home(self) -> Path:
        return self.commercepulse_home.resolve()

    @property
    def warehouse_path(self) -> Path:
        return (self.duckdb_path or self.home / "warehouse.duckdb").resolve()

    @property
    def concurrent_runs(self) -> int:
        """Runs the queue executes side by side: one on DuckDB (one writing process)."""
        return self.max_concurrent_runs if self.warehouse == "bigquery" else 1

    @property
    def mongod_dir(self) -> Path:
        return self.home / "mongod"

    @property
    def customer_key_salt_file(self) -> Path:
        """Where the generated customer key salt is kept when CUSTOMER_KEY_SALT is unset."""
        return self.home / "customer_key_salt"


def worker_processes(workers: int) -> int:
    """WORKERS as processes to start: the number given, or one per core for 0."""
    return workers or os.cpu_count() or 1


def load_settings() -> Settings:
    """The settings, or one line naming each bad variable (ConfigurationError): what a code location
    shows when it cannot load, instead of a pydantic traceback."""
    from pydantic import ValidationError

    from commercepulse.errors import ConfigurationError, settings_message

    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(settings_message(exc)) from None
