"""End to end on the whole stack, what stops or pauses a dossier:
- a supplement round trip: the justice officer asks for a document (status 5, Mẫu 02, the clock paused), the desk
  records the supplement the applicant brought, processing resumes and reaches its result;
- a refusal at the desk (Mẫu 03, status 3): the applicant is told why, and routing never sees the dossier;
- a withdrawal racing the completion of the last step, both sent at once: exactly one wins — the result is ready and
  the withdrawal is rejected on routing's topic, or the dossier is withdrawn and the completion answered 409 — and
  the final state, the topics, tracking and the messages all agree with the winner, nothing applied twice.
Each checks the HTTP answers, the dossier's events on every topic, what the applicant received at the SMS gateway
and the SMTP sink (and that notification's topic says the same), and public tracking."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any

import httpx

from shared.calendar.zone import local_text
from tests.support.flows import (
    COMMITTEE,
    DESK,
    JUSTICE,
    EndToEnd,
    assert_notified,
    assert_streams,
    has,
    lifecycle,
    sent,
)
from tests.support.stack import StackCommand
from tests.support.topics import CONTACTS, INTAKE, ROUTING

DOCUMENTS = [{"code": "declaration"}, {"code": "birth_certificate_medical"}]
CERTIFICATE = {"decision": "granted", "documents": [{"code": "birth_certificate", "title": "Giấy khai sinh"}]}


def applicant(name: str, phone: str, email: str) -> dict[str, Any]:
    return {"full_name": name, "phone": phone, "email": email, "notify_by": "both"}


def birth_registration(who: dict[str, Any]) -> dict[str, Any]:
    return {"procedure_code": "1.001193", "applicant": who, "documents": DOCUMENTS}


async def test_a_supplement_pauses_the_dossier_until_the_desk_records_it(stack: StackCommand) -> None:
    who = applicant("Đặng Văn Hùng", "0971234564", "hung.dang@example.org")
    missing = {"document_code": "birth_certificate_medical", "document_title": "Giấy chứng sinh",
               "problem": "illegible", "instruction": "Nộp bản chính Giấy chứng sinh rõ nét"}  # fmt: skip
    async with httpx.AsyncClient(timeout=30) as http:
        e2e = EndToEnd(stack, http)
        dossier = await e2e.register(birth_registration(who))
        accepted = await e2e.accept(dossier)
        await e2e.in_processing(dossier)

        asked = await e2e.act(dossier, "steps/register/supplement-request", JUSTICE,
                              {"items": [missing], "reason": "Giấy chứng sinh không đọc được"})  # fmt: skip
        assert asked.status_code == 200, asked.text
        paused = asked.json()
        assert (paused["status"], paused["open_request"]["kind"]) == (5, "supplement")
        blocked = await e2e.act(dossier, "steps/register/complete", JUSTICE, {"note": "x"})
        assert blocked.status_code == 409, "nothing moves while the dossier waits for the applicant"
        await e2e.tracked(dossier, 5)

        supplement = {"request_event_id": paused["open_request"]["request_event_id"],
                      "documents": [{"code": "birth_certificate_medical", "title": "Giấy chứng sinh"}]}  # fmt: skip
        received = await e2e.desk(dossier, "facts/supplement-received", supplement)
        assert received.status_code == 200, received.text
        assert received.json()["recorded"] == "dossier.supplement-received"
        resumed = await e2e.in_processing(dossier, 4)
        assert resumed["open_request"] is None
        for step, agency, result in [("register", JUSTICE, None), ("sign", COMMITTEE, CERTIFICATE)]:
            done = await e2e.act(dossier, f"steps/{step}/complete", agency,
                                 {"note": "Xong", **({"result": result} if result else {})})  # fmt: skip
            assert done.status_code == 200, done.text
        assert done.json()["status"] == 9
        tracked = await e2e.tracked(dossier, 9)
        told = await e2e.told(dossier, who, sms=5, emails=5)
        streams = await e2e.published(dossier, lambda s: has(s, ROUTING, "dossier.result-ready") and sent(s) >= 10)

    routing = ["dossier.processing-started", "step.transferred", "dossier.supplement-requested",
               "dossier.supplement-resumed", "step.completed", "step.transferred", "step.completed",
               "dossier.result-ready"]  # fmt: skip
    intake = ["dossier.accepted", "dossier.supplement-received"]
    assert_streams(streams, {INTAKE: intake, CONTACTS: ["contact.recorded"], ROUTING: routing})
    request = next(e for e in streams[ROUTING].events if e.type == "dossier.supplement-requested")
    fact = next(e for e in streams[INTAKE].events if e.type == "dossier.supplement-received")
    resumption = next(e for e in streams[ROUTING].events if e.type == "dossier.supplement-resumed")
    assert ((fact.data or {})["request_event_id"], resumption.causationid) == (request.id, fact.id)
    due = datetime.fromisoformat((resumption.data or {})["previous_due_at"])
    assert due == datetime.fromisoformat(accepted["due_at"]), "the due instant the desk gave at acceptance"
    moved = datetime.fromisoformat((resumption.data or {})["due_at"])
    assert tracked["appointment"] == local_text(moved), "tracking gives the appointment the pause moved"
    expected = Counter({"dossier.accepted": 1, "step.transferred": 2, "dossier.supplement-requested": 1,
                        "dossier.result-ready": 1})  # fmt: skip
    assert told.sms == told.email == expected
    assert any("Giay chung sinh (khong doc duoc)" in text for text in told.sms_texts), "the SMS lists what is missing"
    assert any("Nộp bản chính Giấy chứng sinh rõ nét" in text for text in told.email_texts)
    assert_notified(streams, told)
    assert lifecycle(tracked) == ["dossier.accepted", *routing[:3], "dossier.supplement-received", *routing[3:]]


async def test_a_dossier_refused_at_the_desk_tells_the_applicant_why(stack: StackCommand) -> None:
    who = applicant("Hà Thị Lan", "0971234565", "lan.ha@example.org")
    refusal = {"reason": "Người đi đăng ký không phải cha, mẹ của trẻ và không có văn bản ủy quyền",
               "legal_basis": "Luật Hộ tịch 2014, Điều 16"}  # fmt: skip
    async with httpx.AsyncClient(timeout=30) as http:
        e2e = EndToEnd(stack, http)
        dossier = await e2e.register(birth_registration(who))
        refused = await e2e.desk(dossier, "refuse", refusal)
        assert refused.status_code == 200, refused.text
        assert refused.json()["state"] == "refused"
        form = await http.get(f"{e2e.intake}/desk/dossiers/{dossier.id}/refusal", headers=e2e.staff(DESK, "reception"))
        assert form.status_code == 200, form.text
        assert all(words in form.text for words in ("Mẫu số 03", refusal["reason"], refusal["legal_basis"]))
        accepted_after = await e2e.desk(dossier, "accept")
        assert accepted_after.status_code == 409, "a refusal is final"
        tracked = await e2e.tracked(dossier, 3)
        told = await e2e.told(dossier, who, sms=1, emails=1)
        streams = await e2e.published(dossier, lambda s: sent(s) >= 2)
        never_processed = await e2e.processing(dossier)

    assert never_processed.status_code == 404, "routing never takes a refused dossier"
    assert_streams(streams, {INTAKE: ["dossier.refused"], CONTACTS: ["contact.recorded"]})
    assert (streams[INTAKE].events[0].data or {})["status_to"] == 3
    assert told.sms == told.email == Counter(["dossier.refused"])
    assert "Ly do: Nguoi di dang ky khong phai cha, me cua tre" in told.sms_texts[0]
    assert refusal["reason"] in told.email_texts[0]
    assert refusal["legal_basis"] in told.email_texts[0]
    assert_notified(streams, told)
    assert lifecycle(tracked) == ["dossier.refused"]


async def test_a_withdrawal_racing_the_last_step_loses_or_wins_whole(stack: StackCommand) -> None:
    who = applicant("Lý Minh Tâm", "0971234566", "tam.ly@example.org")
    async with httpx.AsyncClient(timeout=30) as http:
        e2e = EndToEnd(stack, http)
        dossier = await e2e.register(birth_registration(who))
        await e2e.accept(dossier)
        await e2e.in_processing(dossier)
        registered = await e2e.act(dossier, "steps/register/complete", JUSTICE, {"note": "Đã ghi sổ"})
        assert registered.status_code == 200, registered.text

        completion, withdrawal = await asyncio.gather(
            e2e.act(dossier, "steps/sign/complete", COMMITTEE, {"note": "Đã ký", "result": CERTIFICATE}),
            e2e.desk(dossier, "facts/withdrawal-requested", {"reason": "Gia đình đăng ký khai sinh ở nơi khác"}),
        )
        # The desk only records the fact; routing, which owns the status, applies it or rejects it.
        assert withdrawal.status_code == 200, withdrawal.text
        assert completion.status_code in (200, 409), completion.text
        completed = completion.status_code == 200
        final_status, final_event = (9, "fact.rejected") if completed else (7, "dossier.withdrawn")
        view = await e2e.in_processing(dossier, final_status)
        tracked = await e2e.tracked(dossier, final_status, last=final_event)
        told = await e2e.told(dossier, who, sms=4, emails=4)
        streams = await e2e.published(dossier, lambda s: has(s, ROUTING, final_event) and sent(s) >= 8)

    sign = next(s for s in view["steps"] if s["step_id"] == "sign")
    started = ["dossier.processing-started", "step.transferred", "step.completed", "step.transferred"]
    if completed:
        assert sign["completed_at"] is not None
        routing = [*started, "step.completed", "dossier.result-ready", "fact.rejected"]
        last_told = "dossier.result-ready"
    else:
        assert "cannot act on step" in completion.text
        assert sign["completed_at"] is None
        routing = [*started, "dossier.withdrawn"]
        last_told = "dossier.withdrawn"
    intake = ["dossier.accepted", "dossier.withdrawal-requested"]
    assert_streams(streams, {INTAKE: intake, CONTACTS: ["contact.recorded"], ROUTING: routing})
    fact = streams[INTAKE].events[1]
    answer = streams[ROUTING].events[-1]
    assert answer.causationid == fact.id, "routing's last word on the dossier answers the withdrawal"
    if completed:
        rejected = answer.data or {}
        assert (rejected["fact_type"], rejected["reason_code"], rejected["current_status"]) == (
            "dossier.withdrawal-requested", "wrong_status", 9)  # fmt: skip
    expected = Counter({"dossier.accepted": 1, "step.transferred": 2, last_told: 1})
    assert told.sms == told.email == expected
    assert_notified(streams, told)
    # The fact and the completion were sent at once: their places on the timeline are whichever came first.
    assert Counter(lifecycle(tracked)) == Counter(["dossier.accepted", "dossier.withdrawal-requested", *routing])
    assert lifecycle(tracked)[:5] == ["dossier.accepted", *started]
