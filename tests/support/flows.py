"""What the end-to-end flows share on the whole stack: the desk's and the agencies' actions over HTTP, the public
tracking view, what the applicant was told at the SMS gateway simulator and the SMTP sink, the dossier's streams on
the topics with their checks, and the stack's shared clock."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import httpx

from shared.calendar.engine import WorkingCalendar
from shared.calendar.holidays import load_holiday_years
from shared.calendar.zone import ZONE, local
from shared.clock import ControllableClock
from tests.support.messaging import eventually
from tests.support.stack import StackCommand, demo_token
from tests.support.topics import (
    NOTIFICATION,
    TOPICS,
    Stream,
    read_topics,
    streams_of,
)

CALENDAR = WorkingCalendar(load_holiday_years())
# Sài Gòn ward's one-stop desk, and the agencies the seeded routes resolve to from it (deploy/rules/agencies.yaml).
DESK, COMMITTEE, JUSTICE, OFFICE = "H29.101.1", "H29.101", "H29.101.2", "H29.101.3"
POLICE, SOCIAL_INSURANCE, LAND_OFFICE, TAX = "H29.40.101", "H29.50.1", "H29.20.1", "H29.30.1"
# What the applicant reads for each event they are told of: in the SMS (sent without diacritics) and in the email's
# subject (services/notification/templates/).
SMS_SAYS = {
    "dossier.accepted": "tiep nhan. Hen tra ket qua", "dossier.refused": "khong duoc",
    "step.transferred": "chuyen den", "dossier.supplement-requested": "tam dung xu ly, de nghi bo sung",
    "dossier.obligation-requested": "de nghi nop", "dossier.obligation-settled": "Da ghi nhan khoan nop",
    "dossier.apology-issued": "xin loi", "dossier.withdrawn": "da duoc rut", "dossier.result-ready": "da co ket qua",
    "dossier.result-returned": "/public/surveys/",
}  # fmt: skip
EMAIL_SAYS = {
    "dossier.accepted": "đã được tiếp nhận", "dossier.refused": "không được tiếp nhận",
    "step.transferred": "đã được chuyển đến", "dossier.supplement-requested": "cần bổ sung giấy tờ",
    "dossier.obligation-requested": "thông báo nghĩa vụ tài chính",
    "dossier.obligation-settled": "đã ghi nhận khoản nộp", "dossier.apology-issued": "Thư xin lỗi",
    "dossier.withdrawn": "đã được rút", "dossier.result-ready": "đã có kết quả",
    "dossier.result-returned": "Mời đánh giá",
}  # fmt: skip


def kind_of(text: str, says: Mapping[str, str]) -> str:
    return next((kind for kind, words in says.items() if words in text), f"unknown: {text}")


@dataclass(frozen=True)
class Dossier:
    id: str
    code: str
    secret: str


@dataclass(frozen=True)
class Told:
    """What the applicant received about one dossier: the event each message told of, and the messages."""

    sms: Counter[str]
    email: Counter[str]
    sms_texts: list[str]
    email_texts: list[str]  # the plain-text part of each email


class EndToEnd:
    """A test's hands on the stack: the staff and public APIs, the simulators and the topics."""

    def __init__(self, stack: StackCommand, http: httpx.AsyncClient) -> None:
        self.stack, self.http = stack, http
        self.env = stack.env_file()
        self.intake, self.routing = self.env["INTAKE_URL"], self.env["ROUTING_URL"]

    def staff(self, agency: str | None, role: str = "processing") -> dict[str, str]:
        return demo_token(self.stack, agency, role)

    # -- the desk (intake) ---------------------------------------------------------------------------------------

    async def register(self, body: dict[str, Any]) -> Dossier:
        registered = await self.http.post(f"{self.intake}/desk/dossiers", json=body,
                                          headers=self.staff(DESK, "reception"))  # fmt: skip
        assert registered.status_code == 201, registered.text
        answer = registered.json()
        return Dossier(answer["id"], answer["code"], answer["tracking_secret"])

    async def accept(self, dossier: Dossier) -> dict[str, Any]:
        accepted = await self.desk(dossier, "accept")
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["state"] == "accepted"
        return dict(accepted.json())

    async def desk(self, dossier: Dossier, action: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """`POST /desk/dossiers/{id}/<action>` as the desk's reception officer."""
        return await self.http.post(f"{self.intake}/desk/dossiers/{dossier.id}/{action}", json=body,
                                    headers=self.staff(DESK, "reception"))  # fmt: skip

    async def hand_over(self, dossier: Dossier, documents: list[dict[str, Any]]) -> dict[str, Any]:
        """The desk hands the result (status 9) to the applicant in person; tracking follows it to status 10."""
        await self.tracked(dossier, 9)
        handover = {"documents": documents, "received_by": "applicant"}
        handed = await self.desk(dossier, "facts/result-handed-over", handover)
        assert handed.status_code == 200, handed.text
        return await self.tracked(dossier, 10)

    # -- the processing agencies (routing) -----------------------------------------------------------------------

    async def act(
        self, dossier: Dossier, action: str, agency: str, body: dict[str, Any] | None = None, role: str = "processing"
    ) -> httpx.Response:
        """`POST /processing/dossiers/{code}/<action>` as staff of `agency`."""
        return await self.http.post(f"{self.routing}/processing/dossiers/{dossier.code}/{action}", json=body,
                                    headers=self.staff(agency, role))  # fmt: skip

    async def processing(self, dossier: Dossier, agency: str = DESK) -> httpx.Response:
        role = "reception" if agency == DESK else "processing"
        return await self.http.get(f"{self.routing}/processing/dossiers/{dossier.code}",
                                   headers=self.staff(agency, role))  # fmt: skip

    async def in_processing(self, dossier: Dossier, status: int = 4) -> dict[str, Any]:
        """Routing's view of the dossier once it has the given status (routing takes it from the topics)."""
        view: dict[str, Any] = {}

        async def reached() -> bool:
            nonlocal view
            answer = await self.processing(dossier)
            view = answer.json() if answer.status_code == 200 else {}
            return view.get("status") == status

        await eventually(reached, timeout_s=60, what=f"{dossier.code} at status {status} in routing")
        return view

    async def queue(self, agency: str) -> list[str]:
        answer = await self.http.get(f"{self.routing}/processing/queue", headers=self.staff(agency))
        assert answer.status_code == 200, answer.text
        return [step["code"] for step in answer.json()["steps"]]

    # -- the applicant -------------------------------------------------------------------------------------------

    async def tracked(self, dossier: Dossier, status: int, last: str | None = None) -> dict[str, Any]:
        """The public tracking view once it shows `status` (and, when given, the event `last` on its timeline).
        Asked once a second: the anonymous API allows a client 30 requests a minute, and every test of the session
        shares that budget."""
        view: dict[str, Any] = {}

        async def reached() -> bool:
            nonlocal view
            answer = await self.http.get(f"{self.intake}/public/tracking/{dossier.code}",
                                         params={"secret": dossier.secret})  # fmt: skip
            view = answer.json() if answer.status_code == 200 else {}
            events = [entry["event"] for entry in view.get("timeline", [])]
            if view.get("status") == status and (last is None or last in events):
                return True
            await asyncio.sleep(1)
            return False

        await eventually(reached, timeout_s=90, what=f"tracking of {dossier.code} at status {status}")
        return view

    async def told(self, dossier: Dossier, applicant: Mapping[str, Any], sms: int, emails: int) -> Told:
        """What the applicant was told about the dossier once at least `sms` SMS and `emails` emails reached the
        simulators, and a little longer, so that a message sent twice would show."""

        found: Told | None = None

        async def arrived() -> bool:
            nonlocal found
            found = await self._told(dossier, applicant)
            return len(found.sms_texts) >= sms and len(found.email_texts) >= emails

        try:
            await eventually(arrived, timeout_s=90, what=f"{sms} SMS and {emails} emails about {dossier.code}")
        except AssertionError as missing:
            raise AssertionError(f"{missing}; told: {found}") from None
        await asyncio.sleep(2)
        return await self._told(dossier, applicant)

    async def _told(self, dossier: Dossier, applicant: Mapping[str, Any]) -> Told:
        about = re.compile(re.escape(dossier.code) + r"(?!\d)")
        gateway = (await self.http.get(self.env["SMS_GATEWAY_MESSAGES_URL"])).json()["messages"]
        sms = [m for m in gateway if about.search(m["text"])]
        sink = (await self.http.get(self.env["SMTP_SINK_MESSAGES_URL"])).json()["messages"]
        emails = [m for m in sink if about.search(m["headers"]["Subject"])]
        assert all(m["to"].endswith(applicant["phone"][1:]) for m in sms), "each SMS goes to the applicant's phone"
        assert all(m["recipients"] == [applicant["email"]] for m in emails), "each email goes to the applicant"
        return Told(
            sms=Counter(kind_of(m["text"], SMS_SAYS) for m in sms),
            email=Counter(kind_of(m["headers"]["Subject"], EMAIL_SAYS) for m in emails),
            sms_texts=[m["text"] for m in sms],
            email_texts=[next(p["content"] for p in m["parts"] if p["content_type"] == "text/plain") for m in emails],
        )

    # -- the topics ----------------------------------------------------------------------------------------------

    async def published(self, dossier: Dossier, until: Callable[[dict[str, Stream]], bool]) -> dict[str, Stream]:
        """The dossier's stream on each topic it touched (every record to the end offsets), once `until` holds."""
        streams: dict[str, Stream] = {}

        async def complete() -> bool:
            nonlocal streams
            records = await read_topics(self.env["KAFKA_BOOTSTRAP_SERVERS"], TOPICS)
            streams = {topic: stream for (topic, _), stream in streams_of(records, {dossier.id}).items()}
            if not until(streams):
                await asyncio.sleep(1)
                return False
            return True

        await eventually(complete, timeout_s=90, what=f"the events of {dossier.code} on the topics")
        return streams


def sent(streams: Mapping[str, Stream]) -> int:
    """How many notification.sent events the dossier has on notification's topic."""
    stream = streams.get(NOTIFICATION)
    return sum(event.type == "notification.sent" for event in stream.events) if stream else 0


def has(streams: Mapping[str, Stream], topic: str, event_type: str) -> bool:
    stream = streams.get(topic)
    return stream is not None and event_type in stream.types


def assert_streams(
    streams: Mapping[str, Stream], expected: Mapping[str, list[str]], optional: Collection[str] = ("dossier.near-due",)
) -> None:
    """The dossier touched exactly the expected topics (notification's besides, checked by assert_notified), each
    stream whole, in order and valid, with the expected event types in dossierseq order. An `optional` type (a
    deadline the scheduler may or may not have fired before the step ended) may appear anywhere."""
    assert set(streams) - {NOTIFICATION} == set(expected), {topic: s.types for topic, s in streams.items()}
    for topic, stream in streams.items():
        assert (stream.lost, stream.out_of_order, stream.invalid) == ([], 0, []), (topic, stream)
    for topic, types in expected.items():
        assert [t for t in streams[topic].types if t not in optional] == types, (topic, streams[topic].types)


def assert_notified(streams: Mapping[str, Stream], told: Told) -> None:
    """Notification's topic tells the same story as the simulators: one notification.sent per message received,
    for the same events, no notification sent twice, and every delivery report about a sent one."""
    events = [event.data or {} for event in streams[NOTIFICATION].events]
    sent_events = [data for event, data in zip(streams[NOTIFICATION].events, events, strict=True)
                   if event.type == "notification.sent"]  # fmt: skip
    by_channel = {
        channel: Counter(d["causing_event_type"] for d in sent_events if d["channel"] == channel)
        for channel in ("sms", "email")
    }
    assert by_channel == {"sms": told.sms, "email": told.email}
    sent_ids = [d["notification_id"] for d in sent_events]
    assert len(sent_ids) == len(set(sent_ids)), "no notification sent twice"
    delivered = {d["notification_id"] for e, d in zip(streams[NOTIFICATION].events, events, strict=True)
                 if e.type == "notification.delivered"}  # fmt: skip
    assert delivered <= set(sent_ids)


def lifecycle(tracked: Mapping[str, Any], optional: Collection[str] = ("dossier.near-due",)) -> list[str]:
    """The tracking timeline without what notification publishes about its own messages and without `optional`
    events: what happened to the dossier, in order."""
    return [e["event"] for e in tracked["timeline"] if not e["event"].startswith("notification.")
            and e["event"] not in optional]  # fmt: skip


# -- the shared clock -------------------------------------------------------------------------------------------


def stack_clock(stack: StackCommand) -> ControllableClock:
    """The clock every process of the stack reads (the file `lienthong clock` writes)."""
    return ControllableClock(stack.home / "clock.json")


def next_working_morning(after: datetime, at: time) -> datetime:
    """The first working day after `after`'s local day, at `at` local time."""
    day = local(after).date() + timedelta(days=1)
    while not CALENDAR.is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, at, ZONE)


def move_clock(stack: StackCommand, to: datetime) -> None:
    """Every process of the stack jumps to `to`, and runs on from there. The tests of a session share the stack:
    the clock only ever moves forward, and is left on a working morning, outside notification's quiet hours."""
    clock = stack_clock(stack)
    assert to > clock.now(), f"the shared clock never goes back (now {clock.now()}, asked {to})"
    assert CALENDAR.is_working_day(local(to).date()), f"{to} is not a working day"
    assert time(8) <= local(to).time() <= time(11), f"{to} is not a working morning"
    clock.set(to)
