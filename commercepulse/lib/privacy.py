"""Personal data as it may be shown: SPEC §10 keeps e-mails and phones out of reports, check
metadata and alerts, masked there."""

from __future__ import annotations


def mask_email(email: str | None) -> str | None:
    """`a***@example.com`: the first character of the local part and the domain (which says
    whether addresses share a provider), never the address."""
    if not email or "@" not in email:
        return None if email is None else "***"
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
