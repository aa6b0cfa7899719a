"""The accountability board of two agencies of Tân Định ward for January 2027, after a week of birth registrations
driven through routing: the figures the API serves and /metrics exports equal those computed by hand in this test,
and those a fresh computation gets by replaying the topics (routing's events and the survey answers)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from shared.calendar.zone import ZONE
from shared.events.catalogue import intake
from shared.events.catalogue.common import DocumentRef, Via
from shared.events.catalogue.notification import SurveyAnswered
from shared.events.envelope import Envelope
from shared.settings import KafkaSettings
from tests.support.driver import NOTIFICATION, Dossier
from tests.support.messaging import eventually
from tests.support.routing import CALENDAR, RoutingDriver

DESK, JUSTICE, COMMITTEE = "H29.103.1", "H29.103.2", "H29.103"
RESULT = {"decision": "granted", "documents": [{"code": "birth_certificate", "title": "Giấy khai sinh"}]}
ITEMS = [{"document_code": "declaration", "document_title": "Tờ khai", "problem": "missing", "instruction": "Nộp"}]


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 1, day, hour, minute, tzinfo=ZONE)


# By hand. Birth registration: 1 working day; register (justice) 6 h, then sign (People's Committee) 2 h.
# a1: accepted Mon 4 Jan 09:00; register done 10:00 (deadline 16:30: on time, 1 h); sign 10:00-11:00 (on time).
# a2: accepted Mon 09:00; supplement asked 09:30, received Tue 09:00 (7.5 h paused); asked again 09:30 with a reason,
#     received 10:30 (1 h): register deadline Mon 16:30 + 8.5 h = Tue 17:00; done Wed 09:00: late, 16 h less 8.5 h
#     paused = 7.5 h of work. Sign Wed 09:00-10:00 (on time). The applicant is dissatisfied.
# a3: accepted Wed 09:00, register open: deadline Wed 16:30, half an hour left at 16:00: near-late.
# a4: accepted Mon 09:00, register open since: late; its head apologised on Monday.
EXPECTED = {
    JUSTICE: {
        "agency": JUSTICE, "received": 4, "in_progress": {"not_yet_due": 0, "near_late": 1, "late": 1},
        "finished": {"early": 0, "on_time": 1, "late": 1}, "on_time_rate": 0.5, "supplements_requested": 2,
        "second_supplement_requests": 1, "apologies": 1, "step_hours": {"register": 4.25},
        "satisfaction": {"dossiers": 2, "counted_against": 1, "index": 0.5},
    },
    COMMITTEE: {
        "agency": COMMITTEE, "received": 2, "in_progress": {"not_yet_due": 0, "near_late": 0, "late": 0},
        "finished": {"early": 0, "on_time": 2, "late": 0}, "on_time_rate": 1.0, "supplements_requested": 0,
        "second_supplement_requests": 0, "apologies": 0, "step_hours": {"sign": 1.0},
        "satisfaction": {"dossiers": 2, "counted_against": 1, "index": 0.5},
    },
}  # fmt: skip


async def supplemented(driver: RoutingDriver, dossier: Dossier, at: datetime, nth: int) -> None:
    """The applicant answers the dossier's `nth` supplement request; returns once routing resumed processing."""

    def count(events: list[Envelope], event_type: str) -> int:
        return sum(e.type == event_type for e in events)

    events = await driver.wait_for(dossier, lambda events: count(events, "dossier.supplement-requested") == nth)
    request = [e for e in events if e.type == "dossier.supplement-requested"][-1]
    received = intake.DossierSupplementReceived(
        request_event_id=request.id, documents=[DocumentRef(code="declaration", title="Tờ khai")], via=Via.ONLINE,
        received_at=at, actor=None,
    )  # fmt: skip
    await driver.publish(dossier, received)
    await driver.wait_for(dossier, lambda events: count(events, "dossier.supplement-resumed") == nth)


