"""Alerts to a webhook (Slack-compatible): what to say, and posting it without ever raising.

A message is a JSON object with a Slack `text` line and the structured fields beside it (`kind`,
`check`, `partition`, `owners`, `run_id`, `url`, ...), so a Slack incoming webhook shows the line
and any other receiver can route on the fields. Dagster-free: the sensor in `defs/alerts/` decides
what to send and remembers what was sent.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import orjson

from commercepulse.lib.privacy import mask_personal

RUN_FAILED, CHECK_FAILING, CHECK_RECOVERED = "run_failed", "check_failing", "check_recovered"
POST_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Alert:
    """One message: `key` identifies what it is about (never sent twice while it stays open)."""

    kind: str
    key: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """What is posted: a chat channel is no place for personal data (masked)."""
        return mask_personal({"text": self.text, "kind": self.kind, "key": self.key, **self.fields})


def owners_text(owners: list[str]) -> str:
    return ", ".join(owners) if owners else "no owner set"


def run_failed(run_id: str, job: str, message: str, owners: list[str], url: str) -> Alert:
    return Alert(
        RUN_FAILED,
        f"run:{run_id}",
        f":red_circle: run of `{job}` failed: {message} (owners: {owners_text(owners)}) {url}",
        {"run_id": run_id, "job": job, "message": message, "owners": owners, "url": url},
    )


def check_failing(
    check: str, partition: str | None, severity: str, blocking: bool, why: str, owners: list[str],
    url: str,
) -> Alert:  # fmt: skip
    where = f" [{partition}]" if partition else ""
    kind = "blocking " if blocking else ""
    return Alert(
        CHECK_FAILING,
        f"check:{check}:{partition or ''}",
        f":warning: {kind}check `{check}`{where} failed ({severity}): {why} "
        f"(owners: {owners_text(owners)}) {url}",
        {"check": check, "partition": partition, "severity": severity, "blocking": blocking,
         "description": why, "owners": owners, "url": url},
    )  # fmt: skip


def check_recovered(check: str, partition: str | None, owners: list[str], url: str) -> Alert:
    where = f" [{partition}]" if partition else ""
    return Alert(
        CHECK_RECOVERED,
        f"check:{check}:{partition or ''}",
        f":large_green_circle: check `{check}`{where} passes again (owners: {owners_text(owners)}) {url}",
        {"check": check, "partition": partition, "owners": owners, "url": url},
    )


def post(url: str, alert: Alert, timeout: float = POST_TIMEOUT_SECONDS) -> str | None:
    """POST the alert; None when the receiver took it (2xx), else why not (never raises)."""
    request = urllib.request.Request(
        url,
        data=orjson.dumps(alert.payload()),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"unreachable ({getattr(exc, 'reason', exc)})"
