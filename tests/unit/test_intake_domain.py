"""Intake's rules without I/O, on the shipped birth registration procedure."""

from datetime import UTC, datetime

import pytest

from services.intake.domain import (
    DossierState,
    InvalidDossierError,
    SubmittedDocument,
    TransitionNotAllowedError,
    appointment,
    check_new_dossier,
    ensure_undecided,
)
from shared.calendar.engine import WorkingCalendar
from shared.calendar.holidays import load_holiday_years
from shared.events.catalogue.common import IntakeChannel, ReturnChannel
from shared.rules.publish import SHIPPED_RULES
from shared.rules.validate import load_rules

CATALOGUE, _ = load_rules(SHIPPED_RULES)
BIRTH = CATALOGUE.version_at("1.001193", datetime(2026, 12, 2).date())
COMPLETE = [SubmittedDocument("declaration", None), SubmittedDocument("birth_certificate_medical", None)]


def test_a_complete_counter_dossier_passes() -> None:
    check_new_dossier(BIRTH, IntakeChannel.COUNTER, COMPLETE, ReturnChannel.DESK, has_postal_address=False)


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(InvalidDossierError) as raised:
        check_new_dossier(
            BIRTH, IntakeChannel.COUNTER, [SubmittedDocument("passport", None)], ReturnChannel.POST,
            has_postal_address=False,
        )  # fmt: skip
    problems = raised.value.problems
    assert any("'passport' is not in the list" in p for p in problems)
    assert any("'declaration'" in p and "missing" in p for p in problems)
    assert any("'birth_certificate_medical'" in p and "missing" in p for p in problems)
    assert any("needs the applicant's postal address" in p for p in problems)


@pytest.mark.parametrize("state", [DossierState.ACCEPTED, DossierState.REFUSED])
def test_a_decided_dossier_cannot_be_decided_again(state: DossierState) -> None:
    with pytest.raises(TransitionNotAllowedError, match=f"already {state.value}"):
        ensure_undecided(state, "accepted")
    ensure_undecided(DossierState.RECEIVED, "accepted")
    ensure_undecided(DossierState.SUBMITTED, "accepted")


def test_the_appointment_counts_working_time_over_tet() -> None:
    calendar = WorkingCalendar(load_holiday_years())
    # Friday 13 February 2026, 16:00 in Vietnam: one working day later is after the Tết break.
    received = datetime(2026, 2, 13, 9, 0, tzinfo=UTC)
    assert appointment(calendar, BIRTH, received) == datetime(2026, 2, 23, 9, 0, tzinfo=UTC)
