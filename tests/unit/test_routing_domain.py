"""Routing's status machine and route plan on the shipped procedures, without I/O."""

from datetime import UTC, date, datetime

import pytest

from services.routing.domain import (
    FACT_ACTIONS,
    ProcessingRuleError,
    TransitionRefusedError,
    apply_fact,
    check_apology,
    first_steps,
    is_route_finished,
    moved_by,
    near_due_at,
    paused_minutes,
    plan,
    steps_unblocked,
    supplement_request_is_second,
    transition,
)
from shared.calendar.engine import WorkingCalendar
from shared.calendar.holidays import load_holiday_years
from shared.calendar.zone import ZONE
from shared.events.catalogue.base import DossierStatus as S
from shared.rules.publish import SHIPPED_RULES
from shared.rules.validate import load_rules

CATALOGUE, _ = load_rules(SHIPPED_RULES)
ON = date(2026, 12, 2)
CHILD_PACKAGE = CATALOGUE.version_at("LT-KS-TT-BHYT", ON)
LAND = CATALOGUE.version_at("1.013978", ON)
CALENDAR = WorkingCalendar(load_holiday_years())


def test_the_happy_path_from_acceptance_to_return() -> None:
    status = S.ACCEPTED
    for action, expected in [
        ("start_processing", S.PROCESSING),
        ("request_supplement", S.SUPPLEMENT_REQUESTED),
        ("resume_after_supplement", S.PROCESSING),
        ("request_obligation", S.OBLIGATION_REQUESTED),
        ("settle_obligation", S.PROCESSING),
        ("ready_result", S.RESULT_READY),
        ("return_result", S.RESULT_RETURNED),
    ]:
        status = transition(status, action)
        assert status is expected


def test_a_withdrawal_after_the_result_is_ready_is_rejected_with_the_reason() -> None:
    with pytest.raises(TransitionRefusedError, match=r"ready .*cannot withdraw"):
        apply_fact(S.RESULT_READY, "dossier.withdrawal-requested")
    assert apply_fact(S.SUPPLEMENT_REQUESTED, "dossier.withdrawal-requested") is S.WITHDRAWN


@pytest.mark.parametrize("fact", sorted(FACT_ACTIONS))
def test_no_fact_moves_a_finished_dossier(fact: str) -> None:
    for finished in (S.WITHDRAWN, S.STOPPED, S.RESULT_RETURNED):
        with pytest.raises(TransitionRefusedError):
            apply_fact(finished, fact)


def test_a_supplement_received_without_a_request_is_rejected() -> None:
    with pytest.raises(TransitionRefusedError, match="being processed"):
        apply_fact(S.PROCESSING, "dossier.supplement-received")


def test_parallel_branches_start_together_and_the_join_waits_for_both() -> None:
    (justice,) = first_steps(CHILD_PACKAGE)
    after_justice = steps_unblocked(CHILD_PACKAGE, done={justice.id}, started={justice.id})
    assert len(after_justice) == 2, "police and social insurance work in parallel"
    branch_ids = {step.id for step in after_justice}
    assert not is_route_finished(CHILD_PACKAGE, {justice.id, *list(branch_ids)[:1]})
    assert is_route_finished(CHILD_PACKAGE, {justice.id, *branch_ids})


def test_the_land_certificate_route_runs_step_by_step_through_the_tax_obligation() -> None:
    done: set[str] = set()
    started: set[str] = set()
    order = []
    current = first_steps(LAND)
    while current:
        assert len(current) == 1, "the land-use certificate route is a single path"
        order.append(current[0].kind)
        started.add(current[0].id)
        done.add(current[0].id)
        current = steps_unblocked(LAND, done, started)
    assert "financial_obligation" in order
    assert is_route_finished(LAND, done)


def test_a_step_deadline_is_its_start_plus_its_share_in_working_time() -> None:
    (justice,) = first_steps(CHILD_PACKAGE)
    start = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 09:00 in Vietnam
    planned = plan(CALENDAR, justice, start)
    assert planned.deadline_at == CALENDAR.add_working_time(start, justice.share_hours)
    assert planned.deadline_at > start


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZONE)


def test_the_paused_working_time_moves_a_deadline_later_by_as_much() -> None:
    # Wednesday 10:00 to Thursday 09:00: 1.5 + 4 + 1.5 working hours.
    assert paused_minutes(CALENDAR, vn(2, 10), vn(3, 9)) == 420
    assert moved_by(CALENDAR, vn(3, 9), 420) == vn(4, 8)
    assert paused_minutes(CALENDAR, vn(3, 9), vn(2, 9)) == 0, "an answer stamped before the request pauses nothing"
    assert moved_by(CALENDAR, vn(3, 9), 0) == vn(3, 9)


def test_a_second_supplement_request_needs_a_reason() -> None:
    assert supplement_request_is_second(0, None) is False
    with pytest.raises(ProcessingRuleError, match="second_request_reason"):
        supplement_request_is_second(1, "  ")
    assert supplement_request_is_second(1, "the copy is illegible") is True


def test_an_apology_comes_once_at_least_one_working_day_before_the_due_date() -> None:
    due = vn(7, 9)  # Monday 7 December: the last day for an apology is Friday 4
    check_apology(CALENDAR, vn(4, 16, 59), due, vn(9, 10), already=False)
    with pytest.raises(ProcessingRuleError, match="last day for it was 2026-12-04"):
        check_apology(CALENDAR, vn(5, 10), due, vn(9, 10), already=False)  # Saturday is too late
    with pytest.raises(ProcessingRuleError, match="only once"):
        check_apology(CALENDAR, vn(3, 10), due, vn(9, 10), already=True)
    with pytest.raises(ProcessingRuleError, match="later than the original due instant"):
        check_apology(CALENDAR, vn(3, 10), due, due, already=False)


def test_the_near_late_window_opens_when_at_most_its_working_hours_remain() -> None:
    # Appointment Monday 7 December 09:00; an 8-hour window opens Friday 09:00 (the weekend does not count).
    assert near_due_at(CALENDAR, vn(2, 9), vn(7, 9), 8) == vn(4, 9)
    assert near_due_at(CALENDAR, vn(4, 10), vn(7, 9), 8) == vn(4, 10), "already inside: at once"
    assert CALENDAR.classify_open(vn(7, 9), near_due_at(CALENDAR, vn(2, 9), vn(7, 9), 8)) == "near_late"


def test_the_previous_working_day_skips_weekends_and_holidays() -> None:
    assert CALENDAR.previous_working_day(date(2026, 12, 7)) == date(2026, 12, 4)
    assert CALENDAR.previous_working_day(date(2026, 2, 23)) == date(2026, 2, 13), "Tết 2026: 16 to 20 February"


def test_actions_that_keep_the_status_are_refused_outside_processing() -> None:
    assert transition(S.PROCESSING, "act_on_step") is S.PROCESSING
    assert transition(S.SUPPLEMENT_REQUESTED, "apologise") is S.SUPPLEMENT_REQUESTED
    with pytest.raises(TransitionRefusedError, match="waiting for a supplement: it cannot act on step"):
        transition(S.SUPPLEMENT_REQUESTED, "act_on_step")
    assert apply_fact(S.RESULT_READY, "shipment.returned-to-agency") is S.RESULT_READY
