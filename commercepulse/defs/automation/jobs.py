"""The whole-history refresh: dim_date, the KPIs and Gold, and every whole-history check."""

import dagster as dg

from commercepulse.checks.spec import HISTORY
from commercepulse.defs.asset_checks import check_keys
from commercepulse.defs.job_names import REFRESH_JOB
from commercepulse.defs.table_assets import WHOLE_HISTORY

WHOLE_HISTORY_TABLES = dg.AssetSelection.tag(*next(iter(WHOLE_HISTORY.items())))
#: Every whole-history check: blocking ones (completeness, key_integrity, scd2_integrity) run before
#: the tables that read their assets, so a failing one keeps the KPIs as they were.
HISTORY_CHECKS = dg.AssetSelection.checks(*check_keys(HISTORY))
REFRESH = WHOLE_HISTORY_TABLES.without_checks() | HISTORY_CHECKS  # no freshness checks: a sensor's
refresh_job = dg.define_asset_job(
    REFRESH_JOB,
    selection=REFRESH,
    description="Judge all history (the whole-history checks) and recompute the whole-history "
    "tables (dim_date, KPIs, Gold). The sensor refresh_whole_history runs the part whose inputs "
    "changed.",
)
