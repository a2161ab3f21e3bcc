"""Exact money (SPEC §4): one half-even rounding per event to the kobo, in decimal arithmetic,
against Python's decimal module; and a warehouse of an earlier version migrated to DECIMAL."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from commercepulse.lib.money import to_kobo
from commercepulse.warehouse.duckdb_warehouse import DuckDBWarehouse
from commercepulse.warehouse.schema import ALL_TABLES
from commercepulse_tests import independent as ind

#: amounts as a vendor writes them: up to 6 decimals, below DECIMAL(18,2)'s limit
AMOUNTS = st.decimals(
    min_value=Decimal("-1e11"), max_value=Decimal("1e11"), places=6, allow_nan=False
).map(float)
RATES = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("5000"), places=4).map(float)


@given(st.lists(st.tuples(AMOUNTS, RATES), min_size=1, max_size=50))
@example([(36028797018.96397, 391.4911)])  # beyond 2^33 the double's binary value misleads
@example([(36028797018.96397, 1099.9778)])  # kobo units near 2^53: rint(x·100) misleads
def test_conversion_rounds_once_half_even_to_the_kobo(pairs):
    amounts = np.array([a for a, _ in pairs])
    rates = np.array([r for _, r in pairs])
    got = to_kobo(amounts, rates)
    assert got.tolist() == [float(ind.kobo(a, r)) for a, r in pairs]
    assert to_kobo(amounts).tolist() == [float(ind.kobo(a)) for a in amounts]


def test_ties_go_to_the_even_kobo_not_to_the_binary_double():
    # 2.675 is 2.67499… as a double: float rounding says 2.67, the decimal rule 2.68
    assert to_kobo(np.array([2.675, 0.125, 0.135, -0.125])).tolist() == [2.68, 0.12, 0.14, -0.12]
    assert np.isnan(to_kobo(np.array([np.nan, 1e17]))).all()  # no amount, never a wrong one


def test_a_warehouse_of_an_earlier_version_gets_decimal_money_in_place(tmp_path):
    path = tmp_path / "old.duckdb"
    table = ALL_TABLES["kpi_daily_revenue"]
    with duckdb.connect(str(path)) as con:  # as an earlier version made it: money as DOUBLE
        columns = ", ".join(
            f"{c.name} {'DOUBLE' if c.type in ('MONEY', 'FLOAT64') else 'VARCHAR'}"
            if c.type not in ("DATE", "TIMESTAMP")
            else f"{c.name} {c.type.replace('TIMESTAMP', 'TIMESTAMPTZ')}"
            for c in table.columns
        )
        con.execute(f"CREATE TABLE {table.name} ({columns})")
        con.execute(
            f"INSERT INTO {table.name} (date, gross_revenue_ngn, refunds_ngn, net_revenue_ngn) "
            "VALUES ('2025-01-01', 0.1 + 0.2, 0.1, 0.1 + 0.2 - 0.1)"
        )
    wh = DuckDBWarehouse(path=str(path))
    types = wh.query(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'kpi_daily_revenue'"
    ).set_index("column_name")["data_type"]
    assert types["net_revenue_ngn"] == "DECIMAL(18,2)"
    exact = wh.query(
        "SELECT CAST(gross_revenue_ngn AS VARCHAR) AS g, CAST(net_revenue_ngn AS VARCHAR) AS n "
        "FROM kpi_daily_revenue"
    ).iloc[0]
    assert (exact["g"], exact["n"]) == ("0.30", "0.20")
