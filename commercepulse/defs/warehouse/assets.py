"""Facts and dims by business day (each window rebuilt by SQL), dim_date, and their checks."""

import dagster as dg

from commercepulse.defs.asset_checks import asset_checks
from commercepulse.defs.metadata import row_count, table_metadata_spec
from commercepulse.defs.partitions import WAREHOUSE_KIND
from commercepulse.defs.table_assets import WHOLE_HISTORY, upstream_deps, window_asset
from commercepulse.warehouse.base import Warehouse
from commercepulse.warehouse.calendar import calendar
from commercepulse.warehouse.schema import ALL_TABLES
from commercepulse.warehouse.sql import DATE_BOUNDS, WINDOW_STATEMENTS

WAREHOUSE_GROUP = "warehouse"
WINDOW_ASSETS = {
    name: window_asset(name, WINDOW_STATEMENTS[name], upstream_deps(name), WAREHOUSE_GROUP)
    for name in WINDOW_STATEMENTS
}


@dg.asset(
    group_name=WAREHOUSE_GROUP,
    kinds={WAREHOUSE_KIND},
    tags=WHOLE_HISTORY,
    deps=upstream_deps("dim_date"),
    description=ALL_TABLES["dim_date"].description,
    metadata=table_metadata_spec("dim_date"),
)
def dim_date(warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
    """Every day from the earliest to the latest date any fact carries."""
    bounds = warehouse.query(DATE_BOUNDS).iloc[0]
    warehouse.replace_table("dim_date", calendar(bounds["lo"], bounds["hi"]))
    return dg.MaterializeResult(metadata=row_count("dim_date", warehouse))


WAREHOUSE_CHECKS = asset_checks(*WINDOW_ASSETS.values(), dim_date)
