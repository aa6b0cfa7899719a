"""The agency list: every unit that receives dossiers or does a step of a route, with its national unit code, its
roles, and where it sits.

A procedure's route names an agency *role* (`ward_justice`, `land_registration_office`...), never an agency: the
concrete agency is resolved from the one-stop desk that received the dossier, by jurisdiction (`resolve`). Roles
are data (lowercase words joined by `_`), so a new kind of agency is a data release; the ones the seed uses:
`one_stop_desk`, `ward_peoples_committee`, `ward_justice`, `ward_economy_office`, `ward_urban_management`,
`district_peoples_committee`, `district_economy_office`, `district_urban_management`, `land_registration_office`,
`tax_department`, `police_residence`, `social_insurance`, `province_peoples_committee`, `province_police`.

Two links place an agency:
- `parent`: the body it belongs to (a ward's offices and desk belong to the ward People's Committee; a ward's
  police to the city police; a land registration branch to the city's land registration office);
- `serves`: the units (by code) whose area it covers, for an agency whose area is not its parent's — a branch
  serving three wards, the police of one ward. Empty: it serves its parent's whole area.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

AgencyCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$", examples=["H29.101.1"])]
"""A unit code of the national list of agency codes (mã định danh): it prefixes the unit's dossier codes."""

Role = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", examples=["ward_justice"])]
"""What kind of work an agency does; a route's step names the role, not the agency."""

Level = Literal["ward", "district", "province"]
"""The level of government: ward/commune (xã, phường), district (huyện, quận — abolished on 1 July 2025) or
province/centrally-run city (tỉnh, thành phố)."""

ONE_STOP_DESK = "one_stop_desk"


class RulesFileError(ValueError):
    """A rules file that cannot be read or does not have the expected shape; the message names the file."""


def read_rules_yaml(path: Path) -> Any:
    """The YAML document of one rules file; a syntax error becomes a RulesFileError naming the file."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RulesFileError(f"{path}: not valid YAML: {error}") from error


class RulesModel(BaseModel):
    """Rule data: a field the model does not know is an error (a misspelt key in a YAML file must not pass
    silently), and a loaded rule never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Agency(RulesModel):
    """One unit: a one-stop desk, a People's Committee, one of its offices, or an agency of another line
    (land registration, tax, police, social insurance)."""

    code: AgencyCode = Field(description="The unit code (mã định danh) of the national list of agency codes.")
    name_vi: str = Field(min_length=1, description="Official name, e.g. 'Ủy ban nhân dân phường Sài Gòn'.")
    name_en: str = Field(min_length=1, description="English name, e.g. 'Sai Gon Ward People's Committee'.")
    level: Level
    roles: tuple[Role, ...] = Field(min_length=1, description="What it does; one office may have several roles.")
    parent: AgencyCode | None = Field(description="Code of the body it belongs to; none for the top.")
    serves: tuple[AgencyCode, ...] = Field(
        (), description="Codes of the units whose area it covers; empty = its parent's whole area."
    )
    has_one_stop_desk: bool = Field(
        False,
        description="It receives dossiers from applicants (a Bộ phận Một cửa); dossier codes start with its code.",
    )

    @model_validator(mode="after")
    def _a_desk_receives_dossiers(self) -> Self:
        if ONE_STOP_DESK in self.roles and not self.has_one_stop_desk:
            raise ValueError(f"agency {self.code} has the role {ONE_STOP_DESK} but has_one_stop_desk is false")
        return self


class AgencyResolutionError(LookupError):
    """No agency, or more than one, does a role for a receiving desk."""


class AgencyList(RulesModel):
    """The agencies as they are organised from `effective_from` on. A reorganisation (like the abolition of
    districts on 1 July 2025) is a new list; procedure versions that ended before a list takes effect are not
    checked against it."""

    effective_from: date
    source: str = Field(min_length=1, description="Where the organisation comes from (resolutions, decisions).")
    agencies: tuple[Agency, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _links_are_known(self) -> Self:
        problems: list[str] = []
        codes = [agency.code for agency in self.agencies]
        problems += [f"agency code {code} is listed twice" for code in sorted({c for c in codes if codes.count(c) > 1})]
        known = set(codes)
        for agency in self.agencies:
            if agency.parent is not None and agency.parent not in known:
                problems.append(f"agency {agency.code}: its parent {agency.parent} is not in the list")
            problems += [
                f"agency {agency.code}: it serves {c}, which is not in the list"
                for c in agency.serves
                if c not in known
            ]
            if len(set(agency.roles)) != len(agency.roles):
                problems.append(f"agency {agency.code}: a role is listed twice")
        if not problems:
            problems += [f"agency {code}: its parents form a cycle" for code in codes if self._has_parent_cycle(code)]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _has_parent_cycle(self, code: str) -> bool:
        seen: set[str] = set()
        current: str | None = code
        while current is not None:
            if current in seen:
                return True
            seen.add(current)
            current = self.by_code(current).parent
        return False

    def by_code(self, code: str) -> Agency:
        for agency in self.agencies:
            if agency.code == code:
                return agency
        raise AgencyResolutionError(f"no agency has the code {code}")

    def with_role(self, role: str) -> list[Agency]:
        return [agency for agency in self.agencies if role in agency.roles]

    def roles(self) -> frozenset[str]:
        return frozenset(role for agency in self.agencies for role in agency.roles)

    def desks(self) -> list[Agency]:
        """The units that receive dossiers from applicants."""
        return [agency for agency in self.agencies if agency.has_one_stop_desk]

    def line_of(self, code: str) -> list[Agency]:
        """The agency and the bodies above it, nearest first, up to the top."""
        line = [self.by_code(code)]
        while line[-1].parent is not None:
            line.append(self.by_code(line[-1].parent))
        return line

    def resolve(self, role: str, desk_code: str) -> Agency:
        """The agency that does `role` for a dossier received at `desk_code`: the nearest jurisdiction wins.

        Walking up from the desk (the desk, its People's Committee, the province...), at each unit U the candidates
        are: U itself if it has the role; the agencies with the role whose parent is U and that serve their
        parent's whole area; the agencies with the role that list U in `serves`. The first unit with exactly one
        candidate gives the answer; two candidates at the same unit is an ambiguity in the data, not a choice.
        """
        for unit in self.line_of(desk_code):
            candidates = [
                agency
                for agency in self.with_role(role)
                if agency.code == unit.code
                or (agency.parent == unit.code and not agency.serves)
                or unit.code in agency.serves
            ]
            if len(candidates) == 1:
                return candidates[0]
            if candidates:
                names = ", ".join(sorted(agency.code for agency in candidates))
                raise AgencyResolutionError(f"several agencies do {role!r} for {unit.code} (desk {desk_code}): {names}")
        raise AgencyResolutionError(f"no agency does {role!r} in the jurisdiction of desk {desk_code}")


def load_agencies(path: Path) -> AgencyList:
    """The agency list of a YAML file (`deploy/rules/agencies.yaml`)."""
    try:
        return AgencyList.model_validate(read_rules_yaml(path))
    except ValidationError as error:
        raise RulesFileError(f"{path}: {error}") from error
