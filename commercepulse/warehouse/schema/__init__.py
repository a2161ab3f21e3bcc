"""Every warehouse table, once: columns with types and descriptions, key, partition column, one
module per layer (staging, facts, kpis, audit, silver, gold). These specs drive the pandas dtypes
of staging frames, their dagster-pandas validation, the DDL of each engine and the column
metadata shown in the Dagster UI. The registry below is built once and never changed.
"""

from commercepulse.warehouse.schema import audit, facts, gold, kpis, silver, staging
from commercepulse.warehouse.schema.base import PANDAS_DTYPES, C, Col, Table
from commercepulse.warehouse.schema.notes import all_described
from commercepulse.warehouse.schema.staging import EVENT_TABLES

STAGING = all_described(staging.STAGING)
FACTS = all_described(facts.FACTS)
AUDIT_TABLES = all_described(audit.AUDIT_TABLES)
SILVER = all_described(silver.SILVER)
PLATFORM_GOLD = all_described(gold.PLATFORM_GOLD)
KPIS = all_described(kpis.KPIS)
PLATFORM_KPIS = {name: KPIS[name] for name in kpis.PLATFORM_KPIS_NAMES}

ALL_TABLES: dict[str, Table] = {
    **STAGING,
    **FACTS,
    **KPIS,
    **AUDIT_TABLES,
    **SILVER,
    **PLATFORM_GOLD,
}

#: Columns an earlier version wrote and this one removes: personal data outside dim_customer
#: (SPEC §5). Dropped from an existing warehouse on first use, the one non-additive migration.
DROPPED_COLUMNS: tuple[tuple[str, str], ...] = (("fact_platform_orders", "customer_email"),)

__all__ = [
    "ALL_TABLES",
    "DROPPED_COLUMNS",
    "AUDIT_TABLES",
    "FACTS",
    "KPIS",
    "PANDAS_DTYPES",
    "PLATFORM_GOLD",
    "PLATFORM_KPIS",
    "SILVER",
    "STAGING",
    "EVENT_TABLES",
    "C",
    "Col",
    "Table",
]
