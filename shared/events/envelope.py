"""CloudEvents 1.0 in the binary content mode of the Kafka protocol binding: the attributes travel as `ce_*`
headers, `data` as JSON in the record's value, the record's key is the dossier id.

Extensions (lowercase, no underscores, as the spec requires): `dossierid`, `dossierseq` (strictly increasing
from 1 per dossier and per stream — one producer's topic), `causationid` (the event that caused this one),
`traceparent` (W3C trace context). The dossier code is the `subject`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
HEADER_PREFIX = "ce_"
REQUIRED = ("id", "source", "type", "specversion", "time", "subject", "dataschema", "dossierid", "dossierseq")
OPTIONAL = ("causationid", "traceparent")


class MalformedEventError(ValueError):
    """A record that is not a well-formed lienthong CloudEvent."""


def source_of(service: str) -> str:
    return f"/lienthong/{service}"


def dataschema_of(event_type: str, version: int) -> str:
    return f"urn:lienthong:schema:{event_type}:v{version}"


@dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    type: str
    time: datetime
    subject: str
    dataschema: str
    dossierid: str
    dossierseq: int
    data: dict[str, Any] | None
    causationid: str | None = None
    traceparent: str | None = None
    specversion: str = field(default=SPECVERSION)

    @property
    def is_tombstone(self) -> bool:
        """A record with no value: on a compacted topic it erases the key (the contacts topic)."""
        return self.data is None

    def headers(self) -> list[tuple[str, bytes]]:
        attributes: dict[str, str | None] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "subject": self.subject,
            "dataschema": self.dataschema,
            "dossierid": self.dossierid,
            "dossierseq": str(self.dossierseq),
            "causationid": self.causationid,
            "traceparent": self.traceparent,
        }
        headers = [(HEADER_PREFIX + name, value.encode()) for name, value in attributes.items() if value is not None]
        return [*headers, ("content-type", CONTENT_TYPE.encode())]

    def key(self) -> bytes:
        return self.dossierid.encode()

    def value(self) -> bytes | None:
        if self.data is None:
            return None
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_record(
        cls, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]
    ) -> Envelope:
        """Parse a Kafka record; raises MalformedEventError saying what is wrong."""
        try:
            attributes = {
                name[len(HEADER_PREFIX) :]: raw.decode()
                for name, raw in headers
                if name.startswith(HEADER_PREFIX) and raw is not None
            }
        except UnicodeDecodeError as error:
            raise MalformedEventError(f"a ce_* header is not UTF-8: {error}") from error
        missing = [name for name in REQUIRED if not attributes.get(name)]
        if missing:
            raise MalformedEventError(f"missing CloudEvents attributes: {', '.join(missing)}")
        if attributes["specversion"] != SPECVERSION:
            raise MalformedEventError(f"unsupported specversion {attributes['specversion']!r}")
        if key is not None and key.decode(errors="replace") != attributes["dossierid"]:
            raise MalformedEventError("the record key is not the dossierid")
        try:
            seq = int(attributes["dossierseq"])
            time = datetime.fromisoformat(attributes["time"].replace("Z", "+00:00"))
            data = None if value is None else json.loads(value)
        except ValueError as error:
            raise MalformedEventError(f"unreadable attribute or data: {error}") from error
        if seq < 1:
            raise MalformedEventError(f"dossierseq must start at 1, got {seq}")
        if data is not None and not isinstance(data, dict):
            raise MalformedEventError("data must be a JSON object")
        return cls(
            id=attributes["id"],
            source=attributes["source"],
            type=attributes["type"],
            time=time,
            subject=attributes["subject"],
            dataschema=attributes["dataschema"],
            dossierid=attributes["dossierid"],
            dossierseq=seq,
            data=data,
            causationid=attributes.get("causationid"),
            traceparent=attributes.get("traceparent"),
        )
