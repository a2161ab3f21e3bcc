"""Platform expectations from the source files with plain json/datetime (not the code under test)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

STEPS = ("view", "add_to_cart", "checkout")
CLOCK_SKEW = timedelta(
    seconds=120
)  # the README's stated tolerance for an order before its checkout
PAID_WINDOW = timedelta(minutes=60)


def ts(value) -> datetime:
    """UTC instant: epoch seconds, ISO with `Z` or an offset, naive ISO (= UTC), `/` dates."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    parsed = datetime.fromisoformat(value.strip().replace("/", "-").replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def user_of(record: dict) -> str | None:
    """A record's user id; blank, whitespace-only, missing and null are all no user."""
    value = record.get("user_id")
    return value.strip() or None if isinstance(value, str) else value


def read(root: Path, source: str) -> list[dict]:
    """Records of a source in arrival order (day file, then line)."""
    out = []
    for path in sorted((root / source).glob("*.jsonl")):
        out.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return out


def paid_orders(root: Path) -> dict[str, dict]:
    """order_id -> {user, created, paid?}: created from the first CREATED record, else the earliest
    line, else the earliest lifecycle record; orders known only from lines are never paid."""
    orders: dict[str, dict] = defaultdict(
        lambda: {"user": None, "created": None, "paid": False, "first": None}
    )
    for r in read(root, "orders"):
        o = orders[r["order_id"]]
        o["user"] = user_of(r) or o["user"]
        t = ts(r["status_ts"])
        o["first"] = t if o["first"] is None else min(o["first"], t)
        if r["status"] == "CREATED":
            o["created"] = t if o["created"] is None else min(o["created"], t)
        if r["status"] == "PAID":
            o["paid"] = True
    first_line: dict[str, datetime] = {}
    for r in read(root, "order_items") if (root / "order_items").is_dir() else []:
        t = ts(r["created_at"])
        first_line[r["order_id"]] = min(first_line.get(r["order_id"], t), t)
    for oid, o in orders.items():
        o["created"] = o["created"] or first_line.get(oid) or o["first"]
    return orders


def sessions(root: Path) -> dict[str, dict]:
    events: dict[str, dict] = {}
    for r in read(root, "behaviour_events"):
        events.setdefault(r["event_id"], r)  # first arrival of each id
    out: dict[str, dict] = {}
    for r in sorted(events.values(), key=lambda r: (ts(r["event_ts"]), r["event_id"])):
        s = out.setdefault(
            r["session_id"], {"events": [], "users": set(), "device": r["device_type"]}
        )
        s["events"].append(r)
        if user_of(r):
            s["users"].add(user_of(r))
    for s in out.values():
        kinds = [e["event_type"] for e in s["events"]]
        s["start"] = ts(s["events"][0]["event_ts"])
        s["end"] = ts(s["events"][-1]["event_ts"])
        s["user"] = min(s["users"]) if s["users"] else None
        checkouts = [ts(e["event_ts"]) for e in s["events"] if e["event_type"] == "checkout"]
        s["first_checkout"] = min(checkouts) if checkouts else None
        s["paid"] = False
    # each paid order goes to one session: of its user's sessions that checked out at most CLOCK_SKEW
    # after its creation and ended at most PAID_WINDOW before it, the latest first checkout (then lowest id)
    for order in paid_orders(root).values():
        if not order["paid"] or order["user"] is None:
            continue
        candidates = [
            (s["first_checkout"], sid)
            for sid, s in out.items()
            if s["user"] == order["user"]
            and s["first_checkout"] is not None
            and s["first_checkout"] - CLOCK_SKEW <= order["created"] <= s["end"] + PAID_WINDOW
        ]
        if candidates:
            best = max(t for t, _ in candidates)
            out[min(sid for t, sid in candidates if t == best)]["paid"] = True
    for s in out.values():
        kinds = [e["event_type"] for e in s["events"]]
        step = 0
        for n, kind in enumerate(STEPS, start=1):
            if kind not in kinds:
                break
            step = n
        s["step"] = 4 if step == 3 and s["paid"] else step
        s["skipped_cart"] = "checkout" in kinds and "add_to_cart" not in kinds
    return out


def funnel(root: Path) -> dict[tuple[str, str], dict[str, int]]:
    """(session day, device) -> sessions reaching each step."""
    out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in sessions(root).values():
        row = out[(s["start"].date().isoformat(), s["device"])]
        row["sessions"] += 1
        for n, name in enumerate(
            ("view_sessions", "cart_sessions", "checkout_sessions", "paid_sessions"), start=1
        ):
            row[name] += s["step"] >= n
        row["skipped_cart_sessions"] += s["skipped_cart"]
        row["anonymous_sessions"] += s["user"] is None
    return {k: dict(v) for k, v in out.items()}
