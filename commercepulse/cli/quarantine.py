"""`commercepulse quarantine`: lines that could not land: list, show, replay."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer
from rich.console import Console

from commercepulse.cli.common import fail, open_db
from commercepulse.settings import Settings

quarantine_app = typer.Typer(
    help="Lines that could not land: list, show, replay.", no_args_is_help=True
)


@quarantine_app.command("list")
def quarantine_list_cmd(
    day: Annotated[str | None, typer.Option(help="ingestion day YYYY-MM-DD")] = None,
    vendor: Annotated[
        str | None, typer.Option(help="vendor named in the line (unknown when unreadable)")
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="reasons starting with this text, e.g. 'invalid JSON'")
    ] = None,
    all_records: Annotated[
        bool, typer.Option("--all", help="include records whose line has landed since")
    ] = False,
    limit: Annotated[int, typer.Option(help="records listed after the counts")] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="print counts and records as JSON")
    ] = False,
) -> None:
    """Counts of quarantined lines by reason, ingestion day and vendor, then the records themselves."""
    from rich.table import Table

    from commercepulse.raw.quarantine import records, summary

    rows = records(open_db(), day=day, vendor=vendor, reason=reason, include_resolved=all_records)
    if as_json:
        plain = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows
        ]
        typer.echo(
            orjson.dumps(
                {"counts": summary(rows), "records": plain}, option=orjson.OPT_INDENT_2
            ).decode()
        )
        return
    out = Console(width=None if sys.stdout.isatty() else 160)
    if not rows:
        out.print(
            "no quarantined line"
            + ("" if all_records else " waiting (--all: include those landed since)")
            + " for these filters" * bool(day or vendor or reason)
        )
        return
    counts = Table(
        "reason",
        "ingestion day",
        "vendor",
        "lines",
        title=f"{len(rows)} quarantined line(s)" + ("" if all_records else " not landed since"),
    )
    for row in summary(rows):
        counts.add_row(row["reason"], row["day"], row["vendor"], str(row["lines"]))
    out.print(counts)
    listed = Table("id", "file:line", "vendor", "status", "reason")
    for row in rows[:limit]:
        listed.add_row(
            row["_id"][:12],
            f"{row['file']}:{row['line']}",
            row["vendor"],
            row["status"],
            row["reason"],
        )
    out.print(listed)
    if rows:
        out.print(
            "show one: commercepulse quarantine show FILE:LINE (or ID); land what parses now: "
            "commercepulse quarantine replay"
        )


@quarantine_app.command("show")
def quarantine_show_cmd(
    record: Annotated[str, typer.Argument(help="FILE:LINE (as listed) or the record id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One quarantine record: where the line was read, why it was rejected, and its text."""
    from commercepulse.raw.quarantine import reason_class, show, vendor_of

    doc = show(open_db(), record)
    if doc is None:
        fail(f"no quarantine record {record!r} (see `commercepulse quarantine list --all`)")
    doc.pop("raw_bytes", None)
    doc |= {
        "vendor": vendor_of(doc.get("raw_text") or ""),
        "reason_class": reason_class(doc["reason"]),
        "status": "resolved" if doc.get("resolved_at") else "open",
    }
    plain = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in doc.items()}
    if as_json:
        typer.echo(orjson.dumps(plain, option=orjson.OPT_INDENT_2).decode())
        return
    text = plain.pop("raw_text", "") or ""
    for key, value in plain.items():
        typer.echo(f"{key}: {value}")
    typer.echo(
        "raw_text: "
        + (text[:2000] + f"... ({len(text):,} characters)" if len(text) > 2000 else text)
    )


@quarantine_app.command("replay")
def quarantine_replay_cmd(
    day: Annotated[str | None, typer.Option(help="only this ingestion day")] = None,
    vendor: Annotated[str | None, typer.Option()] = None,
    reason: Annotated[str | None, typer.Option(help="reasons starting with this text")] = None,
    file: Annotated[
        str | None,
        typer.Option(help="only this file key, e.g. live_events/2025-01-15/events.jsonl"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-read open quarantined lines (from their file under DATA_DIR, else the stored text) and land what
    parses now; idempotent. The Dagster instance is told, so the touched business days are rebuilt by
    the reconcile sensor (under `make ui`), or by the next `commercepulse run`."""
    from commercepulse.raw.quarantine import replay

    settings = Settings()
    stats = replay(open_db(), settings.data_dir, day=day, reason=reason, file=file, vendor=vendor)
    told = _tell_instance(settings, stats) if stats.landed or stats.already_landed else 0
    result = stats.as_dict() | {"instance_told": told}
    if as_json:
        typer.echo(orjson.dumps(result).decode())
        return
    typer.echo(
        " ".join(
            f"{k}={result[k]}" for k in ("replayed", "landed", "already_landed", "still_failing")
        )
    )
    if stats.reasons:
        typer.echo(f"still failing: {dict(stats.reasons)} (see `commercepulse quarantine list`)")
    if stats.business_days:
        typer.echo(f"business days touched: {', '.join(sorted(stats.business_days))}")


def _tell_instance(settings: Settings, stats) -> int:
    """Record the replay as a landing of each ingestion day (metadata `business_days`), as the ingest job
    does: the reconcile sensor then rebuilds those days. Returns the materializations recorded."""
    import dagster as dg

    from commercepulse.defs.landing_contract import landing_metadata
    from commercepulse.instance.home import prepare_dagster_home

    prepare_dagster_home(settings)
    with dg.DagsterInstance.get() as instance:
        for day in sorted(stats.ingestion_days):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    "events_raw",
                    partition=day,
                    description="commercepulse quarantine replay",
                    metadata=landing_metadata(
                        stats.business_days,
                        replayed=stats.replayed,
                        landed=stats.landed,
                        duplicates=stats.already_landed,
                    ),
                )
            )
    return len(stats.ingestion_days)
