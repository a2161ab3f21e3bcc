"""The short KPI summary printed at the end of the main job."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table as RichTable

from commercepulse.defs.resources import build_warehouse
from commercepulse.settings import Settings
from commercepulse.warehouse.base import Warehouse


def print_summary(
    settings: Settings, result: dict, out: Console, warehouse: Warehouse | None = None
) -> None:
    warehouse = warehouse or build_warehouse(settings)
    totals = warehouse.query("""
        SELECT count(*) AS days, round(sum(gross_revenue_ngn), 2) AS gross, round(sum(refunds_ngn), 2) AS refunds,
               round(sum(net_revenue_ngn), 2) AS net FROM kpi_daily_revenue""").iloc[0]
    vendors = warehouse.query("""
        SELECT vendor, CAST(sum(attempts) AS BIGINT) AS attempts, CAST(sum(successes) AS BIGINT) AS successes,
               round(sum(successes) / sum(attempts), 4) AS success_rate
        FROM kpi_vendor_payment_success GROUP BY vendor ORDER BY vendor""")
    late = warehouse.query("SELECT * FROM kpi_late_arrivals ORDER BY ingestion_date")
    top = warehouse.query("SELECT * FROM kpi_top_products WHERE rank <= 5 ORDER BY rank")
    out.print(
        f"\n[bold]Revenue[/] over {int(totals['days'])} days: gross {totals['gross']:,.2f} NGN, "
        f"refunds {totals['refunds']:,.2f} NGN, net {totals['net']:,.2f} NGN"
    )
    table = RichTable("vendor", "attempts", "successes", "success rate", title="Payment success")
    for row in vendors.itertuples():
        table.add_row(row.vendor, str(row.attempts), str(row.successes), f"{row.success_rate:.2%}")
    out.print(table)
    if len(late):
        table = RichTable(
            "ingestion day", "events", "late %", "duplicate rate", title="Live ingestion quality"
        )
        for row in late.itertuples():
            table.add_row(
                str(row.ingestion_date.date()),
                str(row.events),
                f"{row.late_pct:.2%}",
                f"{row.duplicate_rate:.2%}",
            )
        out.print(table)
    out.print(
        "Top products: "
        + ", ".join(f"{r.rank}. {r.sku} ({r.revenue_ngn:,.0f} NGN)" for r in top.itertuples())
    )
    funnel = warehouse.query("""
        SELECT device_type, sum(sessions) AS sessions, sum(view_sessions) AS v, sum(cart_sessions) AS c,
               sum(checkout_sessions) AS k, sum(paid_sessions) AS p
        FROM kpi_daily_funnel GROUP BY device_type ORDER BY device_type""")
    if len(funnel):
        table = RichTable(
            "device",
            "sessions",
            "view",
            "add_to_cart",
            "checkout",
            "paid order",
            "view → paid",
            title=f"Platform funnel ({', '.join(result.get('platform_days', [])[:1])}…)",
        )
        for row in funnel.itertuples():
            table.add_row(
                row.device_type,
                *(str(int(x)) for x in (row.sessions, row.v, row.c, row.k, row.p)),
                f"{row.p / row.v:.2%}" if row.v else "-",
            )
        out.print(table)
    failed = result.get("failed_checks", [])
    out.print(f"Checks: {len(failed)} failing evaluation(s)" + (":" if failed else ""))
    for line in failed[:20]:
        out.print(f"  - {line}")
    out.print(f"\nWarehouse: [bold]{result['warehouse']}[/]")
    if result.get("snapshot"):
        out.print(
            f"Read snapshot for your own tools: [bold]{result['snapshot']}[/] "
            '(`commercepulse query "SELECT …"`, `commercepulse kpi kpi_daily_revenue`)'
        )
    if result.get("report_days"):
        last = result["report_days"][-1]
        out.print(
            f"Reports ({len(result['report_days'])} days): [bold]{result['reports_dir']}[/] "
            f"(latest: {result['reports_dir']}/{last}/report.html)"
        )
        out.print(f"Quality overview: [bold]{result['reports_dir']}/index.html[/]")
    out.print(f"Stage timings (s): {result['timings']}")
    out.print("Open the Dagster UI with `make ui` to browse assets, partitions and runs.")


def print_explanation(result, out: Console) -> None:
    """`commercepulse explain` for people: the figure, each fact row with its raw events, the check."""
    out.print(
        f"[bold]{result.kpi}[/] {result.key}"
        + (f" vendor {result.vendor}" if result.vendor else "")
        + f": {result.figure}"
    )
    events_of = [
        [
            f"{e['event_id']} {e.get('file')}:{e.get('line')} ({e.get('ingestion_day') or '-'})"
            if not e.get("missing")
            else f"{e['event_id']} (not in events_raw)"
            for e in row["events"]
        ]
        for row in result.rows
    ]
    table = RichTable(show_lines=False)
    for name in ("role", "fact", "vendor", "order", "time", "contribution", "run"):
        table.add_column(name, overflow="fold")
    # one raw event a line, never broken: a path cut in two ("events.j / sonl:1955") cannot be
    # copied; the other columns give way (a terminal too narrow for it lets it run past the edge)
    longest = max((len(line) for lines in events_of for line in lines), default=10)
    table.add_column(
        "raw events (file:line, ingestion day)", no_wrap=True, overflow="ignore", min_width=longest
    )
    for row, lines in zip(result.rows, events_of, strict=True):
        events = "\n".join(lines)
        contribution = row["contribution"]
        table.add_row(
            row["role"],
            f"{row['fact']} {row['fact_key']}",
            row["vendor"],
            str(row["order_id"]),
            str(row["time"]),
            f"{contribution:,.2f}" if isinstance(contribution, float) else str(contribution),
            str(row["run_id"])[:8],
            events,
        )
    out.print(table)
    out.print(f"{len(result.rows)} row(s); contribution = {result.contribution}")
    verdict = {
        True: "[green]equal to the KPI[/]",
        False: "[red]DIFFERENT from the KPI[/]",
        None: "(the vendor's share of an all-vendor figure)",
    }[result.matches]
    out.print(f"listed rows add up to {result.listed}: {verdict}")
