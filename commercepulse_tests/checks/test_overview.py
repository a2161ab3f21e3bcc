"""The quality overview: states, links and figures read back from the days' quality.json, a
page that needs no script and no network, and its SVG grid."""

from __future__ import annotations

from html.parser import HTMLParser
from xml.etree import ElementTree

import orjson

from commercepulse.checks.catalogue import JUDGED as CHECKS
from commercepulse.checks.catalogue import report_name
from commercepulse.reports.overview import OVERVIEW_DAYS, write_overview


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str]] = []  # (class, href) of each grid cell
        self.links: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "a":
            self.links.append(attrs.get("href", ""))
            if "cell" in (attrs.get("class") or ""):
                self.cells.append((attrs["class"].split()[1], attrs["href"]))


def _day(folder, day: str, checks: list[dict], feed: list[dict]) -> None:
    (folder / day).mkdir(parents=True)
    report = {"date": day, "checks": checks, "kpis": {"vendor_feed": feed}}
    (folder / day / "quality.json").write_bytes(orjson.dumps(report))


def test_the_overview_grid_reads_each_days_verdicts(tmp_path):
    dup, drift = CHECKS[0], next(s for s in CHECKS if s.name == "schema_drift")
    base = [
        {"check": report_name(s), "passed": True, "severity": "WARN", "figure": 0} for s in CHECKS
    ]

    def checks(**changes: dict) -> list[dict]:
        return [c | changes.get(c["check"], {}) for c in base]

    _day(tmp_path, "2025-01-13", checks(), [{"vendor": "vendor_a", "events": 10, "flagged": None}])
    _day(
        tmp_path,
        "2025-01-14",
        checks(**{report_name(dup): {"passed": False, "figure": 0.3}}),
        [
            {
                "vendor": "vendor_a",
                "events": 2,
                "flagged": "events",
                "anomalies": "events 2 vs median 10",
            }
        ],
    )
    _day(
        tmp_path,
        "2025-01-15",
        checks(
            **{report_name(dup): {"judged": False, "figure": 0.1}},
            **{report_name(drift): {"passed": False, "severity": "ERROR"}},
        ),
        [],
    )
    (tmp_path / "not-a-day").mkdir()
    fresh = {"events_raw:ingestion_freshness": (False, "ingestion day 2025-01-16 is overdue")}
    index = write_overview(tmp_path, "http://ui.example:3000/", fresh)
    page = Page()
    page.feed(index.read_text())
    assert "script" not in page.tags and "http" not in index.read_text().replace(
        "http://ui.example:3000/assets/", ""
    )  # no script, nothing fetched: the only absolute links are the checks' pages
    assert len(page.cells) == len(CHECKS) * 3
    grid = {href.split("/")[0]: [] for _, href in page.cells}
    for state, href in page.cells:
        grid[href.split("/")[0]].append(state)
    assert grid["2025-01-13"] == ["pass"] * len(CHECKS)
    row = CHECKS.index(dup)
    assert (grid["2025-01-14"][row], grid["2025-01-15"][row]) == ("warn", "none")
    assert grid["2025-01-15"][CHECKS.index(drift)] == "fail"
    assert f"http://ui.example:3000/assets/{dup.asset}?view=checks" in page.links
    assert "2025-01-14/report.html" in page.links  # the flagged vendor day links to its report
    assert "events 2 vs median 10" in index.read_text()
    assert "ingestion day 2025-01-16 is overdue" in index.read_text()  # freshness, judged now
    grid = ElementTree.fromstring((tmp_path / "overview.svg").read_bytes())
    cells = grid.findall("{http://www.w3.org/2000/svg}rect")
    assert len(cells) == len(CHECKS) * len(list(tmp_path.glob("20*")))  # a cell per check and day
    assert "day(s) without a report" not in index.read_text()  # consecutive days: no gap marker
    # a jump in the report days is marked where it happens, with how many days are missing
    _day(tmp_path, "2025-02-01", checks(), [])
    text = write_overview(tmp_path, "http://ui.example:3000/").read_text()
    assert text.count("day(s) without a report") == 1 and "16 day(s) without a report" in text


def test_the_overview_keeps_the_last_days_only(tmp_path):
    from datetime import date, timedelta

    for n in range(OVERVIEW_DAYS + 5):
        _day(tmp_path, (date(2025, 1, 1) + timedelta(days=n)).isoformat(), [], [])
    page = Page()
    page.feed(write_overview(tmp_path, "http://ui").read_text())
    days = {href.split("/")[0] for _, href in page.cells}
    assert len(days) == OVERVIEW_DAYS and "2025-01-06" in days and "2025-01-05" not in days


def test_a_failing_check_explains_itself_and_a_passing_one_shows_its_figure_only():
    """In the day's report and the check's metadata alike: a failing check says what it found,
    how many, against what threshold, what to do, with its findings; a passing one its figure."""
    from datetime import date

    from commercepulse.checks.catalogue import row
    from commercepulse.checks.outcome import WARN, Outcome
    from commercepulse.defs.asset_checks import metadata
    from commercepulse.reports.html_page import render_html
    from commercepulse.reports.overview import overview_html

    spec = row("fact_refunds:refunds_without_payment")
    found = ({"vendor": "vendor_b", "order_id": "ORD-9", "day": "2025-01-14"},)
    failing = spec.worded(
        Outcome("refunds_without_payment", False, 1, 0, WARN, rows=found, rows_title="one")
    )
    passing = spec.worded(
        Outcome("refunds_without_payment", True, 0, 5, WARN, rows=found, rows_title="one")
    )
    said = failing.description()
    assert said.startswith(f"1 {spec.what} (threshold 0)") and f"What to do: {spec.action}" in said
    assert passing.description() is None
    assert "findings" in metadata(failing) and "findings" not in metadata(passing)
    cell = overview_html(
        [("2025-01-14", {"checks": [{**failing.as_dict(), "check": report_name(spec)}]})], ""
    )
    assert f"1 {spec.what} (threshold 0)" in cell and "What to do:" in cell  # the cell's hover
    for outcome, shown in ((failing, True), (passing, False)):
        report = {"date": "2025-01-14", "checks": [outcome.as_dict()], "kpis": {}}
        page = render_html(date(2025, 1, 14), report, {}, "now")
        assert ("ORD-9" in page) is shown
        assert (spec.what in page) is shown
