"""Intake's rules, without I/O: what a new dossier must satisfy, which decisions the desk may take in which
state, and the appointment date. Vocabulary of domain.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.calendar.engine import WorkingCalendar
from shared.events.catalogue.base import DossierStatus
from shared.events.catalogue.common import IntakeChannel, ReturnChannel
from shared.rules.procedures import LimitUnit, ProcedureVersion


class DossierState(StrEnum):
    RECEIVED = "received"  # at the desk, code given, not yet accepted or refused (no status, no clock)
    SUBMITTED = "submitted"  # online, status 1
    ACCEPTED = "accepted"  # status 2: routing owns the status from here
    REFUSED = "refused"  # status 3


STATUS_OF = {
    DossierState.RECEIVED: None,
    DossierState.SUBMITTED: DossierStatus.SUBMITTED_ONLINE,
    DossierState.ACCEPTED: DossierStatus.ACCEPTED,
    DossierState.REFUSED: DossierStatus.REFUSED,
}
# The national portal's names (domain.md), as the tracking page shows them.
STATUS_NAMES = {
    1: "Mới đăng ký", 2: "Được tiếp nhận", 3: "Không được tiếp nhận", 4: "Đang xử lý", 5: "Yêu cầu bổ sung giấy tờ",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính", 7: "Công dân yêu cầu rút hồ sơ", 8: "Dừng xử lý", 9: "Đã xử lý xong",
    10: "Đã trả kết quả",
}  # fmt: skip
UNDECIDED = (DossierState.RECEIVED, DossierState.SUBMITTED)


class IntakeRuleError(ValueError):
    """A request the rules do not allow; the message names the problem (a 4xx at the edge)."""


class InvalidDossierError(IntakeRuleError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class TransitionNotAllowedError(IntakeRuleError):
    pass


@dataclass(frozen=True)
class SubmittedDocument:
    code: str
    content_hash: str | None


def check_new_dossier(
    procedure: ProcedureVersion,
    channel: IntakeChannel,
    documents: list[SubmittedDocument],
    return_channel: ReturnChannel,
    has_postal_address: bool,
) -> None:
    """Refuse, naming every problem, a dossier the procedure cannot take as given."""
    problems: list[str] = []
    allowed = {
        IntakeChannel.COUNTER: procedure.channels.counter,
        IntakeChannel.ONLINE: procedure.channels.online is not None,
        IntakeChannel.POSTAL: procedure.channels.postal and not procedure.requires_personal_presence,
    }
    if not allowed[channel]:
        problems.append(f"procedure {procedure.code} does not accept the {channel.value} channel")
    known = {document.code: document for document in procedure.documents}
    given = {document.code for document in documents}
    problems += [
        f"document {code!r} is not in the list of procedure {procedure.code}" for code in sorted(given - set(known))
    ]
    problems += [
        f"required document {code!r} ({known[code].name_vi}) is missing"
        for code in sorted(code for code, document in known.items() if document.mandatory and code not in given)
    ]
    if return_channel not in procedure.return_channels:
        offered = ", ".join(channel.value for channel in procedure.return_channels)
        problems.append(f"procedure {procedure.code} returns results by {offered}, not by {return_channel.value}")
    if return_channel is ReturnChannel.POST and not has_postal_address:
        problems.append("a result returned by post needs the applicant's postal address")
    if problems:
        raise InvalidDossierError(problems)


def ensure_undecided(state: DossierState, action: str) -> None:
    """Accept, refuse and Mẫu 02 are the desk's decisions on a dossier not yet decided."""
    if state not in UNDECIDED:
        raise TransitionNotAllowedError(f"the dossier is already {state.value}: it cannot be {action}")


def appointment(calendar: WorkingCalendar, procedure: ProcedureVersion, received_at: datetime) -> datetime:
    """The due instant printed on the slip (Mẫu 01), from the legal receipt instant and the time limit."""
    limit = procedure.time_limit
    if limit.unit is LimitUnit.CALENDAR_DAYS:
        return calendar.due(received_at, calendar_days=limit.amount)
    return calendar.due(received_at, working_hours=limit.budget_hours)
