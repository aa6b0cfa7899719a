"""Events of routing on `lienthong.routing.v1`: the status machine after acceptance (statuses 4 to 10), the steps
across agencies and their deadlines, apologies, results, and the rejection of facts it cannot apply.

Step events are the Mẫu 05 process control sheet as a stream: every handover, from whom, to whom, when, and
whether each step was early, on time or late. Deadlines follow domain.md's time rules: supplement (5) and
financial obligation (6) pause the clock; an apology moves the appointment, never the due instant lateness is
judged against.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from shared.events.catalogue.base import DossierStatus, EventData
from shared.events.catalogue.common import (
    Actor,
    AgencyRef,
    DocumentRef,
    Instant,
    ReturnChannel,
    StaffRole,
    SupplementItem,
    Timeliness,
    Value,
    Vnd,
)

TOPIC = "lienthong.routing.v1"
PRODUCER = "routing"


class DossierProcessingStarted(EventData):
    """Routing took the accepted dossier into processing at the first step of its route: status 4."""

    event_type: ClassVar[str] = "dossier.processing-started"

    step_id: str = Field(min_length=1, description="The first step of the route, as the procedure defines it.")
    agency: AgencyRef = Field(description="The agency responsible for the first step.")
    step_deadline_at: Instant = Field(description="The first step's deadline.")
    due_at: Instant = Field(description="The dossier's due instant (from dossier.accepted).")
    started_at: Instant = Field(description="When processing started.")
    actor: Actor | None = Field(description="The officer who started it; none when routing did on acceptance.")
    status_from: DossierStatus | None = Field(description="2, Được tiếp nhận.")
    status_to: Literal[DossierStatus.PROCESSING] = Field(description="4, Đang xử lý.")


class StepTransferred(EventData):
    """A handover between steps of the route (a line of Mẫu 05): the next step starts, with its own deadline =
    this instant + its share of the time limit in working hours."""

    event_type: ClassVar[str] = "step.transferred"

    from_step_id: str = Field(min_length=1, description="The step that handed the dossier over.")
    from_agency: AgencyRef = Field(description="The agency that handed it over.")
    step_id: str = Field(min_length=1, description="The step that starts.")
    to_agency: AgencyRef = Field(description="The agency responsible for the step that starts.")
    share_working_hours: int = Field(ge=0, description="The step's share of the time limit, in working hours.")
    step_deadline_at: Instant = Field(description="The starting step's deadline.")
    transferred_at: Instant = Field(description="When the dossier was handed over; the step's clock starts here.")
    actor: Actor = Field(description="The officer who handed it over.")


class StepCompleted(EventData):
    """A step of the route is finished, classified against that step's own deadline: a step's lateness counts
    against its agency even when the dossier as a whole ends on time."""

    event_type: ClassVar[str] = "step.completed"

    step_id: str = Field(min_length=1, description="The step that is finished.")
    agency: AgencyRef = Field(description="The agency responsible for the step.")
    started_at: Instant = Field(description="When the step started.")
    step_deadline_at: Instant = Field(description="The step's deadline, after any pauses.")
    completed_at: Instant = Field(description="When the step was finished.")
    timeliness: Timeliness = Field(description="Early, on time or late against the step's deadline.")
    actor: Actor = Field(description="The officer who finished the step.")


class DossierSupplementRequested(EventData):
    """A processing agency asks the applicant to supplement the dossier (Mẫu 02): status 5, the clock pauses. A
    second request for the same dossier needs a reason and counts against the requesting agency."""

    event_type: ClassVar[str] = "dossier.supplement-requested"

    step_id: str = Field(min_length=1, description="The step during which it was requested.")
    requesting_agency: AgencyRef = Field(description="The agency that requests it.")
    items: list[SupplementItem] = Field(min_length=1, description="Every missing or defective document.")
    reason: str = Field(min_length=1, description="Why the dossier cannot be processed as it is.")
    second_request: bool = Field(description="True when the dossier was already asked to supplement once.")
    second_request_reason: str | None = Field(
        None, description="Why a second request is needed; required when second_request is true."
    )
    requested_at: Instant = Field(description="When it was requested; the clock pauses here.")
    actor: Actor = Field(description="The officer who requested it.")
    status_from: DossierStatus | None = Field(description="4, Đang xử lý.")
    status_to: Literal[DossierStatus.SUPPLEMENT_REQUESTED] = Field(description="5, Yêu cầu bổ sung giấy tờ.")

    @model_validator(mode="after")
    def _second_request_has_a_reason(self) -> Self:
        if self.second_request and not self.second_request_reason:
            raise ValueError("a second supplement request needs second_request_reason")
        return self


class DossierSupplementResumed(EventData):
    """The applicant supplemented (dossier.supplement-received): processing resumes, status 4, and the due
    instant moves later by the paused working time."""

    event_type: ClassVar[str] = "dossier.supplement-resumed"

    paused_at: Instant = Field(description="When the clock paused (the request).")
    resumed_at: Instant = Field(description="When the clock resumed (the supplement's receipt).")
    paused_working_minutes: int = Field(ge=0, description="The working time the clock stood still, in minutes.")
    previous_due_at: Instant = Field(description="The due instant before the pause.")
    due_at: Instant = Field(description="The new due instant: the previous one plus the paused working time.")
    step_deadline_at: Instant = Field(description="The current step's new deadline.")
    status_from: DossierStatus | None = Field(description="5, Yêu cầu bổ sung giấy tờ.")
    status_to: Literal[DossierStatus.PROCESSING] = Field(description="4, Đang xử lý.")


class ObligationItem(Value):
    """One line of a financial obligation notice."""

    kind: Literal["tax", "fee", "charge", "land_use_levy"] = Field(
        description="Thuế, lệ phí, phí, or tiền sử dụng đất."
    )
    title: str = Field(description="The line as the notice prints it, e.g. 'Lệ phí trước bạ'.")
    amount_vnd: Vnd = Field(description="The amount of this line, in đồng.")


class DossierObligationRequested(EventData):
    """An agency (often tax) notifies the applicant of a financial obligation (nghĩa vụ tài chính): status 6,
    the clock pauses until it is paid."""

    event_type: ClassVar[str] = "dossier.obligation-requested"

    step_id: str = Field(min_length=1, description="The step during which it was requested.")
    requesting_agency: AgencyRef = Field(description="The agency that issued the notice.")
    notice_number: str = Field(min_length=1, description="The number of the obligation notice (số thông báo).")
    items: list[ObligationItem] = Field(min_length=1, description="The lines of the notice.")
    amount_vnd: Vnd = Field(description="The total to pay, in đồng.")
    pay_by: date | None = Field(None, description="The last day to pay, if the notice sets one.")
    requested_at: Instant = Field(description="When it was requested; the clock pauses here.")
    actor: Actor = Field(description="The officer who issued it.")
    status_from: DossierStatus | None = Field(description="4, Đang xử lý.")
    status_to: Literal[DossierStatus.OBLIGATION_REQUESTED] = Field(
        description="6, Yêu cầu thực hiện nghĩa vụ tài chính."
    )


class DossierObligationSettled(EventData):
    """The obligation is paid (dossier.obligation-paid): processing resumes, status 4, and the due instant moves
    later by the paused working time."""

    event_type: ClassVar[str] = "dossier.obligation-settled"

    amount_vnd: Vnd = Field(description="The amount paid, in đồng.")
    receipt_number: str = Field(min_length=1, description="The number of the payment receipt.")
    paused_at: Instant = Field(description="When the clock paused (the request).")
    resumed_at: Instant = Field(description="When the clock resumed (the payment).")
    paused_working_minutes: int = Field(ge=0, description="The working time the clock stood still, in minutes.")
    previous_due_at: Instant = Field(description="The due instant before the pause.")
    due_at: Instant = Field(description="The new due instant: the previous one plus the paused working time.")
    status_from: DossierStatus | None = Field(description="6, Yêu cầu thực hiện nghĩa vụ tài chính.")
    status_to: Literal[DossierStatus.PROCESSING] = Field(description="4, Đang xử lý.")


class DossierWithdrawn(EventData):
    """The dossier is withdrawn at the applicant's request (dossier.withdrawal-requested): status 7."""

    event_type: ClassVar[str] = "dossier.withdrawn"

    reason: str | None = Field(None, description="The reason the applicant gave, if any.")
    withdrawn_at: Instant = Field(description="When it was withdrawn.")
    actor: Actor | None = Field(description="The officer who confirmed it; none when applied on the request.")
    status_from: DossierStatus | None = Field(description="The status it was withdrawn from: 2, 4, 5 or 6.")
    status_to: Literal[DossierStatus.WITHDRAWN] = Field(description="7, Công dân yêu cầu rút hồ sơ.")


