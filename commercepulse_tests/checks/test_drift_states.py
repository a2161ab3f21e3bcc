"""A material restatement stays open until the day is restated back or acknowledged; immaterial
ones move the accepted value (revenue_rules.drift_states), whatever the order of later refreshes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from commercepulse.checks.revenue_rules import drift_states
from commercepulse.settings import Settings

DAY = date(2025, 1, 14)
T0 = datetime(2025, 1, 15, 6)


class Timeline:
    """Stands in for the warehouse: answers the one query drift_states makes."""

    def __init__(self, events: list[tuple[str, float, str]]):
        self.frame = pd.DataFrame(
            [
                {
                    "date": DAY,
                    "happened_at": T0 + timedelta(hours=i),
                    "net": net,
                    "kind": kind,
                    "run_id": f"r{i}",
                    "acknowledged_by": "ada" if kind == "ack" else None,
                    "note": note or None,
                }
                for i, (kind, net, note) in enumerate(events)
            ]
        )

    def query(self, sql, params=None):
        return self.frame


def state(*events: tuple[str, float, str]):
    return drift_states(Timeline(list(events)), Settings()).iloc[0]


def snap(net: float) -> tuple[str, float, str]:
    return ("snapshot", net, "")


def test_immaterial_restatements_move_the_accepted_value():
    # +5,000 then +8,000 on 1,000,000: each below max(10,000, 1 %); 13,000 in all stays green
    s = state(snap(1_000_000), snap(1_005_000), snap(1_013_000))
    assert (s["baseline"], s["drift"], bool(s["open"])) == (1_013_000, 0.0, False)


def test_a_material_restatement_stays_open_across_later_refreshes_until_restated_back():
    s = state(snap(1_000_000), snap(1_050_000), snap(1_051_000))
    assert (s["baseline"], s["drift"], bool(s["open"])) == (1_000_000, 51_000.0, True)
    back = state(snap(1_000_000), snap(1_050_000), snap(1_051_000), snap(1_004_000))
    assert (back["baseline"], bool(back["open"])) == (1_000_000, False)


def test_an_acknowledgement_accepts_the_value_it_saw_and_a_new_material_change_reopens():
    acked = state(snap(1_000_000), snap(1_050_000), ("ack", 1_050_000, "settled late"))
    assert (acked["baseline"], bool(acked["open"])) == (1_050_000, False)
    assert acked["acknowledged"].endswith("by ada: settled late")
    calm = state(snap(1_000_000), snap(1_050_000), ("ack", 1_050_000, "x"), snap(1_052_000))
    assert (calm["baseline"], bool(calm["open"])) == (1_052_000, False)
    again = state(snap(1_000_000), snap(1_050_000), ("ack", 1_050_000, "x"), snap(1_120_000))
    assert (again["drift"], bool(again["open"])) == (70_000.0, True)


def test_a_range_acknowledged_in_one_run_keeps_every_day_and_a_retry_replaces_its_rows(env):
    """The UI acknowledges a range in one run: every open day is accepted (one write, keyed by
    the run), a retry of that run replaces its own rows, and a day with nothing open is named."""
    from commercepulse.checks.acknowledgements import acknowledge_days
    from commercepulse_tests.harness import warehouse_of

    wh = warehouse_of(env)
    days = [DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)]
    snaps = [
        (day, f"r{k}", T0 + timedelta(hours=k), net)
        for day, nets in zip(days, ([1e6, 1.2e6], [2e6, 2.5e6], [3e6, 3e6]), strict=True)
        for k, net in enumerate(nets)
    ]
    wh.replace_table(
        "revenue_snapshots",
        pd.DataFrame(snaps, columns=["date", "run_id", "reported_at", "net_revenue_ngn"]),
    )
    assert drift_states(wh, Settings())["open"].tolist() == [True, True, False]
    for _ in range(2):  # the run, then its retry
        done, refused = acknowledge_days(wh, Settings(), days, "checked", run_id="run-1")
        assert [d.day for d in done] == days[:2] and len(refused) == 1
        assert "nothing to acknowledge" in refused[0]
        assert len(wh.table("revenue_acknowledgements")) == 2
    assert drift_states(wh, Settings())["open"].tolist() == [False, False, False]
