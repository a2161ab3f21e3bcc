"""Vendor mappings added as files: DATA_DIR/mappings/*.json, beside the built-in `mapping.SHAPES`.

A new vendor (or a vendor's new spelling) is onboarded without a code change:

    {"vendor": "vendor_d",
     "shapes": [{"kind": "orders", "fields": {"order_id": ["ref"], "order_time": ["placedAt"], ...},
                 "required": ["order_id", "order_time"], "item_fields": {"sku": ["code"], ...}}]}

Field names are the canonical ones of the kind (those the built-in shapes use); each maps to
the payload paths tried in order. Events staged as unmapped before a mapping existed are
re-staged when the mappings change (sensor `restage_on_mapping_change`).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from commercepulse.errors import InputError
from commercepulse.vendors.mapping import SHAPES, SHAPES_BY_KIND, Shape, ShapesByKind, by_kind

#: The canonical fields of each kind: whatever the built-in shapes map.
CANONICAL: dict[str, frozenset[str]] = {
    kind: frozenset().union(*(s.fields for s in shapes.values()))
    for kind, shapes in SHAPES_BY_KIND.items()
}
ITEM_CANONICAL = frozenset().union(*(s.item_fields for s in SHAPES))


class ShapeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    fields: dict[str, list[str]]
    required: list[str]
    any_of: list[str] = []
    item_fields: dict[str, list[str]] = {}

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in CANONICAL:
            raise ValueError(f"unknown kind {kind!r}: one of {', '.join(sorted(CANONICAL))}")
        return kind

    @model_validator(mode="after")
    def _canonical_names(self) -> ShapeFile:
        unknown = set(self.fields) - CANONICAL[self.kind]
        if unknown:
            raise ValueError(
                f"{self.kind}: unknown field(s) {sorted(unknown)}; canonical: {sorted(CANONICAL[self.kind])}"
            )
        if missing := (set(self.required) | set(self.any_of)) - set(self.fields):
            raise ValueError(f"{self.kind}: required field(s) {sorted(missing)} have no paths")
        if unknown_items := set(self.item_fields) - ITEM_CANONICAL:
            raise ValueError(f"{self.kind}: unknown item field(s) {sorted(unknown_items)}")
        return self


class MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vendor: str
    shapes: list[ShapeFile]


def mapping_files(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else []


def fingerprint(folder: Path) -> str:
    """A digest of the mapping files' names and bytes ("" without any): changes when a mapping does."""
    files = mapping_files(folder)
    if not files:
        return ""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _shapes(path: Path) -> list[Shape]:
    try:
        spec = MappingFile.model_validate(orjson.loads(path.read_bytes()))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise InputError(f"mapping file {path} is not valid: {exc}") from exc
    # a canonical field the file leaves out resolves to null (no paths), as in the built-in shapes
    return [
        Shape(
            s.kind,
            spec.vendor,
            {k: tuple(s.fields.get(k, ())) for k in sorted(CANONICAL[s.kind])},
            tuple(s.required),
            tuple(s.any_of),
            {k: tuple(s.item_fields.get(k, ())) for k in sorted(ITEM_CANONICAL)}
            if s.item_fields
            else {},
        )
        for s in spec.shapes
    ]


@lru_cache(maxsize=8)
def _cached(folder: str, digest: str) -> ShapesByKind:
    extra = [shape for path in mapping_files(Path(folder)) for shape in _shapes(path)]
    clash = [f"{s.kind}/{s.vendor}" for s in extra if s.vendor in SHAPES_BY_KIND.get(s.kind, {})]
    if clash:
        raise InputError(
            f"mapping files in {folder} redefine built-in shapes {clash}: change them in "
            "commercepulse/mapping.py instead"
        )
    return by_kind((*SHAPES, *extra))


def shapes_from(folder: Path) -> ShapesByKind:
    """The built-in shapes plus those of `folder`'s mapping files (cached by their fingerprint)."""
    digest = fingerprint(folder)
    return SHAPES_BY_KIND if not digest else _cached(str(Path(folder).resolve()), digest)


#: The folder of DATA_DIR holding mapping files.
FOLDER = "mappings"


def shapes_for(data_dir: Path) -> ShapesByKind:
    """The shapes staging uses for DATA_DIR: built-in plus DATA_DIR/mappings/*.json."""
    return shapes_from(Path(data_dir) / FOLDER)
