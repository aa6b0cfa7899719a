"""Intake's use cases, each one transaction: the state change and its outgoing events commit together."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.intake import store
from services.intake.commands import (
    ReceivedDocument,
    RecordObligationPaid,
    RecordResultHandedOver,
    RecordSupplementReceived,
    RecordWithdrawalRequested,
    Refuse,
    RegisterAtCounter,
    RequestPickup,
    RequestReceptionSupplement,
    SubmitOnline,
)
from services.intake.documents import qr_svg, render
from services.intake.domain import (
    STATUS_OF,
    DossierState,
    IntakeRuleError,
    InvalidDossierError,
    SubmittedDocument,
    TransitionNotAllowedError,
    appointment,
    check_new_dossier,
    ensure_undecided,
)
from shared.calendar.zone import ZONE, local_text
from shared.clock import Clock
from shared.db import Connection
from shared.dossier_codes import (
    allocate_dossier_code,
    hash_tracking_secret,
    new_tracking_secret,
    verify_tracking_secret,
)
from shared.events.catalogue import contacts, intake
from shared.events.catalogue.base import DossierStatus, EventData
from shared.events.catalogue.common import (
    Actor,
    AgencyRef,
    DocumentRef,
    IntakeChannel,
    ReturnChannel,
    StaffRole,
    SupplementItem,
    Via,
)
from shared.identity.staff import Staff
from shared.outbox.writer import Outbox
from shared.rules.procedures import ProcedureVersion
from shared.rules.store import RulesStore

DUMMY_SECRET_HASH = hash_tracking_secret("00000000")
# The secrets' scrypt costs milliseconds of CPU by design: it runs in a thread (hashlib releases the GIL for it), so
# that a burst of tracking requests does not stall the event loop that also runs the relay and the consumer.


class DossierNotFoundError(LookupError):
    pass


class OtherAgencyError(PermissionError):
    pass


class IdempotencyConflictError(IntakeRuleError):
    pass


@dataclass(frozen=True)
class IntakeContext:
    pool: asyncpg.Pool
    outbox: Outbox
    rules: RulesStore
    clock: Clock


@dataclass(frozen=True)
class Registered:
    dossier: store.DossierRow
    tracking_secret: str
    replayed: bool


def actor_of(staff: Staff) -> Actor:
    return Actor(staff_id=staff.staff_id, agency_code=staff.agency, role=StaffRole(staff.role))


def _desk(ctx: IntakeContext, staff: Staff) -> AgencyRef:
    return _desk_of(ctx, staff.agency)


def _desk_of(ctx: IntakeContext, code: str) -> AgencyRef:
    agencies = ctx.rules.agencies()
    try:
        agency = agencies.by_code(code)
    except KeyError as error:
        raise IntakeRuleError(f"agency {code} is not in the published agency list") from error
    if not agency.has_one_stop_desk:
        raise IntakeRuleError(f"agency {code} has no one-stop desk: it cannot receive dossiers")
    return AgencyRef(code=agency.code, title=agency.name_vi)


def _documents(procedure: ProcedureVersion, given: list[dict[str, str | None]]) -> list[DocumentRef]:
    titles = {document.code: document.name_vi for document in procedure.documents}
    return [DocumentRef(code=str(d["code"]), title=titles[str(d["code"])], content_hash=d.get("content_hash"))
            for d in given]  # fmt: skip


def _procedure_of(ctx: IntakeContext, row: store.DossierRow) -> ProcedureVersion:
    return ctx.rules.catalogue().numbered(row.procedure_code, row.procedure_version)


async def _publish(ctx: IntakeContext, conn: Connection, row: store.DossierRow, event: EventData, topic: str) -> None:
    await ctx.outbox.add(conn, event, topic=topic, dossier_id=str(row.id), dossier_code=row.code)


async def _reloaded(conn: Connection, row: store.DossierRow) -> store.DossierRow:
    """The dossier as the decision just left it, for the answer."""
    reloaded = await store.get_dossier(conn, row.id)
    assert reloaded is not None  # locked by this transaction: it cannot have gone
    return reloaded


async def register_at_counter(
    ctx: IntakeContext, staff: Staff, command: RegisterAtCounter, idempotency_key: str | None
) -> Registered:
    return await _register(ctx, _desk(ctx, staff), command, idempotency_key, scope=staff.agency)


async def submit_online(ctx: IntakeContext, command: SubmitOnline, idempotency_key: str | None) -> Registered:
    """Status 1: the portal recorded the submission; the clock starts only when the desk accepts it."""
    return await _register(ctx, _desk_of(ctx, command.desk_code), command, idempotency_key, scope="online")


async def request_pickup(ctx: IntakeContext, command: RequestPickup, idempotency_key: str | None) -> Registered:
    """The dossier gets its code now, so that the carrier order can name it; the clock waits for the handover."""
    if command.applicant.address is None:
        raise InvalidDossierError(["a postal pickup needs the applicant's address"])
    return await _register(ctx, _desk_of(ctx, command.desk_code), command, idempotency_key, scope="online")


async def _register(
    ctx: IntakeContext,
    desk: AgencyRef,
    command: RegisterAtCounter | SubmitOnline | RequestPickup,
    idempotency_key: str | None,
    scope: str,
) -> Registered:
    now = ctx.clock.now()
    procedure = ctx.rules.procedure(command.procedure_code, now.astimezone(ZONE).date())
    documents = [SubmittedDocument(d.code, d.content_hash) for d in command.documents]
    check_new_dossier(
        procedure, command.channel, documents, command.return_channel, command.applicant.address is not None
    )
    request_hash = hashlib.sha256(command.model_dump_json().encode()).hexdigest()
    secret = new_tracking_secret()
    secret_hash = await asyncio.to_thread(hash_tracking_secret, secret)
    async with ctx.pool.acquire() as conn, conn.transaction():
        if idempotency_key is not None:
            remembered = await store.remembered_request(conn, scope, idempotency_key)
            if remembered is not None:
                if remembered[0] != request_hash:
                    raise IdempotencyConflictError("this Idempotency-Key was used for a different request")
                row = await store.get_dossier(conn, remembered[1])
                assert row is not None
                # Only the secret's hash is kept, so a replay cannot repeat the first answer's secret. A caller
                # retries because that answer never reached it: the replay issues a new secret, as a reprinted
                # slip does, and the earlier one stops working.
                await store.set_tracking_secret(conn, row.id, secret_hash)
                return Registered(row, secret, replayed=True)
        code = await allocate_dossier_code(conn, desk.code, now)
        row = store.DossierRow(
            id=uuid.uuid4(), code=str(code), desk_code=desk.code, procedure_code=procedure.code,
            procedure_version=procedure.version, channel=command.channel.value,
            state=DossierState.SUBMITTED if command.channel is IntakeChannel.ONLINE else DossierState.RECEIVED,
            return_channel=command.return_channel.value,
            documents=[d.model_dump(mode="json", exclude_none=True) for d in command.documents],
            fee_vnd=sum(fee.amount_vnd for fee in procedure.fees), received_at=now, due_at=None,
            calendar_version=None, supplement_items=None, awaiting_post=command.channel is IntakeChannel.POSTAL,
        )  # fmt: skip
        await store.insert_dossier(conn, row, secret_hash)
        applicant = command.applicant
        await store.insert_applicant(conn, row.id, applicant.model_dump(mode="json"))
        contact = contacts.ContactRecorded(
            applicant_kind=applicant.kind, full_name=applicant.full_name, phone=applicant.phone, email=applicant.email,
            postal_address=applicant.address, notify_by=applicant.notify_by, language=applicant.language,
            optional_messages=applicant.optional_messages, recorded_at=now,
        )  # fmt: skip
        await _publish(ctx, conn, row, contact, contacts.TOPIC)
        if command.channel is IntakeChannel.ONLINE:
            submitted = intake.DossierSubmitted(
                dossier_code=row.code, procedure=procedure.ref(), receiving_agency=desk,
                fully_online=procedure.channels.online == "full", documents=_documents(procedure, row.documents),
                return_channel=command.return_channel, submitted_at=now, status_from=None,
                status_to=DossierStatus.SUBMITTED_ONLINE,
            )  # fmt: skip
            await _publish(ctx, conn, row, submitted, intake.TOPIC)
        if isinstance(command, RequestPickup):
            pickup = intake.DossierPickupRequested(
                dossier_code=row.code, procedure=procedure.ref(), receiving_agency=desk,
                documents=_documents(procedure, row.documents), fee_vnd=row.fee_vnd,
                return_channel=command.return_channel, requested_via=command.requested_via, requested_at=now,
            )  # fmt: skip
            await _publish(ctx, conn, row, pickup, intake.TOPIC)
        if idempotency_key is not None:
            await store.remember_request(conn, scope, idempotency_key, request_hash, row.id)
    return Registered(row, secret, replayed=False)


async def _locked_for_decision(conn: Connection, staff: Staff, dossier_id: uuid.UUID) -> store.DossierRow:
    row = await store.lock_dossier(conn, dossier_id)
    if row is None:
        raise DossierNotFoundError(f"no dossier {dossier_id}")
    if row.desk_code != staff.agency and staff.role != "admin":
        # Named by the id the caller gave: its code and desk are the other agency's to know.
        raise OtherAgencyError(f"dossier {dossier_id} is not a dossier of desk {staff.agency}")
    return row


async def accept(ctx: IntakeContext, staff: Staff, dossier_id: uuid.UUID) -> store.DossierRow:
    """Mẫu 01: the dossier is complete; the clock starts, the appointment is set (status 2)."""
    now = ctx.clock.now()
    calendar, calendar_version = ctx.rules.calendar()
    desk = _desk(ctx, staff)
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await _locked_for_decision(conn, staff, dossier_id)
        ensure_undecided(row.state, "accepted")
        if row.awaiting_post:
            raise TransitionNotAllowedError(f"the post has not handed dossier {row.code} to the desk yet")
        procedure = _procedure_of(ctx, row)
        # At the counter the dossier is complete when the desk accepts it: the legal clock starts now.
        received_at = now if row.channel == IntakeChannel.COUNTER.value else row.received_at
        due_at = appointment(calendar, procedure, received_at)
        await store.decide(
            conn,
            row.id,
            DossierState.ACCEPTED,
            received_at=received_at,
            due_at=due_at,
            calendar_version=calendar_version,
        )
        event = intake.DossierAccepted(
            dossier_code=row.code, procedure=procedure.ref(), receiving_agency=desk,
            channel=IntakeChannel(row.channel), documents=_documents(procedure, row.documents),
            time_limit=procedure.time_limit.as_event_time_limit(), received_at=received_at, accepted_at=now,
            due_at=due_at, calendar_version=calendar_version, return_channel=ReturnChannel(row.return_channel),
            fee_vnd=row.fee_vnd, actor=actor_of(staff),
            status_from=STATUS_OF[row.state],
            status_to=DossierStatus.ACCEPTED,
        )  # fmt: skip
        await _publish(ctx, conn, row, event, intake.TOPIC)
        return await _reloaded(conn, row)


async def refuse(ctx: IntakeContext, staff: Staff, dossier_id: uuid.UUID, command: Refuse) -> store.DossierRow:
    """Mẫu 03: the desk does not accept the dossier, with the reason (status 3)."""
    now = ctx.clock.now()
    desk = _desk(ctx, staff)
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await _locked_for_decision(conn, staff, dossier_id)
        ensure_undecided(row.state, "refused")
        procedure = _procedure_of(ctx, row)
        refusal = {"reason": command.reason, "legal_basis": command.legal_basis}
        await store.decide(conn, row.id, DossierState.REFUSED, refusal=refusal)
        event = intake.DossierRefused(
            dossier_code=row.code, procedure=procedure.ref(), receiving_agency=desk,
            channel=IntakeChannel(row.channel), reason=command.reason, legal_basis=command.legal_basis,
            refused_at=now, actor=actor_of(staff),
            status_from=STATUS_OF[row.state],
            status_to=DossierStatus.REFUSED,
        )  # fmt: skip
        await _publish(ctx, conn, row, event, intake.TOPIC)
        return await _reloaded(conn, row)


async def request_reception_supplement(
    ctx: IntakeContext, staff: Staff, dossier_id: uuid.UUID, command: RequestReceptionSupplement
) -> store.DossierRow:
    """Mẫu 02 at the desk: not accepted yet, no clock, not counted against anyone; issued once, completely."""
    now = ctx.clock.now()
    desk = _desk(ctx, staff)
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await _locked_for_decision(conn, staff, dossier_id)
        ensure_undecided(row.state, "sent a supplement request")
        if row.supplement_items:
            raise TransitionNotAllowedError(
                f"a Mẫu 02 was already issued for dossier {row.code}: the applicant is guided once, completely"
            )
        procedure = _procedure_of(ctx, row)
        titles = {document.code: document.name_vi for document in procedure.documents}
        unknown = [item.document_code for item in command.items if item.document_code not in titles]
        if unknown:
            raise IntakeRuleError(f"not documents of procedure {procedure.code}: {', '.join(unknown)}")
        items = [
            SupplementItem(document_code=i.document_code, document_title=titles[i.document_code], problem=i.problem,
                           instruction=i.instruction)
            for i in command.items
        ]  # fmt: skip
        await store.decide(conn, row.id, row.state, supplement_items=[i.model_dump(mode="json") for i in items])
        event = intake.DossierReceptionSupplementRequested(
            dossier_code=row.code, procedure=procedure.ref(), receiving_agency=desk,
            channel=IntakeChannel(row.channel), items=items, requested_at=now, actor=actor_of(staff),
        )  # fmt: skip
        await _publish(ctx, conn, row, event, intake.TOPIC)
        return await _reloaded(conn, row)


FactCommand = RecordSupplementReceived | RecordObligationPaid | RecordWithdrawalRequested | RecordResultHandedOver


def _fact_event(command: FactCommand, now: datetime, actor: Actor) -> EventData:
    if isinstance(command, RecordSupplementReceived):
        return intake.DossierSupplementReceived(
            request_event_id=command.request_event_id, documents=_received(command.documents), via=Via.DESK,
            received_at=now, actor=actor,
        )  # fmt: skip
    if isinstance(command, RecordObligationPaid):
        return intake.DossierObligationPaid(
            request_event_id=command.request_event_id, amount_vnd=command.amount_vnd,
            receipt_number=command.receipt_number, method=command.method, paid_at=now, actor=actor,
        )  # fmt: skip
    if isinstance(command, RecordWithdrawalRequested):
        return intake.DossierWithdrawalRequested(reason=command.reason, via=Via.DESK, requested_at=now, actor=actor)
    return intake.DossierResultHandedOver(
        documents=_received(command.documents), received_by=command.received_by, handed_over_at=now, actor=actor
    )


def _received(documents: list[ReceivedDocument]) -> list[DocumentRef]:
    return [DocumentRef(code=d.code, title=d.title, content_hash=d.content_hash) for d in documents]


async def record_fact(ctx: IntakeContext, staff: Staff, dossier_id: uuid.UUID, command: FactCommand) -> EventData:
    """After acceptance routing owns the status: the desk records the fact, routing applies it (or rejects it
    with fact.rejected). Intake changes nothing of its own."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await _locked_for_decision(conn, staff, dossier_id)
        if row.state is not DossierState.ACCEPTED:
            raise TransitionNotAllowedError(f"dossier {row.code} is {row.state.value}: facts follow acceptance")
        event = _fact_event(command, ctx.clock.now(), actor_of(staff))
        await _publish(ctx, conn, row, event, intake.TOPIC)
    return event


