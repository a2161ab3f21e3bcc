"""Small worlds built through the library (landing, staging, the facts' and KPIs' SQL, Bronze,
Silver, Gold) without Dagster: fast enough to build twice per hypothesis example.

A world is a fresh MongoDB database and DuckDB file; `tables()` returns every fact, dim and
KPI as sorted frames, so two worlds built from equivalent inputs can be compared whole.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import orjson
import pandas as pd

from commercepulse.mongo import indexes
from commercepulse.mongo.client import get_database
from commercepulse.platform.bronze import ingest_platform
from commercepulse.platform.silver import rebuild_silver
from commercepulse.raw.live import ingest_live
from commercepulse.settings import Settings
from commercepulse.staging.stage import stage_window
from commercepulse.warehouse.gold_sql import GOLD_STATEMENTS
from commercepulse.warehouse.sql import KPI_STATEMENTS, WINDOW_STATEMENTS
from commercepulse_tests.harness import warehouse_of

VENDOR_TABLES = (
    "fact_orders",
    "fact_payments",
    "fact_refunds",
    "fact_shipments",
    "fact_order_daily",
    "dim_customer",
    "dim_product",
    "kpi_daily_revenue",
    "kpi_vendor_payment_success",
    "kpi_order_to_payment",
    "kpi_refund_rate",
    "kpi_top_products",
    "kpi_aov",
)
PLATFORM_TABLES = (
    "silver_users",
    "silver_products",
    "silver_orders",
    "silver_order_items",
    "silver_behaviour_events",
    "dim_product_history",
    "fact_platform_orders",
    "fact_platform_order_items",
    "fact_sessions",
    "kpi_daily_funnel",
)
#: Columns that say which run, file or arrival a row came from, not what it says.
PROVENANCE = {"run_id", "event_ids", "bronze_ids", "reported_at"}
BUSINESS_DAYS = (date(2024, 12, 1), date(2025, 3, 1))  # every business day the worlds use


def write_lines(path: Path, lines: Sequence[dict | bytes | str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as handle:
        for line in lines:
            data = (
                line
                if isinstance(line, bytes)
                else line.encode()
                if isinstance(line, str)
                else orjson.dumps(line)
            )
            handle.write(data + b"\n")


class World:
    """One fresh raw store and warehouse; files go under `data_dir`."""

    def __init__(self, mongo_uri: str, home: Path) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="cp-world-"))
        self.settings = Settings(
            mongo_uri=mongo_uri,
            mongo_db=f"w_{uuid.uuid4().hex[:10]}",
            commercepulse_home=home,
            duckdb_path=self.folder / "wh.duckdb",
            data_dir=self.folder / "data",
            reports_dir=self.folder / "reports",
        )
        self.data_dir = self.settings.data_dir
        self.db = get_database(mongo_uri, self.settings.mongo_db)
        self.warehouse = warehouse_of(self.settings)
        self._session = (
            self.warehouse.session()
        )  # one connection for the world's many small queries
        self._session.__enter__()
        (self.data_dir / "fx_rates_2025.csv").parent.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "fx_rates_2025.csv").write_text(
            "date,USDNGN\n"
            + "".join(f"{BUSINESS_DAYS[0] + timedelta(days=n)},{1500 + n}\n" for n in range(90))
        )

    def close(self) -> None:
        self._session.__exit__(None, None, None)
        self.db.client.drop_database(self.db.name)
        indexes._done.discard((id(self.db.client), self.db.name))
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- vendor events -----------------------------------------------------------------
    def live_day(self, day: str, lines: Sequence[dict | bytes | str]) -> None:
        write_lines(self.data_dir / "live_events" / day / "events.jsonl", lines)

    def build_vendor(self) -> None:
        """Land every live file (in day order), stage all business days, rebuild facts, dims and KPIs."""
        folders = sorted((self.data_dir / "live_events").iterdir())
        for folder in folders:
            ingest_live(self.db, [folder])
        start, end = BUSINESS_DAYS
        stage_window(
            self.db, self.warehouse, start, end, self.data_dir, self.settings.late_threshold_hours
        )
        params = {
            "start": start,
            "end": end,
            "run_id": "world",
            "reported_at": pd.Timestamp("2025-06-01", tz="UTC"),
            "part": 0,  # fact_orders' key bucket: one bucket (see window_statements)
            "parts": 1,
        }
        statements = [s for name in WINDOW_STATEMENTS for s in WINDOW_STATEMENTS[name]]
        statements += [
            s for name in KPI_STATEMENTS for s in KPI_STATEMENTS[name]
        ] + GOLD_STATEMENTS["kpi_aov"]
        self.warehouse.execute([(sql, params) for sql in statements])

    # -- platform sources --------------------------------------------------------------
    def platform_day(self, source: str, day: str, records: Sequence[dict | bytes | str]) -> None:
        write_lines(self.data_dir / "platform" / source / f"{day}.jsonl", records)

    def build_platform(self) -> None:
        """Land every platform file in Bronze, rebuild Silver over all its days, then Gold."""
        root = self.data_dir / "platform"
        days = sorted({p.stem for p in root.glob("*/*.jsonl")})
        for day in days:  # one ingestion day at a time, as the platform job's partitions do
            ingest_platform(self.db, root, [date.fromisoformat(day)])
            rebuild_silver(
                self.db,
                self.warehouse,
                date.fromisoformat(day),
                date.fromisoformat(day) + timedelta(days=1),
            )
        gold = [
            s
            for name, statements in GOLD_STATEMENTS.items()
            if name not in ("kpi_aov", "kpi_retention")
            for s in statements
        ]
        self.warehouse.execute([(sql, {}) for sql in gold])

    def tables(self, names: Sequence[str], drop: set[str] = frozenset()) -> dict[str, pd.DataFrame]:
        """Each table sorted by all its columns (provenance and `drop` columns left out)."""
        out = {}
        for name in names:
            frame = self.warehouse.table(name)
            frame = frame.drop(columns=[c for c in frame.columns if c in PROVENANCE | set(drop)])
            out[name] = (
                frame.sort_values(list(frame.columns)).reset_index(drop=True)
                if len(frame)
                else frame
            )
        return out


@contextmanager
def world(mongo_uri: str, home: Path) -> Iterator[World]:
    built = World(mongo_uri, home)
    try:
        yield built
    finally:
        built.close()


def assert_same_tables(
    left: Mapping[str, pd.DataFrame], right: Mapping[str, pd.DataFrame], rtol: float = 0.0
) -> None:
    """Every table equal row for row (floats within `rtol`, else exactly)."""
    assert left.keys() == right.keys()
    for name in left:
        a, b = left[name], right[name]
        assert len(a) == len(b), f"{name}: {len(a)} rows vs {len(b)}"
        if len(a):
            pd.testing.assert_frame_equal(
                a, b, check_dtype=False, rtol=rtol or 1e-12, atol=0 if not rtol else 1e-9, obj=name
            )
