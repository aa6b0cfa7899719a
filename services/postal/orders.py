"""The order placer: places the orders of booked shipments with the carrier, and keeps track of the shipments the
carrier has gone quiet about.

An order is marked in flight and committed before the carrier is called. Its idempotency key is the shipment id,
so an order placed again — after the carrier was down, after a timeout, after this process died mid-call — is the
same order at the carrier, never a second one. When webhooks stop, the shipments the carrier said nothing of for
`reconcile_after` are tracked by polling, and their status events applied like webhooks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import structlog
from prometheus_client import CollectorRegistry, Gauge

from services.postal import store
from services.postal.carrier import CarrierAddress, CarrierClient, CarrierOrder, CarrierOutcome, Party
from services.postal.handlers import PostalContext, apply_status
from services.postal.settings import PostalSettings
from shared.contacts import contact_of
from shared.db import DATABASE_ERRORS, Connection
from shared.events.catalogue.postal import Direction
from shared.retry import keep_running

log = structlog.get_logger(__name__)
BATCH = 50


class NoAddressError(ValueError):
    pass


@dataclass
class OrderPlacer:
    ctx: PostalContext
    pool: asyncpg.Pool
    carrier: CarrierClient
    settings: PostalSettings
    registry: CollectorRegistry
    waiting: Gauge = field(init=False)
    stale: Gauge = field(init=False)

    def __post_init__(self) -> None:
        self.waiting = Gauge("lienthong_shipments_waiting_for_order", "Shipments whose carrier order is not placed",
                             registry=self.registry)  # fmt: skip
        self.stale = Gauge("lienthong_shipments_stale", "Open shipments the carrier has said nothing of for long",
                           registry=self.registry)  # fmt: skip

    async def run(self) -> None:
        await keep_running(self._run, event="placer.restarting", errors=DATABASE_ERRORS)

    async def _run(self) -> None:
        while True:
            placed = await self.place_due()
            await self.reconcile()
            now = self.ctx.clock.now()
            async with self.pool.acquire() as conn:
                waiting, stale = await store.counts(conn, now - timedelta(seconds=self.settings.stale_after_s))
            self.waiting.set(waiting)
            self.stale.set(stale)
            if placed < BATCH:
                await asyncio.sleep(self.settings.placer_interval_s)

    async def place_due(self) -> int:
        stuck_after = timedelta(seconds=self.settings.stuck_order_s)
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await store.claim_orders(conn, self.ctx.clock.now(), stuck_after, BATCH)
        await asyncio.gather(*(self.place(row) for row in rows))
        return len(rows)

    async def place(self, row: store.ShipmentRow) -> None:
        async with self.pool.acquire() as conn:
            try:
                order = await self._order_of(conn, row)
            except NoAddressError as error:
                await store.order_not_placed(conn, row.id, str(error), retry_at=None)
                log.error("shipment.cannot_order", shipment_id=str(row.id), reason=str(error))
                return
        result = await self.carrier.create_order(order)
        async with self.pool.acquire() as conn, conn.transaction():
            now = self.ctx.clock.now()
            if result.outcome is CarrierOutcome.ACCEPTED and result.value is not None:
                await store.order_placed(conn, row.id, result.value.tracking_number, now)
            elif result.outcome is CarrierOutcome.REJECTED:
                await store.order_not_placed(conn, row.id, result.failure_code, retry_at=None)  # an operator looks
            else:  # down, or unknown whether it was placed: the same order again later, with the same key
                wait = min(self.settings.order_retry_s * 2 ** (row.attempts - 1), 600.0)
                await store.order_not_placed(conn, row.id, result.failure_code, now + timedelta(seconds=wait))

    async def _order_of(self, conn: Connection, row: store.ShipmentRow) -> CarrierOrder:
        """What the carrier needs, and nothing more: names, phones and addresses of the two parties."""
        found = await contact_of(conn, row.dossier_id)
        contact = found.record if found else None
        if contact is None or contact.postal_address is None:
            raise NoAddressError("no-address: the applicant's contact has no postal address (or was erased)")
        place = contact.postal_address
        applicant = Party(
            contact.full_name,
            contact.phone,
            CarrierAddress(place.street, place.ward_code, place.district_code, place.province_code),
        )
        agency = self.ctx.agency(row.agency_code)
        desk = Party(agency.title, self.settings.desk_phone,
                     CarrierAddress(agency.title, row.agency_code, None, place.province_code))  # fmt: skip
        sender, receiver = (applicant, desk) if row.direction is Direction.PICKUP else (desk, applicant)
        return CarrierOrder(row.id, row.dossier_code, row.direction, row.service_code, sender, receiver, row.cod_vnd,
                            row.weight_g)  # fmt: skip

    async def reconcile(self) -> None:
        silent_since = self.ctx.clock.now() - timedelta(seconds=self.settings.reconcile_after_s)
        async with self.pool.acquire() as conn:
            quiet = await store.quiet_shipments(conn, silent_since, BATCH)
        for row in quiet:
            tracked = await self.carrier.track(row.order_number)
            if tracked.outcome is not CarrierOutcome.ACCEPTED or tracked.value is None:
                continue
            for status in tracked.value.statuses:
                async with self.pool.acquire() as conn, conn.transaction():
                    current = await store.locked_shipment(conn, shipment_id=row.id)
                    assert current is not None
                    await apply_status(self.ctx, conn, current, status)
            async with self.pool.acquire() as conn:  # heard from, even if nothing was new: not polled again at once
                await store.heard_of(conn, row.id, self.ctx.clock.now())
