"""Value types that the events of several services share.

None of them holds personal data: staff are named by their staff id, agencies by their national code, documents
by their type code and content hash. Applicants' names, phones, emails and addresses travel only in
`contact.recorded` (contacts.py), and their personal ID numbers (số định danh cá nhân) never leave intake.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field


def _as_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


Instant = Annotated[AwareDatetime, AfterValidator(_as_utc)]
"""A moment in time: timezone-aware on input (a naive time is rejected), held and written in UTC."""

Vnd = Annotated[int, Field(ge=0)]
"""An amount of money in whole Vietnamese đồng (the đồng has no smaller unit in use)."""

DossierCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9.]+-\d{6}-\d{4,}$", examples=["H21.65-220914-0011"])]
"""Mã hồ sơ (Circular 01/2018 Art. 19): `<unit code>-<YYMMDD>-<NNNN>`."""

ContentHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
"""SHA-256 of a stored file, lowercase hex."""


class Value(BaseModel):
    """A value nested in an event's data. Like the events, it ignores fields it does not know, so that a
    producer may add optional ones within a version."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class StaffRole(StrEnum):
    """What a staff member may do (the role in their signed token)."""

    RECEPTION = "reception"  # cán bộ tiếp nhận at the one-stop desk
    PROCESSING = "processing"  # chuyên viên xử lý of a processing agency
    HEAD = "head"  # người đứng đầu: accountable for the on-time rate, signs apologies
    ADMIN = "admin"


class Actor(Value):
    """The staff member who did something (the audit trail): who, for which agency, in which role."""

    staff_id: str = Field(min_length=1, description="The staff member's id in the identity service (never a name).")
    agency_code: str = Field(min_length=1, description="Code of the agency the staff member acted for.")
    role: StaffRole = Field(description="The role the staff member acted in.")


class AgencyRef(Value):
    """An agency (cơ quan, đơn vị): a one-stop desk or a processing agency."""

    code: str = Field(
        min_length=1, description="The agency's code in the national list of agency codes (mã đơn vị), e.g. H21.65."
    )
    title: str = Field(description="The agency's official title (tên cơ quan), e.g. 'UBND phường Bến Nghé'.")


class ProcedureRef(Value):
    """An administrative procedure (thủ tục hành chính) as the catalogue version in force defines it."""

    code: str = Field(min_length=1, description="The national procedure code (mã TTHC), e.g. 1.001193.")
    catalogue_version: str = Field(
        min_length=1, description="Version of the procedure catalogue the dossier is decided under (rules are data)."
    )
    title: str = Field(description="The procedure's title, e.g. 'Đăng ký khai sinh'.")


class DocumentRef(Value):
    """One document of a dossier (thành phần hồ sơ) or of a result, by its type: never its content."""

    code: str = Field(min_length=1, description="Code of the document type in the procedure's list of documents.")
    title: str = Field(description="Title of the document type (tên giấy tờ), e.g. 'Tờ khai đăng ký khai sinh'.")
    content_hash: ContentHash | None = Field(
        None, description="SHA-256 (hex) of the stored digital copy; none for a paper-only document."
    )


class Problem(StrEnum):
    """What is wrong with a document that a supplement request (Mẫu 02) names."""

    MISSING = "missing"
    INVALID = "invalid"  # wrong form, not certified, contradicts another document
    EXPIRED = "expired"
    ILLEGIBLE = "illegible"
    INCOMPLETE = "incomplete"  # present, but a required part or signature is missing


class SupplementItem(Value):
    """One line of a Mẫu 02 supplement request: exactly what is missing or must be corrected."""

    document_code: str = Field(min_length=1, description="Code of the document type concerned.")
    document_title: str = Field(description="Title of the document type concerned.")
    problem: Problem = Field(description="What is wrong with it.")
    instruction: str = Field(
        description="What the applicant must bring or correct, as printed on the form (no personal data)."
    )


class IntakeChannel(StrEnum):
    """How the dossier reached the agency (kênh tiếp nhận)."""

    COUNTER = "counter"  # kênh 1: at the one-stop desk
    ONLINE = "online"  # kênh 2: through the public service portal
    POSTAL = "postal"  # kênh 3: picked up by the public postal service


class ReturnChannel(StrEnum):
    """How the result goes back to the applicant (hình thức trả kết quả)."""

    DESK = "desk"
    POST = "post"
    ELECTRONIC = "electronic"


class Via(StrEnum):
    """Where an applicant's act was recorded."""

    DESK = "desk"  # by reception staff at the one-stop desk
    ONLINE = "online"  # by the applicant on the portal
    POST = "post"  # through the postal service


class Timeliness(StrEnum):
    """The 766 classification of a finished dossier or step (domain.md, "Time rules")."""

    EARLY = "early"  # ended on a working day before the due day
    ON_TIME = "on_time"  # ended on the due day, at or before the due instant
    LATE = "late"  # ended after the due instant


class TimeUnit(StrEnum):
    """The unit of a time limit."""

    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"


class TimeLimit(Value):
    """A procedure's legal time limit (thời hạn giải quyết)."""

    amount: int = Field(ge=0, description="The limit in its unit; 0 = the same working day.")
    unit: TimeUnit = Field(
        description="Working days (1 day = 8 working hours) or, for a few procedures, calendar days."
    )
