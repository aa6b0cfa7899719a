"""Routing as a separate process over the real broker and database, driven like the other services would: each of
the five seeded procedures from acceptance to its end through the processing staff API and the facts of intake and
postal — a supplement, a financial obligation, parallel steps, an apology, an overdue dossier under the test clock,
a stop and a withdrawal — checking the HTTP answers and the events routing publishes."""

from __future__ import annotations

from datetime import datetime

from shared.calendar.zone import ZONE
from shared.events.catalogue import intake
from shared.events.catalogue.common import Actor, DocumentRef, StaffRole, Via
from shared.events.envelope import Envelope
from shared.events.examples import examples
from tests.support.driver import POSTAL
from tests.support.routing import AGENCIES, RoutingDriver
from tests.support.services import schemathesis_run

DESK = "H29.101.1"  # Sài Gòn ward: its one-stop desk, and below the agencies its routes resolve to
PEOPLES_COMMITTEE, JUSTICE, OFFICE = "H29.101", "H29.101.2", "H29.101.3"
POLICE, SOCIAL_INSURANCE, LAND_OFFICE, TAX = "H29.40.101", "H29.50.1", "H29.20.1", "H29.30.1"
OTHER_JUSTICE = "H29.103.2"
RESULT = {"decision": "granted", "documents": [{"code": "result", "title": "Kết quả", "content_hash": "c" * 64}]}
ITEMS = [{"document_code": "declaration", "document_title": "Tờ khai", "problem": "incomplete",
          "instruction": "Ký đủ chữ ký của người đi khai"}]  # fmt: skip


