"""Platform expectations from the source files with plain json/datetime (not the code under test)."""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

STEPS = ("view", "add_to_cart", "checkout")


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def read(root: Path, source: str) -> list[dict]:
    """Records of a source in arrival order (day file, then line)."""
    out = []
    for path in sorted((root / source).glob("*.jsonl")):
        out.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return out


def paid_orders(root: Path) -> dict[str, dict]:
    """order_id -> {user, created, paid?} from the lifecycle records."""
    orders: dict[str, dict] = defaultdict(lambda: {"user": None, "created": None, "paid": False})
    for r in read(root, "orders"):
        o = orders[r["order_id"]]
        o["user"] = r.get("user_id") or o["user"]
        if r["status"] == "CREATED":
            t = ts(r["status_ts"])
            o["created"] = t if o["created"] is None else min(o["created"], t)
        if r["status"] == "PAID":
            o["paid"] = True
    return orders


def sessions(root: Path) -> dict[str, dict]:
    events: dict[str, dict] = {}
    for r in read(root, "behaviour_events"):
        events.setdefault(r["event_id"], r)  # first arrival of each id
    out: dict[str, dict] = {}
    for r in sorted(events.values(), key=lambda r: (ts(r["event_ts"]), r["event_id"])):
        s = out.setdefault(r["session_id"], {"events": [], "users": set(), "device": r["device_type"]})
        s["events"].append(r)
        if r.get("user_id"):
            s["users"].add(r["user_id"])
    orders = paid_orders(root)
    for s in out.values():
        kinds = [e["event_type"] for e in s["events"]]
        s["start"] = ts(s["events"][0]["event_ts"])
        s["end"] = ts(s["events"][-1]["event_ts"])
        s["user"] = min(s["users"]) if s["users"] else None
        checkouts = [ts(e["event_ts"]) for e in s["events"] if e["event_type"] == "checkout"]
        s["paid"] = bool(checkouts) and s["user"] is not None and any(
            o["paid"] and o["user"] == s["user"] and o["created"] is not None
            and min(checkouts) <= o["created"] <= s["end"] + timedelta(minutes=60) for o in orders.values())
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
        for n, name in enumerate(("view_sessions", "cart_sessions", "checkout_sessions", "paid_sessions"), start=1):
            row[name] += s["step"] >= n
        row["skipped_cart_sessions"] += s["skipped_cart"]
        row["anonymous_sessions"] += s["user"] is None
    return {k: dict(v) for k, v in out.items()}
