"""Test harness only: start the `bqemulator` BigQuery emulator (never imported by the product).

Two workarounds, both local to the harness:
- the emulator loads DuckDB's spatial extension at start and cannot download it here: the
  file shipped in the `duckdb-extension-spatial` wheel is copied where DuckDB looks for it;
- google-cloud-bigquery's multipart upload sends the media part as `*/*`, which the
  emulator's whitelist rejects: `*/*` is added to that whitelist before the app starts.

Run as `python -m commercepulse_tests.bq_emulator_launcher --rest-port N ...` (same flags as
`bqemulator start`).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def install_spatial_extension() -> Path:
    import duckdb
    import duckdb_extension_spatial

    version = f"v{duckdb.__version__}"
    shipped = (
        Path(duckdb_extension_spatial.__file__).parent
        / "extensions"
        / version
        / "spatial.duckdb_extension"
    )
    platform = duckdb.execute("PRAGMA platform").fetchone()[0]
    target = (
        Path.home() / ".duckdb" / "extensions" / version / platform / "spatial.duckdb_extension"
    )
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shipped, target)
    return target


def main(argv: list[str]) -> None:
    install_spatial_extension()
    from bqemulator.api.routes import upload
    from bqemulator.cli import main as cli

    if "*/*" not in upload._PERMITTED_MEDIA_CONTENT_TYPES:
        upload._PERMITTED_MEDIA_CONTENT_TYPES = (*upload._PERMITTED_MEDIA_CONTENT_TYPES, "*/*")
    cli(["start", *argv], standalone_mode=True)


if __name__ == "__main__":
    main(sys.argv[1:])
