"""The Dagster code location: every domain's definitions (defs/<domain>/definitions.py, found by
walking the defs package) merged with the resources built from the settings.

Why not `dg.load_from_defs_folder`: it also scans each domain's assets.py module by module and
finds the multi-assets' specs and the string-targeted checks a second time (measured with
dagster 1.13.27: "Asset key silver_users is defined multiple times"); each domain's `defs()`
already says exactly what it holds.
"""

from __future__ import annotations

import importlib
import pkgutil

import dagster as dg

from commercepulse import defs as defs_package
from commercepulse.defs.resources import build_resources
from commercepulse.settings import load_settings


def domain_definitions() -> list[dg.Definitions]:
    """The `defs()` of every domain package under defs/ (no hand-kept list to drift)."""
    out = []
    for info in sorted(pkgutil.iter_modules(defs_package.__path__), key=lambda i: i.name):
        if info.ispkg:
            module = importlib.import_module(f"{defs_package.__name__}.{info.name}.definitions")
            out.append(module.defs())
    return out


def build_definitions(resources: dict) -> dg.Definitions:
    """Every domain's assets, checks, jobs, sensors and schedules, with these resources."""
    return dg.Definitions.merge(
        *domain_definitions(),
        # DuckDB allows one writer: a run's steps go one after another in its process.
        dg.Definitions(resources=resources, executor=dg.in_process_executor),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(build_resources(load_settings()))
