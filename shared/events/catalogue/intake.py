"""Events of intake on `lienthong.intake.v1`: dossiers as received (statuses 1 to 3), and the facts the desk or
the portal records after acceptance.

Intake owns the status until acceptance. From then on routing owns it: a fact here (a supplement received, a
fee paid, a withdrawal asked for, a result handed over) changes no status; routing applies it and publishes the
resulting status change, or `fact.rejected` with the reason. The envelope's `subject` is the dossier code and its
key the dossier id, on every event.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from shared.events.catalogue.base import DossierStatus, EventData
from shared.events.catalogue.common import (
    Actor,
    AgencyRef,
    DocumentRef,
    DossierCode,
    Instant,
    IntakeChannel,
    ProcedureRef,
    ReturnChannel,
    SupplementItem,
    TimeLimit,
    Via,
    Vnd,
)

TOPIC = "lienthong.intake.v1"
PRODUCER = "intake"


class DossierSubmitted(EventData):
    """An applicant submitted a dossier on the portal (kênh 2): status 1, Mới đăng ký. Not yet checked by the
    desk; no clock runs until acceptance."""

    event_type: ClassVar[str] = "dossier.submitted"

    dossier_code: DossierCode = Field(description="The dossier code (mã hồ sơ), given on submission.")
    procedure: ProcedureRef = Field(description="The procedure applied for.")
    receiving_agency: AgencyRef = Field(description="The one-stop desk that will check and accept it.")
    fully_online: bool = Field(description="True for a fully online procedure (toàn trình), false for partly online.")
    documents: list[DocumentRef] = Field(description="The documents uploaded with the submission.")
    return_channel: ReturnChannel = Field(description="How the applicant asks to receive the result.")
    submitted_at: Instant = Field(description="When the portal recorded the submission.")
    status_from: DossierStatus | None = Field(description="Always none: the dossier had no status before.")
    status_to: Literal[DossierStatus.SUBMITTED_ONLINE] = Field(description="1, Mới đăng ký.")


class DossierPickupRequested(EventData):
    """An applicant asked the public postal service to collect a dossier (kênh 3). Intake registered it and gave
    it its code; postal books the pickup. No status yet: the legal receipt is the handover to the agency."""

    event_type: ClassVar[str] = "dossier.pickup-requested"

    dossier_code: DossierCode = Field(description="The dossier code (mã hồ sơ), given on the request.")
    procedure: ProcedureRef = Field(description="The procedure applied for.")
    receiving_agency: AgencyRef = Field(description="The one-stop desk the package is to be delivered to.")
    documents: list[DocumentRef] = Field(
        description="The documents the postal worker must check against the procedure's list before sealing."
    )
    fee_vnd: Vnd = Field(description="Fees (lệ phí) the postal worker collects with a receipt; 0 if none.")
    return_channel: ReturnChannel = Field(description="How the applicant asks to receive the result.")
    requested_via: Literal["online", "post_office"] = Field(
        description="Where the applicant asked: on the portal or at a post office."
    )
    requested_at: Instant = Field(description="When the pickup was requested.")


class DossierAccepted(EventData):
    """The desk accepted a complete dossier (Mẫu 01, receipt and appointment slip): status 2, Được tiếp nhận.
    The legal clock runs from `received_at`."""

    event_type: ClassVar[str] = "dossier.accepted"

    dossier_code: DossierCode = Field(description="The dossier code printed on the Mẫu 01 slip.")
    procedure: ProcedureRef = Field(description="The procedure, with the catalogue version it is decided under.")
    receiving_agency: AgencyRef = Field(description="The one-stop desk that accepted it.")
    channel: IntakeChannel = Field(description="How the dossier reached the agency.")
    documents: list[DocumentRef] = Field(description="The documents received.")
    time_limit: TimeLimit = Field(description="The procedure's legal time limit the due instant was computed from.")
    received_at: Instant = Field(
        description="The legal receipt instant the clock starts from: at the desk, the portal's full receipt "
        "(online), or the handover record signed with the post office (postal)."
    )
    accepted_at: Instant = Field(description="When the desk accepted it.")
    due_at: Instant = Field(
        description="The due instant, printed as the appointment on the slip; lateness is always judged against it."
    )
    calendar_version: str = Field(
        min_length=1, description="Version of the working-time calendar (holiday years) the due instant used."
    )
    return_channel: ReturnChannel = Field(description="How the result will be returned.")
    fee_vnd: Vnd = Field(description="Fees (lệ phí) collected on acceptance; 0 if none.")
    actor: Actor = Field(description="The reception officer who accepted it.")
    status_from: DossierStatus | None = Field(
        description="1 for a dossier submitted online; none for one received at the counter or by post."
    )
    status_to: Literal[DossierStatus.ACCEPTED] = Field(description="2, Được tiếp nhận.")


class DossierRefused(EventData):
    """The desk refused the dossier (Mẫu 03, phiếu từ chối): status 3, Không được tiếp nhận."""

    event_type: ClassVar[str] = "dossier.refused"

    dossier_code: DossierCode = Field(description="The dossier code.")
    procedure: ProcedureRef = Field(description="The procedure applied for.")
    receiving_agency: AgencyRef = Field(description="The one-stop desk that refused it.")
    channel: IntakeChannel = Field(description="How the dossier reached the agency.")
    reason: str = Field(min_length=1, description="The reason printed on the Mẫu 03 refusal.")
    legal_basis: str | None = Field(None, description="The provision the refusal rests on, if one is cited.")
    refused_at: Instant = Field(description="When the desk refused it.")
    actor: Actor = Field(description="The reception officer who refused it.")
    status_from: DossierStatus | None = Field(
        description="1 for a dossier submitted online; none for one received at the counter or by post."
    )
    status_to: Literal[DossierStatus.REFUSED] = Field(description="3, Không được tiếp nhận.")


class DossierReceptionSupplementRequested(EventData):
    """At the desk, before acceptance, the dossier is incomplete: the officer lists exactly what is missing
    (Mẫu 02), once and completely. Not status 5, no clock, not counted against anyone."""

    event_type: ClassVar[str] = "dossier.reception-supplement-requested"

    dossier_code: DossierCode = Field(description="The dossier code.")
    procedure: ProcedureRef = Field(description="The procedure applied for.")
    receiving_agency: AgencyRef = Field(description="The one-stop desk that checked it.")
    channel: IntakeChannel = Field(description="How the dossier reached the agency.")
    items: list[SupplementItem] = Field(min_length=1, description="Every missing or defective document.")
    requested_at: Instant = Field(description="When the request was issued.")
    actor: Actor = Field(description="The reception officer who issued it.")


class DossierSupplementReceived(EventData):
    """Fact: the applicant brought or uploaded what a supplement request (status 5) asked for. Routing resumes
    the clock (`dossier.supplement-resumed`) or rejects the fact."""

    event_type: ClassVar[str] = "dossier.supplement-received"

    request_event_id: UUID = Field(description="Id of the dossier.supplement-requested event this answers.")
    documents: list[DocumentRef] = Field(min_length=1, description="The documents received.")
    via: Via = Field(description="Where they were received.")
    received_at: Instant = Field(description="When they were received; the clock resumes from here.")
    actor: Actor | None = Field(description="The reception officer who recorded it; none when uploaded online.")


class DossierObligationPaid(EventData):
    """Fact: the applicant paid a financial obligation (status 6), with the receipt to prove it."""

    event_type: ClassVar[str] = "dossier.obligation-paid"

    request_event_id: UUID = Field(description="Id of the dossier.obligation-requested event this pays.")
    amount_vnd: Vnd = Field(description="The amount paid, in đồng.")
    receipt_number: str = Field(min_length=1, description="The number of the payment receipt (số biên lai).")
    method: Literal["cash", "bank_transfer", "online_payment"] = Field(description="How it was paid.")
    paid_at: Instant = Field(description="When it was paid; the clock resumes from here.")
    actor: Actor | None = Field(description="The officer who recorded the payment; none when paid online.")


class DossierWithdrawalRequested(EventData):
    """Fact: the applicant asked to withdraw the dossier (rút hồ sơ). Routing withdraws it (status 7) or rejects
    the fact."""

    event_type: ClassVar[str] = "dossier.withdrawal-requested"

    reason: str | None = Field(None, description="The reason the applicant gave, if any.")
    via: Via = Field(description="Where the request was made.")
    requested_at: Instant = Field(description="When the request was made.")
    actor: Actor | None = Field(description="The reception officer who recorded it; none when asked online.")


class DossierResultHandedOver(EventData):
    """Fact: the desk handed the result to the applicant or their authorised representative. Routing records
    status 10."""

    event_type: ClassVar[str] = "dossier.result-handed-over"

    documents: list[DocumentRef] = Field(min_length=1, description="The result documents handed over.")
    received_by: Literal["applicant", "representative"] = Field(
        description="Who collected it: the applicant, or a representative with an authorisation."
    )
    handed_over_at: Instant = Field(description="When it was handed over.")
    actor: Actor = Field(description="The reception officer who handed it over.")


MODELS: tuple[type[EventData], ...] = (
    DossierSubmitted,
    DossierPickupRequested,
    DossierAccepted,
    DossierRefused,
    DossierReceptionSupplementRequested,
    DossierSupplementReceived,
    DossierObligationPaid,
    DossierWithdrawalRequested,
    DossierResultHandedOver,
)
