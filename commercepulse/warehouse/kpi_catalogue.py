"""Every KPI as one spec: its table (columns with their descriptions, key, upstream tables:
`schema/kpis.py`), the SQL statements that recompute it from those tables (`sql.py`,
`gold_sql.py`), and how one of its figures is explained (`explainers.py`). The KPI assets, their
dependencies and UI column schemas, and `commercepulse explain`, are built from these specs:
start here to find or change a KPI. Two KPIs are computed in pandas, not SQL:
`kpi_late_arrivals` (per ingestion day, from vendor_feed_daily: `staging/feed.py`) and
`kpi_vendor_lateness` (the lateness that makes KPI days final: `lateness.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from commercepulse.warehouse.explainers import EXPLAINERS, Explainer
from commercepulse.warehouse.gold_sql import GOLD_STATEMENTS
from commercepulse.warehouse.schema import KPIS, PLATFORM_KPIS
from commercepulse.warehouse.schema.base import Table
from commercepulse.warehouse.sql import KPI_STATEMENTS


@dataclass(frozen=True)
class Kpi:
    """One KPI: what it holds, what recomputes it, and how its figures are explained."""

    table: Table
    statements: Sequence
    explainer: Explainer | None = None

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def upstream(self) -> tuple[str, ...]:
        return self.table.upstream


def _kpi(name: str, statements: Sequence) -> Kpi:
    return Kpi(KPIS[name], statements, EXPLAINERS.get(name))


#: The vendor KPIs (SPEC §6), recomputed by the KPI domain.
VENDOR_KPIS: dict[str, Kpi] = {n: _kpi(n, s) for n, s in KPI_STATEMENTS.items()}
#: The platform KPIs (SPEC §9, Gold), recomputed by the platform domain with the Gold tables.
PLATFORM_KPI_SPECS: dict[str, Kpi] = {n: _kpi(n, GOLD_STATEMENTS[n]) for n in PLATFORM_KPIS}
KPI_CATALOGUE: dict[str, Kpi] = {**VENDOR_KPIS, **PLATFORM_KPI_SPECS}
