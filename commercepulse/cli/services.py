"""`commercepulse mongo` and `commercepulse instance`: the local services the CLI and the UI share."""

from __future__ import annotations

import typer

from commercepulse.cli.common import fail
from commercepulse.settings import Settings

mongo_app = typer.Typer(help="The project's local mongod.", no_args_is_help=True)
instance_app = typer.Typer(
    help="The Dagster instance (DAGSTER_HOME) the CLI and the UI share.", no_args_is_help=True
)


@mongo_app.command("start")
def mongo_start() -> None:
    """Start (or reuse) the local mongod; prints its URI."""
    from commercepulse.mongo.client import resolve_uri
    from commercepulse.mongo.server import MongodNotFoundError, MongodStartError

    settings = Settings()
    try:
        typer.echo(resolve_uri(settings.mongo_uri, settings.mongod_dir))
    except (MongodNotFoundError, MongodStartError) as exc:
        fail(str(exc))


@mongo_app.command("stop")
def mongo_stop() -> None:
    """Stop the local mongod of COMMERCEPULSE_HOME."""
    from commercepulse.mongo.server import stop_local_mongod

    typer.echo("stopped" if stop_local_mongod(Settings().mongod_dir) else "not running")


@instance_app.command("prepare")
def instance_prepare() -> None:
    """Start the instance's local PostgreSQL (if used) and write DAGSTER_HOME/dagster.yaml; prints DAGSTER_HOME."""
    from commercepulse.instance.home import prepare_dagster_home

    typer.echo(str(prepare_dagster_home(Settings())))


@instance_app.command("stop")
def instance_stop() -> None:
    """Stop the instance's local PostgreSQL of COMMERCEPULSE_HOME."""
    from commercepulse.instance.postgres import stop_local_postgres

    typer.echo("stopped" if stop_local_postgres(Settings().home / "postgres") else "not running")
