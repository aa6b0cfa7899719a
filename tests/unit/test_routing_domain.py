"""Routing's status machine and route plan on the shipped procedures, without I/O."""

from datetime import UTC, date, datetime

import pytest

from services.routing.domain import (
    FACT_ACTIONS,
    TransitionRefusedError,
    apply_fact,
    first_steps,
    is_route_finished,
    plan,
    steps_unblocked,
    transition,
)
from shared.calendar.engine import WorkingCalendar
from shared.calendar.holidays import load_holiday_years
from shared.events.catalogue.base import DossierStatus as S
from shared.rules.publish import SHIPPED_RULES
from shared.rules.validate import load_rules

CATALOGUE, _ = load_rules(SHIPPED_RULES)
ON = date(2026, 12, 2)
CHILD_PACKAGE = CATALOGUE.version_at("LT-KS-TT-BHYT", ON)
LAND = CATALOGUE.version_at("1.013978", ON)


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
    calendar = WorkingCalendar(load_holiday_years())
    (justice,) = first_steps(CHILD_PACKAGE)
    start = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 09:00 in Vietnam
    planned = plan(calendar, justice, start)
    assert planned.deadline_at == calendar.add_working_time(start, justice.share_hours)
    assert planned.deadline_at > start
