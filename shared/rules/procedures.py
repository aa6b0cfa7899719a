"""The procedure catalogue: every version of every administrative procedure (thủ tục hành chính), each in force
from its `effective_from` to its `effective_to` (inclusive; open when none).

A version carries what intake and routing decide with: the channels, the documents, the fees, the legal time
limit, how results go back, and the route — the steps across agencies, each with its share of the time limit.

**Files.** One YAML file per procedure in `procedures/`, holding the code once and all its versions:

    code: "1.001193"          # quoted: an unquoted 1.001193 is a number
    versions:
      - version: 1
        effective_from: 2025-07-01
        ...

A later version may repeat an earlier one with a YAML anchor and merge key (`- <<: *v1`) and change what
changed. A published version is never edited: a correction is a new version.

**Routes.** A step names an agency role (resolved from the receiving desk, `AgencyList.resolve`), its share of
the time limit in working hours, and the steps it waits for (`after`). Steps without `after` start at
acceptance; several steps after the same one run in parallel; a step after several is a join and starts when
the last of them ends. The shares along the longest path never exceed the limit (validate.py).

**Time limits.** `working_days` or `calendar_days` as published, and `working_hours` for a limit shorter than a
day (1 to 7 hours: a whole day is written in days, so each limit has one spelling). A working day is 8 working
hours; for a calendar-day limit the route's budget is 8 hours per day, an upper bound (the calendar holds fewer
working days), so seed routes of calendar-day procedures keep their shares well under it.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, ValidationError, model_validator

from shared.events.catalogue.common import IntakeChannel, ProcedureRef, ReturnChannel, TimeLimit, TimeUnit
from shared.rules.agencies import Level, Role, RulesFileError, RulesModel, read_rules_yaml

HOURS_PER_DAY = 8
"""Working hours in a working day (07:30 to 11:30 and 13:00 to 17:00 in HCMC)."""

ProcedureCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]*$", examples=["1.001193"])]
"""Mã TTHC of the national database of administrative procedures (e.g. 1.001193)."""

StepId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", examples=["cadastral_check"])]
DocumentCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", examples=["birth_certificate_medical"])]


class LimitUnit(StrEnum):
    WORKING_HOURS = "working_hours"  # a limit shorter than one working day
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"  # never falls due on a non-working day (the engine moves it)


class ProcedureTimeLimit(RulesModel):
    """The legal time limit (thời hạn giải quyết) from the complete dossier's receipt."""

    amount: int = Field(ge=1)
    unit: LimitUnit
    note_vi: str | None = Field(None, description="The legal wording when it says more (cut-off hours...).")

    @model_validator(mode="after")
    def _hours_only_below_a_day(self) -> Self:
        if self.unit is LimitUnit.WORKING_HOURS and self.amount >= HOURS_PER_DAY:
            raise ValueError(f"{self.amount} working hours is a day or more: write it in working_days")
        return self

    @property
    def budget_hours(self) -> int:
        """The working hours a route may take along its longest path."""
        return self.amount if self.unit is LimitUnit.WORKING_HOURS else self.amount * HOURS_PER_DAY

    def as_event_time_limit(self) -> TimeLimit:
        """The limit as events carry it (`dossier.accepted`): a sub-day limit is 0 days, the same working day."""
        if self.unit is LimitUnit.WORKING_HOURS:
            return TimeLimit(amount=0, unit=TimeUnit.WORKING_DAYS)
        return TimeLimit(amount=self.amount, unit=TimeUnit(self.unit.value))

    def describe(self) -> str:
        return f"{self.amount} {self.unit.value.replace('_', ' ')}"


class Channels(RulesModel):
    """How the dossier may be submitted (kênh tiếp nhận)."""

    counter: bool = Field(description="At a one-stop desk (kênh 1).")
    online: Literal["full", "partial"] | None = Field(
        description="Online (kênh 2): 'full' = toàn trình, 'partial' = một phần (originals still brought); none = not."
    )
    postal: bool = Field(description="Picked up by the public postal service (kênh 3, Decision 45/2016).")

    def intake_channels(self) -> tuple[IntakeChannel, ...]:
        accepted = (
            (IntakeChannel.COUNTER, self.counter),
            (IntakeChannel.ONLINE, self.online is not None),
            (IntakeChannel.POSTAL, self.postal),
        )
        return tuple(channel for channel, yes in accepted if yes)


