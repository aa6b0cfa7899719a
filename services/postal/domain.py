"""Postal's shipment rules, without I/O: one shipment model for both directions (the pickup of a dossier from the
applicant, the delivery of a result to the applicant), the moves each direction allows, what the carrier's raw
status codes mean in each direction, and how the carrier's status events are applied.

A carrier reports by webhook, at least once and in no particular order, each status event with its own unique
id and the instant it happened. So a report is applied by that id once (`duplicate` otherwise) and by its event
time: an event older than one already applied is recorded but never moves the shipment back (`stale`). A report
may also skip states (a webhook lost, a stage the carrier does not report), so it may move the shipment to any
state *reachable* in its direction, while our own commands move it one allowed step at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from shared.events.catalogue.postal import Direction


class ShipmentState(StrEnum):
    REQUESTED = "requested"  # we asked the carrier for an order; it has not taken it on yet
    SCHEDULED = "scheduled"  # the carrier took the order on and is to collect the package
    PICKED_UP = "picked-up"  # the carrier has the package: the sealed dossier, or the result from the agency
    IN_TRANSIT = "in-transit"
    HANDED_TO_AGENCY = "handed-to-agency"  # pickup: at the agency's desk, the legal receipt instant
    OUT_FOR_DELIVERY = "out-for-delivery"  # return: a postal worker is on the way to the applicant
    DELIVERED = "delivered"  # return: the applicant has the result
    DELIVERY_FAILED = "delivery-failed"  # return: an attempt failed; another may follow, or the way back
    RETURNED_TO_AGENCY = "returned-to-agency"  # return: undeliverable, back at the agency
    CANCELLED = "cancelled"


S = ShipmentState  # short, for the tables
_FIRST_LEG: dict[ShipmentState, frozenset[ShipmentState]] = {
    S.REQUESTED: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.PICKED_UP, S.CANCELLED}),
    S.PICKED_UP: frozenset({S.IN_TRANSIT}),
}
TRANSITIONS: dict[Direction, dict[ShipmentState, frozenset[ShipmentState]]] = {
    Direction.PICKUP: _FIRST_LEG | {S.IN_TRANSIT: frozenset({S.HANDED_TO_AGENCY})},
    Direction.RETURN: _FIRST_LEG
    | {
        S.IN_TRANSIT: frozenset({S.OUT_FOR_DELIVERY}),
        S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.DELIVERY_FAILED}),
        S.DELIVERY_FAILED: frozenset({S.OUT_FOR_DELIVERY, S.RETURNED_TO_AGENCY}),
    },
}
"""The moves allowed one step at a time; a state with no move is final."""


def may_move(direction: Direction, state: ShipmentState, to: ShipmentState) -> bool:
    return to in TRANSITIONS[direction].get(state, frozenset())


def reachable(direction: Direction, state: ShipmentState) -> frozenset[ShipmentState]:
    """Every state some sequence of allowed moves leads to from `state` (itself only through a cycle)."""
    found: set[ShipmentState] = set()
    frontier = [state]
    while frontier:
        for following in TRANSITIONS[direction].get(frontier.pop(), frozenset()) - found:
            found.add(following)
            frontier.append(following)
    return frozenset(found)


def is_final(direction: Direction, state: ShipmentState) -> bool:
    """Whether a state of the direction leads nowhere further."""
    return not TRANSITIONS[direction].get(state)


class RawCode(NamedTuple):
    meaning: str
    pickup: ShipmentState | None  # what the code makes of a pickup; None: nothing a pickup can be in
    return_: ShipmentState | None  # the same for a return


# The carrier's raw status codes (VNPost-style, 0 to 22) and our state for each in each direction. The codes 1, 4,
# 5, 6, 10, 12, 14, 15, 16-18 and 22 are those seen in real integrations (shared/domain.md); the meanings of the
# others are this project's assumption, to be checked against the carrier's contract. For a pickup, the carrier's
# "delivered" is the package at the agency's desk; it knows no failed delivery there, so those codes mean nothing.
RAW_CODES: dict[int, RawCode] = {
    0: RawCode("draft, not yet sent to the carrier (chưa gửi)", S.REQUESTED, S.REQUESTED),
    1: RawCode("order created (đã tạo đơn)", S.REQUESTED, S.REQUESTED),
    2: RawCode("order accepted by the carrier (đã tiếp nhận)", S.SCHEDULED, S.SCHEDULED),
    3: RawCode("postal worker assigned to collect (đã phân công nhận)", S.SCHEDULED, S.SCHEDULED),
    4: RawCode("picking up (đang đi nhận)", S.SCHEDULED, S.SCHEDULED),
    5: RawCode("pickup failed, to be tried again (nhận không thành công)", S.SCHEDULED, S.SCHEDULED),
    6: RawCode("picked up (đã nhận hàng)", S.PICKED_UP, S.PICKED_UP),
    7: RawCode("at the origin post office (nhập bưu cục gốc)", S.IN_TRANSIT, S.IN_TRANSIT),
    8: RawCode("closed into a mail bag (đã đóng chuyến thư)", S.IN_TRANSIT, S.IN_TRANSIT),
    9: RawCode("left the origin post office (đi khỏi bưu cục gốc)", S.IN_TRANSIT, S.IN_TRANSIT),
    10: RawCode("in transport (đang vận chuyển)", S.IN_TRANSIT, S.IN_TRANSIT),
    11: RawCode("at the delivering post office (đến bưu cục phát)", S.IN_TRANSIT, S.IN_TRANSIT),
    12: RawCode("delivering (đang phát)", S.IN_TRANSIT, S.OUT_FOR_DELIVERY),
    13: RawCode("delivery postponed, to be tried again (chờ phát lại)", None, S.DELIVERY_FAILED),
    14: RawCode("delivered (phát thành công)", S.HANDED_TO_AGENCY, S.DELIVERED),
    15: RawCode("delivery failed (phát không thành công)", None, S.DELIVERY_FAILED),
    16: RawCode("return to sender approved (duyệt hoàn)", None, S.DELIVERY_FAILED),
    17: RawCode("returning to sender (đang chuyển hoàn)", None, S.DELIVERY_FAILED),
    18: RawCode("returned to sender (đã chuyển hoàn)", None, S.RETURNED_TO_AGENCY),
    19: RawCode("held at a post office for collection (lưu kho chờ nhận)", None, S.DELIVERY_FAILED),
    20: RawCode("lost (thất lạc)", None, None),
    21: RawCode("damaged (hư hỏng)", None, None),
    22: RawCode("cancelled (đã hủy)", S.CANCELLED, S.CANCELLED),
}


def canonical_state(direction: Direction, code: int) -> ShipmentState | None:
    """Our state for the carrier's raw code in this direction; None for a code that names none (an operator
    looks at such a shipment)."""
    raw = RAW_CODES.get(code)
    if raw is None:
        return None
    return raw.pickup if direction is Direction.PICKUP else raw.return_


@dataclass(frozen=True)
class CarrierStatus:
    """One status event the carrier reported, by webhook or when tracked."""

    event_id: str  # the carrier's unique id of this status event
    code: int  # its raw status code
    at: datetime  # when it happened, as the carrier says (timezone-aware)
    reason: str | None = None  # why, for a failure: no one at home, refused...


class Verdict(StrEnum):
    APPLIED = "applied"  # the newest report so far: the shipment takes its state (perhaps the one it had)
    DUPLICATE = "duplicate"  # this status event was reported before: nothing to record
    STALE = "stale"  # older than one already applied: recorded, the state stays
    UNEXPECTED = "unexpected"  # its code names no state here, or one the shipment cannot reach: recorded, the
    # state stays, an operator looks


@dataclass(frozen=True)
class Recorded:
    status: CarrierStatus
    verdict: Verdict


class MoveRefusedError(ValueError):
    pass


@dataclass(frozen=True)
class Tracking:
    """A shipment's state, the carrier's raw code behind it, and every status event reported, in arrival order."""

    direction: Direction
    state: ShipmentState = S.REQUESTED
    raw_code: int | None = None  # the code of the last applied report; none before the first
    history: tuple[Recorded, ...] = ()

    def moved(self, to: ShipmentState) -> Tracking:
        """Our own command's move (the order placed, cancelled), one allowed step."""
        if not may_move(self.direction, self.state, to):
            raise MoveRefusedError(f"a {self.direction} shipment cannot move from {self.state} to {to}")
        return replace(self, state=to)

    def applied_until(self) -> datetime | None:
        """The event time of the newest applied report."""
        applied = [r.status.at for r in self.history if r.verdict is Verdict.APPLIED]
        return max(applied, default=None)


def report(tracking: Tracking, status: CarrierStatus) -> tuple[Verdict, Tracking]:
    """What a status event the carrier reported makes of the shipment, and the shipment with it recorded."""
    if any(recorded.status.event_id == status.event_id for recorded in tracking.history):
        return Verdict.DUPLICATE, tracking
    newest = tracking.applied_until()
    target = canonical_state(tracking.direction, status.code)
    if newest is not None and status.at < newest:
        return Verdict.STALE, _recorded(tracking, status, Verdict.STALE)
    if target is None or target not in reachable(tracking.direction, tracking.state) | {tracking.state}:
        return Verdict.UNEXPECTED, _recorded(tracking, status, Verdict.UNEXPECTED)
    applied = _recorded(tracking, status, Verdict.APPLIED)
    return Verdict.APPLIED, replace(applied, state=target, raw_code=status.code)


def _recorded(tracking: Tracking, status: CarrierStatus, verdict: Verdict) -> Tracking:
    return replace(tracking, history=(*tracking.history, Recorded(status, verdict)))
