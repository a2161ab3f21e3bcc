"""Transient MongoDB failures (a restarting server, a replica-set election) retry the step with
backoff instead of failing the run; after the last retry the step fails with one line that
says what to do. Everything a step writes is idempotent, so a retried step converges."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from pymongo.errors import ConnectionFailure

from commercepulse.errors import ConfigurationError, ServiceUnreachableError
from commercepulse.raw.landing.retries import STEP_RETRY_DELAYS, TransientWriteError

MAX_RETRIES = len(STEP_RETRY_DELAYS)


@contextmanager
def mongo_retries(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> Iterator[None]:
    """Wrap the MongoDB work of a step: transient failures request a retry (STEP_RETRY_DELAYS:
    2, 4, 8 s later, the policy of `raw/landing/retries.py`);
    a setting the user must fix fails the step at once with its one line."""
    try:
        yield
    except ConfigurationError as exc:
        if not isinstance(exc, ServiceUnreachableError):
            raise dg.Failure(description=str(exc)) from exc
        raise _retry_or_fail(context, exc) from exc
    except (ConnectionFailure, TransientWriteError) as exc:
        raise _retry_or_fail(context, exc) from exc


def _retry_or_fail(context, exc: BaseException) -> Exception:
    """A retry request (2, 4, 8 s later), or after the last one a failure with one line."""
    attempt = context.retry_number
    if attempt >= MAX_RETRIES:
        line = (
            str(exc)
            if isinstance(exc, ServiceUnreachableError)
            else f"MongoDB unreachable ({type(exc).__name__}); check that the server is up or MONGO_URI"
        )
        return dg.Failure(
            description=f"{line} — after {attempt + 1} attempts; re-run once it answers: every "
            "step is idempotent."
        )
    context.log.warning(
        f"MongoDB unavailable ({type(exc).__name__}): retry {attempt + 1} of {MAX_RETRIES}"
    )
    return dg.RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=STEP_RETRY_DELAYS[attempt])


@contextmanager
def user_errors() -> Iterator[None]:
    """A setting or a service the user must fix (a warehouse without its project, BigQuery without
    credentials) fails the step with its one line as the failure's description."""
    try:
        yield
    except ConfigurationError as exc:
        raise dg.Failure(description=str(exc)) from exc
