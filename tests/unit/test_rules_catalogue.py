"""The procedure catalogue, the agency list and the validator (shared/rules/), over the shipped seed rules and
over small catalogues built to break one rule each."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.events.catalogue.common import IntakeChannel, ReturnChannel, TimeUnit
from shared.rules.agencies import AgencyList, AgencyResolutionError, RulesFileError, load_agencies
from shared.rules.procedures import (
    CatalogueLookupError,
    LimitUnit,
    NoVersionInForceError,
    ProcedureCatalogue,
    ProcedureTimeLimit,
    ProcedureVersion,
    RouteStep,
    UnknownProcedureError,
    load_catalogue,
)
from shared.rules.validate import load_rules, longest_path, route_cycles, validate_catalogue

SEED = Path(__file__).resolve().parents[2] / "deploy" / "rules"

# --- a small world to break rules in -------------------------------------------------------------------------

AGENCIES = AgencyList.model_validate(
    {
        "effective_from": date(2025, 7, 1),
        "source": "test",
        "agencies": [
            {"code": "P1", "name_vi": "UBND tỉnh", "name_en": "Province", "level": "province",
             "roles": ["province_peoples_committee"], "parent": None},
            {"code": "P1.40", "name_vi": "Công an tỉnh", "name_en": "Provincial police", "level": "province",
             "roles": ["province_police"], "parent": "P1"},
            {"code": "P1.50", "name_vi": "BHXH tỉnh", "name_en": "Social insurance", "level": "province",
             "roles": ["social_insurance"], "parent": "P1"},
            {"code": "P1.1", "name_vi": "UBND phường A", "name_en": "Ward A", "level": "ward",
             "roles": ["ward_peoples_committee"], "parent": "P1"},
            {"code": "P1.1.1", "name_vi": "Một cửa phường A", "name_en": "Ward A desk", "level": "ward",
             "roles": ["one_stop_desk"], "parent": "P1.1", "has_one_stop_desk": True},
            {"code": "P1.1.2", "name_vi": "Tư pháp phường A", "name_en": "Ward A justice", "level": "ward",
             "roles": ["ward_justice"], "parent": "P1.1"},
            {"code": "P1.40.1", "name_vi": "Công an phường A", "name_en": "Ward A police", "level": "ward",
             "roles": ["police_residence"], "parent": "P1.40", "serves": ["P1.1"]},
        ],
    }
)  # fmt: skip

BASE: dict[str, Any] = {
    "code": "9.000001",
    "version": 1,
    "effective_from": date(2025, 7, 1),
    "name_vi": "Thủ tục thử",
    "name_en": "Test procedure",
    "field_vi": "Thử",
    "field_en": "Test",
    "level": "ward",
    "interconnected": True,
    "channels": {"counter": True, "online": "partial", "postal": True},
    "requires_personal_presence": False,
    "documents": [
        {"code": "form", "name_vi": "Tờ khai", "name_en": "Form", "form": "original", "count": 1, "mandatory": True}
    ],
    "fees": [{"name_vi": "Lệ phí", "name_en": "Fee", "amount_vnd": 10000}],
    "time_limit": {"amount": 3, "unit": "working_days"},
    "return_channels": ["desk"],
    "legal_basis": ["Nghị định thử"],
    "route": [{"id": "register", "name_vi": "Đăng ký", "name_en": "Register", "agency_role": "ward_justice",
               "share_hours": 8}],
    "source": ["test"],
}  # fmt: skip


def step(step_id: str, hours: int, after: list[str] | None = None, role: str = "ward_justice") -> dict[str, Any]:
    return {"id": step_id, "name_vi": step_id, "name_en": step_id, "agency_role": role, "share_hours": hours,
            "after": after or []}  # fmt: skip


def version(**changes: Any) -> ProcedureVersion:
    return ProcedureVersion.model_validate({**BASE, **changes})


def problems_of(*versions: ProcedureVersion, agencies: AgencyList = AGENCIES) -> list[str]:
    return validate_catalogue(ProcedureCatalogue(versions=versions), agencies)


def only_problem(*versions: ProcedureVersion) -> str:
    problems = problems_of(*versions)
    assert len(problems) == 1, problems
    return problems[0]


# --- the shipped rules ---------------------------------------------------------------------------------------


def test_the_shipped_catalogue_and_agencies_load_and_are_valid() -> None:
    catalogue, agencies = load_rules(SEED)
    assert validate_catalogue(catalogue, agencies) == []
    assert {"1.001193", "LT-KS-TT-BHYT", "2.000720", "1.009994", "1.013978"} <= set(catalogue.codes())
    assert len(catalogue.versions_of("1.013978")) >= 2  # the land certificate exercises versioning
    assert len(agencies.desks()) >= 2


def test_the_shipped_interconnected_package_runs_residence_and_health_card_in_parallel() -> None:
    catalogue, _ = load_rules(SEED)
    package = catalogue.version_at("LT-KS-TT-BHYT", date(2026, 11, 28))
    assert package.interconnected
    assert package.route is not None
    assert [s.id for s in package.first_steps()] == ["birth_registration"]
    assert package.step("permanent_residence").after == package.step("health_insurance_card").after
    assert longest_path(package.route)[0] == package.time_limit.budget_hours == 24


def test_a_step_resolves_to_the_agency_of_the_receiving_wards_jurisdiction() -> None:
    _, agencies = load_rules(SEED)
    desk = "H29.102.1"  # Phường Bến Thành
    assert agencies.resolve("ward_justice", desk).code == "H29.102.2"
    assert agencies.resolve("ward_peoples_committee", desk).code == "H29.102"
    assert agencies.resolve("police_residence", desk).code == "H29.40.102"  # its own ward's police
    assert agencies.resolve("land_registration_office", desk).code == "H29.20.1"  # the branch, not the city office
    assert agencies.resolve("one_stop_desk", desk).code == desk


def test_resolution_refuses_a_missing_role_and_an_ambiguous_one() -> None:
    with pytest.raises(AgencyResolutionError, match="no agency does 'tax_department'"):
        AGENCIES.resolve("tax_department", "P1.1.1")
    doubled = AgencyList.model_validate(
        {**AGENCIES.model_dump(), "agencies": [*AGENCIES.model_dump()["agencies"],
         {"code": "P1.1.9", "name_vi": "Tư pháp 2", "name_en": "Justice 2", "level": "ward",
          "roles": ["ward_justice"], "parent": "P1.1"}]}
    )  # fmt: skip
    with pytest.raises(AgencyResolutionError, match=r"several agencies do 'ward_justice'.*P1\.1\.2, P1\.1\.9"):
        doubled.resolve("ward_justice", "P1.1.1")


# --- versions by date ------------------------------------------------------------------------------------------


def test_version_at_picks_the_version_in_force_on_the_day() -> None:
    catalogue, _ = load_rules(SEED)
    assert catalogue.version_at("1.013978", date(2025, 7, 1)).version == 1
    assert catalogue.version_at("1.013978", date(2025, 8, 14)).version == 1
    assert catalogue.version_at("1.013978", date(2025, 8, 15)).version == 2
    assert catalogue.version_at("1.013978", date(2030, 1, 1)).version == 2
    permit_2025 = catalogue.version_at("1.009994", date(2026, 6, 30))
    permit_2026 = catalogue.version_at("1.009994", date(2026, 7, 1))
    assert (permit_2025.time_limit.amount, permit_2025.time_limit.unit) == (15, "calendar_days")
    assert (permit_2026.time_limit.amount, permit_2026.time_limit.unit) == (7, "working_days")


def test_version_at_errors_clearly_before_the_first_version_and_for_an_unknown_code() -> None:
    catalogue, _ = load_rules(SEED)
    with pytest.raises(NoVersionInForceError, match=r"1\.013978 has no version in force on 2025-06-30.*v1.*2025-07-01"):
        catalogue.version_at("1.013978", date(2025, 6, 30))
    with pytest.raises(UnknownProcedureError, match=r"procedure 0\.000000 is not in the catalogue"):
        catalogue.version_at("0.000000", date(2026, 1, 1))


def test_version_at_names_both_sides_of_a_gap_and_refuses_an_overlap() -> None:
    first = version(effective_to=date(2025, 12, 31))
    gap = ProcedureCatalogue(versions=(first, version(version=2, effective_from=date(2026, 3, 1))))
    with pytest.raises(NoVersionInForceError, match=r"v1 ended on 2025-12-31; v2 takes effect on 2026-03-01"):
        gap.version_at("9.000001", date(2026, 2, 1))
    overlap = ProcedureCatalogue(
        versions=(version(effective_to=date(2026, 6, 30)), version(version=2, effective_from=date(2026, 1, 1)))
    )
    with pytest.raises(CatalogueLookupError, match="several versions are in force"):
        overlap.version_at("9.000001", date(2026, 6, 1))


# --- each rule of the validator, each message naming its entry -----------------------------------------------


def test_shares_along_the_longest_path_over_the_time_limit() -> None:
    too_long = version(route=[step("a", 8), step("b", 16, ["a"]), step("c", 8, ["b"])])  # 32 h in a 24 h budget
    message = only_problem(too_long)
    assert message.startswith("procedure 9.000001 v1, step 'c': ")
    assert "(a → b → c) takes 32 working hours, over the 24 of the time limit (3 working days)" in message


def test_parallel_branches_count_once_along_the_longest_path() -> None:
    parallel = version(route=[step("a", 8), step("b", 16, ["a"]), step("c", 16, ["a"])])  # 8 + max(16, 16)
    assert problems_of(parallel) == []
    route = parallel.route or ()
    assert longest_path(route)[0] == 24


def test_a_join_waits_for_its_longest_branch() -> None:
    steps = [RouteStep.model_validate(s) for s in (step("a", 8), step("b", 16, ["a"]), step("c", 4, ["a"]),
                                                   step("d", 8, ["b", "c"]))]  # fmt: skip
    assert longest_path(steps) == (32, ["a", "b", "d"])


def test_a_calendar_day_limit_gives_eight_hours_a_day_and_an_hour_limit_its_hours() -> None:
    calendar = version(time_limit={"amount": 2, "unit": "calendar_days"}, route=[step("a", 16)])
    assert problems_of(calendar) == []
    hours = version(time_limit={"amount": 4, "unit": "working_hours"}, route=[step("a", 5)])
    assert "takes 5 working hours, over the 4 of the time limit (4 working hours)" in only_problem(hours)


def test_unknown_agency_role() -> None:
    message = only_problem(version(route=[step("register", 8), step("tax", 8, ["register"], role="tax_office")]))
    assert message == "procedure 9.000001 v1, step 'tax': no agency in the agency list has the role 'tax_office'"


def test_a_role_that_exists_but_not_in_the_desks_jurisdiction() -> None:
    elsewhere = AgencyList.model_validate(
        {**AGENCIES.model_dump(), "agencies": [*AGENCIES.model_dump()["agencies"],
         {"code": "P1.30.7", "name_vi": "Thuế khác", "name_en": "Other tax office", "level": "province",
          "roles": ["tax_department"], "parent": "P1.50", "serves": ["P1.50"]}]}
    )  # fmt: skip
    problems = problems_of(version(route=[step("tax", 8, role="tax_department")]), agencies=elsewhere)
    assert problems == ["procedure 9.000001 v1, step 'tax': no agency does 'tax_department' in the jurisdiction "
                        "of desk P1.1.1"]  # fmt: skip


def test_unknown_step_in_after() -> None:
    message = only_problem(version(route=[step("a", 8), step("b", 8, ["a", "z"])]))
    assert message == "procedure 9.000001 v1, step 'b': it waits for 'z', which is not a step of the route"


def test_cycles_in_the_route() -> None:
    cycle = version(route=[step("a", 4, ["c"]), step("b", 4, ["a"]), step("c", 4, ["b"])])
    message = only_problem(cycle)
    assert message.startswith("procedure 9.000001 v1, step 'a': the route has a cycle")
    assert message.endswith("a → c → b → a")
    assert "step 'x': the route has a cycle (→ = waits for): x → x" in only_problem(
        version(route=[step("x", 4, ["x"])])
    )


def test_duplicate_step_ids() -> None:
    message = only_problem(version(route=[step("a", 4), step("a", 4)]))
    assert message == "procedure 9.000001 v1, step 'a': the id is used by 2 steps of the route"


def test_overlapping_effective_periods() -> None:
    first = version(effective_to=date(2026, 3, 31))
    second = version(version=2, effective_from=date(2026, 3, 1))
    message = only_problem(first, second)
    assert message == ("procedure 9.000001: v1 (2025-07-01 to 2026-03-31) and v2 (2026-03-01 to open) are both "
                       "in force on 2026-03-01")  # fmt: skip
    assert problems_of(first, version(version=2, effective_from=date(2026, 4, 1))) == []


def test_versions_must_increase_with_effective_from() -> None:
    later_but_lower = version(version=1, effective_from=date(2026, 1, 1))
    earlier_but_higher = version(version=2, effective_to=date(2025, 12, 31))
    message = only_problem(later_but_lower, earlier_but_higher)
    assert message == ("procedure 9.000001: version numbers must increase with effective_from: v1 takes effect on "
                       "2026-01-01, after v2 (2025-07-01)")  # fmt: skip
    duplicate = problems_of(version(effective_to=date(2025, 12, 31)), version(effective_from=date(2026, 1, 1)))
    assert duplicate == ["procedure 9.000001: version 1 is defined 2 times"]


def test_a_version_cannot_end_before_it_starts() -> None:
    message = only_problem(version(effective_to=date(2025, 6, 30)))
    assert message == "procedure 9.000001 v1: it ends (2025-06-30) before it takes effect (2025-07-01)"


def test_postal_intake_is_refused_when_the_applicant_must_come_in_person() -> None:
    message = only_problem(version(requires_personal_presence=True))
    assert message == "procedure 9.000001 v1: it accepts postal intake but requires the applicant's personal presence"
    in_person = {"counter": True, "online": None, "postal": False}
    assert problems_of(version(requires_personal_presence=True, channels=in_person)) == []


def test_a_route_needs_a_step_and_an_interconnected_procedure_needs_a_route() -> None:
    assert only_problem(version(route=[])) == "procedure 9.000001 v1: the route has no steps"
    assert only_problem(version(route=None)) == "procedure 9.000001 v1: an interconnected procedure needs a route"
    assert problems_of(version(route=None, interconnected=False)) == []
    assert problems_of(version(interconnected=False)) == []  # a route on a single-agency procedure is fine


def test_negative_fee() -> None:
    message = only_problem(version(fees=[{"name_vi": "Phí âm", "name_en": "Negative", "amount_vnd": -5000}]))
    assert message == "procedure 9.000001 v1: fee 'Phí âm' is negative (-5000 VND)"
    assert problems_of(version(fees=[{"name_vi": "Miễn", "name_en": "Free", "amount_vnd": 0}])) == []


def test_no_desk_at_the_procedures_level() -> None:
    message = only_problem(version(level="district"))
    assert message == "procedure 9.000001 v1: no one-stop desk at the district level in the agency list receives it"


def test_a_version_ended_before_the_agency_list_is_not_checked_against_it() -> None:
    old = version(effective_from=date(2024, 8, 1), effective_to=date(2025, 6, 30), level="district",
                  route=[step("sign", 8, role="district_peoples_committee")])  # fmt: skip
    assert problems_of(old, version(version=2)) == []


def test_every_problem_is_reported_at_once() -> None:
    broken = version(
        requires_personal_presence=True,
        fees=[{"name_vi": "Phí âm", "name_en": "Negative", "amount_vnd": -1}],
        route=[step("a", 8, ["b"]), step("b", 8, ["a"]), step("c", 8, ["zz"], role="nobody")],
    )
    problems = problems_of(broken)
    assert len(problems) == 5, problems
    assert all(problem.startswith("procedure 9.000001 v1") for problem in problems)


# --- models and loaders ----------------------------------------------------------------------------------------


def test_time_limits_have_one_spelling_and_map_to_the_events_time_limit() -> None:
    same_day = ProcedureTimeLimit(amount=4, unit=LimitUnit.WORKING_HOURS)
    assert same_day.budget_hours == 4
    assert same_day.as_event_time_limit().amount == 0  # the same working day
    days = ProcedureTimeLimit(amount=3, unit=LimitUnit.CALENDAR_DAYS)
    assert (days.budget_hours, days.as_event_time_limit().unit) == (24, TimeUnit.CALENDAR_DAYS)
    with pytest.raises(ValidationError, match="write it in working_days"):
        ProcedureTimeLimit(amount=8, unit=LimitUnit.WORKING_HOURS)


def test_a_version_knows_its_channels_and_names_itself_for_events() -> None:
    ward = version(channels={"counter": True, "online": None, "postal": True}, return_channels=["desk", "post"])
    assert ward.channels.intake_channels() == (IntakeChannel.COUNTER, IntakeChannel.POSTAL)
    assert ward.return_channels == (ReturnChannel.DESK, ReturnChannel.POST)
    assert ward.ref().model_dump() == {"code": "9.000001", "catalogue_version": "1", "title": "Thủ tục thử"}


def test_a_published_version_reads_back_identical() -> None:
    catalogue, agencies = load_rules(SEED)
    assert [ProcedureVersion.model_validate(v.model_dump(mode="json")) for v in catalogue.versions] == list(
        catalogue.versions
    )
    assert AgencyList.model_validate(agencies.model_dump(mode="json")) == agencies


def test_loader_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text('code: "9.1"\nversions:\n  - {version: 1, effective_form: 2025-07-01}\n')
    with pytest.raises(RulesFileError, match=r"(?s)a\.yaml: version 1: .*effective_form"):
        load_catalogue(tmp_path)
    (tmp_path / "a.yaml").write_text("code: 9.1\nversions: [\n")
    with pytest.raises(RulesFileError, match=r"a\.yaml: not valid YAML"):
        load_catalogue(tmp_path)
    (tmp_path / "a.yaml").write_text("code: 9.000001\nversions: [{version: 1}]\n")  # unquoted: a number
    with pytest.raises(RulesFileError, match=r"(?s)a\.yaml: .*code"):
        load_catalogue(tmp_path)


def test_a_procedure_lives_in_one_file(tmp_path: Path) -> None:
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / name).write_text((SEED / "procedures" / "2.000720-dang-ky-ho-kinh-doanh.yaml").read_text())
    with pytest.raises(RulesFileError, match=r"two\.yaml: procedure 2\.000720 is already defined in one\.yaml"):
        load_catalogue(tmp_path)


def test_the_agency_list_refuses_unknown_links_and_duplicate_codes(tmp_path: Path) -> None:
    data = AGENCIES.model_dump(mode="json")
    data["agencies"][3]["parent"] = "P9"
    data["agencies"].append(data["agencies"][0])
    path = tmp_path / "agencies.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(RulesFileError, match=r"agency code P1 is listed twice; agency P1\.1: its parent P9"):
        load_agencies(path)


# --- property: the longest path, against brute force ------------------------------------------------------------


@st.composite
def routes(draw: st.DrawFn) -> list[RouteStep]:
    """A random DAG: step i may wait for any of the steps before it."""
    count = draw(st.integers(min_value=1, max_value=8))
    steps: list[RouteStep] = []
    for index in range(count):
        after = draw(st.lists(st.sampled_from([s.id for s in steps]), unique=True)) if steps else []
        hours = draw(st.integers(min_value=1, max_value=40))
        steps.append(RouteStep.model_validate(step(f"s{index}", hours, after)))
    return steps


def brute_force_longest(steps: list[RouteStep]) -> int:
    by_id = {s.id: s for s in steps}

    def heaviest_ending_at(step_id: str) -> int:
        return by_id[step_id].share_hours + max((heaviest_ending_at(d) for d in by_id[step_id].after), default=0)

    return max(heaviest_ending_at(s.id) for s in steps)


@settings(max_examples=150, deadline=None, database=None)
@given(routes())
def test_a_random_route_is_accepted_exactly_when_its_longest_path_fits(steps: list[RouteStep]) -> None:
    hours, path = longest_path(steps)
    assert hours == brute_force_longest(steps)
    assert sum(s.share_hours for s in steps if s.id in path) == hours
    assert route_cycles(steps) == []
    route = [s.model_dump() for s in steps]
    days = math.ceil(hours / 8)
    assert problems_of(version(route=route, time_limit={"amount": days, "unit": "working_days"})) == []
    if days > 1:  # one day less is under the longest path: 8 * (days - 1) < hours
        tight = version(route=route, time_limit={"amount": days - 1, "unit": "working_days"})
        assert f"takes {hours} working hours" in only_problem(tight)


def test_an_open_version_is_superseded_by_a_later_one_without_being_edited() -> None:
    catalogue = ProcedureCatalogue(versions=(version(), version(version=2, effective_from=date(2026, 1, 1))))
    assert catalogue.version_at("9.000001", date(2025, 12, 31)).version == 1
    assert catalogue.version_at("9.000001", date(2026, 1, 1)).version == 2
