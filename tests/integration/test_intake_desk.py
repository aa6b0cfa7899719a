"""The reception desk API of intake, as a separate process over the real broker and database: HTTP answers and
the events on the topics, for registration, acceptance, refusal and Mẫu 02, bad input, idempotency and codes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.events.catalogue.common import Actor, AgencyRef, StaffRole
from shared.events.catalogue.postal import ShipmentHandedToAgency
from shared.events.envelope import Envelope
from shared.events.examples import examples
from shared.identity.keys import ensure_signing_key
from shared.identity.staff import Staff
from shared.identity.tokens import issue_token
from shared.settings import KafkaSettings
from tests.support.messaging import envelope, eventually, send
from tests.support.services import schemathesis_run, service_under_test

DESK = "H29.101.1"  # the public administration centre of Sài Gòn ward (deploy/rules/agencies.yaml)
OTHER_DESK = "H29.102.1"
# Wednesday 2 December 2026, 09:00 in Vietnam: birth registration (1 working day) falls due Thursday 09:00.
NOW = "2026-12-02T02:00:00+00:00"
APPLICANT: dict[str, Any] = {"full_name": "Nguyễn Văn An", "personal_id": "079203001234", "phone": "0901234567"}
BIRTH: dict[str, Any] = {
    "procedure_code": "1.001193",
    "applicant": APPLICANT,
    "documents": [
        {"code": "declaration", "content_hash": "a" * 64},
        {"code": "birth_certificate_medical", "content_hash": "b" * 64},
    ],
}


@dataclass
class Desk:
    http: httpx.AsyncClient
    tokens: dict[str, str]
    kafka: KafkaSettings

    def auth(self, who: str = "reception") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def register(self, body: dict[str, Any] | None = None, key: str | None = None) -> httpx.Response:
        headers = {**self.auth(), **({"Idempotency-Key": key} if key else {})}
        return await self.http.post("/desk/dossiers", json=body or BIRTH, headers=headers)


@pytest.fixture(scope="module")
def intake_process(
    infrastructure_env: dict[str, str], server_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    home = tmp_path_factory.mktemp("intake")
    key, _ = ensure_signing_key(home / "identity")
    tokens = {
        name: issue_token(key, Staff(f"{name}@{agency}", agency, role), lifetime=timedelta(hours=2))  # type: ignore[arg-type]
        for name, agency, role in [
            ("reception", DESK, "reception"),
            ("other_desk", OTHER_DESK, "reception"),
            ("processing", DESK, "processing"),
            ("admin", DESK, "admin"),
        ]
    }
    limit = {"INTAKE_PUBLIC_REQUESTS_PER_MINUTE": "20"}
    clock = {"frozen_at": NOW}
    with service_under_test("intake", infrastructure_env, server_database_url, home, clock, limit) as base:
        yield base, tokens


@pytest.fixture
async def desk(intake_process: tuple[str, dict[str, str]], kafka_settings: KafkaSettings) -> AsyncIterator[Desk]:
    base, tokens = intake_process
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:

        async def rules_loaded() -> bool:
            return bool((await http.get("/rules")).json()["loaded"])

        await eventually(rules_loaded, what="intake loaded the rules")
        yield Desk(http, tokens, kafka_settings)


async def events_of(kafka: KafkaSettings, topic: str, dossier_id: str, count: int) -> list[Envelope]:
    consumer = AIOKafkaConsumer(topic, **kafka.client_options(), auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    found: list[Envelope] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    found += [
                        Envelope.from_record(r.key, r.value, r.headers) for r in records if r.key == dossier_id.encode()
                    ]
    finally:
        await consumer.stop()
    return found


async def test_a_dossier_registered_and_accepted_at_the_desk(desk: Desk) -> None:
    registered = await desk.register()
    assert registered.status_code == 201, registered.text
    dossier = registered.json()
    assert dossier["code"].startswith(f"{DESK}-261202-")
    assert dossier["state"] == "received"
    assert len(dossier["tracking_secret"]) == 8

    accepted = await desk.http.post(f"/desk/dossiers/{dossier['id']}/accept", headers=desk.auth())
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    assert accepted.json()["appointment"] == "2026-12-03 09:00"

    (event,) = await events_of(desk.kafka, "lienthong.intake.v1", dossier["id"], 1)
    assert event.type == "dossier.accepted"
    assert event.subject == dossier["code"]
    assert event.dossierseq == 1
    assert event.data is not None
    assert event.data["status_to"] == 2
    assert event.data["due_at"] == "2026-12-03T02:00:00Z"
    assert event.data["actor"] == {"staff_id": f"reception@{DESK}", "agency_code": DESK, "role": "reception"}
    assert "Nguyễn" not in json.dumps(event.data, ensure_ascii=False)
    assert "0901234567" not in json.dumps(event.data)

    (contact,) = await events_of(desk.kafka, "lienthong.intake.contacts.v1", dossier["id"], 1)
    assert contact.type == "contact.recorded"
    assert contact.data is not None
    assert contact.data["full_name"] == "Nguyễn Văn An"
    assert "079203001234" not in json.dumps(contact.data), "the personal ID number never leaves intake"


async def test_a_refused_dossier_cannot_be_accepted_afterwards(desk: Desk) -> None:
    dossier = (await desk.register()).json()
    refused = await desk.http.post(
        f"/desk/dossiers/{dossier['id']}/refuse", json={"reason": "Không thuộc thẩm quyền"}, headers=desk.auth()
    )
    assert refused.status_code == 200
    assert refused.json()["state"] == "refused"
    again = await desk.http.post(f"/desk/dossiers/{dossier['id']}/accept", headers=desk.auth())
    assert again.status_code == 409
    assert "already refused" in again.json()["detail"]
    (event,) = await events_of(desk.kafka, "lienthong.intake.v1", dossier["id"], 1)
    assert event.type == "dossier.refused"


async def test_a_reception_supplement_request_is_issued_once_then_the_dossier_is_accepted(desk: Desk) -> None:
    dossier = (await desk.register()).json()
    body = {"items": [{"document_code": "declaration", "problem": "incomplete", "instruction": "Ký tên người khai"}]}
    issued = await desk.http.post(
        f"/desk/dossiers/{dossier['id']}/reception-supplement", json=body, headers=desk.auth()
    )
    assert issued.status_code == 200, issued.text
    assert issued.json()["state"] == "received"
    second = await desk.http.post(
        f"/desk/dossiers/{dossier['id']}/reception-supplement", json=body, headers=desk.auth()
    )
    assert second.status_code == 409
    assert (await desk.http.post(f"/desk/dossiers/{dossier['id']}/accept", headers=desk.auth())).status_code == 200
    events = await events_of(desk.kafka, "lienthong.intake.v1", dossier["id"], 2)
    assert [e.type for e in events] == ["dossier.reception-supplement-requested", "dossier.accepted"]
    assert [e.dossierseq for e in events] == [1, 2]


@pytest.mark.parametrize(
    ("change", "status", "named"),
    [
        ({"procedure_code": "9.999999"}, 422, "9.999999"),
        ({"documents": [{"code": "declaration"}]}, 422, "birth_certificate_medical"),
        ({"applicant": {**APPLICANT, "phone": "12345"}}, 422, "phone"),
        ({"applicant": {**APPLICANT, "personal_id": "0792"}}, 422, "personal_id"),
        ({"return_channel": "pigeon"}, 422, "return_channel"),
    ],
)
async def test_bad_input_is_a_4xx_naming_the_problem(
    desk: Desk, change: dict[str, Any], status: int, named: str
) -> None:
    answer = await desk.register({**BIRTH, **change})
    assert answer.status_code == status
    assert named in answer.text


async def test_staff_act_only_in_their_role_and_on_their_desk(desk: Desk) -> None:
    assert (await desk.http.post("/desk/dossiers", json=BIRTH)).status_code == 401
    assert (await desk.http.post("/desk/dossiers", json=BIRTH, headers=desk.auth("processing"))).status_code == 403
    dossier = (await desk.register()).json()
    foreign = await desk.http.post(f"/desk/dossiers/{dossier['id']}/accept", headers=desk.auth("other_desk"))
    assert foreign.status_code == 403


async def test_a_retried_create_makes_one_dossier(desk: Desk) -> None:
    key = os.urandom(8).hex()
    first = await desk.register(key=key)
    retried = await desk.register(key=key)
    assert (first.status_code, retried.status_code) == (201, 200)
    assert retried.json()["id"] == first.json()["id"]
    replaced, secret = first.json()["tracking_secret"], retried.json()["tracking_secret"]
    assert secret != replaced
    code = first.json()["code"]
    assert (await desk.http.get(f"/public/tracking/{code}", params={"secret": secret})).status_code == 200
    assert (await desk.http.get(f"/public/tracking/{code}", params={"secret": replaced})).status_code == 404
    other_body = {**BIRTH, "return_channel": "electronic"}
    conflict = await desk.register(other_body, key=key)
    assert conflict.status_code == 409


async def test_100_concurrent_registrations_get_100_consecutive_codes(desk: Desk) -> None:
    answers = await asyncio.gather(*(desk.register() for _ in range(100)))
    assert {a.status_code for a in answers} == {201}
    numbers = sorted(int(a.json()["code"].rsplit("-", 1)[1]) for a in answers)
    assert numbers == list(range(numbers[0], numbers[0] + 100))


async def test_facts_after_acceptance_are_published_for_routing(desk: Desk) -> None:
    dossier = (await desk.register()).json()
    early = await desk.http.post(
        f"/desk/dossiers/{dossier['id']}/facts/withdrawal-requested", json={"reason": "đổi ý"}, headers=desk.auth()
    )
    assert early.status_code == 409
    assert "facts follow acceptance" in early.text
    assert (await desk.http.post(f"/desk/dossiers/{dossier['id']}/accept", headers=desk.auth())).status_code == 200
    request_id = "0b9f4c8e-6a51-4d2f-9a43-5b1c2d3e4f50"
    declaration = [{"code": "declaration", "title": "Tờ khai"}]
    certificate = [{"code": "birth_certificate", "title": "Giấy khai sinh"}]
    paid = {"request_event_id": request_id, "amount_vnd": 75000, "receipt_number": "BL-1", "method": "cash"}
    facts = [
        ("supplement-received", {"request_event_id": request_id, "documents": declaration}),
        ("obligation-paid", paid),
        ("withdrawal-requested", {"reason": "đổi ý"}),
        ("result-handed-over", {"documents": certificate, "received_by": "applicant"}),
    ]
    for name, body in facts:
        answer = await desk.http.post(f"/desk/dossiers/{dossier['id']}/facts/{name}", json=body, headers=desk.auth())
        assert answer.status_code == 200, answer.text
        assert answer.json()["recorded"] == f"dossier.{name}"
    events = await events_of(desk.kafka, "lienthong.intake.v1", dossier["id"], 5)
    assert [e.type for e in events] == ["dossier.accepted", *(f"dossier.{name}" for name, _ in facts)]
    assert [e.dossierseq for e in events] == [1, 2, 3, 4, 5]


async def test_erasing_a_contact_publishes_its_tombstone(desk: Desk) -> None:
    dossier = (await desk.register()).json()
    path = f"/desk/dossiers/{dossier['id']}/erase-contact"
    assert (await desk.http.post(path, headers=desk.auth())).status_code == 403
    assert (await desk.http.post(path, headers=desk.auth("admin"))).status_code == 204
    recorded, erased = await events_of(desk.kafka, "lienthong.intake.contacts.v1", dossier["id"], 2)
    assert recorded.type == "contact.recorded"
    assert erased.type == "contact.erased"
    assert erased.is_tombstone


async def test_an_online_submission_is_tracked_with_its_secret_through_acceptance(desk: Desk) -> None:
    submitted = await desk.http.post("/public/dossiers", json={**BIRTH, "desk_code": DESK})
    assert submitted.status_code == 201, submitted.text
    code, secret = submitted.json()["code"], submitted.json()["tracking_secret"]
    assert submitted.json()["state"] == "submitted"

    tracked = await desk.http.get(f"/public/tracking/{code}", params={"secret": secret})
    assert tracked.status_code == 200
    assert tracked.json()["status"] == 1
    assert [step["event"] for step in tracked.json()["timeline"]] == ["dossier.submitted"]

    wrong = await desk.http.get(f"/public/tracking/{code}", params={"secret": "ZZZZZZZZ"})
    unknown = await desk.http.get(f"/public/tracking/{DESK}-261202-9999", params={"secret": secret})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()


async def test_the_desk_accepts_an_online_dossier_from_status_1(desk: Desk) -> None:
    submitted = (await desk.http.post("/public/dossiers", json={**BIRTH, "desk_code": DESK})).json()
    code, secret = submitted["code"], submitted["tracking_secret"]
    # The desk finds the dossier by the code the applicant gives.
    found = await desk.http.get(f"/desk/dossiers/by-code/{code}", headers=desk.auth())
    assert found.json()["state"] == "submitted"
    dossier_id = found.json()["id"]
    assert (await desk.http.get(f"/desk/dossiers/by-code/{code}", headers=desk.auth("other_desk"))).status_code == 403
    (submission,) = await events_of(desk.kafka, "lienthong.intake.v1", dossier_id, 1)
    assert submission.type == "dossier.submitted"
    assert submission.data is not None
    assert submission.data["status_to"] == 1
    accepted = await desk.http.post(f"/desk/dossiers/{dossier_id}/accept", headers=desk.auth())
    assert accepted.status_code == 200, accepted.text
    tracked = (await desk.http.get(f"/public/tracking/{code}", params={"secret": secret})).json()
    assert tracked["status"] == 2
    assert tracked["appointment"] == "2026-12-03 09:00"
    assert [step["event"] for step in tracked["timeline"]] == ["dossier.submitted", "dossier.accepted"]
    (_, acceptance) = await events_of(desk.kafka, "lienthong.intake.v1", dossier_id, 2)
    assert acceptance.data is not None
    assert acceptance.data["status_from"] == 1


async def test_the_slip_prints_a_new_tracking_secret_and_its_qr_opens_the_tracking_page(desk: Desk) -> None:
    body = {**BIRTH, "applicant": {**APPLICANT, "full_name": "Lê <b>Thị</b> Hoa"}}
    dossier = (await desk.register(body)).json()
    early = await desk.http.post(f"/desk/dossiers/{dossier['id']}/slip", headers=desk.auth())
    assert early.status_code == 409
    await desk.http.post(f"/desk/dossiers/{dossier['id']}/accept", headers=desk.auth())
    slip = await desk.http.post(f"/desk/dossiers/{dossier['id']}/slip", headers=desk.auth())
    assert slip.status_code == 200
    assert slip.headers["content-type"].startswith("text/html")
    html = slip.text
    assert "Mẫu số 01" in html
    assert dossier["code"] in html
    assert "2026-12-03 09:00" in html
    assert "<svg" in html
    assert "Lê &lt;b&gt;Thị&lt;/b&gt; Hoa" in html, "every value is escaped"
    secret = re.search(r"Mã tra cứu: <span class=\"code\">([0-9A-Z]{8})</span>", html)
    assert secret is not None
    page = await desk.http.get(f"/public/tracking/{dossier['code']}/page", params={"secret": secret.group(1)})
    assert page.status_code == 200
    assert "Được tiếp nhận" in page.text
    stale = await desk.http.get(f"/public/tracking/{dossier['code']}", params={"secret": dossier["tracking_secret"]})
    assert stale.status_code == 404, "the slip printed last carries the valid secret"


async def test_the_supplement_request_and_the_refusal_print_what_the_desk_wrote(desk: Desk) -> None:
    dossier = (await desk.register()).json()
    items = {"items": [{"document_code": "declaration", "problem": "missing", "instruction": "Nộp tờ khai bản chính"}]}
    await desk.http.post(f"/desk/dossiers/{dossier['id']}/reception-supplement", json=items, headers=desk.auth())
    form02 = await desk.http.get(f"/desk/dossiers/{dossier['id']}/supplement-request", headers=desk.auth())
    assert form02.status_code == 200
    assert "Mẫu số 02" in form02.text
    assert "Nộp tờ khai bản chính" in form02.text
    reason = {"reason": "Hồ sơ không thuộc thẩm quyền của phường", "legal_basis": "Điều 19 Nghị định 118/2025/NĐ-CP"}
    await desk.http.post(f"/desk/dossiers/{dossier['id']}/refuse", json=reason, headers=desk.auth())
    form03 = await desk.http.get(f"/desk/dossiers/{dossier['id']}/refusal", headers=desk.auth())
    assert "Mẫu số 03" in form03.text
    assert "Hồ sơ không thuộc thẩm quyền của phường" in form03.text
    assert "Điều 19 Nghị định 118/2025/NĐ-CP" in form03.text


async def test_a_postal_dossier_is_accepted_once_the_post_hands_it_to_the_desk(desk: Desk) -> None:
    address = {"street": "12 Lê Lợi", "ward_code": "26734", "province_code": "79", "ward": "Sài Gòn",
               "province": "Thành phố Hồ Chí Minh"}  # fmt: skip
    body = {**BIRTH, "desk_code": DESK, "applicant": {**APPLICANT, "address": address}}
    requested = await desk.http.post("/public/pickups", json=body)
    assert requested.status_code == 201, requested.text
    code = requested.json()["code"]
    dossier_id = (await desk.http.get(f"/desk/dossiers/by-code/{code}", headers=desk.auth())).json()["id"]
    too_early = await desk.http.post(f"/desk/dossiers/{dossier_id}/accept", headers=desk.auth())
    assert too_early.status_code == 409
    assert "has not handed" in too_early.text

    # What postal publishes when the desk signs the handover record: 09:30 in Vietnam.
    handed_over = ShipmentHandedToAgency(
        shipment_id=uuid.uuid4(), direction="pickup", carrier="vnpost", carrier_order_number=f"{code}-NH",
        carrier_status_code=None, agency=AgencyRef(code=DESK, title="Trung tâm Phục vụ hành chính công phường Sài Gòn"),
        handover_record_number="BB-2026-0042", seal_number="VN-SEAL-1", seal_intact=True,
        handed_over_at=datetime(2026, 12, 2, 2, 30, tzinfo=UTC),
        actor=Actor(staff_id=f"reception@{DESK}", agency_code=DESK, role=StaffRole.RECEPTION),
    )  # fmt: skip
    event = envelope("shipment.handed-to-agency", dossier_id, 1, handed_over.model_dump(mode="json"))
    producer = AIOKafkaProducer(**desk.kafka.client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await send(producer, "lienthong.postal.v1", event)
    finally:
        await producer.stop()

    async def accepted() -> bool:
        answer = await desk.http.post(f"/desk/dossiers/{dossier_id}/accept", headers=desk.auth())
        return answer.status_code == 200

    await eventually(accepted, what="the handover applied by intake's consumer, then the dossier accepted")
    pickup, acceptance = await events_of(desk.kafka, "lienthong.intake.v1", dossier_id, 2)
    assert pickup.type == "dossier.pickup-requested"
    assert acceptance.data is not None
    assert acceptance.data["received_at"] == "2026-12-02T02:30:00Z"
    assert acceptance.data["due_at"] == "2026-12-03T02:30:00Z"

    # Routing then starts processing (status 4): the applicant's tracking shows it, with the post's handover.
    started = examples()["dossier.processing-started"]
    producer = AIOKafkaProducer(**desk.kafka.client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        processing = envelope("dossier.processing-started", dossier_id, 1, started.model_dump(mode="json"))
        await send(producer, "lienthong.routing.v1", processing)
    finally:
        await producer.stop()
    secret = requested.json()["tracking_secret"]
    slip_secret = await _slip_secret(desk, dossier_id)

    async def processing_shown() -> bool:
        tracked = (await desk.http.get(f"/public/tracking/{code}", params={"secret": slip_secret})).json()
        return bool(tracked.get("status") == 4)

    await eventually(processing_shown, what="routing's status on the tracking view")
    tracked = (await desk.http.get(f"/public/tracking/{code}", params={"secret": slip_secret})).json()
    events = [step["event"] for step in tracked["timeline"]]
    assert {"dossier.pickup-requested", "shipment.handed-to-agency", "dossier.accepted",
            "dossier.processing-started"} <= set(events)  # fmt: skip
    assert secret != slip_secret


async def _slip_secret(desk: Desk, dossier_id: str) -> str:
    slip = await desk.http.post(f"/desk/dossiers/{dossier_id}/slip", headers=desk.auth())
    found = re.search(r"Mã tra cứu: <span class=\"code\">([0-9A-Z]{8})</span>", slip.text)
    assert found is not None
    return found.group(1)


async def test_schemathesis_finds_no_server_error(desk: Desk) -> None:
    """Generated requests against every operation of intake's OpenAPI, with a reception token: none is a 5xx."""
    done = await schemathesis_run(str(desk.http.base_url), f"Bearer {desk.tokens['reception']}")
    assert done.returncode == 0, done.stdout[-4000:]
    assert "passed" in done.stdout


async def test_zz_the_anonymous_api_is_rate_limited(desk: Desk) -> None:
    # Last in the module: it uses up the minute's allowance (20 here). 45 requests exceed it in some window
    # even if a minute boundary falls in the middle.
    answers = await asyncio.gather(
        *(desk.http.get(f"/public/tracking/{DESK}-261202-0001", params={"secret": "X"}) for _ in range(45))
    )
    codes = [a.status_code for a in answers]
    assert 429 in codes
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.headers["Retry-After"] == "60"