async def survey(driver: RoutingDriver, dossier: Dossier, dissatisfied: bool) -> None:
    answer = SurveyAnswered(survey_id=dossier.id, levels=3, rating=1 if dissatisfied else 3, dissatisfied=dissatisfied,
                            answered_at=vn(6, 12))  # fmt: skip
    await driver.publish(dossier, answer, NOTIFICATION)


async def test_the_board_matches_the_figures_by_hand_and_a_replay_of_the_topics(
    driver: RoutingDriver, kafka_settings: KafkaSettings
) -> None:
    justice, committee, head = driver.token(JUSTICE), driver.token(COMMITTEE), driver.token(JUSTICE, "head")
    driver.set_clock(vn(4, 9))
    a1, a2, a4 = [await driver.accept("1.001193", 1, DESK, vn(4, 9)) for _ in range(3)]
    await driver.act(a4, "apology", head, {"reason": "Chờ xác minh", "new_appointment_at": vn(7, 9).isoformat()})
    driver.set_clock(vn(4, 9, 30))
    await driver.act(a2, "steps/register/supplement-request", justice, {"items": ITEMS, "reason": "Thiếu tờ khai"})
    driver.set_clock(vn(4, 10))
    await driver.act(a1, "steps/register/complete", justice, {"note": "Đã ghi sổ"})
    driver.set_clock(vn(4, 11))
    await driver.act(a1, "steps/sign/complete", committee, {"note": "Đã ký", "result": RESULT})
    driver.set_clock(vn(5, 9))
    await supplemented(driver, a2, vn(5, 9), nth=1)
    driver.set_clock(vn(5, 9, 30))
    again = {"items": ITEMS, "reason": "Tờ khai thiếu chữ ký", "second_request_reason": "Bản nộp bổ sung chưa ký"}
    await driver.act(a2, "steps/register/supplement-request", justice, again)
    driver.set_clock(vn(5, 10, 30))
    await supplemented(driver, a2, vn(5, 10, 30), nth=2)
    driver.set_clock(vn(6, 9))
    a3 = await driver.accept("1.001193", 1, DESK, vn(6, 9))
    await driver.act(a2, "steps/register/complete", justice, {"note": "Đã ghi sổ"})
    driver.set_clock(vn(6, 10))
    await driver.act(a2, "steps/sign/complete", committee, {"note": "Đã ký", "result": RESULT})
    await survey(driver, a1, dissatisfied=False)
    await survey(driver, a2, dissatisfied=True)
    driver.set_clock(vn(6, 16))

    async def board() -> dict[str, Any]:
        answer = await driver.http.get("/accountability", params={"from": "2027-01-01", "to": "2027-01-31"},
                                       headers=driver.token(DESK, "admin"))  # fmt: skip
        assert answer.status_code == 200, answer.text
        return {a["agency"]: a for a in answer.json()["agencies"] if a["agency"] in EXPECTED}

    async def surveys_folded_in() -> bool:
        # The committee's steps were all on time: only a2's dissatisfied answer counts against it.
        return bool((await board())[COMMITTEE]["satisfaction"]["counted_against"] == 1)

    await eventually(surveys_folded_in, what="routing consumed the survey answers")
    assert await board() == EXPECTED

    for finished in (a1, a2):
        await driver.events(finished, "dossier.result-ready")
    dossiers = [a1, a2, a3, a4]
    replayed = replay([e for d in dossiers for e in driver.published[d.id]], dissatisfied={a2.id}, now=vn(6, 16))
    assert replayed == EXPECTED

    own = await driver.http.get("/accountability", params={"from": "2027-01-01", "to": "2027-01-31"}, headers=justice)
    assert [a["agency"] for a in own.json()["agencies"]] == [JUSTICE]
    other = {"from": "2027-01-01", "to": "2027-01-31", "agency": COMMITTEE}
    assert (await driver.http.get("/accountability", params=other, headers=justice)).status_code == 403

    async def exported() -> bool:
        metrics = (await driver.http.get("/metrics")).text
        return (
            f'lienthong_agency_steps{{agency="{JUSTICE}",figure="in_progress_late"}} 1.0' in metrics
            and f'lienthong_agency_rate{{agency="{JUSTICE}",figure="satisfaction"}} 0.5' in metrics
            and f'lienthong_agency_steps{{agency="{JUSTICE}",figure="received"}} 4.0' in metrics
        )

    await eventually(exported, what="the gauges of this month")


