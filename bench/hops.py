"""Hop timing: each dossier's instants, read from its events as they arrive on the topics, and the figures made
of them — hop latencies, percentiles and sustained rates. No I/O here.

Every instant is an envelope's `time`, which the outbox writer stamps in the transaction that changes the state,
from the real wall clock (never the stack's movable clock), except publication: the Kafka record's timestamp,
set by the relay's producer when it sends the record."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.events.envelope import Envelope

ACCEPT_TO_ROUTED, ROUTED_TO_NOTIFIED = "accept_to_routed", "routed_to_notified"
HOPS = (ACCEPT_TO_ROUTED, ROUTED_TO_NOTIFIED)
# The workload's applicants chose to be told by SMS and by email: notified once both have gone.
TOLD_ON = frozenset({"sms", "email"})
# A sustained rate is read between these shares of the instants, away from a level's ramp-up and its tail.
TRIM = 0.1


@dataclass
class Timeline:
    """One dossier's instants, in seconds since the epoch."""

    accepted: float | None = None  # dossier.accepted (intake)
    published: float | None = None  # ... on its topic
    routed: float | None = None  # dossier.processing-started (routing, from the accepted event)
    result_ready: float | None = None  # dossier.result-ready (routing)
    notified: float | None = None  # the notification.sent of the result that completes SMS and email
    told_on: set[str] = field(default_factory=set)

    def hop_s(self, hop: str) -> float | None:
        start, end = (self.accepted, self.routed) if hop == ACCEPT_TO_ROUTED else (self.result_ready, self.notified)
        return None if start is None or end is None else end - start


def record_event(timelines: dict[str, Timeline], envelope: Envelope, published_at: float) -> None:
    """Note what the event says of its dossier's hops. Topics are at-least-once: the first sighting counts."""
    timeline = timelines.setdefault(envelope.dossierid, Timeline())
    at = envelope.time.timestamp()
    if envelope.type == "dossier.accepted" and timeline.accepted is None:
        timeline.accepted, timeline.published = at, published_at
    elif envelope.type == "dossier.processing-started" and timeline.routed is None:
        timeline.routed = at
    elif envelope.type == "dossier.result-ready" and timeline.result_ready is None:
        timeline.result_ready = at
    elif envelope.type == "notification.sent" and (envelope.data or {}).get("causing_event_type") == (
        "dossier.result-ready"
    ):
        timeline.told_on.add(str((envelope.data or {}).get("channel")))
        if timeline.notified is None and timeline.told_on >= TOLD_ON:
            timeline.notified = at


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` 0.5 for the median): a value that was measured, never interpolated."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def sustained_rate(instants: Iterable[float], trim: float = TRIM) -> float:
    """Events per second between the `trim` and 1 - `trim` shares of the instants. Under open-loop arrivals this is
    the offered rate while the system keeps up, and its capacity once a backlog builds, whatever the latency that
    shifts the instants; the ends are left out, where the level ramps up and drains."""
    ordered = sorted(instants)
    first, last = int(trim * len(ordered)), math.ceil((1 - trim) * len(ordered)) - 1
    if last <= first or ordered[last] == ordered[first]:
        return 0.0
    return (last - first) / (ordered[last] - ordered[first])


@dataclass(frozen=True)
class Figures:
    """What one load level showed."""

    dossiers_per_s: float  # sustained, accepted -> routed -> result ready -> applicant notified
    accepted_per_s: float  # sustained, accepted and published
    p50_ms: Mapping[str, float | None]
    p99_ms: Mapping[str, float | None]
    notified: int  # dossiers whose applicant was notified of the result


def figures(timelines: Iterable[Timeline]) -> Figures:
    taken = list(timelines)
    complete = [t for t in taken if t.accepted is not None and t.notified is not None]
    hops = {hop: [s * 1000 for t in taken if (s := t.hop_s(hop)) is not None] for hop in HOPS}
    return Figures(
        dossiers_per_s=sustained_rate(t.notified for t in complete if t.notified is not None),
        accepted_per_s=sustained_rate(t.published for t in taken if t.published is not None),
        p50_ms={hop: percentile(values, 0.5) for hop, values in hops.items()},
        p99_ms={hop: percentile(values, 0.99) for hop, values in hops.items()},
        notified=len(complete),
    )
