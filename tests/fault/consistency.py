"""The proof, per dossier, that the system kept its reliability contract (design.md) through the faults: what the
workload drove is compared with everything the stack recorded — the topics, the tracking view, routing's view,
the notification records, and what the simulated SMS gateway, SMTP relay and carrier received.

- final state right: tracking and routing both at status 10;
- no event lost: every expected event type on each topic, and no gap in a dossier's sequence numbers;
- no event applied twice: no event type more often than expected (a consumer applying an event twice would
  publish its consequence twice), and intake's tracking timeline holds each event once;
- per-dossier order kept: no sequence number behind one already seen on the topic;
- topic repeats (the same event id again: at-least-once delivery) are allowed and counted;
- exactly one notification record per required notification (each templated lifecycle event, each channel), no SMS
  twice at the gateway, email repeats (same Message-ID) no more than the uncertain sends recorded;
- no carrier order created twice;
and, for the run as a whole, no unhandled failure in any service's log: the faults are met by retries and 503s."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.topics import CONTACTS, INTAKE, NOTIFICATION, POSTAL, ROUTING, Stream
from tests.support.workload import Driven, Kind

# The deadline warnings depend on when in the working day a dossier arrives: each at most once.
AT_MOST_ONCE = {"dossier.near-due", "dossier.overdue"}
ROUTE = {"dossier.processing-started": 1, "step.transferred": 2, "step.completed": 2, "dossier.result-ready": 1,
         "dossier.result-returned": 1}  # fmt: skip


def expected_events(kind: Kind) -> dict[str, dict[str, int]]:
    """Per topic, how many events of each type a dossier of this kind produces once it is back (status 10)."""
    intake = {"dossier.accepted": 1}
    if kind is Kind.ONLINE:
        intake["dossier.submitted"] = 1
    if kind in (Kind.COUNTER, Kind.ONLINE):  # returned at the desk
        intake["dossier.result-handed-over"] = 1
    # The interagency package's three steps: two transfers from the first, then one for each branch.
    route = {**ROUTE, "step.transferred": 3, "step.completed": 3} if kind is Kind.INTERAGENCY else ROUTE
    expected = {INTAKE: intake, CONTACTS: {"contact.recorded": 1}, ROUTING: route}
    if kind is Kind.POSTAL_RETURN:
        expected[POSTAL] = {"shipment.dispatched": 1, "shipment.delivered": 1}
    return expected


@dataclass
class Record:
    """What the stack holds about one dossier, gathered after the run."""

    streams: dict[str, Stream]  # by topic
    tracking: dict[str, Any]  # intake's public tracking view
    routing_status: int | None
    notifications: list[dict[str, Any]]  # rows: id, event_id, channel, status, uncertain_sends
    sms_sends: dict[str, int]  # notification id -> messages the gateway accepted with it as idempotency key
    email_copies: dict[str, int]  # notification id -> messages the relay received with its Message-ID
    carrier_creates: dict[str, int]  # order number -> orders the carrier created for it


@dataclass
class Proof:
    dossier: Driven
    lost: int = 0
    applied_twice: int = 0
    out_of_order: int = 0
    topic_repeats: int = 0
    duplicate_sms: int = 0
    email_repeats: int = 0
    uncertain_sends: int = 0
    duplicate_orders: int = 0
    problems: list[str] = field(default_factory=list)


def prove(dossier: Driven, record: Record, templated: set[str]) -> Proof:
    proof = Proof(dossier)
    _final_state(proof, record)
    _events(proof, record)
    _tracking_timeline(proof, record)
    _notifications(proof, record, templated)
    for order, creates in record.carrier_creates.items():
        if creates > 1:
            proof.duplicate_orders += creates - 1
            proof.problems.append(f"carrier order {order} created {creates} times")
    return proof


def _final_state(proof: Proof, record: Record) -> None:
    if record.tracking.get("status") != 10 or record.routing_status != 10:
        proof.problems.append(
            f"final status: tracking {record.tracking.get('status')}, routing {record.routing_status}"
        )


def _events(proof: Proof, record: Record) -> None:
    for topic, expected in expected_events(proof.dossier.kind).items():
        stream = record.streams.get(topic)
        found = Counter(stream.types if stream else [])
        for event_type in expected.keys() | found.keys():
            want, got = expected.get(event_type, 0), found[event_type]
            if event_type in AT_MOST_ONCE:
                want = min(got, 1)
            if got < want:
                proof.lost += want - got
                proof.problems.append(f"{topic}: {event_type} {got} times, expected {want}")
            elif got > want:
                proof.applied_twice += got - want
                proof.problems.append(f"{topic}: {event_type} {got} times, expected {want}")
    if NOTIFICATION in record.streams:
        # One event per notification and attempt (sent, failed), one delivery per notification.
        said = Counter(
            (e.type, (e.data or {}).get("notification_id"), (e.data or {}).get("attempt"))
            for e in record.streams[NOTIFICATION].events
        )
        doubled = sum(times - 1 for times in said.values() if times > 1)
        if doubled:
            proof.applied_twice += doubled
            proof.problems.append(f"{NOTIFICATION}: {doubled} notification events said twice")
    for topic, stream in record.streams.items():
        proof.lost += len(stream.lost)
        proof.out_of_order += stream.out_of_order
        proof.topic_repeats += stream.repeats
        proof.problems += [f"{topic}: sequence numbers {stream.lost} missing"] if stream.lost else []
        proof.problems += [f"{topic}: {stream.out_of_order} events out of order"] if stream.out_of_order else []
        proof.problems += [f"{topic}: {problem}" for problem in stream.invalid]


def _tracking_timeline(proof: Proof, record: Record) -> None:
    """Intake applies routing's, postal's and notification's events to the tracking view: each must be there once."""
    shown = Counter(entry["event"] for entry in record.tracking.get("timeline", []))
    published = Counter(event_type for stream in record.streams.values() for event_type in stream.types)
    for event_type, times in shown.items():
        if times > published[event_type]:
            proof.applied_twice += times - published[event_type]
            proof.problems.append(f"tracking shows {event_type} {times} times, published {published[event_type]}")