def replay(events: list[Envelope], dissatisfied: set[str], now: datetime) -> dict[str, dict[str, Any]]:
    """A fresh computation from the events alone, written apart from the service's: each agency's steps from the
    handovers and completions, pauses from the requests and resumptions, apologies, ends and survey answers."""
    steps: dict[tuple[str, str], dict[str, Any]] = {}
    pauses: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    figures: dict[str, dict[str, Any]] = {
        code: {"hours": defaultdict(list), "supplements": 0, "second": 0, "apologies": 0} for code in EXPECTED
    }
    ended: set[str] = set()
    for event in events:
        data, dossier = event.data or {}, event.dossierid
        if event.type == "step.transferred":
            steps[dossier, data["step_id"]] = {
                "agency": data["to_agency"]["code"], "deadline": data["step_deadline_at"],
                "start": datetime.fromisoformat(data["transferred_at"]),
            }  # fmt: skip
        elif event.type == "step.completed":
            steps[dossier, data["step_id"]] |= {"end": datetime.fromisoformat(data["completed_at"]),
                                                "timeliness": data["timeliness"]}  # fmt: skip
        elif event.type == "dossier.supplement-requested":
            figures[data["requesting_agency"]["code"]]["supplements"] += 1
            figures[data["requesting_agency"]["code"]]["second"] += data["second_request"]
        elif event.type == "dossier.supplement-resumed":
            pauses[dossier].append(
                (datetime.fromisoformat(data["paused_at"]), datetime.fromisoformat(data["resumed_at"]))
            )
        elif event.type == "dossier.apology-issued":
            figures[data["agency"]["code"]]["apologies"] += 1
        elif event.type in ("dossier.result-ready", "dossier.stopped"):
            ended.add(dossier)
    board: dict[str, dict[str, Any]] = {}
    for code, f in figures.items():
        mine = {key: s for key, s in steps.items() if s["agency"] == code}
        finished = [s["timeliness"] for s in mine.values() if "end" in s]
        open_states = [CALENDAR.classify_open(datetime.fromisoformat(s["deadline"]), now) for s in mine.values()
                       if "end" not in s]  # fmt: skip
        for (dossier, step_id), s in mine.items():
            if "end" in s:
                paused = sum(CALENDAR.working_hours_between(max(a, s["start"]), min(b, s["end"]))
                             for a, b in pauses[dossier] if min(b, s["end"]) > max(a, s["start"]))  # fmt: skip
                f["hours"][step_id].append(CALENDAR.working_hours_between(s["start"], s["end"]) - paused)
        touched = {dossier for dossier, _ in mine if dossier in ended}
        against = {d for d in touched if d in dissatisfied or any(
            s.get("timeliness") == "late" for (dd, _), s in mine.items() if dd == d)}  # fmt: skip
        board[code] = {
            "agency": code, "received": len(mine),
            "in_progress": {state: open_states.count(state) for state in ("not_yet_due", "near_late", "late")},
            "finished": {t: finished.count(t) for t in ("early", "on_time", "late")},
            "on_time_rate": (finished.count("early") + finished.count("on_time")) / len(finished),
            "supplements_requested": f["supplements"], "second_supplement_requests": f["second"],
            "apologies": f["apologies"], "step_hours": {k: sum(v) / len(v) for k, v in f["hours"].items()},
            "satisfaction": {"dossiers": len(touched), "counted_against": len(against),
                             "index": (len(touched) - len(against)) / len(touched)},
        }  # fmt: skip
    return board
