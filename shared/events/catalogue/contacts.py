"""The contact record per dossier on `lienthong.intake.contacts.v1` — the only place where personal data travels.

The topic is compacted and keyed by dossier id: the latest `contact.recorded` of a dossier is its contact record.
Erasing it is a tombstone (a record with no value, typed `contact.erased` in its headers): compaction removes the
record from the topic, and notification and postal delete their copies when they see it. Readable only by
notification and postal (ACLs in production). The personal ID number (số định danh cá nhân) and tax code are
not here either: they never leave intake.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from shared.events.catalogue.base import EventData
from shared.events.catalogue.common import Instant, Value

TOPIC = "lienthong.intake.contacts.v1"
PRODUCER = "intake"


class PostalAddress(Value):
    """An address in Vietnam the post can deliver to, with the administrative unit codes carriers ask for."""

    street: str = Field(min_length=1, description="House number, street, hamlet (số nhà, đường, thôn/tổ).")
    ward_code: str = Field(min_length=1, description="Code of the ward or commune (mã phường/xã).")
    district_code: str | None = Field(
        None, description="Code of the district (mã quận/huyện); none where the district level no longer exists."
    )
    province_code: str = Field(min_length=1, description="Code of the province or city (mã tỉnh/thành phố).")
    ward: str = Field(description="Name of the ward or commune, as printed on a label.")
    province: str = Field(description="Name of the province or city, as printed on a label.")


class ContactRecorded(EventData):
    """The applicant's contact data and preferences for one dossier (new, or corrected: the latest wins)."""

    event_type: ClassVar[str] = "contact.recorded"

    applicant_kind: Literal["citizen", "business"] = Field(description="A citizen (công dân) or a business.")
    full_name: str = Field(min_length=1, description="The applicant's full name, or the business's name.")
    phone: str = Field(pattern=r"^\+?[0-9]{9,15}$", description="Mobile number for SMS, digits with an optional '+'.")
    email: str | None = Field(
        None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Email address, if the applicant gave one."
    )
    postal_address: PostalAddress | None = Field(
        None, description="Where the post collects the dossier or delivers the result; required for postal channels."
    )
    notify_by: Literal["sms", "email", "both"] = Field(description="How the applicant wants to be notified.")
    language: Literal["vi", "en"] = Field("vi", description="The language of notifications.")
    optional_messages: bool = Field(
        True,
        description="False when the applicant opted out of optional messages (transfers between agencies, "
        "dispatch...); never of acceptance, refusal, supplement request, apology or result.",
    )
    recorded_at: Instant = Field(description="When the contact data was recorded or last corrected.")

    @model_validator(mode="after")
    def _email_when_notified_by_email(self) -> Self:
        if self.notify_by != "sms" and not self.email:
            raise ValueError(f"notify_by={self.notify_by} needs an email address")
        return self


class ContactErased(EventData):
    """The contact record of a dossier is erased. It travels as a tombstone: the record's value is empty (null),
    `ce_type` says `contact.erased`; this model has no fields."""

    event_type: ClassVar[str] = "contact.erased"
    tombstone: ClassVar[bool] = True


MODELS: tuple[type[EventData], ...] = (ContactRecorded, ContactErased)
