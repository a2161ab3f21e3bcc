"""Vendor feed anomalies: generated days where one vendor's payments break on a known day are
flagged on that day only; ordinary day-to-day noise and the first days (no history) are not."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import numpy as np
import pandas as pd

from commercepulse.checks.anomalies import judge
from commercepulse.generate.writers import write_fx, write_live
from commercepulse_tests.harness import definitions, evaluations, run_job, warehouse_of

START, DAYS = date(2025, 3, 1), 24
BROKEN = START + timedelta(days=19)


def _break_payments(path, vendor: str, keep_share: float) -> int:
    """Drop all but `keep_share` of the vendor's payment lines (its payment feed breaks)."""
    lines = path.read_bytes().splitlines()
    payments = [
        i
        for i, line in enumerate(lines)
        if (e := json.loads(line))["vendor"] == vendor and e["event_type"].startswith("payment")
    ]
    drop = set(payments[int(len(payments) * keep_share) :])
    path.write_bytes(b"\n".join(line for i, line in enumerate(lines) if i not in drop) + b"\n")
    return len(drop)


def test_a_broken_vendor_feed_is_flagged_on_its_day_only_and_the_report_marks_it(env, instance, db):
    data = env.data_dir
    data.mkdir(parents=True)
    write_fx(data, 2025)
    write_live(data / "live_events", 11, START, DAYS, events=600)
    broken_file = data / "live_events" / BROKEN.isoformat() / "events.jsonl"
    dropped = _break_payments(broken_file, "vendor_b", keep_share=0.2)
    assert dropped > 20
    defs = definitions(env)
    last = (START + timedelta(days=DAYS - 1)).isoformat()
    result = run_job(defs, "ingest_job", instance, START.isoformat(), last)
    assert result.success

    feed = warehouse_of(env).table("vendor_feed_daily")
    assert len(feed) == DAYS * 3 and set(feed["vendor"]) == {"vendor_a", "vendor_b", "vendor_c"}
    day_rows = feed[feed["ingestion_date"] == pd.Timestamp(BROKEN)].set_index("vendor")
    lines_per_vendor = Counter(
        json.loads(line)["vendor"] for line in broken_file.read_bytes().splitlines()
    )
    assert day_rows["lines"].to_dict() == dict(lines_per_vendor)
    # the first CHECK_FEED_MIN_HISTORY_DAYS days have too little history to be judged
    judged_from = START + timedelta(days=env.check_feed_min_history_days)
    assert not feed[feed["ingestion_date"] < pd.Timestamp(judged_from)]["judged"].any()
    assert feed[feed["ingestion_date"] >= pd.Timestamp(judged_from)]["judged"].all()

    flagged = feed[feed["flagged"].notna()]
    assert [(r.ingestion_date.date(), r.vendor) for r in flagged.itertuples()] == [
        (BROKEN, "vendor_b")
    ]
    assert "payments" in flagged.iloc[0]["flagged"].split(",")
    history = feed[
        (feed["vendor"] == "vendor_b") & (feed["ingestion_date"] < pd.Timestamp(BROKEN))
    ]["payments"]
    median = float(np.median(history.tail(env.check_feed_window_days)))
    assert f"vs median {median:,.0f}" in flagged.iloc[0]["anomalies"]

    checks = {
        k: v
        for k, v in evaluations(result).items()
        if k.startswith("vendor_feed_daily:vendor_feed_anomalies@")
    }
    assert len(checks) == DAYS
    assert sorted(k.split("@")[1] for k, v in checks.items() if not v.passed) == [
        BROKEN.isoformat()
    ]
    # the days without enough history passed without judging anything, and say so in the UI
    unjudged = {
        k.split("@")[1]
        for k, v in checks.items()
        if v.description and v.description.startswith("nothing judged")
    }
    assert unjudged == {
        (START + timedelta(days=n)).isoformat() for n in range(env.check_feed_min_history_days)
    }
    assert all(checks[f"vendor_feed_daily:vendor_feed_anomalies@{d}"].passed for d in unjudged)
    failing = checks[f"vendor_feed_daily:vendor_feed_anomalies@{BROKEN.isoformat()}"]
    assert failing.metadata["figure"].value == len(flagged.iloc[0]["flagged"].split(","))
    assert set(failing.metadata["anomalies"].value) == {"vendor_b"}

    # the daily report: each vendor's figures, the check, and the series chart with the flagged day marked
    from commercepulse.reports.writer import write_window_reports

    before = BROKEN - timedelta(days=1)
    write_window_reports(
        db, warehouse_of(env), before, BROKEN + timedelta(days=1), env.reports_dir, env
    )
    report = json.loads((env.reports_dir / BROKEN.isoformat() / "quality.json").read_text())
    rows = {r["vendor"]: r for r in report["kpis"]["vendor_feed"]}
    assert set(rows) == {"vendor_a", "vendor_b", "vendor_c"}
    assert (
        rows["vendor_b"]["flagged"] == flagged.iloc[0]["flagged"]
        and rows["vendor_a"]["flagged"] is None
    )
    check = next(c for c in report["checks"] if c["check"] == "vendor_feed_anomalies")
    assert not check["passed"] and set(check["details"]["anomalies"]) == {"vendor_b"}
    # a red cross on the flagged day; the day before shows only the legend's cross
    legend_only = _red_crosses(env.reports_dir / before.isoformat() / "vendor_feed.svg")
    assert legend_only == 1
    assert _red_crosses(env.reports_dir / BROKEN.isoformat() / "vendor_feed.svg") == 2
    assert (
        "Vendor feed: events per ingestion day"
        in (env.reports_dir / BROKEN.isoformat() / "report.html").read_text()
    )


def test_judge_missing_vendor_and_steady_noise(env):
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(12)]
    rng = np.random.default_rng(3)
    rows = [
        {
            "ingestion_date": pd.Timestamp(d),
            "vendor": v,
            "events": int(500 + rng.integers(-40, 40)),
            "payments": int(200 + rng.integers(-20, 20)),
            "payment_success_rate": 0.9 + rng.uniform(-0.02, 0.02),
            "duplicate_rate": 0.05,
            "late_pct": 0.1,
            "unmapped_share": 0.0,
            "median_lag_minutes": 60.0,
        }
        for d in days[:-1]
        for v in ("vendor_a", "vendor_b")
    ]
    rows.append(
        {**rows[-2], "ingestion_date": pd.Timestamp(days[-1])}
    )  # vendor_a as usual; vendor_b silent
    out = judge(pd.DataFrame(rows), days[8:], env)
    assert out[out["flagged"].notna()][["vendor", "flagged"]].values.tolist() == [
        ["vendor_b", "events,payments"]
    ]
    assert out[out["vendor"] == "vendor_b"].iloc[-1]["events"] == 0


def _red_crosses(svg) -> int:
    """The red crosses of a feed chart (flagged days, and the legend's)."""
    return svg.read_text().count('stroke="#d62728" stroke-width="2"')
