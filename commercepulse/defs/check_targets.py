"""Link each per-partition check result to the materialization it judged.

Dagster shows a partition of a check as Passed/Failed only when its latest result names the
latest materialization of that partition; otherwise the partition reads "Missing". The public
`AssetCheckResult` makes that link for the step's own partition only, while a single-run
backfill judges many partitions in one step. The public `AssetCheckEvaluation` accepts the link
only as `AssetCheckEvaluationTargetMaterializationData`, which Dagster 1.13 does not export:
this module is the one place that imports it (a private path, pinned with dagster==1.13.27).
Should a later Dagster move it, results are still recorded, only not linked.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from commercepulse.defs.instance_queries import latest_materialization, materialization_records

try:  # the one private import of the project, see the docstring
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData as _Target,
    )
except ImportError:  # pragma: no cover - a Dagster without it
    _Target = None


def latest_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: list[str]
) -> dict[str, Any]:
    """{partition: link to its latest materialization} for the partitions that have one."""
    if _Target is None or not partitions:
        return {}
    found: dict[str, Any] = {}
    records = materialization_records(  # newest first: the first seen per partition is its latest
        instance,
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=sorted(set(partitions))),
        ascending=False,
    )
    for record in records:
        if record.partition_key not in found:
            found[record.partition_key] = _Target(
                storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
            )
        if len(found) == len(set(partitions)):
            break
    return found


def latest_of_asset(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> Any:
    """A link to the asset's latest materialization (any partition): a whole-history result names
    what it judged, so the UI shows it as current even when its run was queued (and its check
    planned) before that materialization."""
    if _Target is None:
        return None
    record = latest_materialization(instance, asset_key)
    if record is None:
        return None
    return _Target(storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp)
