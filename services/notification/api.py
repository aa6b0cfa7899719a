"""Notification's HTTP entrypoints: the gateways' delivery receipts (signed by each gateway,
shared/callback_signature.py), the applicants' survey, and the template preview for staff. Thin routes: parse, run
one handler in one transaction, map errors to 4xx."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ValidationError

from services.notification import handlers, surveys
from services.notification.providers.sms.selection import RECEIPT_PARSERS
from services.notification.settings import NotificationSettings
from services.notification.templates import default_templates
from shared.callback_signature import verified_body
from shared.events.catalogue.contacts import ContactRecorded
from shared.events.examples import examples
from shared.identity.fastapi import CurrentStaff
from shared.outbox.writer import Outbox
from shared.rate_limit import rate_limited
from shared.service import ServiceRuntime, on_event_loop

OUTBOX = Outbox("notification")


class Notification:
    """What a request needs: the use cases' context and the pool."""

    def __init__(self, request: Request) -> None:
        runtime: ServiceRuntime = request.app.state.runtime
        if runtime.pool is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "notification is starting")
        settings = runtime.settings
        assert isinstance(settings, NotificationSettings)
        self.ctx = context(settings, runtime)
        self.pool = runtime.pool
        self.settings = settings


def context(settings: NotificationSettings, runtime: ServiceRuntime) -> handlers.NotificationContext:
    key = settings.survey_key.get_secret_value().encode() if settings.survey_key else None
    return handlers.NotificationContext(
        OUTBOX, default_templates(), runtime.clock, settings.limits(), settings.public_url, key,
        settings.sms_unaccented,
    )  # fmt: skip


Context = Annotated[Notification, Depends(on_event_loop(Notification))]
receipts_router = APIRouter(tags=["providers"])


@receipts_router.post(
    "/receipts/{provider}",
    summary="A gateway's delivery receipt (its own format), signed by the gateway",
    description="No staff token: the gateway signs the raw body with NOTIFICATION_SMS_<PROVIDER>_RECEIPT_SECRET "
    "(headers X-Lienthong-Timestamp and X-Lienthong-Signature, see shared/callback_signature.py); 401 otherwise.",
)
async def receipt(provider: Literal["brandname", "ott"], request: Request, notifications: Context) -> dict[str, str]:
    secret = notifications.settings.receipt_secret(provider)
    body = await verified_body(request, secret, f"NOTIFICATION_SMS_{provider.upper()}_RECEIPT_SECRET")
    try:
        parsed = RECEIPT_PARSERS[provider](body)
    except (ValidationError, ValueError) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"not a {provider} receipt: {error}") from error
    async with notifications.pool.acquire() as conn, conn.transaction():
        outcome = await handlers.record_receipt(notifications.ctx, conn, parsed)
    if outcome is handlers.ReceiptOutcome.UNKNOWN:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no notification has that id")
    if outcome is handlers.ReceiptOutcome.EARLY:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "the send this report is about is not recorded yet: post it again later",
            headers={"Retry-After": "5"},
        )  # fmt: skip
    return {"status": "recorded"}


surveys_router = APIRouter(prefix="/public", tags=["applicants"], dependencies=[Depends(rate_limited)])


@surveys_router.get("/surveys/{token}", summary="The survey a link opens")
async def survey(token: str, notifications: Context) -> dict[str, Any]:
    async with notifications.pool.acquire() as conn:
        links = await notifications.ctx.links(conn)
        try:
            found = await handlers.survey_of(conn, links, token)
        except surveys.SurveyError as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    return {"dossier_code": found.dossier_code, "answered": found.answered_at is not None, "levels": 3,
            "scale": {"3": "Rất hài lòng", "2": "Hài lòng", "1": "Không hài lòng"}}  # fmt: skip


@surveys_router.post("/surveys/{token}", status_code=status.HTTP_201_CREATED, summary="Answer the survey (once)")
async def answer(token: str, body: surveys.SurveyAnswer, notifications: Context) -> dict[str, Any]:
    ctx = notifications.ctx
    try:
        async with notifications.pool.acquire() as conn, conn.transaction():
            answered = await surveys.answer(conn, await ctx.links(conn), ctx.outbox, ctx.clock, token, body)
    except surveys.SurveyError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except surveys.SurveyAnsweredError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return {"rating": answered.rating, "answered_at": answered.answered_at}


templates_router = APIRouter(prefix="/templates", tags=["templates"])


@templates_router.get("", summary="Every message template: event type, version, whether it is mandatory")
async def template_list(staff: CurrentStaff) -> list[dict[str, Any]]:
    templates = default_templates()
    return [
        {"event_type": t, "template": templates.template_for(t).code, "version": templates.template_for(t).version,
         "mandatory": templates.is_mandatory(t)}
        for t in templates.event_types()
    ]  # fmt: skip


class Preview(BaseModel):
    event_type: str
    channel: Literal["sms", "email"] = "sms"
    language: Literal["vi", "en"] = "vi"
    unaccented: bool = False


SAMPLE_CONTACT = ContactRecorded(
    applicant_kind="citizen", full_name="Nguyễn Văn An", phone="0901234567", email="an@example.org",
    notify_by="both", recorded_at=datetime(2026, 12, 2, 2, tzinfo=UTC),
)  # fmt: skip


@templates_router.post("/preview", summary="A template rendered with the catalogue's example of its event")
async def preview(body: Preview, staff: CurrentStaff) -> dict[str, Any]:
    templates = default_templates()
    if body.event_type not in templates.event_types():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no template tells the applicant about {body.event_type}")
    example = examples()[body.event_type]
    extras = {"survey_url": "https://example.org/public/surveys/preview"}
    rendered = templates.render(body.event_type, body.channel, body.language, example, SAMPLE_CONTACT,
                                dossier_code="H29.101.1-261202-0001", unaccented=body.unaccented,
                                extras=extras)  # fmt: skip
    return dict(rendered.__dict__)