class DossierStopped(EventData):
    """An agency stops processing the dossier (dừng xử lý), with the reason: status 8. Processing ends here for
    the 766 classification."""

    event_type: ClassVar[str] = "dossier.stopped"

    step_id: str = Field(min_length=1, description="The step at which it was stopped.")
    agency: AgencyRef = Field(description="The agency that stopped it.")
    reason: str = Field(min_length=1, description="The reason given to the applicant.")
    legal_basis: str | None = Field(None, description="The provision the decision rests on, if one is cited.")
    stopped_at: Instant = Field(description="When it was stopped.")
    timeliness: Timeliness = Field(description="Early, on time or late against the original due instant.")
    actor: Actor = Field(description="The officer who stopped it.")
    status_from: DossierStatus | None = Field(description="The status it was stopped from: 2, 4, 5 or 6.")
    status_to: Literal[DossierStatus.STOPPED] = Field(description="8, Dừng xử lý.")


class DossierNearDue(EventData):
    """The dossier entered the near-late window (sắp trễ hạn) before its appointment: time to finish, or to
    apologise at least one working day before the due date."""

    event_type: ClassVar[str] = "dossier.near-due"

    step_id: str = Field(min_length=1, description="The step the dossier is at.")
    agency: AgencyRef = Field(description="The agency responsible for that step.")
    due_at: Instant = Field(description="The original due instant.")
    appointment_at: Instant = Field(description="The appointment in force (the new one after an apology).")
    remaining_working_minutes: int = Field(ge=0, description="Working time left until the appointment.")
    detected_at: Instant = Field(description="When the window was entered.")


