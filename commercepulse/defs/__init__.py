"""The Dagster half: one package per domain (raw, staging, warehouse, kpis, feeds, platform,
reports, automation), each owning its assets, the checks beside them, its jobs, sensors and schedules.

Per-partition asset checks and the blocking-checks automation condition are Preview/Beta APIs
that the platform relies on deliberately (the UI's per-day check status and KPI refreshes that
wait for checks); their warnings would repeat on every load and run, so they are silenced here,
for these two categories only.
"""

import warnings

import dagster as dg

warnings.filterwarnings("ignore", category=dg.PreviewWarning)
warnings.filterwarnings("ignore", category=dg.BetaWarning)
