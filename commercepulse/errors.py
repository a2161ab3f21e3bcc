"""Errors the user can act on: shown as one line (CLI exit 2, Dagster failure), never a traceback.

`user_message(exc)` turns the errors a person can fix (a bad setting, an unreachable MongoDB,
PostgreSQL or BigQuery, a missing input) into one line that names what is wrong and what to
check; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import re

#: What a setting accepts, where the validator's own words would not say it plainly.
ACCEPTS = {
    "duckdb_memory_limit": "a size such as 1GB, 512MB or 2GiB",
    "duckdb_allocator_flush": "a size such as 2MB, or empty for DuckDB's default",
    "mongo_db": 'a MongoDB database name: not empty, none of / \\ . " $ * < > : | ? or spaces',
    "warehouse": "duckdb or bigquery",
    "dagster_storage": "postgres or sqlite",
}


class InputError(ValueError):
    """A problem with the input paths or files (missing, unreadable, not the expected layout)."""


class ConfigurationError(RuntimeError):
    """A setting or an input the user must provide (its message says which and how)."""


class ServiceUnreachableError(ConfigurationError):
    """A service the platform needs (MongoDB, PostgreSQL, BigQuery) did not answer or start."""


def mask_uri(uri: str) -> str:
    """The address with any password replaced by ***."""
    return re.sub(r"(?<=://)([^:/@]+):([^@]*)@", r"\1:***@", uri)


def settings_message(exc) -> str:
    """One line for a pydantic ValidationError of the settings: each bad variable, its value, what it takes."""
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error.get("loc") else "?"
        accepts = ACCEPTS.get(field) or error.get("msg", "").removeprefix(
            "Input should be "
        ).removeprefix("Value error, ")
        parts.append(f"{field.upper()}={error.get('input')!r} is not valid; expected {accepts}")
    return "bad setting: " + "; ".join(parts) + " (see .env.example)"


def user_message(exc: BaseException) -> str | None:
    """The one line a person needs for `exc`, or None when it is a bug (keep the traceback)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return settings_message(exc)
    if isinstance(exc, (InputError, ConfigurationError)):
        return str(exc)
    message = service_message(exc)
    if message:
        return message
    cause = exc.__cause__ or exc.__context__
    return user_message(cause) if cause is not None and cause is not exc else None


def service_message(exc: BaseException) -> str | None:
    """One line for an unreachable or refusing service (MongoDB, PostgreSQL, BigQuery), else None."""
    module = type(exc).__module__
    name = type(exc).__name__
    if module.startswith("pymongo"):
        from pymongo.errors import ConfigurationError, ConnectionFailure, InvalidName, InvalidURI

        if isinstance(exc, InvalidName):
            return f"bad setting: MONGO_DB is not a valid database name ({exc}); expected {ACCEPTS['mongo_db']}"
        if isinstance(exc, (InvalidURI, ConfigurationError)):
            return f"bad setting: MONGO_URI is not a usable MongoDB URI ({_first_line(exc)})"
        if isinstance(exc, ConnectionFailure):
            return mongo_unreachable(getattr(exc, "_cp_uri", None) or _address_in(str(exc)), exc)
    if module.startswith(("sqlalchemy", "psycopg2")) and name in (
        "OperationalError",
        "InterfaceError",
    ):
        return (
            f"cannot reach the Dagster instance's PostgreSQL ({_first_line(exc)}); check DAGSTER_PG_URL "
            "(or unset it for the local server) and that the server is up"
        )
    if module.startswith("google.auth") and name in ("DefaultCredentialsError", "RefreshError"):
        return (
            "BigQuery: Google credentials missing or expired; run `gcloud auth application-default login` or set "
            "GOOGLE_APPLICATION_CREDENTIALS=/path/key.json (or WAREHOUSE=duckdb)"
        )
    if module.startswith("google.api_core") and name in (
        "Forbidden",
        "NotFound",
        "Unauthorized",
        "ServiceUnavailable",
        "RetryError",
    ):
        return f"BigQuery refused the request ({_first_line(exc)}); check BQ_PROJECT, BQ_DATASET, BQ_LOCATION and access"
    return None


def mongo_unreachable(uri: str | None, exc: BaseException | None = None) -> str:
    where = mask_uri(uri) if uri else "the configured address"
    why = f" ({type(exc).__name__})" if exc is not None else ""
    return (
        f"cannot reach MongoDB at {where}{why}; check that the server is up and MONGO_URI is right "
        "(unset MONGO_URI for the local server: `commercepulse mongo start`)"
    )


def _address_in(text: str) -> str | None:
    match = re.search(r"[\w.\-]+:\d+", text)
    return match.group(0) if match else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
