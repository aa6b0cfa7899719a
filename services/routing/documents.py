"""Routing's printable forms: the apology and new appointment (Mẫu 04) and the process control sheet (Mẫu 05), a
projection of the dossier's steps and history."""

from __future__ import annotations

from pathlib import Path

from services.routing import store
from services.routing.handlers import DossierNotFoundError, OtherAgencyError, RoutingContext
from shared.db import Connection
from shared.identity.staff import Staff
from shared.printing import PrintedForms

FORMS = PrintedForms(
    Path(__file__).parent / "templates",
    {
        "apology": ("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", "Mẫu số 04"),
        "control-sheet": ("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", "Mẫu số 05"),
    },
)
OUTCOMES = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}


async def visible_dossier(conn: Connection, staff: Staff, code: str) -> tuple[store.DossierRow, list[store.StepRow]]:
    """The dossier and its steps, for staff of its desk or of an agency with a step in it (admins: any)."""
    dossier = await store.dossier_by_code(conn, code)
    if dossier is None:
        raise DossierNotFoundError(f"no dossier {code} in processing")
    steps = await store.steps_of(conn, dossier.id)
    if not any(staff.may_act_for(agency) for agency in {dossier.desk_code, *(s.agency_code for s in steps)}):
        raise OtherAgencyError(f"dossier {code} has no step at agency {staff.agency}")
    return dossier, steps


async def print_form(ctx: RoutingContext, conn: Connection, staff: Staff, code: str, form: str) -> str:
    dossier, steps = await visible_dossier(conn, staff, code)
    title = {code: ctx.agency(code).title for code in {dossier.desk_code, *(s.agency_code for s in steps)}}
    common = {"dossier": dossier, "desk": title[dossier.desk_code], "procedure": ctx.procedure(dossier).name_vi}
    if form == "apology":
        apology = await store.apology_of(conn, dossier.id)
        if apology is None:
            raise DossierNotFoundError(f"no apology was issued for dossier {code}")
        agency = title[apology.agency_code]
        return FORMS.render(form, apology=apology, agency=agency, issuer=agency, **common)
    agency_of = {s.step_id: s.agency_code for s in steps}
    lines = [
        {
            "from_agency": title[agency_of.get(s.from_step_id or "", dossier.desk_code)],
            "to_agency": title[s.agency_code], "handed_over_at": s.started_at, "deadline_at": s.deadline_at,
            "completed_at": s.completed_at, "outcome": OUTCOMES.get(s.timeliness or "", ""), "note": s.note,
        }
        for s in steps
    ]  # fmt: skip
    agencies = sorted({title[s.agency_code] for s in steps})
    history = await store.history_of(conn, dossier.id)
    return FORMS.render(form, lines=lines, agencies=agencies, history=history, **common)
