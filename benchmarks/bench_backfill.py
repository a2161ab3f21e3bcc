"""Single-run backfill over N generated days (~2,000 live events a day) from landed raw data
to all KPIs and reports: wall time per stage and peak RSS (VmHWM of this process).

Run as `python -m benchmarks.bench_backfill DAYS`; `make bench-year` runs 30 and 365 days in
separate processes so their peak RSS can be compared (it must not grow with the window).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from benchmarks.common import BENCH_HOME, uri

START = date(2024, 1, 1)


def vm_hwm_mb() -> int:
    return (
        int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")))
        // 1024
    )


def main(days: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"cp-bench-year{days}-", dir=BENCH_HOME.parent))
    os.environ["DAGSTER_HOME"] = str(work / "dagster")
    from commercepulse.generate.writers import write_fx
    from commercepulse.runner import run_all
    from commercepulse.settings import Settings

    settings = Settings(
        mongo_uri=uri(),
        mongo_db=f"bench_year_{uuid.uuid4().hex[:6]}",
        data_dir=work / "data",
        commercepulse_home=work / "home",
        reports_dir=work / "reports",
    )

    t = time.perf_counter()  # generated in another process: VmHWM below is the platform's alone
    subprocess.run(
        [
            sys.executable,
            "-m",
            "commercepulse.cli",
            "generate",
            "live",
            "--out",
            str(work / "data/live_events"),
            "--date",
            START.isoformat(),
            "--days",
            str(days),
            "--events",
            "2000",
            "--seed",
            "99",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    write_fx(work / "data", START.year)
    generate_s = time.perf_counter() - t
    lines = sum(
        1 for p in (work / "data/live_events").glob("*/events.jsonl") for _ in open(p, "rb")
    )
    t = time.perf_counter()
    result = run_all(settings, say=lambda line: print(line, file=sys.stderr, flush=True))
    wall = time.perf_counter() - t
    from commercepulse.instance.postgres import stop_local_postgres
    from commercepulse.mongo.client import get_database

    get_database(settings.mongo_uri, settings.mongo_db).client.drop_database(settings.mongo_db)
    stop_local_postgres(settings.home / "postgres")
    stages = result["timings"]
    to_kpis = sum(v for k, v in stages.items() if k.startswith(("business_day_job", "refresh_job")))
    return {
        "days": days,
        "lines": lines,
        "generate_s": round(generate_s, 1),
        "wall_s": round(wall, 1),
        "landed_raw_to_all_kpis_s": round(to_kpis, 1),
        "stages_s": stages,
        "peak_rss_mb": vm_hwm_mb(),
        "failed_checks": len(result["failed_checks"]),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 365), indent=2))
