"""Rules on final days: a KPI row published as final (`is_final`: the vendors' measured
lateness expected no more data for its day) that a later refresh changed. The lateness rule
(`warehouse/lateness.py`) lets about one day in a hundred be restated after final; each one is a
finding, kept on its business day. The file ends with its catalogue row."""

from __future__ import annotations

from datetime import date

import pandas as pd

from commercepulse.checks.outcome import SHOWN_ROWS, WARN, Outcome
from commercepulse.checks.spec import CheckSpec, RuleInputs
from commercepulse.lib.days import days_between
from commercepulse.warehouse.kpi_history import same_values, version_pairs
from commercepulse.warehouse.schema import KPIS

#: The KPIs whose rows say whether their day is final.
FINAL_KPIS = tuple(sorted(name for name, table in KPIS.items() if "is_final" in table.names))
#: kpi_history rows of those KPIs and days (`version_pairs`' extra conditions).
FINAL_ROWS = (
    " AND h.kpi IN (" + ", ".join(f"'{name}'" for name in FINAL_KPIS) + ")"
    " AND h.date >= $start AND h.date < $end"
)


def _changed(before: dict, after: dict | None) -> list[str]:
    """'column before → after' for each value a version changed (is_final aside)."""
    if after is None:
        return ["the row was removed"]
    return [
        f"{column} {before.get(column)} → {after.get(column)}"
        for column in after
        if column != "is_final"
        and not same_values({column: before.get(column)}, {column: after.get(column)})
    ]


def final_restatements(i: RuleInputs, start: date, end: date) -> pd.DataFrame:
    """Each version of a KPI row of [start, end) that changed a version published as final."""
    found = []
    for kpi, key, day, _, before, _, now, published, run in version_pairs(
        i.warehouse, FINAL_ROWS, {"start": start, "end": end}
    ):
        if before is None or before.get("is_final") is not True:
            continue
        if changed := _changed(before, now):
            found.append(
                {
                    "date": pd.Timestamp(day).date(),
                    "kpi": kpi,
                    "row": key,
                    "restated_at": str(published)[:19],
                    "run": str(run)[:8],
                    "changed": "; ".join(changed),
                }
            )
    return pd.DataFrame(found, columns=["date", "kpi", "row", "restated_at", "run", "changed"])


def final_day_restated_by_day(i: RuleInputs, start: date, end: date) -> dict[date, Outcome]:
    """Per business day: the KPI rows published as final that were changed since (WARN)."""
    found = final_restatements(i, start, end)
    by_day = dict(iter(found.groupby("date", sort=False)))
    out = {}
    for day in days_between(start, end):
        mine = by_day.get(day, found.iloc[0:0])
        rows = tuple(mine.head(SHOWN_ROWS).to_dict("records"))
        note = "; ".join(
            f"{r['kpi']} {r['row']} (final) restated {r['restated_at']}: {r['changed']}"
            for r in rows[:3]
        )
        out[day] = Outcome(
            "final_day_restated",
            mine.empty,
            len(mine),
            0,
            WARN,
            note=note,
            rows=rows,
            rows_title=f"{len(mine)} final KPI row(s) restated" if len(mine) else "",
        )
    return out


ROWS = (
    CheckSpec(
        asset="kpi_daily_revenue",
        name="final_day_restated",
        what="KPI row(s) restated after they were published as final",
        action="data came later than the vendor's measured lateness allowed: tell whoever used "
        "the final figure; if it recurs for a vendor, raise FINAL_LAG_QUANTILE or "
        "FINAL_LAG_WINDOW_DAYS (kpi_vendor_lateness shows each vendor's lag)",
        description="Days with a KPI row (revenue, payment success, order-to-payment, refund "
        "rate, AOV) published as final (is_final) and changed by a later refresh: late data "
        "beyond the lateness rule (FINAL_LAG_QUANTILE of each vendor's days' last arrivals over "
        "FINAL_LAG_WINDOW_DAYS) (WARN). Every version is in kpi_history.",
        by_day=final_day_restated_by_day,
        reads=tuple(name for name in FINAL_KPIS if name != "kpi_daily_revenue"),
    ),
)
