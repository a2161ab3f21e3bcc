"""The snapshots domain: the read snapshot analysts' tools open, published after each refresh."""

import dagster as dg

from commercepulse.defs.snapshots.assets import warehouse_snapshot


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[warehouse_snapshot])
