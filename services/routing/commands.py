"""What processing staff ask of routing: the bodies of the staff API, validated at the edge."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.catalogue.common import DocumentRef, Instant, ReturnChannel, SupplementItem, Vnd
from shared.events.catalogue.routing import ObligationItem

Text = Field(min_length=1, max_length=2000)


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IssueResult(Command):
    """The result, given when the last step of the route is completed (status 9)."""

    decision: Literal["granted", "denied"] = Field(description="Granted, or denied by a reasoned decision.")
    documents: list[DocumentRef] = Field(min_length=1, max_length=50, description="The result documents.")
    return_channel: ReturnChannel | None = Field(
        None, description="How the result goes back; by default the one the applicant chose at acceptance."
    )
    fee_due_vnd: Vnd = Field(0, description="What is still to pay on return, in đồng.")


class CompleteStep(Command):
    note: str = Field(min_length=1, max_length=2000, description="What was done (the Mẫu 05 line's remark).")
    result: IssueResult | None = Field(None, description="Required on the last step of the route, refused before.")


class RequestSupplement(Command):
    items: list[SupplementItem] = Field(min_length=1, max_length=50, description="Every missing or defective document.")
    reason: str = Text
    second_request_reason: str | None = Field(
        None, max_length=2000, description="Required when the dossier was already asked to supplement once."
    )


class RequestObligation(Command):
    notice_number: str = Field(min_length=1, max_length=100, description="Số thông báo of the obligation notice.")
    items: list[ObligationItem] = Field(min_length=1, max_length=50, description="The lines of the notice.")
    pay_by: date | None = Field(None, description="The last day to pay, if the notice sets one.")


class StopProcessing(Command):
    reason: str = Text
    legal_basis: str | None = Field(None, max_length=500, description="The provision the decision rests on.")


class IssueApology(Command):
    reason: str = Text
    new_appointment_at: Instant = Field(description="The new appointment given to the applicant (Mẫu 04).")
