"""Each SQL-built table's spec names its upstream tables (`warehouse/schema/`), and they are
exactly the tables its SQL reads: the asset graph, the UI's lineage and the refresh automation
are built from them, so a table read but not declared would refresh late."""

from __future__ import annotations

import re

import dagster as dg

from commercepulse.warehouse.gold_sql import GOLD_STATEMENTS
from commercepulse.warehouse.schema import ALL_TABLES, AUDIT_TABLES
from commercepulse.warehouse.sql import KPI_STATEMENTS, WINDOW_STATEMENTS

READ = re.compile(r"\b(?:FROM|JOIN)\s+([a-z_][a-z0-9_]*)", re.IGNORECASE)


def read_by(statements) -> set[str]:
    text = " ".join(s if isinstance(s, str) else s[0] for s in statements)
    return {t for t in READ.findall(text) if t in ALL_TABLES}


def test_every_sql_table_declares_exactly_what_its_sql_reads():
    built = {**WINDOW_STATEMENTS, **KPI_STATEMENTS, **GOLD_STATEMENTS}
    wrong = {
        name: (sorted(read), sorted(ALL_TABLES[name].upstream))
        for name, statements in built.items()
        # the audit tables a statement writes beside its table are not its inputs
        for read in [read_by(statements) - {name} - set(AUDIT_TABLES)]
        if read != set(ALL_TABLES[name].upstream)
    }
    assert wrong == {}


def test_the_asset_graph_is_the_specs_lineage():
    from commercepulse.definitions import defs

    graph = defs().resolve_asset_graph()
    for name, table in ALL_TABLES.items():
        if table.upstream:
            parents = {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}
            assert parents == set(table.upstream), name