def vn(day: int, hour: int, minute: int = 0, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


def types(events: list[Envelope]) -> list[str]:
    return [e.type for e in events]


def desk_actor() -> Actor:
    return Actor(staff_id=f"reception@{DESK}", agency_code=DESK, role=StaffRole.RECEPTION)


def supplement_received(request_id: str, at: datetime) -> intake.DossierSupplementReceived:
    return intake.DossierSupplementReceived(
        request_event_id=request_id, documents=[DocumentRef(code="declaration", title="Tờ khai")], via=Via.DESK,
        received_at=at, actor=desk_actor(),
    )  # fmt: skip


def handed_over(at: datetime) -> intake.DossierResultHandedOver:
    return intake.DossierResultHandedOver(
        documents=[DocumentRef(code="result", title="Kết quả")], received_by="applicant", handed_over_at=at,
        actor=desk_actor(),
    )  # fmt: skip


def withdrawal(at: datetime) -> intake.DossierWithdrawalRequested:
    return intake.DossierWithdrawalRequested(reason="Không còn nhu cầu", via=Via.DESK, requested_at=at,
                                             actor=desk_actor())  # fmt: skip


async def test_birth_registration_with_a_supplement_returned_at_the_desk(driver: RoutingDriver) -> None:
    driver.set_clock(vn(2, 9))  # Wednesday 2 December 2026, 09:00: due Thursday 09:00 (1 working day)
    dossier = await driver.accept("1.001193", 1, DESK, vn(2, 9))
    justice, committee = driver.token(JUSTICE), driver.token(PEOPLES_COMMITTEE)
    # A one-day procedure is in its last working day from the start: near-due at once.
    started = await driver.events(dossier, "dossier.processing-started", "step.transferred", "dossier.near-due")
    transfer = started[1].data or {}
    assert (transfer["from_step_id"], transfer["step_id"], transfer["to_agency"]["code"]) == (
        "reception", "register", JUSTICE)  # fmt: skip
    await driver.act(dossier, "steps/register/claim", driver.token(OTHER_JUSTICE), expect=403)
    claimed = await driver.act(dossier, "steps/register/claim", justice)
    assert claimed["steps"][0]["claimed_by"] == f"processing@{JUSTICE}"
    await driver.act(dossier, "steps/register/claim", driver.token(JUSTICE, staff_id="someone-else"), expect=409)

    driver.set_clock(vn(2, 10))
    paused = await driver.act(
        dossier, "steps/register/supplement-request", justice, {"items": ITEMS, "reason": "Thiếu"}
    )
    assert paused["status"] == 5
    await driver.act(dossier, "steps/register/complete", justice, {"note": "xong"}, expect=409)
    request = (await driver.events(dossier, "dossier.supplement-requested"))[-1]
    assert paused["open_request"]["request_event_id"] == request.id

    driver.set_clock(vn(3, 9))
    await driver.publish(dossier, supplement_received("0f0e0d0c-0b0a-4909-8807-060504030201", vn(3, 9)))
    rejected = (await driver.events(dossier, "fact.rejected"))[-1].data or {}
    assert rejected["reason_code"] == "unknown_request"
    fact = await driver.publish(dossier, supplement_received(request.id, vn(3, 9)))
    resumed = (await driver.events(dossier, "dossier.supplement-resumed"))[-1]
    assert resumed.causationid == fact.id
    data = resumed.data or {}
    # Paused Wednesday 10:00 to Thursday 09:00: 1.5 + 4 + 1.5 working hours; Thursday 09:00 + 7 h = Friday 08:00.
    assert data["paused_working_minutes"] == 420
    assert datetime.fromisoformat(data["due_at"]) == vn(4, 8)
    await driver.redeliver(fact)

    await driver.act(dossier, "steps/register/complete", justice, {"note": "Đã ghi sổ", "result": RESULT}, expect=422)
    await driver.act(dossier, "steps/register/complete", justice, {"note": "Đã ghi sổ"})
    await driver.act(dossier, "steps/sign/complete", committee, {"note": "Đã ký"}, expect=422)
    ready = await driver.act(dossier, "steps/sign/complete", committee, {"note": "Đã ký", "result": RESULT})
    assert (ready["status"], ready["timeliness"]) == (9, "early")  # Thursday, before the due day (Friday)
    await driver.publish(dossier, withdrawal(vn(3, 10)))
    await driver.publish(dossier, handed_over(vn(3, 11)))
    events = await driver.events(dossier, "dossier.result-ready", "fact.rejected", "dossier.result-returned")
    assert types(events) == [
        "dossier.processing-started", "step.transferred", "dossier.near-due", "dossier.supplement-requested",
        "fact.rejected",
        "dossier.supplement-resumed", "step.completed", "step.transferred", "step.completed", "dossier.result-ready",
        "fact.rejected", "dossier.result-returned",
    ], "the redelivered supplement changed nothing; the warned agency is not warned again after the pause"  # fmt: skip
    assert [e.dossierseq for e in events] == list(range(1, len(events) + 1))
    assert (events[-2].data or {})["reason"].startswith("the dossier is ready")

    sheet = await driver.http.get(f"/processing/dossiers/{dossier.code}/control-sheet", headers=committee)
    assert sheet.status_code == 200
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in sheet.text
    assert sheet.text.count("Đúng hạn") == 2, "both steps ended on their deadline's day"
    assert AGENCIES.by_code(JUSTICE).name_vi in sheet.text
    assert AGENCIES.by_code(PEOPLES_COMMITTEE).name_vi in sheet.text
    outsider = await driver.http.get(f"/processing/dossiers/{dossier.code}", headers=driver.token(OTHER_JUSTICE))
    assert outsider.status_code == 403


async def test_the_child_package_runs_police_and_social_insurance_in_parallel(driver: RoutingDriver) -> None:
    driver.set_clock(vn(2, 9))
    dossier = await driver.accept("LT-KS-TT-BHYT", 1, DESK, vn(2, 9), return_channel="electronic")
    police, insurance = driver.token(POLICE), driver.token(SOCIAL_INSURANCE)
    await driver.act(dossier, "steps/permanent_residence/claim", police, expect=404)  # not started yet
    await driver.act(dossier, "steps/birth_registration/complete", driver.token(JUSTICE), {"note": "Đã đăng ký"})
    events = await driver.events(dossier, "step.completed", "step.transferred", "step.transferred")
    branches = {(e.data or {})["step_id"]: (e.data or {})["to_agency"]["code"] for e in events[-2:]}
    assert branches == {"permanent_residence": POLICE, "health_insurance_card": SOCIAL_INSURANCE}
    await driver.act(dossier, "steps/health_insurance_card/complete", police, {"note": "x"}, expect=403)
    queue = (await driver.http.get("/processing/queue", headers=insurance)).json()
    assert [s["code"] for s in queue["steps"]] == [dossier.code]
    await driver.act(dossier, "steps/permanent_residence/complete", police, {"note": "x", "result": RESULT}, expect=422)
    await driver.act(dossier, "steps/permanent_residence/complete", police, {"note": "Đã đăng ký thường trú"})
    await driver.act(dossier, "steps/health_insurance_card/complete", insurance, {"note": "x"}, expect=422)
    done = await driver.act(dossier, "steps/health_insurance_card/complete", insurance, {"note": "Đã cấp thẻ",
                                                                                        "result": RESULT})  # fmt: skip
    assert done["status"] == 10, "an electronic result is returned as soon as it is ready"
    events = await driver.events(dossier, "dossier.result-ready", "dossier.result-returned")
    assert types(events).count("step.completed") == 3
    assert (events[-1].data or {})["how"] == "electronic"


async def test_the_land_certificate_waits_for_its_financial_obligation_and_goes_back_by_post(
    driver: RoutingDriver,
) -> None:
    driver.set_clock(vn(2, 9))
    dossier = await driver.accept("1.013978", 2, DESK, vn(2, 9), return_channel="post")
    for step, agency in [("ward_review", PEOPLES_COMMITTEE), ("cadastral_check", LAND_OFFICE)]:
        await driver.act(dossier, f"steps/{step}/complete", driver.token(agency), {"note": "Đạt"})
    tax = driver.token(TAX)
    notice = {"notice_number": "TB-01/2026", "items": [
        {"kind": "land_use_levy", "title": "Tiền sử dụng đất", "amount_vnd": 1_000_000},
        {"kind": "fee", "title": "Lệ phí trước bạ", "amount_vnd": 500_000}]}  # fmt: skip
    waiting = await driver.act(dossier, "steps/financial_obligation/obligation-request", tax, notice)
    assert waiting["status"] == 6
    assert waiting["open_request"]["amount_vnd"] == 1_500_000
    request = (await driver.events(dossier, "dossier.obligation-requested"))[-1]

    def paid(amount: int) -> intake.DossierObligationPaid:
        return intake.DossierObligationPaid(request_event_id=request.id, amount_vnd=amount, receipt_number="BL-7",
                                            method="bank_transfer", paid_at=vn(2, 11), actor=None)  # fmt: skip

    await driver.publish(dossier, paid(1_000_000))
    assert ((await driver.events(dossier, "fact.rejected"))[-1].data or {})["reason_code"] == "amount_mismatch"
    await driver.publish(dossier, paid(1_500_000))
    settled = (await driver.events(dossier, "dossier.obligation-settled"))[-1].data or {}
    assert settled["paused_working_minutes"] == 120  # 09:00 to 11:00 on the frozen clock's Wednesday
    for step, agency in [("financial_obligation", TAX), ("certificate", LAND_OFFICE), ("sign", PEOPLES_COMMITTEE)]:
        await driver.act(dossier, f"steps/{step}/complete", driver.token(agency), {"note": "Xong"})
    ready = await driver.act(dossier, "steps/return_to_desk/complete", driver.token(DESK, "reception"),
                             {"note": "Chuyển bưu điện", "result": RESULT})  # fmt: skip
    assert (ready["status"], ready["return_channel"]) == (9, "post")
    delivered = examples()["shipment.delivered"].model_copy(
        update={"carrier_order_number": f"{dossier.code}-TR", "delivered_at": vn(3, 10)}
    )
    await driver.publish(dossier, delivered, POSTAL)
    events = await driver.events(dossier, "dossier.result-ready", "dossier.result-returned")
    assert (events[-1].data or {})["how"] == "post"
    assert types(events).count("step.transferred") == 6, "one handover per step, the first from the desk"


async def test_an_apology_keeps_the_due_instant_and_the_late_dossier_is_found_overdue(driver: RoutingDriver) -> None:
    driver.set_clock(vn(2, 9))  # household business, 3 working days: due Monday 7 December 09:00
    dossier = await driver.accept("2.000720", 1, DESK, vn(2, 9))
    too_late = await driver.accept("1.001193", 1, DESK, vn(2, 9))  # due Thursday 09:00
    head = driver.token(OFFICE, "head")
    new_date = {"reason": "Chờ xác minh địa điểm kinh doanh", "new_appointment_at": vn(9, 10).isoformat()}
    driver.set_clock(vn(3, 10))
    await driver.act(dossier, "apology", driver.token(OFFICE), new_date, expect=403)  # a processing officer
    await driver.act(dossier, "apology", driver.token(OTHER_JUSTICE, "head"), new_date, expect=403)
    early_date = {**new_date, "new_appointment_at": vn(7, 8).isoformat()}
    await driver.act(dossier, "apology", head, early_date, expect=422)
    apologised = await driver.act(dossier, "apology", head, new_date)
    assert datetime.fromisoformat(apologised["due_at"]) == vn(7, 9), "lateness is still judged against it"
    assert datetime.fromisoformat(apologised["appointment_at"]) == vn(9, 10)
    await driver.act(dossier, "apology", head, new_date, expect=422)  # once per dossier
    refused = await driver.http.post(f"/processing/dossiers/{too_late.code}/apology", json=new_date,
                                     headers=driver.token(JUSTICE, "head"))  # fmt: skip
    assert refused.status_code == 422
    assert "at least one working day before" in refused.text
    letter = await driver.http.get(f"/processing/dossiers/{dossier.code}/apology-letter", headers=head)
    assert "Mẫu số 04" in letter.text
    assert "Chờ xác minh địa điểm kinh doanh" in letter.text
    assert "2026-12-09 10:00" in letter.text

    driver.set_clock(vn(7, 10))
    overdue = (await driver.events(dossier, "dossier.apology-issued", "dossier.overdue"))[-1].data or {}
    assert overdue["apologised"] is True
    assert datetime.fromisoformat(overdue["due_at"]) == vn(7, 9)
    driver.set_clock(vn(8, 11))
    near = (await driver.events(dossier, "dossier.near-due"))[-1].data or {}
    assert datetime.fromisoformat(near["appointment_at"]) == vn(9, 10)
    queue = (await driver.http.get("/processing/queue", params={"state": "late"}, headers=head)).json()
    assert dossier.code in [s["code"] for s in queue["steps"]]
    await driver.act(dossier, "steps/review/complete", head, {"note": "Đã xác minh"})
    ready = await driver.act(dossier, "steps/issue/complete", head, {"note": "Đã cấp", "result": RESULT})
    assert ready["timeliness"] == "late"
    fired = [e.type for e in driver.published[dossier.id] if e.type in ("dossier.overdue", "dossier.near-due")]
    assert fired == ["dossier.overdue", "dossier.near-due"], "each deadline fires once, the first near-due moved"


async def test_a_construction_permit_is_stopped_and_another_withdrawn(driver: RoutingDriver) -> None:
    driver.set_clock(vn(2, 9))
    stopped, withdrawn, granted = [await driver.accept("1.009994", 2, DESK, vn(2, 9)) for _ in range(3)]
    office = driver.token(OFFICE)
    reason = {"reason": "Công trình thuộc diện miễn giấy phép", "legal_basis": "Luật Xây dựng 2025, Điều 43"}
    answer = await driver.act(stopped, "steps/review/stop", office, reason)
    assert (answer["status"], answer["timeliness"]) == (8, "early")
    await driver.publish(stopped, withdrawal(vn(2, 10)))
    assert ((await driver.events(stopped, "dossier.stopped", "fact.rejected"))[-1].data or {})["current_status"] == 8

    await driver.publish(withdrawn, withdrawal(vn(2, 10)))
    await driver.events(withdrawn, "dossier.withdrawn")
    await driver.act(withdrawn, "steps/review/complete", office, {"note": "x"}, expect=409)

    await driver.act(granted, "steps/review/complete", office, {"note": "Đủ điều kiện"})
    await driver.act(granted, "steps/sign/complete", driver.token(PEOPLES_COMMITTEE), {"note": "Ký", "result": RESULT})
    await driver.publish(granted, handed_over(vn(3, 9)))
    await driver.events(granted, "dossier.result-ready", "dossier.result-returned")


async def test_an_acceptance_repeated_on_the_topic_starts_nothing_twice(driver: RoutingDriver) -> None:
    driver.set_clock(vn(2, 9))
    dossier = await driver.accept("2.000720", 1, DESK, vn(2, 9))
    accepted = driver.sent[dossier.id][0]
    await driver.redeliver(accepted)
    await driver.publish(dossier, withdrawal(vn(2, 10)))  # behind the repeat on the same partition
    events = await driver.events(dossier, "dossier.withdrawn")
    assert types(events) == ["dossier.processing-started", "step.transferred", "dossier.withdrawn"]
    assert events[0].causationid == accepted.id
    started = events[0].data or {}
    assert (started["status_from"], started["status_to"], started["step_id"]) == (2, 4, "review")
    assert started["agency"]["code"] == OFFICE, "the economy office of the receiving desk's ward"


async def test_bad_requests_get_a_4xx_naming_the_problem(driver: RoutingDriver) -> None:
    driver.set_clock(vn(2, 9))
    dossier = await driver.accept("1.001193", 1, DESK, vn(2, 9))
    justice = driver.token(JUSTICE)
    missing = await driver.http.post(f"/processing/dossiers/{dossier.code}/steps/register/complete", json={},
                                     headers=justice)  # fmt: skip
    assert missing.status_code == 422
    assert "note" in missing.text
    assert (await driver.http.post(f"/processing/dossiers/{dossier.code}/steps/register/claim")).status_code == 401
    await driver.act(dossier, "steps/nowhere/claim", justice, expect=404)
    unknown = await driver.http.get("/processing/dossiers/H29.101.1-261202-99999999", headers=justice)
    assert unknown.status_code == 404
    await driver.act(dossier, "steps/register/supplement-request", justice, {"items": ITEMS, "reason": "Thiếu"})
    request = (await driver.events(dossier, "dossier.supplement-requested"))[-1]
    await driver.publish(dossier, supplement_received(request.id, vn(2, 9)))
    await driver.events(dossier, "dossier.supplement-resumed")
    second = {"items": ITEMS, "reason": "Thiếu bản sao"}
    refused = await driver.act(dossier, "steps/register/supplement-request", justice, second, expect=422)
    assert "second_request_reason" in refused["detail"]
    await driver.act(dossier, "steps/register/supplement-request", justice,
                     {**second, "second_request_reason": "Bản sao không rõ"})  # fmt: skip
    again = (await driver.events(dossier, "dossier.supplement-requested", "dossier.supplement-requested"))[-1]
    assert (again.data or {})["second_request"] is True


async def test_schemathesis_finds_no_server_error(driver: RoutingDriver) -> None:
    """Generated requests against every operation of routing's OpenAPI, with a processing token: none is a 5xx."""
    done = await schemathesis_run(str(driver.http.base_url), driver.token(JUSTICE)["Authorization"])
    assert done.returncode == 0, done.stdout[-4000:]
    assert "passed" in done.stdout
