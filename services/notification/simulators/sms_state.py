"""What the SMS gateway simulator remembers: the messages it accepted, the first answer to each idempotency key,
and the delivery reports it still owes. Protocol-neutral: sms_gateway.py turns each verdict into the answer of
one protocol; the magic numbers are documented there."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import uuid4

import httpx
import structlog

from shared.calendar.zone import local
from shared.callback_signature import post_signed

log = structlog.get_logger(__name__)

PROTOCOLS = ("brandname", "ott")
Kind = Literal["accepted", "permanent", "temporary", "error", "outage"]
# The last nine digits (the national number) choose the behaviour.
MAGIC = {
    "900000001": "permanent",
    "900000002": "temporary",
    "900000003": "error",
    "900000004": "slow",
    "900000005": "undeliverable",
    "900000006": "expired",
}
REPORT_STATUSES = {
    "brandname": {"delivered": "DELIVRD", "undeliverable": "UNDELIV", "expired": "EXPIRED"},
    "ott": {"delivered": "delivered", "undeliverable": "undeliverable", "expired": "expired"},
}
OTT_ERROR_CODES = {"undeliverable": "UNKNOWN_SUBSCRIBER", "expired": "VALIDITY_EXPIRED"}
# As real gateways do, a report the callback did not take is posted again, waiting twice as long each time (up to
# REPORT_RETRY_MAX_WAIT_S) for REPORT_RETRY_FOR_S: a notification service restarting loses no receipt.
REPORT_RETRY_FOR_S = 600.0
REPORT_RETRY_MAX_WAIT_S = 15.0


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    reference: str | None = None
    replayed: bool = False  # the first answer to this idempotency key, given again


def report_body(protocol: str, key: str, reference: str, outcome: str, at: datetime) -> dict[str, Any]:
    """A delivery report in the protocol's shape (see the provider modules)."""
    status = REPORT_STATUSES[protocol][outcome]
    if protocol == "brandname":
        done = f"{local(at):%Y-%m-%d %H:%M:%S}"
        return {"SMSID": reference, "RequestId": key, "Status": status, "ErrorCode": None, "DoneTime": done}
    data = {"id": reference, "reference": key, "status": status, "error_code": OTT_ERROR_CODES.get(outcome)}
    return {"type": "message.status", "data": data | {"occurred_at": at.isoformat().replace("+00:00", "Z")}}


@dataclass
class Gateway:
    callback_url: str | None
    # Per protocol, the secret its reports are signed with, as notification requires (shared/callback_signature.py).
    receipt_secrets: dict[str, str] = field(default_factory=dict)
    receipt_delay_s: float = 0.5
    slow_s: float = 10.0
    outages: set[str] = field(default_factory=set)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    submissions: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    _answers: dict[tuple[str, str], Verdict] = field(default_factory=dict)
    # One lock per key: a retry that arrives while the first call is still being answered waits for its answer.
    _locks: defaultdict[tuple[str, str], asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    _pending: set[asyncio.Task[None]] = field(default_factory=set)
    _http: httpx.AsyncClient | None = None

    def __post_init__(self) -> None:
        unsigned = [protocol for protocol in PROTOCOLS if not self.receipt_secrets.get(protocol)]
        if self.callback_url is not None and unsigned:
            raise ValueError(f"delivery reports are signed: give the secret of {', '.join(unsigned)}")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The HTTP client the reports go out with; reports still owed are dropped on exit."""
        async with httpx.AsyncClient(timeout=5) as http:
            self._http = http
            try:
                yield
            finally:
                for task in self._pending:
                    task.cancel()
                await asyncio.gather(*self._pending, return_exceptions=True)
                self._http = None

    async def submit(self, protocol: str, key: str, phone: str, sender: str, text: str) -> Verdict:
        self.requests[protocol] += 1
        if protocol in self.outages:
            return Verdict("outage")
        self.submissions[key] += 1
        async with self._locks[protocol, key]:
            first = self._answers.get((protocol, key))
            if first is not None:
                return replace(first, replayed=True)
            behaviour = MAGIC.get("".join(filter(str.isdigit, phone))[-9:], "delivered")
            if behaviour == "error":
                return Verdict("error")  # a crash answers nothing worth remembering
            if behaviour == "slow":
                await asyncio.sleep(self.slow_s)
                behaviour = "delivered"
            if behaviour in ("permanent", "temporary"):
                verdict = Verdict("permanent" if behaviour == "permanent" else "temporary")
            else:
                verdict = Verdict("accepted", reference=f"{protocol[:3]}-{uuid4().hex[:12]}")
                self._accept(protocol, key, verdict.reference or "", phone, sender, text, behaviour)
            self._answers[protocol, key] = verdict
            return verdict

    def report(self) -> dict[str, Any]:
        return {
            "messages": self.accepted,
            "counts": Counter(message["idempotency_key"] for message in self.accepted),
            "submissions": self.submissions,
            "requests": self.requests,
        }

    def forget(self) -> None:
        self.accepted.clear()
        self.submissions.clear()
        self.requests.clear()
        self._answers.clear()
        self.outages.clear()

    def _accept(
        self, protocol: str, key: str, reference: str, phone: str, sender: str, text: str, outcome: str
    ) -> None:
        at = datetime.now(UTC)
        self.accepted.append(
            {"protocol": protocol, "idempotency_key": key, "provider_reference": reference, "to": phone,
             "sender": sender, "text": text, "accepted_at": at.isoformat()}
        )  # fmt: skip
        if self.callback_url is not None:
            task = asyncio.create_task(self._send_report(protocol, report_body(protocol, key, reference, outcome, at)))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _send_report(self, protocol: str, body: dict[str, Any]) -> None:
        await asyncio.sleep(self.receipt_delay_s)
        url = f"{(self.callback_url or '').rstrip('/')}/{protocol}"
        give_up_at, wait_s, attempt = time.monotonic() + REPORT_RETRY_FOR_S, 0.2, 0
        while time.monotonic() < give_up_at:
            attempt += 1
            try:
                assert self._http is not None, "reports are sent while the gateway is running"
                # Signed at each attempt: a report posted again later carries a fresh timestamp.
                answer = await post_signed(self._http, url, body, self.receipt_secrets[protocol])
                if answer.is_success:
                    return
                error = f"HTTP {answer.status_code}"
            except httpx.HTTPError as failure:
                error = str(failure)
            log.info("sms_simulator.report-retry", protocol=protocol, attempt=attempt, error=error)
            await asyncio.sleep(wait_s)
            wait_s = min(wait_s * 2, REPORT_RETRY_MAX_WAIT_S)
        log.warning("sms_simulator.report-undelivered", protocol=protocol, attempts=attempt)
