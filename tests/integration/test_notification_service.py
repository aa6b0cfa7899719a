"""Notification as a separate process over the real broker and database, with the SMS gateway simulator and the
SMTP sink as its outside world: every lifecycle event the applicant is told about becomes the right SMS and email
(content checked), once whatever the redeliveries; the magic numbers give the right statuses and fallbacks;
preferences, erasure, quiet hours and the SMS limit hold; a survey round trip publishes survey.answered; and a
delivery receipt is taken only with its gateway's signature."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pytest

from services.notification.simulators.sms_state import report_body
from services.notification.templates import default_templates
from shared.calendar.zone import ZONE
from shared.callback_signature import signed_headers
from shared.events.catalogue import spec_for
from shared.events.catalogue.contacts import ContactErased
from shared.events.envelope import Envelope
from shared.events.examples import examples
from shared.settings import KafkaSettings
from tests.support.driver import CONTACTS, NOTIFICATION, Dossier, driving
from tests.support.messaging import eventually
from tests.support.notification import NotificationDriver, NotificationStack, notification_stack
from tests.support.services import schemathesis_run

TOLD = default_templates().event_types()
DAYTIME = datetime(2026, 12, 2, 10, 0, tzinfo=ZONE)


@pytest.fixture(scope="module")
def stack(
    infrastructure_env: dict[str, str], server_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NotificationStack]:
    home = tmp_path_factory.mktemp("notification")
    with notification_stack(infrastructure_env, server_database_url, home, {"NOTIFICATION_SMS_PER_HOUR": "3"}) as s:
        yield s


@pytest.fixture
async def driver(stack: NotificationStack, kafka_settings: KafkaSettings) -> AsyncIterator[NotificationDriver]:
    async with driving(NotificationDriver, stack.base, stack.home, kafka_settings, NOTIFICATION) as driver:
        driver.gateway, driver.sink = stack.providers.gateway, stack.providers.sink
        driver.set_clock(DAYTIME)
        yield driver


def new_dossier() -> Dossier:
    return Dossier(str(uuid.uuid4()), f"H29.101.1-261202-{uuid.uuid4().int % 10**8:08d}", "H29.101.1")


async def tell(driver: NotificationDriver, dossier: Dossier, event_type: str, **changes: Any) -> Envelope:
    spec = spec_for(event_type)
    assert spec is not None
    return await driver.publish(dossier, examples()[event_type].model_copy(update=changes), spec.topic)


async def arrived(driver: NotificationDriver, dossier: Dossier, sms: int = 0, emails: int = 0) -> None:
    async def enough() -> bool:
        return len(await driver.sms_about(dossier)) >= sms and len(await driver.emails_about(dossier)) >= emails

    await eventually(enough, timeout_s=30, what=f"{sms} SMS and {emails} emails about {dossier.code}")


def statuses(driver: NotificationDriver, dossier: Dossier) -> list[tuple[str, str, Any]]:
    return [(e.type, (e.data or {})["channel"], (e.data or {}).get("failure_kind"))
            for e in driver.published[dossier.id] if e.type.startswith("notification.")]  # fmt: skip


@pytest.mark.parametrize("event_type", TOLD)
async def test_each_lifecycle_event_tells_the_applicant_by_sms_and_email(
    driver: NotificationDriver, event_type: str
) -> None:
    dossier = new_dossier()
    contact = await driver.contact(dossier, email=f"{uuid.uuid4().hex[:8]}@example.org", notify_by="both")
    event = examples()[event_type]
    await tell(driver, dossier, event_type)
    await arrived(driver, dossier, sms=1, emails=1)
    (sms,), (email,) = await driver.sms_about(dossier), await driver.emails_about(dossier)
    link = re.search(r"http\S+/public/surveys/\S+", sms["text"])
    extras = {"survey_url": link.group(0)} if link else {}
    templates = default_templates()
    expected_sms = templates.render(event_type, "sms", "vi", event, contact, dossier_code=dossier.code,
                                    unaccented=True, extras=extras)  # fmt: skip
    expected_email = templates.render(event_type, "email", "vi", event, contact, dossier_code=dossier.code,
                                      extras=extras)  # fmt: skip
    assert sms["text"] == expected_sms.text
    assert sms["text"].isascii(), "unaccented: one SMS segment is 160 characters, not 70"
    assert sms["to"].endswith(contact.phone[1:])
    assert email["recipients"] == [contact.email]
    assert email["headers"]["Subject"] == expected_email.subject
    parts = {part["content_type"]: part["content"] for part in email["parts"]}
    assert parts["text/plain"].strip() == expected_email.text.strip()
    assert "Trần Thị Bình" in parts["text/html"]
    assert re.fullmatch(r"<[0-9a-f-]{36}@lienthong\.local>", email["message_id"])
    await driver.events(dossier, "notification.sent", "notification.sent")


async def test_what_the_applicant_reads_for_the_key_moments(driver: NotificationDriver) -> None:
    dossier = new_dossier()
    await driver.contact(dossier, notify_by="sms")
    await tell(driver, dossier, "dossier.accepted", due_at=datetime(2026, 12, 3, 9, 0, tzinfo=ZONE))
    await tell(driver, dossier, "dossier.apology-issued", new_appointment_at=datetime(2026, 12, 9, 10, 0, tzinfo=ZONE),
               reason="Chờ xác minh địa điểm")  # fmt: skip
    await arrived(driver, dossier, sms=2)
    accepted, apology = sorted((m["text"] for m in await driver.sms_about(dossier)), key=lambda t: "xin loi" in t)
    assert "Hen tra ket qua: 09:00 ngay 03/12/2026" in accepted, accepted
    assert "Cho xac minh dia diem" in apology
    assert "10:00 ngay 09/12/2026" in apology, apology


async def test_a_redelivered_event_sends_no_second_message(driver: NotificationDriver) -> None:
    dossier = new_dossier()
    await driver.contact(dossier, email="twice@example.org", notify_by="both")
    sent = await tell(driver, dossier, "dossier.result-ready")
    await arrived(driver, dossier, sms=1, emails=1)
    await driver.redeliver(sent, spec_for("dossier.result-ready").topic)  # type: ignore[union-attr]
    await driver.redeliver(sent, spec_for("dossier.result-ready").topic)  # type: ignore[union-attr]
    await tell(driver, dossier, "dossier.result-returned")  # behind the repeats on the same partition
    await arrived(driver, dossier, sms=2, emails=2)
    await asyncio.sleep(1)
    assert len(await driver.sms_about(dossier)) == 2
    assert len(await driver.emails_about(dossier)) == 2
    assert max((await driver.sms())["counts"].values()) == 1


async def test_the_magic_numbers_give_the_right_statuses_and_fallbacks(driver: NotificationDriver) -> None:
    cases: dict[str, list[tuple[str, str, str | None]]] = {
        "0900000001": [("notification.failed", "sms", "permanent"), ("notification.sent", "email", None),
                       ("notification.delivered", "email", None)],
        "0900000002": [("notification.failed", "sms", "temporary")] * 3,
        "0900000003": [("notification.failed", "sms", "technical")] * 3,
        "0900000005": [("notification.sent", "sms", None), ("notification.failed", "sms", "permanent"),
                       ("notification.sent", "email", None), ("notification.delivered", "email", None)],
        "0900000006": [("notification.sent", "sms", None), ("notification.failed", "sms", "temporary")],
        "0912000000": [("notification.sent", "sms", None), ("notification.delivered", "sms", None)],
    }  # fmt: skip
    driver.run_clock_from(DAYTIME)  # the retries wait on the shared clock
    dossiers = {phone: new_dossier() for phone in cases}
    for phone, dossier in dossiers.items():
        await driver.contact(dossier, phone=phone, email=f"fallback-{phone}@example.org", notify_by="sms")
        await tell(driver, dossier, "dossier.refused")
    for phone, dossier in dossiers.items():
        expected = cases[phone]
        try:
            await eventually(partial(_outcomes, driver, dossier, len(expected)), what=f"outcome of {phone}")
        except AssertionError:
            raise AssertionError(f"{phone}: {statuses(driver, dossier)}") from None
        assert statuses(driver, dossier) == expected, phone
    retried = [(e.data or {})["will_retry"] for e in driver.published[dossiers["0900000002"].id]]
    assert retried == [True, True, False], "two retries, then the temporary failure is final"


async def _outcomes(driver: NotificationDriver, dossier: Dossier, count: int) -> bool:
    return len(statuses(driver, dossier)) >= count


async def test_optional_messages_respect_the_opt_out_and_the_quiet_hours(driver: NotificationDriver) -> None:
    declined, night = new_dossier(), new_dossier()
    await driver.contact(declined, phone="0912000001", optional_messages=False)
    await tell(driver, declined, "step.transferred")
    await tell(driver, declined, "dossier.accepted")
    await arrived(driver, declined, sms=1)
    await asyncio.sleep(1)
    assert [(e.data or {})["template"] for e in driver.published[declined.id]
                                    if e.type == "notification.sent"] == ["dossier-accepted"]  # fmt: skip

    driver.set_clock(datetime(2026, 12, 2, 22, 30, tzinfo=ZONE))
    await driver.contact(night, phone="0912000002")
    await tell(driver, night, "step.transferred")  # optional: waits for the morning
    await tell(driver, night, "dossier.result-ready")  # mandatory: goes at once
    await arrived(driver, night, sms=1)
    await asyncio.sleep(1.5)
    assert len(await driver.sms_about(night)) == 1
    driver.set_clock(datetime(2026, 12, 3, 7, 0, tzinfo=ZONE))
    await arrived(driver, night, sms=2)


async def test_at_most_three_sms_an_hour_to_one_number_the_rest_wait(driver: NotificationDriver) -> None:
    phone, dossiers = "0912000003", [new_dossier() for _ in range(5)]
    for dossier in dossiers:
        await driver.contact(dossier, phone=phone)
        await tell(driver, dossier, "dossier.accepted")

    async def to_the_number() -> int:
        return sum(m["to"].endswith(phone[1:]) for m in (await driver.sms())["messages"])

    await eventually(partial(_at_least, to_the_number, 3), what="the first three SMS")
    await asyncio.sleep(1.5)
    assert await to_the_number() == 3
    driver.set_clock(datetime(2026, 12, 2, 11, 5, tzinfo=ZONE))
    await eventually(partial(_at_least, to_the_number, 5), what="the two held back, an hour later")


async def _at_least(count: Any, n: int) -> bool:
    return bool(await count() >= n)


async def test_an_erased_contact_is_told_nothing_more(driver: NotificationDriver) -> None:
    dossier = new_dossier()
    await driver.contact(dossier, phone="0912000004")
    await driver.publish(dossier, ContactErased(), CONTACTS)
    await tell(driver, dossier, "dossier.accepted")
    marker = new_dossier()  # a later dossier on another partition proves the consumer went past the first
    await driver.contact(marker, phone="0912000005")
    await tell(driver, marker, "dossier.accepted")
    await arrived(driver, marker, sms=1)
    await asyncio.sleep(1)
    assert await driver.sms_about(dossier) == []


async def test_the_survey_is_answered_once_and_published(driver: NotificationDriver, stack: NotificationStack) -> None:
    dossier = new_dossier()
    await driver.contact(dossier, phone="0912000006")
    await tell(driver, dossier, "dossier.result-returned")
    await arrived(driver, dossier, sms=1)
    (sms,) = await driver.sms_about(dossier)
    link = re.search(r"http\S+/public/surveys/(\S+)", sms["text"])
    assert link is not None, sms["text"]
    token = link.group(1)
    async with httpx.AsyncClient(base_url=stack.base) as http:
        opened = (await http.get(f"/public/surveys/{token}")).json()
        assert (opened["dossier_code"], opened["answered"]) == (dossier.code, False)
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        assert (await http.get(f"/public/surveys/{forged}")).status_code == 404
        answer = {"rating": 1, "criteria": [{"criterion": "time", "rating": 1}], "comment": "Chờ lâu quá"}
        assert (await http.post(f"/public/surveys/{token}", json=answer)).status_code == 201
        assert (await http.post(f"/public/surveys/{token}", json=answer)).status_code == 409
    answered = (await driver.events(dossier, "survey.answered"))[-1].data or {}
    assert (answered["rating"], answered["dissatisfied"], answered["levels"]) == (1, True, 3)
    assert "comment" not in answered, "free text stays in notification: it may hold personal data"


async def test_staff_preview_a_template_with_the_catalogue_example(driver: NotificationDriver) -> None:
    staff = driver.token("H29.101.1", "reception")
    listed = (await driver.http.get("/templates", headers=staff)).json()
    assert {t["event_type"] for t in listed} == set(TOLD)
    assert {t["event_type"] for t in listed if t["mandatory"]} >= {
        "dossier.accepted", "dossier.refused", "dossier.supplement-requested", "dossier.apology-issued",
        "dossier.result-ready",
    }, "never optional (domain.md)"  # fmt: skip
    body = {"event_type": "dossier.refused", "channel": "sms", "language": "vi", "unaccented": True}
    preview = (await driver.http.post("/templates/preview", json=body, headers=staff)).json()
    assert preview["text"].isascii()
    assert "H29.101.1-261202-0001" in preview["text"]
    assert (await driver.http.post("/templates/preview", json=body)).status_code == 401
    missing = {**body, "event_type": "dossier.near-due"}
    assert (await driver.http.post("/templates/preview", json=missing, headers=staff)).status_code == 404


async def test_a_receipt_is_taken_only_with_its_gateway_s_signature(
    driver: NotificationDriver, stack: NotificationStack
) -> None:
    dossier = new_dossier()
    await driver.contact(dossier, notify_by="sms")
    await tell(driver, dossier, "dossier.accepted")
    await driver.events(dossier, "notification.sent", "notification.delivered")  # by the gateway's signed receipt
    [message] = await driver.sms_about(dossier)
    protocol, secrets = message["protocol"], stack.providers.receipt_secrets
    [other] = [secret for of, secret in secrets.items() if of != protocol]
    secret = secrets[protocol]

    def receipt(notification_id: str) -> bytes:
        report = report_body(protocol, notification_id, message["provider_reference"], "delivered", datetime.now(UTC))
        return json.dumps(report).encode()

    async def post(body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await driver.http.post(f"/receipts/{protocol}", content=body, headers=headers)

    body = receipt(message["idempotency_key"])
    forged = {
        "unsigned": {},
        "signed with the other gateway's secret": signed_headers(other, body),
        "signed an hour ago": signed_headers(secret, body, now=time.time() - 3600),
    }
    for why, headers in forged.items():
        refused = await post(body, headers)
        assert (refused.status_code, "takes a signature" in refused.json()["detail"]) == (401, True), why
    # The signature is checked before anything is looked up: unsigned, even an unknown notification is a 401.
    unknown = receipt(str(uuid.uuid4()))
    assert (await post(unknown, {})).status_code == 401
    assert (await post(unknown, signed_headers(secret, unknown))).status_code == 404
    recorded = await post(body, signed_headers(secret, body))
    assert (recorded.status_code, recorded.json()) == (200, {"status": "recorded"})


async def test_schemathesis_finds_no_server_error(driver: NotificationDriver) -> None:
    done = await schemathesis_run(str(driver.http.base_url), driver.token("H29.101.1", "reception")["Authorization"])
    assert done.returncode == 0, done.stdout[-4000:]
    assert "passed" in done.stdout
