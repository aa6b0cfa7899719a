"""What every event model shares, and the registry the catalogue is built into."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class DossierStatus(IntEnum):
    """The national portal's status codes (domain.md, "Lifecycle and statuses")."""

    SUBMITTED_ONLINE = 1
    ACCEPTED = 2
    REFUSED = 3
    PROCESSING = 4
    SUPPLEMENT_REQUESTED = 5
    OBLIGATION_REQUESTED = 6
    WITHDRAWN = 7
    STOPPED = 8
    RESULT_READY = 9
    RESULT_RETURNED = 10


class EventData(BaseModel):
    """The `data` of one event type. Subclasses set `event_type` (past tense, dotted: `dossier.accepted`),
    `version` (the schema version in `dataschema`) and whether the event carries personal data (only the
    contacts topic may)."""

    # Consumers ignore fields they do not know: producers may add optional fields within a version.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    version: ClassVar[int] = 1


@dataclass(frozen=True)
class EventSpec:
    """One event type of the catalogue: its model, who produces it, and the topic it travels on."""

    event_type: str
    model: type[EventData]
    producer: str
    topic: str

    @property
    def version(self) -> int:
        return self.model.version
