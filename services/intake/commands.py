"""What the desk asks intake to do: validated at the edge (a 422 naming the field), then handled."""

from __future__ import annotations

import re
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.events.catalogue.common import ContentHash, IntakeChannel, Problem, ReturnChannel
from shared.events.catalogue.contacts import PostalAddress

PHONE = re.compile(r"^(?:\+84|0)[35789]\d{8}$")


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Applicant(Command):
    kind: Literal["citizen", "business"] = "citizen"
    full_name: str = Field(min_length=1, max_length=200)
    personal_id: str | None = Field(
        None, description="12-digit personal ID number (số định danh cá nhân); never leaves intake."
    )
    phone: str = Field(description="Vietnamese mobile number, e.g. 0901234567 or +84901234567.")
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    address: PostalAddress | None = None
    notify_by: Literal["sms", "email", "both"] = "sms"
    language: Literal["vi", "en"] = "vi"
    optional_messages: bool = Field(
        True, description="False: only the messages the applicant cannot opt out of (acceptance, results...)."
    )

    @field_validator("personal_id")
    @classmethod
    def _twelve_digits(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d{12}", value):
            raise ValueError("a personal ID number has exactly 12 digits")
        return value

    @field_validator("phone")
    @classmethod
    def _mobile(cls, value: str) -> str:
        compact = re.sub(r"[\s.-]", "", value)
        if not PHONE.match(compact):
            raise ValueError("not a Vietnamese mobile number (10 digits from 03, 05, 07, 08 or 09, or +84...)")
        return compact


class Document(Command):
    code: str = Field(min_length=1, description="Code of the document type in the procedure's list.")
    content_hash: ContentHash | None = Field(None, description="SHA-256 of the scanned file, lowercase hex.")
    file_name: str | None = Field(None, max_length=255)


class NewDossier(Command):
    procedure_code: str = Field(min_length=1)
    applicant: Applicant
    documents: list[Document] = Field(max_length=100)
    return_channel: ReturnChannel = ReturnChannel.DESK


class RegisterAtCounter(NewDossier):
    """A dossier handed in at the one-stop desk (kênh 1): it gets its code; the desk then accepts it, refuses
    it, or lists what is missing (Mẫu 02)."""

    @property
    def channel(self) -> IntakeChannel:
        return IntakeChannel.COUNTER


class SubmitOnline(NewDossier):
    """A dossier submitted by the applicant on the portal (kênh 2, status 1), for the desk to accept or refuse."""

    desk_code: str = Field(min_length=1, description="The one-stop desk the applicant submits to.")

    @property
    def channel(self) -> IntakeChannel:
        return IntakeChannel.ONLINE


class RequestPickup(NewDossier):
    """The applicant asks the public postal service to collect the dossier at home (kênh 3, Decision 45/2016)."""

    desk_code: str = Field(min_length=1, description="The one-stop desk the package is to be handed to.")
    requested_via: Literal["online", "post_office"] = "online"

    @property
    def channel(self) -> IntakeChannel:
        return IntakeChannel.POSTAL


class Refuse(Command):
    reason: str = Field(min_length=1, max_length=2000)
    legal_basis: str | None = Field(None, max_length=500)


class MissingItem(Command):
    document_code: str = Field(min_length=1)
    problem: Problem
    instruction: str = Field(min_length=1, max_length=1000)


class RequestReceptionSupplement(Command):
    """Mẫu 02 at the desk: exactly what is missing, once and completely; the dossier stays unaccepted."""

    items: list[MissingItem] = Field(min_length=1, max_length=100)


class ReceivedDocument(Command):
    code: str = Field(min_length=1)
    title: str = Field(min_length=1, max_length=300)
    content_hash: ContentHash | None = None


class RecordSupplementReceived(Command):
    """The applicant brought what a processing agency's supplement request (status 5) asked for."""

    request_event_id: uuid.UUID = Field(description="Id of the dossier.supplement-requested event it answers.")
    documents: list[ReceivedDocument] = Field(min_length=1, max_length=100)


class RecordObligationPaid(Command):
    request_event_id: uuid.UUID = Field(description="Id of the dossier.obligation-requested event it pays.")
    amount_vnd: int = Field(ge=0)
    receipt_number: str = Field(min_length=1, max_length=100)
    method: Literal["cash", "bank_transfer", "online_payment"]


class RecordWithdrawalRequested(Command):
    reason: str | None = Field(None, max_length=2000)


class RecordResultHandedOver(Command):
    documents: list[ReceivedDocument] = Field(min_length=1, max_length=100)
    received_by: Literal["applicant", "representative"]
