"""The driver of a routing process under test: it publishes what intake, postal and notification would (accepted
dossiers, facts, survey answers) and acts through the staff API with tokens of each agency."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.intake.domain import appointment
from shared.calendar.engine import WorkingCalendar
from shared.calendar.holidays import load_holiday_years
from shared.events.catalogue.common import Actor, AgencyRef, ProcedureRef, ReturnChannel, StaffRole
from shared.events.examples import examples
from shared.rules.publish import SHIPPED_RULES, RuleDocument, documents_from_folder
from shared.rules.validate import load_rules
from tests.support.driver import INTAKE, Dossier, ServiceDriver

CATALOGUE, AGENCIES = load_rules(SHIPPED_RULES)
CALENDAR = WorkingCalendar(load_holiday_years())


class RoutingDriver(ServiceDriver):
    """Plays intake, postal and notification around routing, and its staff."""

    async def accept(
        self, procedure: str, version: int, desk: str, received_at: datetime, return_channel: str = "desk"
    ) -> Dossier:
        """What intake publishes when the desk accepts a dossier; waits until routing took it into processing."""
        dossier = await self.publish_accepted(procedure, version, desk, received_at, return_channel)
        await self.wait_for(dossier, lambda events: any(e.type == "dossier.processing-started" for e in events))
        return dossier

    async def publish_accepted(
        self,
        procedure: str,
        version: int,
        desk: str,
        received_at: datetime,
        return_channel: str = "desk",
        named_version: int | None = None,
    ) -> Dossier:
        """`named_version`: the catalogue version the event names instead, one routing may not know (yet)."""
        found = CATALOGUE.numbered(procedure, version)
        dossier_id = str(uuid.uuid4())
        code = f"{desk}-{received_at:%y%m%d}-{uuid.uuid4().int % 10**8:08d}"
        due_at = appointment(CALENDAR, found, received_at)
        accepted = examples()["dossier.accepted"].model_copy(
            update={
                "dossier_code": code, "received_at": received_at, "accepted_at": received_at, "due_at": due_at,
                "procedure": ProcedureRef(code=procedure, catalogue_version=str(named_version or version),
                                          title=found.name_vi),
                "receiving_agency": AgencyRef(code=desk, title=AGENCIES.by_code(desk).name_vi),
                "return_channel": ReturnChannel(return_channel),
                "actor": Actor(staff_id=f"reception@{desk}", agency_code=desk, role=StaffRole.RECEPTION),
            }
        )  # fmt: skip
        dossier = Dossier(dossier_id, code, desk, due_at)
        await self.publish(dossier, accepted, INTAKE)
        return dossier

    # -- the staff API ----------------------------------------------------------------------------------------

    async def act(
        self, dossier: Dossier, path: str, auth: dict[str, str], body: dict[str, Any] | None = None, expect: int = 200
    ) -> dict[str, Any]:
        answer = await self.http.post(f"/processing/dossiers/{dossier.code}/{path}", json=body or {}, headers=auth)
        assert answer.status_code == expect, f"{path}: {answer.status_code} {answer.text}"
        return dict(answer.json())

    async def view(self, dossier: Dossier, auth: dict[str, str]) -> dict[str, Any]:
        answer = await self.http.get(f"/processing/dossiers/{dossier.code}", headers=auth)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


def procedure_version(number: int) -> RuleDocument:
    """The birth registration's procedure as a new catalogue version, effective only in 2099 (so that no dossier of
    today is decided under it): what fixes a dossier whose event names that version."""
    shipped = next(d for d in documents_from_folder() if d.kind == "procedure" and d.id == "1.001193")
    data = {**shipped.data, "version": number, "effective_from": "2099-01-01", "effective_to": "2099-01-01"}
    return RuleDocument("procedure", "1.001193", f"v{number}", data)