class RequiredDocument(RulesModel):
    """One item of the dossier (thành phần hồ sơ)."""

    code: DocumentCode
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    form: Literal["original", "copy", "certified_copy"] = Field(description="Bản chính, bản sao, bản sao chứng thực.")
    count: int = Field(1, ge=1, description="Number of copies (số lượng).")
    mandatory: bool = Field(description="False for an item needed only in some cases (stated in `when_vi`).")
    when_vi: str | None = Field(None, description="When it is needed, for a conditional item.")


class Fee(RulesModel):
    """A fee or charge (phí, lệ phí); 0 = free. Not constrained here, so that the validator can name the entry
    of a negative amount instead of a loader error without context."""

    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    amount_vnd: int
    note_vi: str | None = None

    @property
    def free(self) -> bool:
        return self.amount_vnd == 0


class StepKind(StrEnum):
    PROCESSING = "processing"
    FINANCIAL_OBLIGATION = "financial_obligation"  # the applicant is asked to pay (status 6, the clock pauses)
    SIGNATURE = "signature"
    RESULT = "result"  # the result goes back to the desk that returns it


class RouteStep(RulesModel):
    id: StepId
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    agency_role: Role = Field(description="Resolved to an agency from the receiving desk (AgencyList.resolve).")
    share_hours: int = Field(ge=1, description="The step's share of the time limit, in working hours.")
    after: tuple[StepId, ...] = Field((), description="Steps it waits for; none = it starts at acceptance.")
    kind: StepKind = StepKind.PROCESSING


class ProcedureVersion(RulesModel):
    """One version of a procedure, in force from `effective_from` to `effective_to` (inclusive)."""

    code: ProcedureCode
    version: int = Field(ge=1)
    effective_from: date
    effective_to: date | None = Field(None, description="Last day in force (inclusive); none = until replaced.")
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    field_vi: str = Field(min_length=1, description="Lĩnh vực, e.g. 'Hộ tịch'.")
    field_en: str = Field(min_length=1)
    level: Level = Field(description="The level that handles it; its desks at that level receive it.")
    interconnected: bool = Field(description="Một cửa liên thông: steps at several agencies.")
    channels: Channels
    requires_personal_presence: bool = Field(description="The applicant must come in person: no postal intake.")
    documents: tuple[RequiredDocument, ...] = Field(min_length=1)
    fees: tuple[Fee, ...] = ()
    time_limit: ProcedureTimeLimit
    return_channels: tuple[ReturnChannel, ...] = Field(min_length=1)
    legal_basis: tuple[str, ...] = Field(min_length=1, description="Laws, decrees, decisions (căn cứ pháp lý).")
    route: tuple[RouteStep, ...] | None = Field(None, description="The steps across agencies; see the module.")
    source: tuple[str, ...] = Field(min_length=1, description="Where the figures come from (addresses, texts).")

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def label(self) -> str:
        return f"{self.code} v{self.version}"

    def step(self, step_id: str) -> RouteStep:
        for step in self.route or ():
            if step.id == step_id:
                return step
        raise KeyError(f"{self.label()} has no step {step_id!r}")

    def first_steps(self) -> list[RouteStep]:
        """The steps that start at acceptance."""
        return [step for step in self.route or () if not step.after]

    def ref(self) -> ProcedureRef:
        """The procedure as events name it; `catalogue_version` is this version's number."""
        return ProcedureRef(code=self.code, catalogue_version=str(self.version), title=self.name_vi)


class CatalogueLookupError(LookupError):
    """The catalogue cannot answer: unknown code, no version in force that day, or several."""


class UnknownProcedureError(CatalogueLookupError):
    pass


class NoVersionInForceError(CatalogueLookupError):
    pass


def last_day_in_force(version: ProcedureVersion, versions: list[ProcedureVersion]) -> date | None:
    """Its `effective_to`; an open version ends the day before a later version of its code takes effect. A new
    decree is then published as a new version alone: published versions are never edited to close them."""
    if version.effective_to is not None:
        return version.effective_to
    later = [v.effective_from for v in versions if v.code == version.code and v.effective_from > version.effective_from]
    return min(later) - timedelta(days=1) if later else None


