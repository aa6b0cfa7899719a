"""The validator every rules release passes before it is published: all the problems of a catalogue against an
agency list, each naming its entry (`procedure <code> v<version>, step '<id>': ...`), so that a data author fixes
them in one go.

What it checks, per procedure: version numbers unique and increasing with `effective_from`; no two versions in
force on the same day. Per version: a period that ends after it starts; no postal intake when the applicant must
come in person; no negative fee; no document or return channel listed twice; a route (required when the procedure
is interconnected) with at least one step, unique step ids, `after` naming steps of the route, no cycle, and its
longest path within the time limit. Against the agency list, for the versions still in force when the list takes
effect (an older version was decided under an older organisation): an agency for every step's role, a desk at the
procedure's level, and from every such desk exactly one agency per step (`AgencyList.resolve`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from shared.rules.agencies import AgencyList, AgencyResolutionError, load_agencies
from shared.rules.procedures import (
    ProcedureCatalogue,
    ProcedureVersion,
    RouteStep,
    last_day_in_force,
    load_catalogue,
)

__all__ = ["load_catalogue", "load_rules", "longest_path", "route_cycles", "validate_catalogue"]


def load_rules(folder: Path) -> tuple[ProcedureCatalogue, AgencyList]:
    """The catalogue of `folder/procedures/` and the agencies of `folder/agencies.yaml` (not validated against
    each other: that is `validate_catalogue`)."""
    return load_catalogue(folder / "procedures"), load_agencies(folder / "agencies.yaml")


def validate_catalogue(catalogue: ProcedureCatalogue, agencies: AgencyList) -> list[str]:
    """Every problem of the catalogue; empty when it is valid."""
    problems: list[str] = []
    for code in catalogue.codes():
        versions = catalogue.versions_of(code)
        problems += _check_versions(code, versions)
        for version in versions:
            problems += _check_version(version)
            problems += _check_route(version)
            if version.effective_to is None or version.effective_to >= agencies.effective_from:
                problems += _check_agencies(version, agencies)
    return problems


def _period(version: ProcedureVersion) -> str:
    end = version.effective_to.isoformat() if version.effective_to else "open"
    return f"{version.effective_from.isoformat()} to {end}"


def _check_versions(code: str, versions: list[ProcedureVersion]) -> list[str]:
    problems: list[str] = []
    numbers = [version.version for version in versions]
    for number in sorted({n for n in numbers if numbers.count(n) > 1}):
        problems.append(f"procedure {code}: version {number} is defined {numbers.count(number)} times")
    by_date = sorted(versions, key=lambda v: (v.effective_from, v.version))
    for earlier, later in itertools.pairwise(by_date):
        if earlier.effective_from < later.effective_from and later.version < earlier.version:
            problems.append(
                f"procedure {code}: version numbers must increase with effective_from: v{later.version} takes "
                f"effect on {later.effective_from.isoformat()}, after v{earlier.version} "
                f"({earlier.effective_from.isoformat()})"
            )
    for index, first in enumerate(versions):
        for second in versions[index + 1 :]:
            start = max(first.effective_from, second.effective_from)
            end = min(last_day_in_force(first, versions) or date.max, last_day_in_force(second, versions) or date.max)
            if start <= end:
                problems.append(
                    f"procedure {code}: v{first.version} ({_period(first)}) and v{second.version} "
                    f"({_period(second)}) are both in force on {start.isoformat()}"
                )
    return problems


def _check_version(version: ProcedureVersion) -> list[str]:
    entry = f"procedure {version.label()}"
    problems: list[str] = []
    if version.effective_to is not None and version.effective_to < version.effective_from:
        problems.append(
            f"{entry}: it ends ({version.effective_to.isoformat()}) before it takes effect "
            f"({version.effective_from.isoformat()})"
        )
    if version.channels.postal and version.requires_personal_presence:
        problems.append(f"{entry}: it accepts postal intake but requires the applicant's personal presence")
    for fee in version.fees:
        if fee.amount_vnd < 0:
            problems.append(f"{entry}: fee {fee.name_vi!r} is negative ({fee.amount_vnd} VND)")
    codes = [document.code for document in version.documents]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        problems.append(f"{entry}: document {code!r} is listed {codes.count(code)} times")
    channels = [channel.value for channel in version.return_channels]
    for channel in sorted({c for c in channels if channels.count(c) > 1}):
        problems.append(f"{entry}: return channel {channel!r} is listed twice")
    return problems


def _check_route(version: ProcedureVersion) -> list[str]:
    entry = f"procedure {version.label()}"
    if version.route is None:
        return [f"{entry}: an interconnected procedure needs a route"] if version.interconnected else []
    if not version.route:
        return [f"{entry}: the route has no steps"]
    problems: list[str] = []
    ids = [step.id for step in version.route]
    for step_id in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"{entry}, step {step_id!r}: the id is used by {ids.count(step_id)} steps of the route")
    for step in version.route:
        problems += [
            f"{entry}, step {step.id!r}: it waits for {dependency!r}, which is not a step of the route"
            for dependency in step.after
            if dependency not in ids
        ]
        if len(set(step.after)) != len(step.after):
            problems.append(f"{entry}, step {step.id!r}: 'after' names a step twice")
    cycles = route_cycles(version.route)
    for cycle in cycles:
        problems.append(f"{entry}, step {cycle[0]!r}: the route has a cycle (→ = waits for): {' → '.join(cycle)}")
    if problems:
        return problems  # the longest path is not defined
    hours, path = longest_path(version.route)
    budget = version.time_limit.budget_hours
    if hours > budget:
        problems.append(
            f"{entry}, step {path[-1]!r}: the longest path of the route ({' → '.join(path)}) takes {hours} working "
            f"hours, over the {budget} of the time limit ({version.time_limit.describe()})"
        )
    return problems


def _check_agencies(version: ProcedureVersion, agencies: AgencyList) -> list[str]:
    entry = f"procedure {version.label()}"
    problems: list[str] = []
    known = agencies.roles()
    desks = [desk for desk in agencies.desks() if desk.level == version.level]
    if not desks:
        problems.append(f"{entry}: no one-stop desk at the {version.level} level in the agency list receives it")
    for step in version.route or ():
        if step.agency_role not in known:
            problems.append(
                f"{entry}, step {step.id!r}: no agency in the agency list has the role {step.agency_role!r}"
            )
            continue
        for desk in desks:
            try:
                agencies.resolve(step.agency_role, desk.code)
            except AgencyResolutionError as error:
                problems.append(f"{entry}, step {step.id!r}: {error}")
    return problems


def route_cycles(steps: Sequence[RouteStep]) -> list[list[str]]:
    """The cycles of waiting steps (`after` links to steps of the route), each once, as `[a, b, ..., a]`."""
    waits_for = {step.id: [d for d in step.after if any(s.id == d for s in steps)] for step in steps}
    state: dict[str, str] = {}  # "open" while on the DFS path, "done" after
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def visit(step_id: str, path: list[str]) -> None:
        state[step_id] = "open"
        path.append(step_id)
        for dependency in waits_for[step_id]:
            if state.get(dependency) == "open":
                cycle = [*path[path.index(dependency) :], dependency]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    cycles.append(cycle)
            elif dependency not in state:
                visit(dependency, path)
        path.pop()
        state[step_id] = "done"

    for step_id in waits_for:
        if step_id not in state:
            visit(step_id, [])
    return cycles


def longest_path(steps: Sequence[RouteStep]) -> tuple[int, list[str]]:
    """The working hours of the route's longest path (its critical path) and its steps, first to last. Parallel
    branches count once, by the longest; a join waits for the last of its branches. The route must be acyclic,
    with unique ids and `after` naming its own steps (validate_catalogue checks that first)."""
    by_id = {step.id: step for step in steps}
    best: dict[str, tuple[int, list[str]]] = {}

    def heaviest_to(step_id: str, visiting: frozenset[str]) -> tuple[int, list[str]]:
        if step_id in best:
            return best[step_id]
        if step_id in visiting:
            raise ValueError(f"the route has a cycle through step {step_id!r}")
        step = by_id[step_id]
        before = [heaviest_to(d, visiting | {step_id}) for d in step.after]
        hours, path = max(before, key=lambda found: found[0], default=(0, []))
        best[step_id] = (hours + step.share_hours, [*path, step_id])
        return best[step_id]

    return max((heaviest_to(step.id, frozenset()) for step in steps), key=lambda found: found[0], default=(0, []))
