"""The admin endpoints every service with a consumer group has: its dead letters and the dossiers they block,
replay (into this group only, then the dossier's parked events are released in order) and discard.

Admins only: a replay changes a dossier's state in this service, whatever agency the dossier belongs to. A dead
letter keeps the event's record, and the contacts topic carries personal data: a dead letter from that topic is
shown without its data, and every text shown (data, error) goes through the logs' redaction, since an error may
quote the value that failed (a validation error quotes its input)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from shared.consumer import store
from shared.consumer.runner import ConsumerRunner, ReplayError
from shared.consumer.store import Blocked, DeadLetter
from shared.identity.fastapi import require_role
from shared.logging import scrub
from shared.operations.events import PERSONAL_TOPICS

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

T = TypeVar("T")
WITHHELD = "withheld: this topic carries personal data"


def dead_letter_view(group: str, dead_letter: DeadLetter, *, with_data: bool = False) -> dict[str, Any]:
    record = dead_letter.record
    headers = {name: raw.decode(errors="replace") for name, raw in record.headers}
    view: dict[str, Any] = {
        "id": dead_letter.id, "group": group, "event_id": dead_letter.event_id, "event_type": dead_letter.event_type,
        "dossier_id": dead_letter.dossier_id, "dossier_code": headers.get("ce_subject"), "seq": dead_letter.seq,
        "topic": record.topic, "partition": record.partition, "offset": record.offset,
        "error": scrub(dead_letter.error), "attempts": dead_letter.attempts,
        "dead_at": dead_letter.dead_at.isoformat(),
        "resolved_at": dead_letter.resolved_at.isoformat() if dead_letter.resolved_at else None,
        "resolution": dead_letter.resolution,
    }  # fmt: skip
    if with_data:
        view["data"] = WITHHELD if record.topic in PERSONAL_TOPICS else scrub(_readable(record.value))
    return view


def _readable(value: bytes | None) -> Any:
    """The record's value as JSON when it is (a malformed record's may not be), else as text."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value.decode(errors="replace")[:4000]


def running_consumer(request: Request) -> ConsumerRunner:
    runtime: ServiceRuntime = request.app.state.runtime
    if runtime.consumer is not None:
        return runtime.consumer
    if runtime.state.workers_started:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this service runs no consumer group")
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the service is starting; try again in a moment")


Consumer = Annotated[ConsumerRunner, Depends(running_consumer)]


async def found(consumer: ConsumerRunner, dead_letter_id: int, *, unresolved: bool) -> DeadLetter:
    """The dead letter, else 404; 409 if it must be unresolved and is not."""
    async with consumer.pool.acquire() as conn:
        dead_letter = await store.dead_letter(conn, dead_letter_id)
    if dead_letter is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dead letter {dead_letter_id} in group {consumer.group}")
    if unresolved and dead_letter.resolution is not None:
        already = f"dead letter {dead_letter_id} was already {dead_letter.resolution} at {dead_letter.resolved_at}"
        raise HTTPException(status.HTTP_409_CONFLICT, already)
    return dead_letter


operations_router = APIRouter(prefix="/operations", tags=["operations"], dependencies=[Depends(require_role("admin"))])


@operations_router.get("/dead-letters", summary="This group's dead letters: unresolved ones, or all with ?all=true")
async def list_dead_letters(
    consumer: Consumer, include_resolved: Annotated[bool, Query(alias="all")] = False
) -> dict[str, Any]:
    async with consumer.pool.acquire() as conn:
        letters = await store.dead_letters(conn, include_resolved=include_resolved)
    return {"group": consumer.group, "dead_letters": [dead_letter_view(consumer.group, d) for d in letters]}


@operations_router.get("/dead-letters/{dead_letter_id}", summary="One dead letter, with its event's data")
async def show_dead_letter(consumer: Consumer, dead_letter_id: int) -> dict[str, Any]:
    dead_letter = await found(consumer, dead_letter_id, unresolved=False)
    return dead_letter_view(consumer.group, dead_letter, with_data=True)


@operations_router.post(
    "/dead-letters/{dead_letter_id}/replay",
    summary="Apply the dead letter in this group (its cause fixed), then release the dossier's parked events",
)
async def replay_dead_letter(consumer: Consumer, dead_letter_id: int) -> dict[str, Any]:
    outcome = await _resolve(consumer, dead_letter_id, consumer.replay)
    return {"id": dead_letter_id, "group": consumer.group, "resolution": "replayed", "outcome": str(outcome)}


@operations_router.post(
    "/dead-letters/{dead_letter_id}/discard",
    summary="Give the dead letter up: its dossier is unblocked and its sequence number skipped",
)
async def discard_dead_letter(consumer: Consumer, dead_letter_id: int) -> dict[str, Any]:
    await _resolve(consumer, dead_letter_id, consumer.discard)
    return {"id": dead_letter_id, "group": consumer.group, "resolution": "discarded"}


async def _resolve(consumer: ConsumerRunner, dead_letter_id: int, resolve: Callable[[int], Awaitable[T]]) -> T:
    """404 for an unknown dead letter, 409 for one resolved already or that the runner refuses, with its reason."""
    await found(consumer, dead_letter_id, unresolved=True)
    try:
        return await resolve(dead_letter_id)
    except ReplayError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, f"dead letter {dead_letter_id}: {error}") from error


@operations_router.get(
    "/blocked", summary="The dossiers this group holds back, each with the dead letter that blocks it"
)
async def blocked(consumer: Consumer) -> dict[str, Any]:
    async with consumer.pool.acquire() as conn:
        dossiers = await store.blocked_dossiers(conn)
    return {"group": consumer.group, "blocked": [blocked_view(consumer.group, b) for b in dossiers]}


def blocked_view(group: str, blocked: Blocked) -> dict[str, Any]:
    dead_letter = dead_letter_view(group, blocked.dead_letter)
    return {
        "dossier_id": blocked.dossier_id, "dossier_code": dead_letter["dossier_code"], "group": group,
        "blocked_at": blocked.blocked_at.isoformat(), "parked": blocked.parked, "dead_letter": dead_letter,
    }  # fmt: skip
