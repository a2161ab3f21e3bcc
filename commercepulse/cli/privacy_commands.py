"""Privacy commands: `commercepulse rekey-customers` (every customer key re-hashed under the
current salt, after CUSTOMER_KEY_SALT changed on purpose) and `commercepulse erase-customer`
(a person's identifying fields erased on request, docs/privacy.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from commercepulse.cli.common import fail
from commercepulse.settings import Settings


def rekey_cmd() -> None:
    """Re-hash every customer key under the current salt (CUSTOMER_KEY_SALT, else the state
    file's) and record it; staging refuses a changed salt until this has run."""
    from commercepulse.defs.resources import build_warehouse, project_settings
    from commercepulse.warehouse.customer_rekey import rekey

    settings = Settings()
    salt = project_settings(settings).customer_key_salt_value()
    changed = rekey(build_warehouse(settings), salt)
    typer.echo(f"re-keyed {changed:,} customer key(s) under the current salt; staging goes on")


def erase_cmd(
    reason: Annotated[str, typer.Option(help="why: the request's reference (kept in the audit)")],
    email: Annotated[str | None, typer.Option(help="the person's e-mail")] = None,
    phone: Annotated[str | None, typer.Option(help="the person's phone")] = None,
    customer_id: Annotated[str | None, typer.Option(help="the person's customer id")] = None,
) -> None:
    """Erase one person's identifying fields (raw store, quarantine, warehouse, read snapshots),
    keeping their orders and figures under a new pseudonymous key; records an audit entry
    (what, when, why — never the data) in MongoDB's `erasures`."""
    from commercepulse.cli.common import open_db
    from commercepulse.defs.resources import build_warehouse, project_settings
    from commercepulse.erasure import erase_customer, erasure_request
    from commercepulse.errors import InputError

    settings = Settings()
    try:  # a bad request says so before any service starts
        erasure_request(reason, email=email, phone=phone, customer_id=customer_id)
        record = erase_customer(
            open_db(),
            build_warehouse(settings),
            project_settings(settings).customer_key_salt_value(),
            reason,
            email=email,
            phone=phone,
            customer_id=customer_id,
        )
    except InputError as exc:
        fail(str(exc))
    counts = ", ".join(f"{k} {v}" for k, v in record["counts"].items())
    typer.echo(f"erasure {record['_id']} recorded ({record['identified_by']}): {counts}")
    found = sum(v for v in record["counts"].values() if isinstance(v, int))
    if not found:
        typer.echo("nothing of this person was found: the request is recorded, nothing changed")
