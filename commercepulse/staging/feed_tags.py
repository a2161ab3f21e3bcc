"""What the vendor feed counts of each live event, decided once, as the event lands.

The feed counts first-landed events per canonical frame, and payment successes, by the same rules
as staging (`normalize`, figures only). Classifying every event again after landing read each
day back from MongoDB and cost as much as the landing itself. So the landing pass classifies each
batch it already holds and stores the outcome beside the event: `feed: {by, frame, paid}`.

`by` names the rules: a digest of the shapes (built-in and DATA_DIR/mappings) and of the source
of the modules that apply them. A tag whose `by` is not today's (a mapping file changed, the code
changed, or the event was landed without a tagger) is ignored: the feed classifies those days
again, as before. So a tag is a cache of a pure function of the stored event, never a second truth.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from commercepulse.lib import ids, timeparse
from commercepulse.staging import normalize as normalize_module
from commercepulse.staging.normalize import normalize
from commercepulse.vendors import mapping
from commercepulse.vendors.mapping import SHAPES_BY_KIND, ShapesByKind
from commercepulse.vendors.mapping_files import shapes_for

#: Canonical frame -> the feed column (and tag frame name) counting its events.
KIND_COLUMNS = {
    "stg_orders": "orders",
    "stg_payments": "payments",
    "stg_refunds": "refunds",
    "stg_shipments": "shipments",
    "stg_order_updates": "updates",
    "stg_unmapped": "unmapped",
}
#: Figures-only normalization converts no money: it never reads the rates.
NO_RATES = pd.DataFrame(columns=["currency", "rate_date", "ngn_per_unit"])
#: The modules whose code decides a frame: a change to any of them retires every tag.
RULE_MODULES = (mapping, normalize_module, timeparse, ids)


def rules_version(shapes: ShapesByKind) -> str:
    """16 hex digits naming the classification rules: the shapes, and the code applying them."""
    digest = hashlib.sha256()
    for kind in sorted(shapes):
        for vendor, shape in sorted(shapes[kind].items()):
            digest.update(repr((kind, vendor, shape)).encode())
    for module in RULE_MODULES:
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


def classify(events: pd.DataFrame, shapes: ShapesByKind) -> pd.DataFrame:
    """Per row of `events` (normalize's input columns; ids need not be distinct): the feed
    column of the frame it lands in (`frame`), and whether it is a successful payment (`paid`)."""
    rows = events.reset_index(drop=True).assign(event_id=[str(i) for i in range(len(events))])
    frames = normalize(rows, NO_RATES, shapes=shapes, figures_only=True)
    frame = pd.Series(["unmapped"] * len(rows), dtype="object")
    for name, column in KIND_COLUMNS.items():
        landed = frames[name]["event_id"].drop_duplicates().astype("int64").to_numpy()
        frame.iloc[landed] = column
    payments = frames["stg_payments"]
    paid = pd.Series(False, index=range(len(rows)))
    succeeded = payments.loc[payments["status"].eq("SUCCESS").fillna(False), "event_id"]
    paid.iloc[succeeded.astype("int64").to_numpy()] = True
    return pd.DataFrame({"frame": frame, "paid": paid})


@dataclass(frozen=True)
class FeedTagger:
    """Tags envelopes at landing (picklable: a landing worker process rebuilds the shapes from
    the data folder). `data_dir` None: the built-in shapes only."""

    data_dir: str | None = None
    _version: list[str] = field(default_factory=list, compare=False, repr=False)

    def shapes(self) -> ShapesByKind:
        return SHAPES_BY_KIND if self.data_dir is None else shapes_for(Path(self.data_dir))

    @property
    def version(self) -> str:
        if not self._version:
            self._version.append(rules_version(self.shapes()))
        return self._version[0]

    def __call__(self, envelopes: list[dict]) -> list[dict]:
        """One tag per envelope (the landing's documents: event_type, event_time, vendor,
        payload, ingested_at)."""
        if not envelopes:
            return []
        events = pd.DataFrame(
            {
                "event_id": [e["event_id"] for e in envelopes],
                "event_type": [e["event_type"] for e in envelopes],
                "event_time": pd.to_datetime([e["event_time"] for e in envelopes], utc=True),
                "vendor": [e["vendor"] for e in envelopes],
                "payload": [e["payload"] for e in envelopes],
                "ingested_at": pd.to_datetime([e["ingested_at"] for e in envelopes], utc=True),
                "source_kind": [e["source"]["kind"] for e in envelopes],
            }
        )
        classes = classify(events, self.shapes())
        by = self.version
        tags = {  # one tag object per outcome, shared by the events that have it
            (frame, paid): {"by": by, "frame": frame, "paid": True}
            if paid
            else {"by": by, "frame": frame}
            for frame in KIND_COLUMNS.values()
            for paid in (False, True)
        }
        return [
            tags[key]
            for key in zip(
                classes["frame"].to_numpy().tolist(), classes["paid"].to_numpy().tolist()
            )
        ]
