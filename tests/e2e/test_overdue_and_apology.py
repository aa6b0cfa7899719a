"""End to end on the whole stack, under its shared clock: a birth registration (1 working day) whose agency will be
late. The head of the justice officers apologises with a new appointment (Mẫu 04) while the rules allow it — at
least one working day before the due date, so on the day of acceptance — and the applicant is told the new date.
The clock then passes the original due instant: routing finds the dossier overdue (with the apology noted), and
when the result comes it is late, judged against the original due instant, not the new appointment (domain.md:
an apology is an admission). The result is handed over at the desk; tracking follows it to status 10.

The clock is shared by every test of the session: it moves only forward, and is left on a working morning."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any

import httpx

from shared.calendar.zone import local, local_text
from tests.support.flows import (
    CALENDAR,
    COMMITTEE,
    JUSTICE,
    EndToEnd,
    assert_notified,
    assert_streams,
    has,
    lifecycle,
    move_clock,
    next_working_morning,
    sent,
    stack_clock,
)
from tests.support.stack import StackCommand
from tests.support.topics import CONTACTS, INTAKE, ROUTING

APPLICANT = {"full_name": "Phan Thị Ngọc", "phone": "0971234567", "email": "ngoc.phan@example.org",
             "notify_by": "both"}  # fmt: skip
CERTIFICATE: dict[str, Any] = {
    "decision": "granted",
    "documents": [{"code": "birth_certificate", "title": "Giấy khai sinh"}],
}
REASON = "Chờ xác minh thông tin nơi sinh với bệnh viện"


async def test_an_apology_before_the_due_date_and_lateness_judged_against_the_original(stack: StackCommand) -> None:
    # A morning of its own, whatever the earlier tests did: accepted at 08:30, the dossier falls due at 08:30 the
    # next working day, and the last day an apology is allowed is today.
    move_clock(stack, next_working_morning(stack_clock(stack).now(), time(8, 30)))
    async with httpx.AsyncClient(timeout=30) as http:
        e2e = EndToEnd(stack, http)
        dossier = await e2e.register(
            {
                "procedure_code": "1.001193",
                "applicant": APPLICANT,
                "documents": [{"code": "declaration"}, {"code": "birth_certificate_medical"}],
            }
        )
        accepted = await e2e.accept(dossier)
        due = datetime.fromisoformat(accepted["due_at"])
        today = local(stack_clock(stack).now()).date()
        assert local(due).date() == next_working_morning(stack_clock(stack).now(), time(8)).date()
        await e2e.in_processing(dossier)

        new_appointment = CALENDAR.add_working_time(due, 8)  # one more working day
        apology = {"reason": REASON, "new_appointment_at": new_appointment.isoformat()}
        by_an_officer = await e2e.act(dossier, "apology", JUSTICE, apology)
        assert by_an_officer.status_code == 403, "only the head of the agency signs Mẫu 04"
        apologised = await e2e.act(dossier, "apology", JUSTICE, apology, role="head")
        assert apologised.status_code == 200, apologised.text
        view = apologised.json()
        assert datetime.fromisoformat(view["due_at"]) == due, "the apology does not move the due instant"
        assert datetime.fromisoformat(view["appointment_at"]) == new_appointment
        assert local(datetime.fromisoformat(view["apology"]["issued_at"])).date() == today
        letter = await http.get(f"{e2e.routing}/processing/dossiers/{dossier.code}/apology-letter",
                                headers=e2e.staff(JUSTICE, "head"))  # fmt: skip
        assert letter.status_code == 200
        assert "Mẫu số 04" in letter.text
        assert REASON in letter.text
        # The applicant has the new date before the due date passes. Waiting for it also keeps these three SMS on
        # the first day, out of the hour that notification's limit of five SMS per number counts on the next one.
        before_due = await e2e.told(dossier, APPLICANT, sms=3, emails=3)
        assert before_due.sms == Counter(["dossier.accepted", "step.transferred", "dossier.apology-issued"])
        apologised_to = await e2e.tracked(dossier, 4, last="dossier.apology-issued")
        assert apologised_to["appointment"] == local_text(new_appointment), "tracking gives the new appointment"

        move_clock(stack, due + timedelta(minutes=15))
        await e2e.published(dossier, lambda s: has(s, ROUTING, "dossier.overdue"))
        late = await e2e.processing(dossier, JUSTICE)
        assert [(s["step_id"], s["state"]) for s in late.json()["steps"]] == [("register", "late")]
        for step, agency, result in [("register", JUSTICE, None), ("sign", COMMITTEE, CERTIFICATE)]:
            done = await e2e.act(dossier, f"steps/{step}/complete", agency,
                                 {"note": "Xong", **({"result": result} if result else {})})  # fmt: skip
            assert done.status_code == 200, done.text
        ready = done.json()
        assert (ready["status"], ready["timeliness"]) == (9, "late"), "late, though before the new appointment"
        assert stack_clock(stack).now() < new_appointment
        tracked = await e2e.hand_over(dossier, CERTIFICATE["documents"])
        told = await e2e.told(dossier, APPLICANT, sms=6, emails=6)
        streams = await e2e.published(dossier, lambda s: has(s, ROUTING, "dossier.result-returned") and sent(s) >= 12)

    routing = ["dossier.processing-started", "step.transferred", "dossier.apology-issued", "dossier.overdue",
               "step.completed", "step.transferred", "step.completed", "dossier.result-ready",
               "dossier.result-returned"]  # fmt: skip
    intake = ["dossier.accepted", "dossier.result-handed-over"]
    assert_streams(streams, {INTAKE: intake, CONTACTS: ["contact.recorded"], ROUTING: routing})
    assert streams[ROUTING].types.count("dossier.near-due") <= 2, "once per appointment at most"
    data = {e.type: e.data or {} for e in streams[ROUTING].events}
    assert datetime.fromisoformat(data["dossier.apology-issued"]["due_at"]) == due
    assert datetime.fromisoformat(data["dossier.apology-issued"]["new_appointment_at"]) == new_appointment
    found = data["dossier.overdue"]
    assert (found["step_id"], found["agency"]["code"], found["apologised"]) == ("register", JUSTICE, True)
    assert datetime.fromisoformat(found["due_at"]) == due, "overdue against the original due instant"
    assert datetime.fromisoformat(found["appointment_at"]) == new_appointment
    register_done = next(e.data or {} for e in streams[ROUTING].events if e.type == "step.completed")
    assert register_done["timeliness"] == "late"
    result_ready = data["dossier.result-ready"]
    assert (result_ready["timeliness"], datetime.fromisoformat(result_ready["due_at"])) == ("late", due)

    expected = Counter({"dossier.accepted": 1, "step.transferred": 2, "dossier.apology-issued": 1,
                        "dossier.result-ready": 1, "dossier.result-returned": 1})  # fmt: skip
    assert told.sms == told.email == expected
    new_date = f"{local(new_appointment):%H:%M} ngay {local(new_appointment):%d/%m/%Y}"
    assert any("xin loi" in text and new_date in text for text in told.sms_texts), "the SMS gives the new date"
    assert_notified(streams, told)
    assert lifecycle(tracked) == ["dossier.accepted", *routing[:-1], "dossier.result-handed-over", routing[-1]]
