"""End to end on the whole stack, the seeded procedures beyond the one-step ward case:
- the interconnected child-under-6 package, one dossier across three agencies: the ward's justice officers register
  the birth, then the ward police and social insurance work in parallel, and the result is ready only when both
  branches are done (the join); it goes back electronically, so it is returned at once (status 10);
- a first land-use certificate through the ward, the land registration office and the tax office, whose financial
  obligation pauses the dossier (status 6) until the desk records the payment; processing resumes to the result,
  handed over at the desk;
- an online submission (status 1) that the desk accepts, processed to its result and handed over.
Each checks the HTTP answers, the dossier's events on every topic, what the applicant received at the SMS gateway
and the SMTP sink (and that notification's topic says the same), and public tracking."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import httpx

from tests.support.flows import (
    CALENDAR,
    COMMITTEE,
    DESK,
    JUSTICE,
    LAND_OFFICE,
    OFFICE,
    POLICE,
    SOCIAL_INSURANCE,
    TAX,
    Dossier,
    EndToEnd,
    assert_notified,
    assert_streams,
    has,
    lifecycle,
    sent,
)
from tests.support.stack import StackCommand
from tests.support.topics import CONTACTS, INTAKE, ROUTING

PACKAGE_APPLICANT = {"full_name": "Trần Thị Bích", "phone": "0971234561", "email": "bich.tran@example.org",
                     "notify_by": "both", "optional_messages": False}  # fmt: skip
LAND_APPLICANT = {"full_name": "Lâm Văn Phúc", "phone": "0971234562", "email": "phuc.lam@example.org",
                  "notify_by": "both"}  # fmt: skip
ONLINE_APPLICANT = {"full_name": "Ngô Thị Thu", "phone": "0971234563", "email": "thu.ngo@example.org",
                    "notify_by": "both"}  # fmt: skip


def result(code: str, title: str) -> dict[str, Any]:
    return {"decision": "granted", "documents": [{"code": code, "title": title}]}


async def test_the_child_package_joins_its_parallel_branches_across_three_agencies(stack: StackCommand) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        e2e = EndToEnd(stack, http)
        documents = [{"code": "interconnected_form"}, {"code": "birth_certificate_medical"}]
        dossier = await e2e.register({"procedure_code": "LT-KS-TT-BHYT", "applicant": PACKAGE_APPLICANT,
                                      "documents": documents, "return_channel": "electronic"})  # fmt: skip
        await e2e.accept(dossier)
        started = await e2e.in_processing(dossier)
        assert [(s["step_id"], s["agency"]) for s in started["steps"]] == [("birth_registration", JUSTICE)]

        registered = await e2e.act(dossier, "steps/birth_registration/complete", JUSTICE, {"note": "Đã đăng ký"})
        assert registered.status_code == 200, registered.text
        branches = {s["step_id"]: s for s in registered.json()["steps"] if s["completed_at"] is None}
        assert {step: s["agency"] for step, s in branches.items()} == {
            "permanent_residence": POLICE, "health_insurance_card": SOCIAL_INSURANCE}  # fmt: skip
        assert branches["permanent_residence"]["started_at"] == branches["health_insurance_card"]["started_at"]
        assert dossier.code in await e2e.queue(POLICE)
        assert dossier.code in await e2e.queue(SOCIAL_INSURANCE)

        residence = await e2e.act(dossier, "steps/permanent_residence/complete", POLICE,
                                  {"note": "Đã đăng ký thường trú"})  # fmt: skip
        assert residence.status_code == 200, residence.text
        assert residence.json()["status"] == 4, "the join waits for the health insurance branch"
        card = await e2e.act(dossier, "steps/health_insurance_card/complete", SOCIAL_INSURANCE,
                             {"note": "Đã cấp thẻ", "result": result("health_insurance_card", "Thẻ BHYT")})  # fmt: skip
        assert card.status_code == 200, card.text
        assert card.json()["status"] == 10, "an electronic result is returned as soon as it is ready"

        tracked = await e2e.tracked(dossier, 10)
        # The applicant declined the optional messages (the handovers, the survey): the two they cannot decline.
        told = await e2e.told(dossier, PACKAGE_APPLICANT, sms=2, emails=2)
        streams = await e2e.published(dossier, lambda s: has(s, ROUTING, "dossier.result-returned") and sent(s) >= 4)

    routing = ["dossier.processing-started", "step.transferred", "step.completed", "step.transferred",
               "step.transferred", "step.completed", "step.completed", "dossier.result-ready",
               "dossier.result-returned"]  # fmt: skip
    assert_streams(streams, {INTAKE: ["dossier.accepted"], CONTACTS: ["contact.recorded"], ROUTING: routing})
    transfers = [e.data or {} for e in streams[ROUTING].events if e.type == "step.transferred"]
    assert (transfers[0]["from_step_id"], transfers[0]["step_id"]) == ("reception", "birth_registration")
    # The two branches start together, from the first step, in one handover each.
    assert {(t["from_step_id"], t["step_id"]) for t in transfers[1:]} == {
        ("birth_registration", "permanent_residence"), ("birth_registration", "health_insurance_card")}  # fmt: skip
    assert transfers[1]["transferred_at"] == transfers[2]["transferred_at"]
    returned = next(e.data or {} for e in streams[ROUTING].events if e.type == "dossier.result-returned")
    assert returned["how"] == "electronic"
    assert told.sms == told.email == Counter(["dossier.accepted", "dossier.result-ready"])
    assert_notified(streams, told)
    assert lifecycle(tracked) == ["dossier.accepted", *routing]


async def test_a_land_certificate_waits_for_its_financial_obligation_paid_at_the_desk(stack: StackCommand) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        e2e = EndToEnd(stack, http)
        documents = [{"code": "registration_form"}, {"code": "land_right_papers"}]
        dossier = await e2e.register({"procedure_code": "1.013978", "applicant": LAND_APPLICANT,
                                      "documents": documents})  # fmt: skip
        await e2e.accept(dossier)
        await e2e.in_processing(dossier)
        # The applicant leaves the desk told of the acceptance and the handover to the ward: two of the five SMS
        # the limit lets through (see below).
        first = await e2e.told(dossier, LAND_APPLICANT, sms=2, emails=2)
        assert first.sms == Counter(["dossier.accepted", "step.transferred"])
        for step, agency in [("ward_review", COMMITTEE), ("cadastral_check", LAND_OFFICE)]:
            done = await e2e.act(dossier, f"steps/{step}/complete", agency, {"note": "Đạt"})
            assert done.status_code == 200, done.text

        notice = {"notice_number": "TB-2026/1207", "items": [
            {"kind": "land_use_levy", "title": "Tiền sử dụng đất", "amount_vnd": 12_000_000},
            {"kind": "fee", "title": "Lệ phí trước bạ", "amount_vnd": 600_000}]}  # fmt: skip
        requested = await e2e.act(dossier, "steps/financial_obligation/obligation-request", TAX, notice)
        assert requested.status_code == 200, requested.text
        waiting = requested.json()
        assert waiting["status"] == 6
        assert waiting["open_request"]["amount_vnd"] == 12_600_000
        finished_too_soon = await e2e.act(dossier, "steps/financial_obligation/complete", TAX, {"note": "x"})
        assert finished_too_soon.status_code == 409, "nothing moves while the applicant has not paid"
        await e2e.tracked(dossier, 6)

        payment = {"request_event_id": waiting["open_request"]["request_event_id"], "amount_vnd": 12_600_000,
                   "receipt_number": "BL-0042117", "method": "bank_transfer"}  # fmt: skip
        paid = await e2e.desk(dossier, "facts/obligation-paid", payment)
        assert paid.status_code == 200, paid.text
        assert paid.json()["recorded"] == "dossier.obligation-paid"
        resumed = await e2e.in_processing(dossier, 4)
        assert resumed["open_request"] is None
        for step, agency in [("financial_obligation", TAX), ("certificate", LAND_OFFICE), ("sign", COMMITTEE)]:
            done = await e2e.act(dossier, f"steps/{step}/complete", agency, {"note": "Xong"})
            assert done.status_code == 200, done.text
        certificate = result("land_use_certificate", "Giấy chứng nhận quyền sử dụng đất")
        ready = await e2e.act(dossier, "steps/return_to_desk/complete", DESK,
                              {"note": "Chuyển Trung tâm", "result": certificate}, role="reception")  # fmt: skip
        assert ready.status_code == 200, ready.text
        assert (ready.json()["status"], ready.json()["timeliness"]) == (9, "early")
        tracked = await e2e.hand_over(dossier, certificate["documents"])
        told = await e2e.told(dossier, LAND_APPLICANT, sms=5, emails=11)
        streams = await e2e.published(dossier, lambda s: has(s, ROUTING, "dossier.result-returned") and sent(s) >= 16)

    handover = ["step.completed", "step.transferred"]
    routing = ["dossier.processing-started", "step.transferred", *handover, *handover,
               "dossier.obligation-requested", "dossier.obligation-settled", *handover, *handover, *handover,
               "step.completed", "dossier.result-ready", "dossier.result-returned"]  # fmt: skip
    intake = ["dossier.accepted", "dossier.obligation-paid", "dossier.result-handed-over"]
    assert_streams(streams, {INTAKE: intake, CONTACTS: ["contact.recorded"], ROUTING: routing})
    settled = next(e for e in streams[ROUTING].events if e.type == "dossier.obligation-settled")
    paid_fact = next(e for e in streams[INTAKE].events if e.type == "dossier.obligation-paid")
    assert settled.causationid == paid_fact.id
    paused = settled.data or {}
    assert (paused["amount_vnd"], paused["receipt_number"]) == (12_600_000, "BL-0042117")
    # The clock stood still while the applicant paid: the due instant moves later by the paused working time.
    previous_due = datetime.fromisoformat(paused["previous_due_at"])
    minutes = paused["paused_working_minutes"]
    moved = CALENDAR.add_working_time(previous_due, minutes / 60) if minutes else previous_due
    assert datetime.fromisoformat(paused["due_at"]) == moved
    # Every message by email. By SMS, five an hour to one number (notification's limit): the five told first went,
    # the others wait for the hour to pass.
    assert told.email == Counter({"dossier.accepted": 1, "step.transferred": 6, "dossier.obligation-requested": 1,
                                  "dossier.obligation-settled": 1, "dossier.result-ready": 1,
                                  "dossier.result-returned": 1})  # fmt: skip
    assert told.sms == Counter({"dossier.accepted": 1, "step.transferred": 3, "dossier.obligation-requested": 1})
    assert any("12.600.000" in text for text in told.sms_texts), "the SMS says how much to pay"
    assert_notified(streams, told)
    assert lifecycle(tracked) == [
        "dossier.accepted", *routing[:7], "dossier.obligation-paid", *routing[7:-1], "dossier.result-handed-over",
        routing[-1]]  # fmt: skip


async def test_an_online_submission_accepted_at_the_desk_reaches_its_result(stack: StackCommand) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        e2e = EndToEnd(stack, http)
        body = {"procedure_code": "2.000720", "desk_code": DESK, "applicant": ONLINE_APPLICANT,
                "documents": [{"code": "registration_request", "content_hash": "d" * 64}]}  # fmt: skip
        submitted = await http.post(f"{e2e.intake}/public/dossiers", json=body)
        assert submitted.status_code == 201, submitted.text
        assert submitted.json()["state"] == "submitted"
        code, secret = submitted.json()["code"], submitted.json()["tracking_secret"]
        assert code.startswith(f"{DESK}-")
        found = await http.get(f"{e2e.intake}/desk/dossiers/by-code/{code}", headers=e2e.staff(DESK, "reception"))
        assert (found.status_code, found.json()["channel"], found.json()["state"]) == (200, "online", "submitted")
        dossier = Dossier(found.json()["id"], code, secret)
        assert (await e2e.tracked(dossier, 1))["timeline"][0]["event"] == "dossier.submitted"

        await e2e.accept(dossier)
        await e2e.in_processing(dossier)
        reviewed = await e2e.act(dossier, "steps/review/complete", OFFICE, {"note": "Hồ sơ hợp lệ"})
        assert reviewed.status_code == 200, reviewed.text
        certificate = result("household_business_certificate", "Giấy chứng nhận đăng ký hộ kinh doanh")
        issued = await e2e.act(dossier, "steps/issue/complete", OFFICE, {"note": "Đã cấp", "result": certificate})
        assert issued.status_code == 200, issued.text
        assert issued.json()["status"] == 9
        tracked = await e2e.hand_over(dossier, certificate["documents"])
        told = await e2e.told(dossier, ONLINE_APPLICANT, sms=5, emails=5)
        streams = await e2e.published(dossier, lambda s: has(s, ROUTING, "dossier.result-returned") and sent(s) >= 10)

    routing = ["dossier.processing-started", "step.transferred", "step.completed", "step.transferred",
               "step.completed", "dossier.result-ready", "dossier.result-returned"]  # fmt: skip
    intake = ["dossier.submitted", "dossier.accepted", "dossier.result-handed-over"]
    assert_streams(streams, {INTAKE: intake, CONTACTS: ["contact.recorded"], ROUTING: routing})
    accepted = next(e.data or {} for e in streams[INTAKE].events if e.type == "dossier.accepted")
    assert (accepted["status_from"], accepted["status_to"]) == (1, 2)
    expected = Counter({"dossier.accepted": 1, "step.transferred": 2, "dossier.result-ready": 1,
                        "dossier.result-returned": 1})  # fmt: skip
    assert told.sms == told.email == expected
    assert_notified(streams, told)
    assert lifecycle(tracked) == [*intake[:2], *routing[:-1], "dossier.result-handed-over", routing[-1]]
