"""The deadline scheduler: fires each armed deadline row once, when the shared clock reaches it.

A deadline is fired in the same transaction that publishes its event and marks its row, so a crash before the
commit fires it again later and a crash after it never does. Several routing processes may look at the same
rows: each locks the dossier, then the deadline if it is still armed (the order every use case locks in), so the
second finds it fired. Pauses and ends of processing cancel rows; a moved due
instant or appointment arms new ones (handlers.arm_alerts).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from services.routing import store
from services.routing.handlers import RoutingContext, publish, responsible
from shared.db import DATABASE_ERRORS, Connection
from shared.events.catalogue import routing
from shared.events.catalogue.base import DossierStatus
from shared.retry import keep_running

log = structlog.get_logger(__name__)

BATCH = 100


async def fire(ctx: RoutingContext, conn: Connection, deadline: store.DeadlineRow) -> bool:
    """Fire the deadline unless another process did, or it was cancelled, since it was read."""
    now = ctx.clock.now()
    dossier = await store.locked_dossier(conn, dossier_id=deadline.dossier_id)
    if dossier is None or not await store.still_armed(conn, deadline.id):
        return False
    await store.mark_fired(conn, deadline.id, now)
    if dossier.status is not DossierStatus.PROCESSING:
        return False  # armed while processing, which has paused or ended without cancelling it: nothing is due
    step = responsible(await store.steps_of(conn, dossier.id))
    agency = ctx.agency(step.agency_code)
    if deadline.kind == "near_due":
        remaining = ctx.calendar().working_time_between(now, max(now, dossier.appointment_at))
        event: routing.DossierNearDue | routing.DossierOverdue = routing.DossierNearDue(
            step_id=step.step_id, agency=agency, due_at=dossier.due_at, appointment_at=dossier.appointment_at,
            remaining_working_minutes=int(remaining.total_seconds() // 60), detected_at=now,
        )  # fmt: skip
    else:
        event = routing.DossierOverdue(
            step_id=step.step_id, agency=agency, due_at=dossier.due_at, appointment_at=dossier.appointment_at,
            apologised=await store.apology_of(conn, dossier.id) is not None, detected_at=now,
        )  # fmt: skip
    await publish(ctx, conn, dossier, event)
    log.info("deadline.fired", kind=deadline.kind, dossier_id=str(dossier.id), fire_at=deadline.fire_at.isoformat())
    return True


async def fire_due(ctx: RoutingContext, pool: asyncpg.Pool) -> int:
    """Fire every deadline whose instant has come, one transaction each; how many were fired."""
    fired = 0
    while True:
        async with pool.acquire() as conn:
            due = await store.due_deadlines(conn, ctx.clock.now(), BATCH)
            for deadline in due:
                async with conn.transaction():
                    fired += await fire(ctx, conn, deadline)
        if len(due) < BATCH:
            return fired


@dataclass
class DeadlineScheduler:
    ctx: RoutingContext
    pool: asyncpg.Pool
    interval_s: float
    registry: CollectorRegistry

    def __post_init__(self) -> None:
        self.fired = Counter("lienthong_deadlines_fired", "Deadlines fired (near-due, overdue)", registry=self.registry)
        self.lag = Gauge(
            "lienthong_scheduler_lag_seconds", "How late the oldest armed deadline is", registry=self.registry
        )

    async def run(self) -> None:
        # Firing a deadline reads the working calendar and the agencies: a process just started (a second replica,
        # a restart with deadlines already due) waits for the rules instead of crashing on their absence.
        await self.ctx.rules.loaded.wait()
        await keep_running(self._run, event="scheduler.restarting", errors=DATABASE_ERRORS)

    async def _run(self) -> None:
        while True:
            self.fired.inc(await fire_due(self.ctx, self.pool))
            async with self.pool.acquire() as conn:
                oldest = await store.oldest_armed_deadline(conn)
            self.lag.set(max(0.0, (self.ctx.clock.now() - oldest).total_seconds()) if oldest else 0.0)
            await asyncio.sleep(self.interval_s)