def _period(version: ProcedureVersion) -> str:
    end = version.effective_to.isoformat() if version.effective_to else "open"
    return f"{version.effective_from.isoformat()} to {end}"


class ProcedureCatalogue(RulesModel):
    versions: tuple[ProcedureVersion, ...] = ()

    def codes(self) -> list[str]:
        return sorted({version.code for version in self.versions})

    def versions_of(self, code: str) -> list[ProcedureVersion]:
        """The versions of one procedure by version number."""
        return sorted((v for v in self.versions if v.code == code), key=lambda v: v.version)

    def numbered(self, code: str, number: int) -> ProcedureVersion:
        """Version `number` of a procedure: the one a dossier recorded it was decided under."""
        for version in self.versions:
            if version.code == code and version.version == number:
                return version
        raise UnknownProcedureError(f"procedure {code} v{number} is not in the catalogue")

    def version_at(self, code: str, on: date) -> ProcedureVersion:
        """The version in force on `on` (the dossier's receipt date, or the day a rule is applied)."""
        versions = sorted((v for v in self.versions if v.code == code), key=lambda v: v.effective_from)
        if not versions:
            raise UnknownProcedureError(f"procedure {code} is not in the catalogue")
        in_force = [v for v in versions if v.effective_from <= on <= (last_day_in_force(v, versions) or date.max)]
        if len(in_force) == 1:
            return in_force[0]
        if in_force:
            listed = ", ".join(f"v{v.version} ({_period(v)})" for v in in_force)
            raise CatalogueLookupError(f"procedure {code}: several versions are in force on {on.isoformat()}: {listed}")
        if on < versions[0].effective_from:
            raise NoVersionInForceError(
                f"procedure {code} has no version in force on {on.isoformat()}: its first version "
                f"(v{versions[0].version}) takes effect on {versions[0].effective_from.isoformat()}"
            )
        # Every version that took effect by then has ended: name the last to end, and the next, if any.
        ended = max((v for v in versions if v.effective_from <= on), key=lambda v: v.effective_to or date.max)
        later = [v for v in versions if v.effective_from > on]
        following = f"; v{later[0].version} takes effect on {later[0].effective_from.isoformat()}" if later else ""
        raise NoVersionInForceError(
            f"procedure {code} has no version in force on {on.isoformat()}: v{ended.version} ended on "
            f"{ended.effective_to.isoformat() if ended.effective_to else '?'}{following}"
        )


class _ProcedureFile(RulesModel):
    code: ProcedureCode
    versions: tuple[dict[str, object], ...] = Field(min_length=1)


def load_procedure_file(path: Path) -> list[ProcedureVersion]:
    """The versions of one procedure file; the code is written once, at the top."""
    try:
        document = _ProcedureFile.model_validate(read_rules_yaml(path))
    except ValidationError as error:
        raise RulesFileError(f"{path}: {error}") from error
    versions: list[ProcedureVersion] = []
    for index, entry in enumerate(document.versions, start=1):
        entry_name = f"version {entry.get('version', f'#{index}')}"
        if entry.get("code", document.code) != document.code:
            raise RulesFileError(f"{path}: {entry_name} gives the code {entry['code']!r}, not {document.code!r}")
        try:
            versions.append(ProcedureVersion.model_validate({**entry, "code": document.code}))
        except ValidationError as error:
            raise RulesFileError(f"{path}: {entry_name}: {error}") from error
    return versions


def load_catalogue(folder: Path) -> ProcedureCatalogue:
    """Every `*.yaml` file of `folder`, one procedure per file. A code in two files is an error (its versions
    would be split across files, and their order with them)."""
    if not folder.is_dir():
        raise RulesFileError(f"{folder}: no such folder of procedures")
    versions: list[ProcedureVersion] = []
    files_by_code: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")):
        loaded = load_procedure_file(path)
        code = loaded[0].code
        if code in files_by_code:
            raise RulesFileError(f"{path}: procedure {code} is already defined in {files_by_code[code].name}")
        files_by_code[code] = path
        versions.extend(loaded)
    return ProcedureCatalogue(versions=tuple(versions))
