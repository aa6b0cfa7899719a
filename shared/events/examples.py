"""One example of every event type (the data in examples.yaml), validated by the catalogue's models.

The examples go into docs/asyncapi.yaml, where the official AsyncAPI parser checks them against their schemas,
and the tests round-trip them through the envelope. Fixed ids and instants keep the generated document stable.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from shared.events.catalogue import CATALOGUE, EventData, EventSpec, is_tombstone
from shared.events.envelope import Envelope, dataschema_of, source_of

EXAMPLES_FILE = Path(__file__).with_name("examples.yaml")
DOSSIER_ID = "22e7653c-fe76-5b5e-a665-171fba60c338"
DOSSIER_CODE = "H21.65-260302-0011"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
_NAMESPACE = uuid.UUID("5f1c2a9e-3d4b-4e8f-9a61-0c7b2d8e4f10")


def example_id(name: str) -> str:
    """The fixed id of an example event: the examples that refer to one another use these."""
    return str(uuid.uuid5(_NAMESPACE, name))


@cache
def examples() -> dict[str, EventData]:
    """The example `data` of every event type, as model instances."""
    raw: dict[str, Any] = yaml.safe_load(EXAMPLES_FILE.read_text(encoding="utf-8"))["events"]
    unknown = set(raw) - set(CATALOGUE)
    if unknown:
        raise ValueError(f"{EXAMPLES_FILE.name} has examples of unknown event types: {sorted(unknown)}")
    missing = set(CATALOGUE) - set(raw)
    if missing:
        raise ValueError(f"{EXAMPLES_FILE.name} lacks an example of: {sorted(missing)}")
    return {event_type: spec.model.model_validate(raw[event_type]) for event_type, spec in CATALOGUE.items()}


def example_envelope(spec: EventSpec, sequence: int = 1) -> Envelope:
    """The example event of `spec` as it travels: CloudEvents attributes and data (none for a tombstone)."""
    event = examples()[spec.event_type]
    return Envelope(
        id=example_id(spec.event_type),
        source=source_of(spec.producer),
        type=spec.event_type,
        time=datetime(2026, 3, 2, 1, 40, 1, tzinfo=UTC),
        subject=DOSSIER_CODE,
        dataschema=dataschema_of(spec.event_type, spec.version),
        dossierid=DOSSIER_ID,
        dossierseq=sequence,
        data=None if is_tombstone(spec) else event.model_dump(mode="json"),
        causationid=example_id("cause"),
        traceparent=TRACEPARENT,
    )