class DossierOverdue(EventData):
    """The dossier passed its due instant unfinished (trễ hạn): it is late, whatever happens next."""

    event_type: ClassVar[str] = "dossier.overdue"

    step_id: str = Field(min_length=1, description="The step the dossier is at.")
    agency: AgencyRef = Field(description="The agency responsible for that step.")
    due_at: Instant = Field(description="The original due instant that passed.")
    appointment_at: Instant = Field(description="The appointment in force (the new one after an apology).")
    apologised: bool = Field(description="Whether an apology (Mẫu 04) was issued before.")
    detected_at: Instant = Field(description="When it was found overdue.")


class DossierApologyIssued(EventData):
    """The responsible agency apologises and gives a new appointment (Mẫu 04, phiếu xin lỗi và hẹn lại), signed
    by its head, at least one working day before the due date, once per dossier. An admission: lateness is
    still judged against `due_at`; only the appointment and the alerts move."""

    event_type: ClassVar[str] = "dossier.apology-issued"

    agency: AgencyRef = Field(description="The agency that apologises (the one responsible for the delay).")
    reason: str = Field(min_length=1, description="The reason for the delay, as written in the letter.")
    due_at: Instant = Field(description="The original due instant, unchanged.")
    new_appointment_at: Instant = Field(description="The new appointment given to the applicant.")
    issued_at: Instant = Field(description="When the apology was issued.")
    signed_by: Actor = Field(description="The head of the agency (role head) who signed it.")
    actor: Actor = Field(description="The officer who issued it.")

    @model_validator(mode="after")
    def _signed_by_the_head(self) -> Self:
        if self.signed_by.role is not StaffRole.HEAD:
            raise ValueError("an apology is signed by the head of the agency (role head)")
        return self


class DossierResultReady(EventData):
    """Processing is finished and the result is ready to return (Đã xử lý xong): status 9. Processing ends here
    for the 766 classification."""

    event_type: ClassVar[str] = "dossier.result-ready"

    agency: AgencyRef = Field(description="The agency that issued the result.")
    decision: Literal["granted", "denied"] = Field(
        description="Granted, or denied by a reasoned decision (a denial is still a result)."
    )
    documents: list[DocumentRef] = Field(min_length=1, description="The result documents.")
    return_channel: ReturnChannel = Field(description="How the result goes back to the applicant.")
    fee_due_vnd: Vnd = Field(0, description="What is still to pay on return (postage, fees), in đồng; 0 if nothing.")
    due_at: Instant = Field(description="The original due instant.")
    completed_at: Instant = Field(description="When processing was finished.")
    timeliness: Timeliness = Field(description="Early, on time or late against the original due instant.")
    actor: Actor = Field(description="The officer who finished it.")
    status_from: DossierStatus | None = Field(description="4, Đang xử lý.")
    status_to: Literal[DossierStatus.RESULT_READY] = Field(description="9, Đã xử lý xong.")


class DossierResultReturned(EventData):
    """The result reached the applicant (Đã trả kết quả): status 10. Caused by dossier.result-handed-over (desk),
    shipment.delivered (post) or the electronic delivery."""

    event_type: ClassVar[str] = "dossier.result-returned"

    how: ReturnChannel = Field(description="How it was returned.")
    shipment_id: UUID | None = Field(None, description="The postal shipment that delivered it, when by post.")
    returned_at: Instant = Field(description="When the applicant received it.")
    actor: Actor | None = Field(description="The officer who handed it over at the desk; none otherwise.")
    status_from: DossierStatus | None = Field(description="9, Đã xử lý xong.")
    status_to: Literal[DossierStatus.RESULT_RETURNED] = Field(description="10, Đã trả kết quả.")


class FactRejected(EventData):
    """Routing could not apply a fact that intake or postal published (a supplement for a dossier that is not
    waiting for one, a payment for a withdrawn dossier...). The fact stays in history; this says why it changed
    nothing."""

    event_type: ClassVar[str] = "fact.rejected"

    fact_event_id: UUID = Field(description="Id of the fact event that was rejected.")
    fact_type: str = Field(min_length=1, description="Its type, e.g. dossier.supplement-received.")
    reason_code: Literal["wrong_status", "unknown_request", "amount_mismatch", "already_applied", "other"] = Field(
        description="Why, for machines."
    )
    reason: str = Field(min_length=1, description="Why, for people.")
    current_status: DossierStatus | None = Field(description="The dossier's status when the fact was rejected.")
    rejected_at: Instant = Field(description="When it was rejected.")


MODELS: tuple[type[EventData], ...] = (
    DossierProcessingStarted,
    StepTransferred,
    StepCompleted,
    DossierSupplementRequested,
    DossierSupplementResumed,
    DossierObligationRequested,
    DossierObligationSettled,
    DossierWithdrawn,
    DossierStopped,
    DossierNearDue,
    DossierOverdue,
    DossierApologyIssued,
    DossierResultReady,
    DossierResultReturned,
    FactRejected,
)
