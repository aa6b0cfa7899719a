"""The accountability figures of an agency (766 method, as services/routing/accountability.py fixes it), by hand."""

from datetime import date, datetime

from services.routing.accountability import EndedDossier, Inputs, PauseFacts, Period, StepFacts, figures
from shared.calendar.engine import WorkingCalendar
from shared.calendar.holidays import load_holiday_years
from shared.calendar.zone import ZONE

CALENDAR = WorkingCalendar(load_holiday_years())
DECEMBER = Period(date(2026, 12, 1), date(2026, 12, 31))
JUSTICE, COMMITTEE = "H29.101.2", "H29.101"


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZONE)


def step(dossier: str, agency: str, started: datetime, deadline: datetime, **more: object) -> StepFacts:
    values: dict[str, object] = {"completed_at": None, "timeliness": None, "paused_at": None, **more}
    return StepFacts(dossier, "register", agency, started, deadline, **values)  # type: ignore[arg-type]


def test_each_figure_counts_the_agencys_own_steps() -> None:
    inputs = Inputs(
        steps=[
            # Done in 3 working hours of which 2 were a supplement pause: 1 hour of work, on time.
            step("a", JUSTICE, vn(2, 8), vn(2, 16), completed_at=vn(2, 11), timeliness="on_time"),
            step("b", JUSTICE, vn(2, 8), vn(2, 16), completed_at=vn(3, 8), timeliness="late"),
            step("c", JUSTICE, vn(2, 8), vn(2, 16)),  # open and past its deadline: late
            step("d", JUSTICE, vn(2, 8), vn(4, 16), paused_at=vn(4, 9)),  # paused with 6 h left: near-late
            step("e", JUSTICE, vn(9, 8), vn(15, 16)),  # open, far from due
            step(
                "old",
                JUSTICE,
                datetime(2026, 11, 30, 8, tzinfo=ZONE),
                vn(1, 8),
                completed_at=vn(1, 9),
                timeliness="late",
            ),
            step("b", COMMITTEE, vn(3, 8), vn(3, 10), completed_at=vn(3, 9), timeliness="on_time"),
        ],
        pauses=[
            PauseFacts("a", JUSTICE, "supplement", False, vn(2, 8), vn(2, 10)),
            PauseFacts("a", JUSTICE, "supplement", True, vn(2, 10), vn(2, 10)),
            PauseFacts("d", JUSTICE, "obligation", False, vn(4, 9), None),
        ],
        apologies=[(JUSTICE, vn(3, 9)), (JUSTICE, datetime(2026, 11, 2, 9, tzinfo=ZONE))],
        ended=[EndedDossier("a", vn(2, 11), dissatisfied=False), EndedDossier("b", vn(3, 9), dissatisfied=False)],
    )
    board = figures(inputs, DECEMBER, now=vn(10, 9), calendar=CALENDAR, near_window_hours=8)
    justice, committee = board[JUSTICE], board[COMMITTEE]
    assert justice.received == 5, "the step handed over in November counts there"
    assert justice.in_progress == {"not_yet_due": 1, "near_late": 1, "late": 1}
    assert justice.finished == {"early": 0, "on_time": 1, "late": 2}
    assert justice.on_time_rate == 1 / 3
    assert (justice.supplements_requested, justice.second_supplement_requests, justice.apologies) == (2, 1, 1)
    # a: 08:00 to 11:00 less the 2 h pause = 1 h; b: 2 December 08:00 to 3 December 08:00 = 3.5 + 4 + 0.5 = 8 h;
    # old: Monday 30 November 08:00 to 1 December 09:00 = 3.5 + 4 + 1.5 = 9 h.
    assert justice.step_hours == {"register": (1 + 8 + 9) / 3}
    assert (justice.satisfaction_dossiers, justice.satisfaction_counted_against) == (2, 1), "b's late step"
    assert justice.satisfaction_index == 0.5
    assert (committee.satisfaction_dossiers, committee.satisfaction_index) == (1, 1.0)
    assert committee.on_time_rate == 1.0


def test_an_agency_with_nothing_finished_has_no_rate_rather_than_zero() -> None:
    board = figures(Inputs([step("c", JUSTICE, vn(2, 8), vn(2, 16))], [], [], []), DECEMBER, vn(2, 9), CALENDAR, 8)
    assert board[JUSTICE].on_time_rate is None
    assert board[JUSTICE].satisfaction_index is None
