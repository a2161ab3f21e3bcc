"""The quality overview (REPORTS_DIR/index.html) rewritten with what holds now: the freshness
verdicts, the automation's unfinished work and the files waiting for their UTC day. Written by
`quality_reports` after each report run, and by `new_data_files` when the files waiting for
their day change (a file for tomorrow says so at once, not at the next report)."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from commercepulse.data_files import waiting_for_their_day
from commercepulse.defs.automation.recovery import unfinished_work
from commercepulse.defs.freshness.checks import VERDICTS
from commercepulse.defs.resources import ProjectSettings
from commercepulse.reports.overview import write_overview


def rewrite_overview(
    instance: dg.DagsterInstance, settings: ProjectSettings, unfinished=None
) -> Path | None:
    """Rewrite the overview; `unfinished`: the automation's unfinished work when already read."""
    now = datetime.now(UTC)
    work = unfinished_work(instance) if unfinished is None else unfinished
    freshness = {
        key.to_user_string(): (verdict.passed, verdict.description)
        for key, judge in VERDICTS.items()
        for verdict in [judge(instance, settings, now)]
    }
    return write_overview(
        settings.reports_path,
        settings.ui_base_url,
        freshness,
        [w.line() for w in work],
        waiting_for_their_day(settings.data_path, now),
    )
