"""The package's shape: a Dagster-free library half, the Dagster half in `defs/`, imports flowing
one way (no cycle between packages). Run as a script to print the package import graph:
`python -m commercepulse_tests.test_layout`."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "commercepulse"
#: The application layer: the Dagster code location, the main job runner and the CLI on top of both halves.
APPLICATION = {"definitions", "runner", "cli", "summary", "defs"}
#: Libraries of the library half that are not Dagster's orchestration core (dagster-pandas validates frames).
ALLOWED_DAGSTER_LIBS = {"dagster_pandas"}


def imports_of(path: Path) -> set[str]:
    """Every module name a file imports (top-level and inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def package_of(path: Path) -> str:
    """`raw` for commercepulse/raw/landing.py, `settings` for commercepulse/settings.py."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return parts[0]


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        source = package_of(path)
        graph[source]
        for name in imports_of(path):
            if name.startswith("commercepulse."):
                target = name.split(".")[1]
                if target != source:
                    graph[source].add(target)
    return dict(graph)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def library_files() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if package_of(p) not in APPLICATION]


def test_no_import_cycle_between_packages():
    assert cycles(package_graph()) == []


def test_library_half_never_imports_dagster_definitions_or_dagster():
    offenders = {}
    for path in library_files():
        bad = sorted(
            n
            for n in imports_of(path)
            if n.startswith("commercepulse.defs")
            or n in ("commercepulse.definitions", "commercepulse.runner")
            or (
                n.split(".")[0].startswith("dagster")
                and n.split(".")[0] not in ALLOWED_DAGSTER_LIBS
            )
        )
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


#: The one module allowed a private Dagster import, and why: see its docstring.
PRIVATE_DAGSTER_ALLOWED = {"defs/check_targets.py"}


def test_no_private_dagster_imports_and_no_settings_reads_in_defs():
    """Configuration reaches assets through resources: only partitions.py (partitions, kind tags) and
    resources.py (building them) read the settings in the Dagster half."""
    for path in ROOT.rglob("*.py"):
        names = imports_of(path)
        if str(path.relative_to(ROOT)) not in PRIVATE_DAGSTER_ALLOWED:
            assert not any(n.startswith("dagster._") for n in names), path
        if package_of(path) == "defs" and path.name not in ("partitions.py", "resources.py"):
            assert "commercepulse.settings" not in names, path


if __name__ == "__main__":
    for package, targets in sorted(package_graph().items()):
        print(f"{package:12} -> {', '.join(sorted(targets)) or '-'}")
    print("cycles:", cycles(package_graph()) or "none")


def test_the_landing_contract_is_spelled_in_one_module():
    """The metadata key the sensors read and the trigger tag are named only by `defs/landing_contract.py`:
    a landing that spelled them itself could drift and silently stop the rebuild and report sensors."""
    from commercepulse.defs.landing_contract import (
        BUSINESS_DAYS,
        TRIGGER,
        business_days_of,
        landing_metadata,
    )

    contract = ROOT / "defs" / "landing_contract.py"
    dagster_half = [
        *(ROOT / "defs").rglob("*.py"),
        *(ROOT / "cli").rglob("*.py"),
        ROOT / "runner.py",
    ]
    for path in dagster_half:
        if path == contract:
            continue
        text = path.read_text()
        assert f'"{TRIGGER}"' not in text, path
        if path.name != "runner.py":  # its result dict counts business days, it records no landing
            assert f'"{BUSINESS_DAYS}"' not in text and f"'{BUSINESS_DAYS}'" not in text, path
    assert business_days_of(landing_metadata({"2025-01-02", "2025-01-01"}, landed=3)) == [
        "2025-01-01",
        "2025-01-02",
    ]
    assert business_days_of({}) == []


def test_one_catalogue_of_checks_for_the_definitions_and_the_reports():
    """Every registered asset check is a row of the catalogue and every row is registered once;
    the daily report judges the same rows (so a registered check always reaches the report).
    The two freshness checks and the recovery check judge the present, not a day: they are the
    catalogue's clock rows, built beside their sensors, and no report row."""
    from commercepulse.checks.catalogue import CHECKS, JUDGED, report_name
    from commercepulse.checks.spec import CLOCK
    from commercepulse.definitions import defs
    from commercepulse.defs.automation.recovery import CHECK
    from commercepulse.defs.freshness.checks import VERDICTS

    registered = [
        f"{k.asset_key.to_user_string()}:{k.name}"
        for k in defs().resolve_asset_graph().asset_check_keys
    ]
    assert sorted(registered) == sorted(spec.key for spec in CHECKS)
    clock = sorted(spec.key for spec in CHECKS if spec.scope == CLOCK)
    assert clock == sorted(k.to_user_string() for k in [*VERDICTS, CHECK])
    assert not {spec.key for spec in JUDGED} & set(clock)
    assert len({report_name(spec) for spec in CHECKS}) == len(CHECKS)


def test_every_warehouse_column_is_described():
    """Every column of every table says what it holds: the UI's column schemas and the docs read
    it (`warehouse/schema/notes.py` describes what a table's own spec leaves unsaid)."""
    from commercepulse.warehouse.schema import ALL_TABLES

    blank = [
        f"{t.name}.{c.name}" for t in ALL_TABLES.values() for c in t.columns if not c.description
    ]
    assert not blank, f"{len(blank)} column(s) without a description: {blank[:20]}"
