"""How a backfill is split into runs and how a run executes its steps, by warehouse engine.

DuckDB allows one writing process: a backfill is one run (`BackfillPolicy.single_run`) whose steps
go one after another in its process (`in_process_executor`). BigQuery takes concurrent writers:
a backfill is split into runs of BACKFILL_RUN_DAYS partitions (`BackfillPolicy.multi_run`) that
the run queue executes side by side (its `max_concurrent_runs`), and a run's independent steps
run in parallel processes (`multiprocess_executor`, RUN_MAX_PARALLEL_STEPS). Every partitioned
write replaces its own window in one transaction, so runs over disjoint windows never meet.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg


@dataclass(frozen=True)
class RunTopology:
    """`days_per_run`: None = a backfill is one run; `parallel_steps`: None = in-process steps.
    Built from the settings by `resources.run_topology`."""

    days_per_run: int | None = None
    parallel_steps: int | None = None

    @property
    def executor(self) -> dg.ExecutorDefinition:
        if self.parallel_steps is None:
            return dg.in_process_executor
        return dg.multiprocess_executor.configured({"max_concurrent": self.parallel_steps})

    def apply(self, definitions: dg.Definitions) -> dg.Definitions:
        """A domain's definitions with its partitioned assets' backfill policy set for this topology
        (the assets declare the single-run policy; the split is the deployment's choice)."""
        if self.days_per_run is None:
            return definitions
        policy = dg.BackfillPolicy.multi_run(self.days_per_run)
        assets = [
            asset.with_attributes(backfill_policy=policy)
            if isinstance(asset, dg.AssetsDefinition) and asset.partitions_def is not None
            else asset
            for asset in definitions.assets or []
        ]
        return dg.Definitions(
            assets=assets,
            asset_checks=definitions.asset_checks,
            jobs=definitions.jobs,
            schedules=definitions.schedules,
            sensors=definitions.sensors,
            resources=definitions.resources,
            loggers=definitions.loggers,
            metadata=definitions.metadata,
        )