async def erase_contact(ctx: IntakeContext, staff: Staff, dossier_id: uuid.UUID) -> None:
    """The applicant's personal data is erased here, and the contacts topic gets the dossier's tombstone, which
    makes notification and postal delete their copies."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await _locked_for_decision(conn, staff, dossier_id)
        await store.erase_applicant(conn, row.id)
        await ctx.outbox.add(
            conn, contacts.ContactErased(), topic=contacts.TOPIC, dossier_id=str(row.id), dossier_code=row.code,
            tombstone=True,
        )  # fmt: skip


async def print_form(ctx: IntakeContext, staff: Staff, dossier_id: uuid.UUID, form: str, public_url: str) -> str:
    """The HTML of a desk form. Printing the slip (Mẫu 01) issues a new tracking secret: only its hash is kept,
    so the slip printed last carries the valid one."""
    secret = new_tracking_secret()
    secret_hash = await asyncio.to_thread(hash_tracking_secret, secret) if form == "slip" else ""
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await _locked_for_decision(conn, staff, dossier_id)
        required = {"slip": DossierState.ACCEPTED, "refusal": DossierState.REFUSED}.get(form)
        if required is not None and row.state is not required:
            raise TransitionNotAllowedError(f"dossier {row.code} is {row.state.value}: no {form} to print")
        if form == "supplement" and not row.supplement_items:
            raise TransitionNotAllowedError(f"no Mẫu 02 was issued for dossier {row.code}")
        procedure = _procedure_of(ctx, row)
        applicant, refusal = await store.printable(conn, row.id)
        values: dict[str, object] = {
            "dossier": row, "desk": _desk_of(ctx, row.desk_code).title, "applicant": applicant,
            "procedure": procedure.name_vi, "items": row.supplement_items or [], **(refusal or {}),
        }  # fmt: skip
        if form == "slip":
            await store.set_tracking_secret(conn, row.id, secret_hash)
            url = f"{public_url}/public/tracking/{row.code}/page?secret={secret}"
            given = {d["code"] for d in row.documents}
            values |= {
                "secret": secret, "qr": qr_svg(url), "officer": staff.staff_id,
                "documents": [{"name": d.name_vi, "form": d.form, "count": d.count}
                              for d in procedure.documents if d.code in given],
                "received": local_text(row.received_at), "appointment": local_text(row.due_at),
                "return_channel": row.return_channel, "fee": f"{row.fee_vnd:,} đồng".replace(",", "."),
            }  # fmt: skip
    return render(form, **values)


async def find_for_desk(ctx: IntakeContext, staff: Staff, code: str) -> store.DossierRow:
    """The dossier of a code an applicant shows at the desk (an online one, say), if it is this desk's."""
    async with ctx.pool.acquire() as conn:
        found = await store.find_by_code(conn, code.strip().upper())
    if found is None:
        raise DossierNotFoundError(f"no dossier {code}")
    row = found[0]
    if row.desk_code != staff.agency and staff.role != "admin":
        raise OtherAgencyError(f"dossier {row.code} belongs to desk {row.desk_code}, not to {staff.agency}")
    return row


@dataclass(frozen=True)
class Tracking:
    dossier: store.DossierRow
    timeline: list[tuple[str, datetime, int | None]]

    @property
    def status(self) -> int | None:
        """The latest status any service set (routing owns it after acceptance)."""
        statuses = [status for _, _, status in self.timeline if status is not None]
        return statuses[-1] if statuses else None


async def track(ctx: IntakeContext, code: str, secret: str) -> Tracking | None:
    """The dossier of that code if the secret matches; None alike for an unknown code and a wrong secret."""
    async with ctx.pool.acquire() as conn:
        found = await store.find_by_code(conn, code.strip().upper())
    # The same work for an unknown code as for a wrong secret: no timing oracle.
    row, secret_hash = found if found is not None else (None, DUMMY_SECRET_HASH)
    if not await asyncio.to_thread(verify_tracking_secret, secret, secret_hash) or row is None:
        return None
    async with ctx.pool.acquire() as conn:
        return Tracking(row, await store.timeline(conn, row.id))
