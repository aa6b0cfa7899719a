"""Events of postal on `lienthong.postal.v1`: shipments of dossiers from applicants to agencies (pickup) and of
results back to applicants (return), with the chain of custody of Decision 45/2016/QĐ-TTg.

A shipment's carrier order number is the dossier code plus a direction suffix, since one dossier can travel
both ways. The carrier's own status code is kept beside our canonical event. Sender and receiver addresses are
on the contacts topic only: the carrier receives them, the lifecycle topic never does.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Self
from uuid import UUID

from pydantic import Field, model_validator

from shared.events.catalogue.base import EventData
from shared.events.catalogue.common import Actor, AgencyRef, DocumentRef, Instant, Vnd

TOPIC = "lienthong.postal.v1"
PRODUCER = "postal"


class Direction(StrEnum):
    """Which way a shipment travels."""

    PICKUP = "pickup"  # the dossier, from the applicant to the agency
    RETURN = "return"  # the result, from the agency to the applicant


ORDER_SUFFIX = {Direction.PICKUP: "-NH", Direction.RETURN: "-TR"}  # nhận hồ sơ / trả kết quả


def carrier_order_number(dossier_code: str, direction: Direction) -> str:
    """The order number given to the carrier: `H21.65-220914-0011-NH` (pickup), `...-TR` (return)."""
    return dossier_code + ORDER_SUFFIX[direction]


class ShipmentEvent(EventData):
    """What every shipment event says: which shipment, which way, under which carrier order."""

    shipment_id: UUID = Field(description="The shipment's id; the idempotency key of the carrier order.")
    direction: Direction = Field(description="Pickup (dossier to agency) or return (result to applicant).")
    carrier: str = Field(min_length=1, description="Code of the carrier, e.g. vnpost.")
    carrier_order_number: str = Field(
        min_length=1,
        description="The carrier order number: the dossier code plus '-NH' (pickup) or '-TR' (return).",
    )
    carrier_status_code: int | None = Field(
        None, description="The carrier's raw status code behind this event (VNPost: 0 to 22), if it reported one."
    )

    @model_validator(mode="after")
    def _order_number_names_the_direction(self) -> Self:
        if not self.carrier_order_number.endswith(ORDER_SUFFIX[self.direction]):
            raise ValueError(f"a {self.direction} order number ends with {ORDER_SUFFIX[self.direction]}")
        return self


class ShipmentPickupScheduled(ShipmentEvent):
    """The carrier accepted the order and scheduled the pickup at the applicant's address."""

    event_type: ClassVar[str] = "shipment.pickup-scheduled"

    window_start: Instant = Field(description="Start of the pickup window.")
    window_end: Instant = Field(description="End of the pickup window.")
    fee_to_collect_vnd: Vnd = Field(description="Fees the postal worker collects with a receipt; 0 if none.")
    scheduled_at: Instant = Field(description="When the carrier scheduled it.")


class ShipmentPickedUp(ShipmentEvent):
    """The postal worker collected the dossier: checked the documents against the procedure's list, signed the
    dossier slip with the applicant, sealed the package in front of them and collected the fees with a receipt."""

    event_type: ClassVar[str] = "shipment.picked-up"

    documents_checked: list[DocumentRef] = Field(
        min_length=1, description="The documents checked against the procedure's list and sealed in the package."
    )
    seal_number: str = Field(min_length=1, description="The number of the seal on the package.")
    fee_collected_vnd: Vnd = Field(description="Fees collected, in đồng; 0 if none.")
    fee_receipt_number: str | None = Field(None, description="The number of the fee receipt; none if no fee.")
    carrier_staff_code: str | None = Field(None, description="The postal worker's staff code at the carrier.")
    picked_up_at: Instant = Field(description="When the package was sealed and collected.")


class ShipmentHandedToAgency(ShipmentEvent):
    """The agency's desk signed the handover record for the package: **the legal receipt instant** of a postal
    dossier; the desk then accepts or refuses it, the clock counting from here."""

    event_type: ClassVar[str] = "shipment.handed-to-agency"

    agency: AgencyRef = Field(description="The one-stop desk that received the package.")
    handover_record_number: str = Field(min_length=1, description="The number of the handover record (biên bản).")
    seal_number: str = Field(min_length=1, description="The seal number found on the package.")
    seal_intact: bool = Field(description="Whether the seal was intact on receipt.")
    handed_over_at: Instant = Field(description="When the handover record was signed: the legal receipt instant.")
    actor: Actor = Field(description="The reception officer who signed the handover record.")


class ShipmentDispatched(ShipmentEvent):
    """The agency handed the result to the post office, which dispatched it to the applicant."""

    event_type: ClassVar[str] = "shipment.dispatched"

    tracking_number: str = Field(min_length=1, description="The carrier's tracking number, for the applicant.")
    documents: list[DocumentRef] = Field(min_length=1, description="The documents in the shipment.")
    dispatched_at: Instant = Field(description="When the post office took charge of it.")
    actor: Actor | None = Field(None, description="The officer who handed it to the post office, if recorded.")


class ShipmentDelivered(ShipmentEvent):
    """The carrier delivered the shipment: for a return, the result reached the applicant (routing then records
    status 10)."""

    event_type: ClassVar[str] = "shipment.delivered"

    tracking_number: str = Field(min_length=1, description="The carrier's tracking number.")
    delivered_at: Instant = Field(description="When it was delivered, as the carrier reports it.")


class ShipmentDeliveryFailed(ShipmentEvent):
    """A delivery attempt failed. After the last one the carrier brings the shipment back to the agency."""

    event_type: ClassVar[str] = "shipment.delivery-failed"

    tracking_number: str = Field(min_length=1, description="The carrier's tracking number.")
    attempt: int = Field(ge=1, description="Which attempt failed, from 1.")
    reason: str = Field(min_length=1, description="The carrier's reason (no one at home, refused...), no address.")
    final: bool = Field(description="Whether the carrier gives up and returns the shipment to the agency.")
    failed_at: Instant = Field(description="When the attempt failed.")


class ShipmentReturnedToAgency(ShipmentEvent):
    """The undeliverable result is back at the agency; the applicant is told and may collect it at the desk."""

    event_type: ClassVar[str] = "shipment.returned-to-agency"

    tracking_number: str = Field(min_length=1, description="The carrier's tracking number.")
    agency: AgencyRef = Field(description="The agency that took the shipment back.")
    returned_at: Instant = Field(description="When the agency took it back.")
    actor: Actor | None = Field(None, description="The officer who took it back, if recorded.")


MODELS: tuple[type[EventData], ...] = (
    ShipmentPickupScheduled,
    ShipmentPickedUp,
    ShipmentHandedToAgency,
    ShipmentDispatched,
    ShipmentDelivered,
    ShipmentDeliveryFailed,
    ShipmentReturnedToAgency,
)
