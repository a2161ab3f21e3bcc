"""The partition calendars start where the data starts (lib/data_calendar.py): detected from the
data's layout (SPEC §2), remembered in the state folder, only ever moved earlier, read by the
definitions when PARTITIONS_START / INGESTION_START are not set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from commercepulse.lib.data_calendar import FILE, detect, remember


def layout(root: Path, dumps=(), live=(), platform=()) -> Path:
    for year in dumps:
        (root / "bootstrap").mkdir(parents=True, exist_ok=True)
        (root / "bootstrap" / f"orders_{year}.json").write_text("[]")
    for day in live:
        (root / "live_events" / day).mkdir(parents=True, exist_ok=True)
        (root / "live_events" / day / "events.jsonl").write_text("")
    for source, day in platform:
        (root / "platform" / source).mkdir(parents=True, exist_ok=True)
        (root / "platform" / source / f"{day}.jsonl").write_text("")
    return root


def test_the_starts_come_from_the_dumps_and_day_folders(tmp_path, datapack):
    assert detect(datapack) == {"partitions_start": "2023-01-01", "ingestion_start": "2025-01-15"}
    demo = layout(
        tmp_path / "demo", [2025], ["2026-12-01", "2026-11-30"], [("users", "2026-11-29")]
    )
    assert detect(demo) == {"partitions_start": "2025-01-01", "ingestion_start": "2026-11-29"}
    # live data only: a late event's business day may precede its landing by up to a month
    live = layout(tmp_path / "live", live=["2026-03-05", "not-a-day"])
    assert detect(live) == {"partitions_start": "2026-02-01", "ingestion_start": "2026-03-05"}
    assert detect(tmp_path / "nothing") == {}


def test_remembered_starts_only_move_earlier(tmp_path):
    home = tmp_path / "home"
    data = layout(tmp_path / "d", [2025], ["2026-11-30"])
    assert remember(home, data)["partitions_start"] == "2025-01-01"
    layout(data, [2024])  # an older dump arrives
    assert remember(home, data)["partitions_start"] == "2024-01-01"
    (data / "bootstrap" / "orders_2024.json").unlink()  # and goes: the calendar stays
    assert json.loads((home / FILE).read_text())["partitions_start"] == "2024-01-01"
    assert remember(home, data)["partitions_start"] == "2024-01-01"


def test_the_definitions_read_the_remembered_calendar_unless_set(tmp_path):
    home = tmp_path / "home"
    remember(home, layout(tmp_path / "d", [2025], ["2026-11-30"]))
    env = {k: v for k, v in os.environ.items() if k not in ("PARTITIONS_START", "INGESTION_START")}
    probe = [
        sys.executable,
        "-c",
        "from commercepulse.defs.partitions import DAILY, INGESTION_DAILY;"
        "print(DAILY.start.date(), INGESTION_DAILY.start.date())",
    ]
    said = subprocess.run(
        probe, env={**env, "COMMERCEPULSE_HOME": str(home)}, capture_output=True, text=True
    )
    assert said.stdout.split() == ["2025-01-01", "2026-11-30"], said.stderr
    pinned = subprocess.run(
        probe,
        env={**env, "COMMERCEPULSE_HOME": str(home), "PARTITIONS_START": "2023-06-01"},
        capture_output=True,
        text=True,
    )
    assert pinned.stdout.split() == ["2023-06-01", "2026-11-30"], pinned.stderr
