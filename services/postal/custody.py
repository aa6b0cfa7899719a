"""The chain of custody of a postal dossier (Decision 45/2016/QĐ-TTg) as value types: the postal worker checks the
documents against the procedure's list, seals the package in front of the applicant and collects the fees with a
receipt; every hand-over of the package (applicant → carrier → agency for a pickup; agency → carrier → applicant,
or back to the agency, for a return) is signed by the party giving it and the party taking it, at one instant.

No personal data: the applicant signs as the applicant, staff by their staff code, documents by their type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.calendar.zone import aware
from shared.events.catalogue.common import DocumentRef


class Custodian(StrEnum):
    APPLICANT = "applicant"
    CARRIER = "carrier"
    AGENCY = "agency"


@dataclass(frozen=True)
class DocumentCheck:
    """The documents found in the package, checked against the procedure's list before sealing."""

    required: tuple[DocumentRef, ...]  # the procedure's list
    found: frozenset[str]  # codes of the documents in the package

    @property
    def missing(self) -> tuple[DocumentRef, ...]:
        return tuple(document for document in self.required if document.code not in self.found)

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Seal:
    number: str
    sealed_at: datetime

    def __post_init__(self) -> None:
        if not self.number:
            raise ValueError("a seal has a number")
        object.__setattr__(self, "sealed_at", aware(self.sealed_at, "sealed_at"))


@dataclass(frozen=True)
class FeeReceipt:
    number: str
    amount_vnd: int
    issued_at: datetime

    def __post_init__(self) -> None:
        if not self.number or self.amount_vnd <= 0:
            raise ValueError("a fee receipt has a number and a positive amount")
        object.__setattr__(self, "issued_at", aware(self.issued_at, "issued_at"))


@dataclass(frozen=True)
class Signature:
    custodian: Custodian
    signer: str  # "applicant", or the staff code of the postal worker or officer
    signed_at: datetime

    def __post_init__(self) -> None:
        if not self.signer:
            raise ValueError("a signature names its signer")
        object.__setattr__(self, "signed_at", aware(self.signed_at, "signed_at"))


@dataclass(frozen=True)
class Handover:
    """The package passing from one custodian to the next: signed by both; `at` is when custody changed (for the
    agency taking a pickup, the legal receipt instant)."""

    giver: Signature
    taker: Signature
    at: datetime
    seal_number: str  # the seal found on the package at this hand-over
    seal_intact: bool
    record_number: str | None = None  # the hand-over record (biên bản), where one is drawn up

    def __post_init__(self) -> None:
        if self.giver.custodian is self.taker.custodian:
            raise ValueError("a hand-over passes the package between two different custodians")
        object.__setattr__(self, "at", aware(self.at, "at"))


@dataclass(frozen=True)
class Collection:
    """What happened at the applicant's door when the postal worker collected a dossier."""

    documents: DocumentCheck
    seal: Seal
    fee_receipt: FeeReceipt | None  # none when the procedure has no fee
    handover: Handover  # applicant → carrier

    def __post_init__(self) -> None:
        if not self.documents.complete:
            raise ValueError("a dossier is collected only once every listed document is in the package")
        if (self.handover.giver.custodian, self.handover.taker.custodian) != (Custodian.APPLICANT, Custodian.CARRIER):
            raise ValueError("a collection is the applicant handing the package to the carrier")
        if self.handover.seal_number != self.seal.number:
            raise ValueError("the package is handed over under the seal put on it")
