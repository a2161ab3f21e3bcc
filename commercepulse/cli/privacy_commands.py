"""`commercepulse rekey-customers`: every customer key re-hashed under the current salt (after
CUSTOMER_KEY_SALT changed on purpose)."""

from __future__ import annotations

import typer

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
