"""Asset checks of the platform sources, attached to the Silver and Gold assets they judge."""
import dagster as dg

from commercepulse.partitions import DAILY, window_days
from commercepulse.platform import quality
from commercepulse.settings import get_settings
from commercepulse.warehouse.base import Warehouse


@dg.asset_check(asset="silver_behaviour_events", partitions_def=DAILY,
                description="Repeated behavioural records / records, for events first ingested in the window.")
def duplicate_behaviour_events(context: dg.AssetCheckExecutionContext,
                               warehouse: Warehouse) -> dg.AssetCheckResult:
    return quality.duplicate_behaviour_events(warehouse, *window_days(context), get_settings()).result()


@dg.asset_check(asset="silver_behaviour_events", partitions_def=DAILY,
                description="Behavioural events without user_id / events, first ingested in the window.")
def anonymous_event_share(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    return quality.anonymous_event_share(warehouse, *window_days(context), get_settings()).result()


@dg.asset_check(asset="silver_orders", partitions_def=DAILY,
                description="Orders whose status went back to an earlier stage; cancellations after payment counted.")
def order_status_backwards(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    return quality.order_status_backwards(warehouse, get_settings()).result()


def _scd2_check(table: str, partitioned: bool) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=table, name="scd2_integrity", blocking=True, partitions_def=DAILY if partitioned else None,
                    description="No overlapping validity windows and exactly one current row per key (ERROR).")
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        return quality.scd2_integrity(warehouse, table).result()
    return _check


@dg.asset_check(asset="dim_customer", partitions_def=DAILY,
                description="Customers whose normalized email several platform users share (one is linked).")
def customer_email_conflicts(context: dg.AssetCheckExecutionContext,
                             warehouse: Warehouse) -> dg.AssetCheckResult:
    return quality.customer_email_conflicts(warehouse, get_settings()).result()


CHECKS = [duplicate_behaviour_events, anonymous_event_share, order_status_backwards, customer_email_conflicts,
          _scd2_check("silver_users", True), _scd2_check("silver_products", True),
          _scd2_check("dim_product_history", False)]
