"""The satisfaction survey: invited once, when the result is returned (status 10), by a signed single-use link; the
answer is kept here (its comment may hold personal data) and published as survey.answered for the 766 index."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.notification import store
from shared.clock import Clock
from shared.db import Connection
from shared.events.catalogue import notification
from shared.events.catalogue.notification import CriterionRating, SurveyAnswered
from shared.outbox.writer import Outbox

SURVEYS = uuid.UUID("8d4c5c3e-6a55-4f0e-9a7d-2f0c3b1e5a10")  # namespace of survey ids: one per dossier


class SurveyAnswer(BaseModel):
    """What the applicant answers: 3 levels (3 rất hài lòng, 2 hài lòng, 1 không hài lòng), criteria optional."""

    model_config = ConfigDict(extra="forbid")

    rating: Literal[1, 2, 3] = Field(description="3 very satisfied, 2 satisfied, 1 dissatisfied.")
    criteria: list[CriterionRating] = Field(default_factory=list, max_length=7)
    complaint: bool = Field(False, description="The applicant files a complaint (phản ánh, kiến nghị).")
    comment: str | None = Field(None, max_length=2000, description="Kept by notification only, never published.")


class SurveyError(LookupError):
    pass


class SurveyAnsweredError(ValueError):
    pass


@dataclass(frozen=True)
class SurveyLinks:
    """`<public url>/public/surveys/<survey id>.<HMAC-SHA256 of it>`: nobody can make the link of another dossier."""

    key: bytes
    public_url: str

    def token(self, survey_id: uuid.UUID) -> str:
        mac = hmac.new(self.key, survey_id.bytes, hashlib.sha256).digest()[:16]
        return f"{survey_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    def url(self, survey_id: uuid.UUID) -> str:
        return f"{self.public_url.rstrip('/')}/public/surveys/{self.token(survey_id)}"

    def survey_of(self, token: str) -> uuid.UUID:
        raw_id, _, _ = token.partition(".")
        try:
            survey_id = uuid.UUID(raw_id)
        except ValueError:
            raise SurveyError("no such survey") from None
        if not hmac.compare_digest(self.token(survey_id), token):
            raise SurveyError("no such survey")
        return survey_id


async def survey_key(conn: Connection, configured: bytes | None) -> bytes:
    """The configured key, or the one made on first start and kept in the database (so links survive restarts)."""
    return configured or await store.stored_survey_key(conn, secrets.token_bytes(32))


async def invite(conn: Connection, links: SurveyLinks, dossier_id: uuid.UUID, code: str, clock: Clock) -> str:
    """The survey link of the dossier; the survey is opened the first time (a redelivery reuses it)."""
    survey_id = uuid.uuid5(SURVEYS, str(dossier_id))
    await store.open_survey(conn, survey_id, dossier_id, code, clock.now())
    return links.url(survey_id)


async def answer(
    conn: Connection, links: SurveyLinks, outbox: Outbox, clock: Clock, token: str, given: SurveyAnswer
) -> SurveyAnswered:
    survey = await store.survey(conn, links.survey_of(token), lock=True)
    if survey is None:
        raise SurveyError("no such survey")
    if survey.answered_at is not None:
        raise SurveyAnsweredError("this survey was already answered: a link works once")
    now = clock.now()
    answered = SurveyAnswered(
        survey_id=survey.id, levels=3, rating=given.rating, dissatisfied=given.rating == 1,
        criteria=given.criteria, complaint=given.complaint, answered_at=now,
    )  # fmt: skip
    await store.answer_survey(conn, survey.id, {**answered.model_dump(mode="json"), "comment": given.comment}, now)
    await outbox.add(
        conn, answered, topic=notification.TOPIC, dossier_id=str(survey.dossier_id), dossier_code=survey.dossier_code
    )
    return answered
