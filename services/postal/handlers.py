"""Postal's use cases, each in the transaction of the consumer runner, the order placer or the webhook route: a
shipment booked for a pickup or a return, and what each status event the carrier reports makes of it — with the
shipment events intake and routing act on, through the outbox in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import structlog

from services.postal import store
from services.postal.domain import CarrierStatus, ShipmentState, Verdict, report
from services.postal.fees import FeeTable
from shared.clock import Clock
from shared.db import Connection
from shared.events.catalogue import postal
from shared.events.catalogue.base import EventData
from shared.events.catalogue.common import Actor, AgencyRef, DocumentRef, ReturnChannel, StaffRole
from shared.events.catalogue.intake import DossierPickupRequested
from shared.events.catalogue.postal import Direction, carrier_order_number
from shared.events.catalogue.routing import DossierResultReady
from shared.events.envelope import Envelope
from shared.outbox.writer import Outbox
from shared.rules.store import RulesStore

log = structlog.get_logger(__name__)
S = ShipmentState
PACKAGE_G = 500  # a dossier or a result is papers in an envelope: the lightest weight class
FINAL_FAILURE_CODES = frozenset({16, 17})  # the carrier gives up and brings the result back


@dataclass(frozen=True)
class PostalContext:
    outbox: Outbox
    rules: RulesStore
    clock: Clock
    fees: FeeTable
    carrier: str = "vnpost"

    def agency(self, code: str) -> AgencyRef:
        return AgencyRef(code=code, title=self.rules.agencies().by_code(code).name_vi)


async def book_pickup(ctx: PostalContext, conn: Connection, envelope: Envelope) -> None:
    """An applicant asked the post to collect a dossier: the shipment to the desk, ordered by the placer."""
    asked = DossierPickupRequested.model_validate(envelope.data)
    documents = [d.model_dump(mode="json") for d in asked.documents]
    await _book(ctx, conn, envelope, Direction.PICKUP, asked.receiving_agency.code, documents, cod_vnd=asked.fee_vnd)


async def book_return(ctx: PostalContext, conn: Connection, envelope: Envelope) -> None:
    """A result is ready to go back by post: the shipment from the agency that issued it to the applicant."""
    ready = DossierResultReady.model_validate(envelope.data)
    if ready.return_channel is not ReturnChannel.POST:
        return
    documents = [d.model_dump(mode="json") for d in ready.documents]
    await _book(ctx, conn, envelope, Direction.RETURN, ready.agency.code, documents, cod_vnd=ready.fee_due_vnd)


async def _book(
    ctx: PostalContext, conn: Connection, envelope: Envelope, direction: Direction, agency_code: str,
    documents: list[dict[str, object]], cod_vnd: int,
) -> None:  # fmt: skip
    fee = ctx.fees.fee(direction, PACKAGE_G)
    row = store.ShipmentRow(
        id=uuid.uuid4(), dossier_id=uuid.UUID(envelope.dossierid), dossier_code=envelope.subject,
        direction=direction, state=S.REQUESTED, raw_code=None,
        order_number=carrier_order_number(envelope.subject, direction), tracking_number=None,
        agency_code=agency_code, documents=documents, service_code=fee.service_code, fee_vnd=fee.fee_vnd,
        cod_vnd=cod_vnd, weight_g=PACKAGE_G, attempts=0, delivery_attempts=0,
    )  # fmt: skip
    if await store.add_shipment(conn, row, envelope.id, ctx.clock.now()):
        log.info("shipment.booked", shipment_id=str(row.id), direction=direction.value)


async def apply_status(ctx: PostalContext, conn: Connection, row: store.ShipmentRow, status: CarrierStatus) -> Verdict:
    """One status event of the carrier (by webhook or tracking), applied once by its id and never backwards."""
    verdict, after = report(await store.tracking_of(conn, row), status)
    if verdict is Verdict.DUPLICATE:
        return verdict
    await store.record_status(conn, row, status, verdict, after, ctx.clock.now())
    # The carrier giving up on a delivery keeps the state (delivery-failed) but is news: the result comes back.
    gives_up = status.code in FINAL_FAILURE_CODES and row.raw_code not in FINAL_FAILURE_CODES
    if verdict is Verdict.APPLIED and (after.state is not row.state or gives_up):
        event = _event_of(ctx, row, after.state, status)
        if event is not None:
            await ctx.outbox.add(conn, event, topic=postal.TOPIC, dossier_id=str(row.dossier_id),
                                 dossier_code=row.dossier_code)  # fmt: skip
        log.info("shipment.moved", shipment_id=str(row.id), state=after.state.value, raw_code=status.code)
    return verdict


def _event_of(
    ctx: PostalContext, row: store.ShipmentRow, state: ShipmentState, status: CarrierStatus
) -> EventData | None:
    """The shipment event a new state makes, for intake and routing; none for the stages nobody acts on."""
    tracking = row.tracking_number or row.order_number
    common = {"shipment_id": row.id, "direction": row.direction, "carrier": ctx.carrier,
              "carrier_order_number": row.order_number, "carrier_status_code": status.code}  # fmt: skip
    documents = [DocumentRef.model_validate(d) for d in row.documents]
    seal = f"NP-{tracking}"  # the carrier seals the package with its item code (Decision 45/2016)
    at = status.at
    if row.direction is Direction.PICKUP:
        return {
            S.SCHEDULED: lambda: postal.ShipmentPickupScheduled(
                **common, window_start=at, window_end=at + timedelta(hours=4), fee_to_collect_vnd=row.cod_vnd,
                scheduled_at=at),
            S.PICKED_UP: lambda: postal.ShipmentPickedUp(
                **common, documents_checked=documents, seal_number=seal, fee_collected_vnd=row.cod_vnd,
                fee_receipt_number=f"BL-{tracking}" if row.cod_vnd else None, picked_up_at=at),
            S.HANDED_TO_AGENCY: lambda: postal.ShipmentHandedToAgency(
                **common, agency=ctx.agency(row.agency_code), handover_record_number=f"BBGN-{tracking}",
                seal_number=seal, seal_intact=True, handed_over_at=at,
                actor=Actor(staff_id=f"carrier-handover:{status.event_id}", agency_code=row.agency_code,
                            role=StaffRole.RECEPTION)),
        }.get(state, lambda: None)()  # fmt: skip
    return {
        S.PICKED_UP: lambda: postal.ShipmentDispatched(
            **common, tracking_number=tracking, documents=documents, dispatched_at=at),
        S.DELIVERED: lambda: postal.ShipmentDelivered(**common, tracking_number=tracking, delivered_at=at),
        S.DELIVERY_FAILED: lambda: postal.ShipmentDeliveryFailed(
            **common, tracking_number=tracking,
            attempt=row.delivery_attempts + (row.state is not S.DELIVERY_FAILED),
            reason=status.reason or "Phát không thành công", final=status.code in FINAL_FAILURE_CODES, failed_at=at),
        S.RETURNED_TO_AGENCY: lambda: postal.ShipmentReturnedToAgency(
            **common, tracking_number=tracking, agency=ctx.agency(row.agency_code), returned_at=at),
    }.get(state, lambda: None)()  # fmt: skip
