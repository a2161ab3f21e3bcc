"""`commercepulse` command line: generate data, ingest it, run the whole platform. One module per
command group (generate, ingest, quarantine, services: mongo and instance; the top-level
commands in platform_commands); what they share in common.py."""

from __future__ import annotations

import sys

import typer

from commercepulse.cli.analyst_commands import annotate_cmd, kpi_cmd, query_cmd, why_cmd
from commercepulse.cli.common import err
from commercepulse.cli.generate import generate_app
from commercepulse.cli.ingest import ingest_app
from commercepulse.cli.platform_commands import acknowledge_cmd, explain_cmd, report_cmd, run_cmd
from commercepulse.cli.privacy_commands import erase_cmd, rekey_cmd
from commercepulse.cli.quarantine import quarantine_app
from commercepulse.cli.services import instance_app, mongo_app

app = typer.Typer(
    help="CommercePulse data platform.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(generate_app, name="generate")
app.add_typer(ingest_app, name="ingest")
app.add_typer(mongo_app, name="mongo")
app.add_typer(instance_app, name="instance")
app.add_typer(quarantine_app, name="quarantine")
app.command("run")(run_cmd)
app.command("report")(report_cmd)
app.command("explain")(explain_cmd)
app.command("acknowledge")(acknowledge_cmd)
app.command("query")(query_cmd)
app.command("kpi")(kpi_cmd)
app.command("why")(why_cmd)
app.command("annotate")(annotate_cmd)
app.command("rekey-customers")(rekey_cmd)
app.command("erase-customer")(erase_cmd)


def main() -> None:
    """The `commercepulse` entry point: a bad setting or an unreachable service is one line and exit 2;
    `--debug` (or COMMERCEPULSE_DEBUG=1) keeps the traceback."""
    import os

    from commercepulse.errors import user_message

    debug = "--debug" in sys.argv or os.environ.get("COMMERCEPULSE_DEBUG", "") not in ("", "0")
    if "--debug" in sys.argv:
        sys.argv.remove("--debug")
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - known user errors become one line, the rest keep their traceback
        message = user_message(exc)
        if message is None or debug:
            raise
        err.print(f"[bold red]error:[/] {message}", soft_wrap=True, markup=True, highlight=False)
        sys.exit(2)
