"""The one MongoDB retry policy: which failures are transient, and how long to wait for them.

A write inside a landing retries on its own (RETRY_DELAYS, about 15 s: longer than a replica-set
election); a Dagster step whose MongoDB work still fails transiently is retried as a step
(STEP_RETRY_DELAYS, `defs/retries.py`). Every write is idempotent, so a retry converges."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from pymongo.errors import ConnectionFailure

#: Server error codes of a write that may succeed when sent again (elections, shutdowns, timeouts).
RETRYABLE_CODES = {6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436}
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)  # ~15 s: longer than a replica-set election
#: Seconds before each retry of a Dagster step whose MongoDB work failed transiently.
STEP_RETRY_DELAYS = (2, 4, 8)
log = logging.getLogger("commercepulse.landing")


class TransientWriteError(RuntimeError):
    """MongoDB stayed unreachable through every retry of a write."""


def with_retries(write: Callable[[], Any], what: str) -> Any:
    """Run an idempotent write, retrying transient connection failures with backoff."""
    for delay in (*delays(), None):
        try:
            return write()
        except ConnectionFailure as exc:
            if delay is None:
                raise TransientWriteError(
                    f"MongoDB unavailable ({what}): {exc}; the landing is idempotent: run "
                    "the same ingestion again once the server is back"
                ) from exc
            log.warning(
                "MongoDB unavailable (%s, %s): retrying in %.1f s", what, type(exc).__name__, delay
            )
            time.sleep(delay)


def delays() -> tuple[float, ...]:
    """The write retry delays (read at call time, so a test may shorten them)."""
    return RETRY_DELAYS
