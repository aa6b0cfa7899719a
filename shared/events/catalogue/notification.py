"""Events of notification on `lienthong.notification.v1`: what became of each message to an applicant, and the
answers to the satisfaction survey.

A notification is named by its id and by the event that caused it; the recipient's phone number or email
address never appears here (notification holds them, from `contact.recorded`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from shared.events.catalogue.base import EventData
from shared.events.catalogue.common import Instant, Value

TOPIC = "lienthong.notification.v1"
PRODUCER = "notification"


class NotificationChannel(StrEnum):
    """The medium of a notification."""

    SMS = "sms"
    EMAIL = "email"


class NotificationEvent(EventData):
    """What every notification event says: which message, on which channel, from which template, for which
    event."""

    notification_id: UUID = Field(
        description="The notification's id: unique per causing event, channel and recipient, and the idempotency "
        "key (or the email's Message-ID) of the provider call."
    )
    channel: NotificationChannel = Field(description="SMS or email.")
    template: str = Field(min_length=1, description="Code of the template the text was written from.")
    causing_event_id: UUID = Field(description="Id of the lifecycle event the notification tells about.")
    causing_event_type: str = Field(min_length=1, description="Type of that event, e.g. dossier.accepted.")


class NotificationSent(NotificationEvent):
    """The provider accepted the message for delivery."""

    event_type: ClassVar[str] = "notification.sent"

    provider: str = Field(min_length=1, description="Code of the provider that accepted it (SMS gateway, SMTP relay).")
    provider_message_id: str | None = Field(None, description="The provider's id of the message, if it gives one.")
    attempt: int = Field(ge=1, description="Which attempt this was, from 1.")
    sent_at: Instant = Field(description="When the provider accepted it.")


class NotificationDelivered(NotificationEvent):
    """The provider reported the message delivered to the recipient's phone or mailbox."""

    event_type: ClassVar[str] = "notification.delivered"

    delivered_at: Instant = Field(description="When it was delivered, as the provider reports it.")


class FailureKind(StrEnum):
    """Why a notification failed, as far as retrying is concerned."""

    PERMANENT = "permanent"  # the recipient cannot be reached (invalid number, mailbox does not exist)
    TEMPORARY = "temporary"  # the recipient may be reachable later (phone off, mailbox full)
    TECHNICAL = "technical"  # our side or the provider's (outage, rejected request, rate limit)


class NotificationFailed(NotificationEvent):
    """The message could not be sent or delivered."""

    event_type: ClassVar[str] = "notification.failed"

    failure_kind: FailureKind = Field(description="Permanent, temporary or technical.")
    failure_code: str | None = Field(None, description="The provider's error code, if any (no recipient data).")
    attempt: int = Field(ge=1, description="Which attempt failed, from 1.")
    will_retry: bool = Field(description="Whether notification will try again.")
    failed_at: Instant = Field(description="When it failed.")


class CriterionRating(Value):
    """The applicant's rating of one criterion of the service."""

    criterion: Literal["time", "contacts", "attitude", "guidance", "procedure", "facilities", "other"] = Field(
        description="What is rated: processing time, number of contacts needed, staff attitude, guidance received, "
        "the procedure itself, facilities."
    )
    rating: int = Field(ge=1, le=5, description="The rating on the survey's scale, 1 = least satisfied.")


class SurveyAnswered(EventData):
    """The applicant answered the satisfaction survey (sent once, on status 10). Feeds the satisfaction index of
    Decision 766/QĐ-TTg. Free-text comments stay in notification: they may hold personal data."""

    event_type: ClassVar[str] = "survey.answered"

    survey_id: UUID = Field(description="The survey invitation's id.")
    levels: Literal[3, 5] = Field(
        description="The scale: 3 levels (3 rất hài lòng, 2 hài lòng, 1 không hài lòng) or 5 levels."
    )
    rating: int = Field(ge=1, le=5, description="The overall rating on that scale, 1 = least satisfied.")
    dissatisfied: bool = Field(description="Whether the answer counts as dissatisfaction in the 766 index.")
    criteria: list[CriterionRating] = Field(default_factory=list, description="Ratings per criterion, if given.")
    complaint: bool = Field(False, description="Whether the applicant filed a complaint (phản ánh, kiến nghị).")
    answered_at: Instant = Field(description="When the survey was answered.")

    @model_validator(mode="after")
    def _ratings_on_the_scale(self) -> Self:
        if any(rating > self.levels for rating in [self.rating, *(c.rating for c in self.criteria)]):
            raise ValueError(f"a rating is above the survey's {self.levels} levels")
        return self


MODELS: tuple[type[EventData], ...] = (
    NotificationSent,
    NotificationDelivered,
    NotificationFailed,
    SurveyAnswered,
)