def _notifications(proof: Proof, record: Record, templated: set[str]) -> None:
    told_about = {
        (event.id, channel)
        for topic in (INTAKE, ROUTING, POSTAL) if topic in record.streams
        for event in record.streams[topic].events if event.type in templated
        for channel in ("sms", "email")
    }  # fmt: skip
    recorded = Counter((str(row["event_id"]), row["channel"]) for row in record.notifications)
    missing = told_about - recorded.keys()
    if missing:
        proof.lost += len(missing)
        proof.problems.append(f"{len(missing)} required notifications have no record")
    doubled = sum(times - 1 for times in recorded.values() if times > 1)
    if doubled:
        proof.applied_twice += doubled
        proof.problems.append(f"{doubled} notification records beyond one per event and channel")
    unfinished = [row for row in record.notifications if row["status"] != "delivered"]
    if unfinished:
        proof.problems.append(f"{len(unfinished)} notifications not delivered: {[r['status'] for r in unfinished]}")
    for row in record.notifications:
        notification_id = str(row["id"])
        received = (record.sms_sends if row["channel"] == "sms" else record.email_copies).get(notification_id, 0)
        if received == 0:
            proof.problems.append(f"{row['channel']} {notification_id} never reached the provider")
        if row["channel"] == "sms":
            proof.duplicate_sms += max(received - 1, 0)
        else:
            proof.email_repeats += max(received - 1, 0)
            proof.uncertain_sends += row["uncertain_sends"]
    if proof.duplicate_sms:
        proof.problems.append(f"{proof.duplicate_sms} SMS sent twice")
    if proof.email_repeats > proof.uncertain_sends:
        proof.problems.append(f"{proof.email_repeats} email repeats, only {proof.uncertain_sends} uncertain sends")


SUMMARY_COLUMNS = ("lost", "applied_twice", "out_of_order", "topic_repeats", "duplicate_sms", "email_repeats",
                   "uncertain_sends", "duplicate_orders")  # fmt: skip


# What a service logs when something failed that nothing handled: a request ending in a 500, a worker gone.
UNHANDLED = ("Exception in ASGI application", "worker.crashed", "Task exception was never retrieved")


def unhandled_errors(folders: Iterable[Path], files: Iterable[Path]) -> Counter[str]:
    """Per log file (every one of `folders`, and `files`), the lines that tell of an unhandled failure."""
    found: Counter[str] = Counter()
    for log in [*(log for folder in folders for log in folder.glob("*.log")), *files]:
        with log.open(errors="replace") as lines:
            found[log.name] += sum(any(marker in line for marker in UNHANDLED) for line in lines)
    return +found


def summary_table(proofs: list[Proof], faults: list[str], unhandled: Counter[str]) -> str:
    rows = [("dossiers", len(proofs)), ("dossiers proved", sum(not p.problems for p in proofs)),
            ("faults injected", len(faults))]  # fmt: skip
    rows += [(name.replace("_", " "), sum(getattr(p, name) for p in proofs)) for name in SUMMARY_COLUMNS]
    rows += [("unhandled errors logged", sum(unhandled.values()))]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {value:>6}" for name, value in rows)
