"""One record of a topic as an operator reads it (`lienthong tail`, `timeline`): when, where, what, which dossier,
and the few fields that say what happened, one line each. Parsed leniently: a malformed record is shown as such,
never a crash, since finding those is part of the job. Nothing of the contacts topic's data is shown: it is the
applicant's personal data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka.structs import ConsumerRecord

from shared.calendar.zone import ZONE
from shared.events.catalogue import contacts
from shared.events.envelope import Envelope, MalformedEventError

# What tells an operator what happened, in this order; the rest of the data is for `dlq show` and integrators.
KEY_FIELDS = ("step_id", "channel", "timeliness", "tracking_number", "attempt")

# Topics whose records carry personal data: shown without it.
PERSONAL_TOPICS = frozenset({contacts.TOPIC})


@dataclass(frozen=True)
class EventLine:
    topic: str
    partition: int
    offset: int
    time: datetime  # the event's time (ce_time), else the record's timestamp
    type: str | None = None
    code: str | None = None
    dossier_id: str | None = None
    seq: int | None = None
    fields: dict[str, str] = field(default_factory=dict)
    agencies: tuple[str, ...] = ()
    malformed: str | None = None

    def text(self) -> str:
        when = self.time.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")
        where = f"{self.topic}[{self.partition}]@{self.offset}"
        if self.malformed is not None:
            return f"{when}  {where:<34} MALFORMED  {self.malformed}"
        details = " ".join([*(f"{k}={v}" for k, v in self.fields.items()),
                            *(f"agency={code}" for code in self.agencies)])  # fmt: skip
        return f"{when}  {where:<34} {self.type:<34} {self.code} #{self.seq}  {details}".rstrip()

    def as_json(self) -> dict[str, Any]:
        return {"time": self.time.isoformat(), "topic": self.topic, "partition": self.partition,
                "offset": self.offset, "type": self.type, "dossier_code": self.code, "dossier_id": self.dossier_id,
                "seq": self.seq, "fields": self.fields, "agencies": list(self.agencies),
                "malformed": self.malformed}  # fmt: skip

    def concerns(self, dossier: str) -> bool:
        """Whether the event is of this dossier, named by its code or its id."""
        return dossier in (self.code, self.dossier_id)

    def involves(self, agency: str) -> bool:
        """Whether an agency of the event is this one or one of its units (H29.101 covers H29.101.1)."""
        return any(code == agency or code.startswith(agency + ".") for code in self.agencies)


def event_line(record: ConsumerRecord) -> EventLine:
    where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    stamped = datetime.fromtimestamp(record.timestamp / 1000, UTC)
    try:
        event = Envelope.from_record(record.key, record.value, list(record.headers))
    except MalformedEventError as error:
        key = (record.key or b"").decode(errors="replace")[:80]
        return EventLine(**where, time=stamped, malformed=f"key={key} {error}")
    data = {} if record.topic in PERSONAL_TOPICS or event.data is None else event.data
    return EventLine(**where, time=event.time, type=event.type, code=event.subject, dossier_id=event.dossierid,
                     seq=event.dossierseq, fields=_key_fields(data),
                     agencies=tuple(dict.fromkeys(_agency_codes(data))))  # fmt: skip


def _key_fields(data: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    if "status_to" in data:
        before = data.get("status_from")
        found["status"] = f"{before}->{data['status_to']}" if before is not None else str(data["status_to"])
    procedure = data.get("procedure")
    if isinstance(procedure, dict) and "code" in procedure:
        found["procedure"] = str(procedure["code"])
    found |= {name: str(data[name]) for name in KEY_FIELDS if data.get(name) is not None}
    return found


def _agency_codes(value: Any, key: str = "") -> Iterator[str]:
    """Every agency the event names: agency references (`..._agency`, `agency`) and actors' `agency_code`."""
    if isinstance(value, dict):
        if key.endswith("agency") and isinstance(value.get("code"), str):
            yield value["code"]
        for name, item in value.items():
            if name == "agency_code" and isinstance(item, str):
                yield item
            yield from _agency_codes(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _agency_codes(item, key)
