"""Personal data as it may be shown (SPEC §10): e-mails and phones never appear in reports, check
metadata, alerts, `explain` output or quarantine previews; they are masked where each surface is
built, by `mask_personal` (the one function), so the masking rule lives here only.

- e-mail: `a***@example.com` (first character of the local part, and the domain: whether two
  addresses share a provider is still visible);
- phone: `***3201` (the last 4 digits), for an international number (`+234 801 068 3201`,
  `+2348010683201`) and a Nigerian one written nationally (`08010683201`, `2348010683201`).

Dates, times, amounts and ids are left alone: a phone must start with `+`, or be a Nigerian
mobile number of exactly 11 (0…) or 13 (234…) digits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(
    r"(?<![\w+])(?:\+\d(?:[\s\-]?\d){7,14}|0[789][01]\d{8}|234[789][01]\d{8})(?![\w])"
)


def mask_email(email: str | None) -> str | None:
    """`a***@example.com`: the first character of the local part and the domain, never the address."""
    if not email or "@" not in email:
        return None if email is None else "***"
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str | None) -> str | None:
    """`***3201`: the last 4 digits only."""
    if phone is None:
        return None
    digits = re.sub(r"\D", "", phone)
    return f"***{digits[-4:]}" if digits else "***"


def mask_text(text: str | None) -> str | None:
    """Every e-mail and phone inside free text (a raw line, a message, a table) masked; None
    stays None."""
    if text is None:
        return None
    if "@" in text:
        text = EMAIL.sub(lambda m: mask_email(m.group(0)) or "***", text)
    return PHONE.sub(lambda m: mask_phone(m.group(0)) or "***", text)


def mask_personal(value: Any) -> Any:
    """`value` with every string in it masked (`mask_text`), through dicts, lists and tuples;
    other values unchanged. Applied where each surface is built."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_personal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_personal(v) for v in value]
    if isinstance(value, tuple):
        return tuple(mask_personal(v) for v in value)
    return value
