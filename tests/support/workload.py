"""Dossiers driven through the public and staff APIs of a running stack, as the desk, the applicants and the staff
would, by a caller that keeps going while services die under it: a call that fails on the way (connection lost,
5xx) is sent again, and an action answered 409 counts as done once the dossier shows it done — its first attempt
went through before the answer was lost.

Three kinds of dossier of the birth registration (1.001193: the justice officer registers, the ward chairman signs):
handed in at the counter and returned at the desk; submitted online, accepted at the desk and returned there; handed
in at the counter and returned by post (the carrier simulator moves on the stack's clock). A fourth, interagency
kind: the child-under-6 package (LT-KS-TT-BHYT: the justice officer registers the birth, then the ward police and
social insurance in parallel), handed in at the counter and returned electronically, at once."""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

PROCEDURE = "1.001193"
DESK, JUSTICE, COMMITTEE = "H29.101.1", "H29.101.2", "H29.101"
POLICE, SOCIAL_INSURANCE = "H29.40.101", "H29.50.1"
DOCUMENTS = [{"code": "declaration"}, {"code": "birth_certificate_medical"}]
CERTIFICATE = [{"code": "birth_certificate", "title": "Giấy khai sinh"}]
STEPS = [("register", JUSTICE, None), ("sign", COMMITTEE, {"decision": "granted", "documents": CERTIFICATE})]
PACKAGE = "LT-KS-TT-BHYT"
PACKAGE_DOCUMENTS = [{"code": "interconnected_form"}, {"code": "birth_certificate_medical"}]
HEALTH_CARD = {"decision": "granted", "documents": [{"code": "health_insurance_card", "title": "Thẻ BHYT"}]}
# The two branches after the birth registration run in parallel; the result goes with the one completed last.
PACKAGE_STEPS = [("birth_registration", JUSTICE, None), ("permanent_residence", POLICE, None),
                 ("health_insurance_card", SOCIAL_INSURANCE, HEALTH_CARD)]  # fmt: skip
ADDRESS = {"street": "45 Pasteur", "ward_code": "26734", "province_code": "79", "ward": "Phường Sài Gòn",
           "province": "Thành phố Hồ Chí Minh"}  # fmt: skip
RETURNED = 10
STATUS_WAIT_S = 10.0  # how long one look at a status source waits before the workload looks again
FINISHED = "nothing: back with the applicant"


class Kind(enum.StrEnum):
    COUNTER = "counter"
    ONLINE = "online"
    POSTAL_RETURN = "postal-return"
    INTERAGENCY = "interagency"


@dataclass
class Driven:
    """A dossier the workload created: what the checks need to find it everywhere."""

    number: int
    kind: Kind
    id: str = ""
    code: str = ""
    secret: str = ""
    phone: str = ""
    email: str = ""
    status: int = 0
    waiting_for: str = "its turn"  # what the workload is waiting for, shown while a run is slow


class StatusSource(Protocol):
    """Where the workload learns that a dossier reached a status, when it is not by asking routing."""

    async def reached(self, dossier_id: str, status: int, within_s: float) -> bool:
        """Whether the dossier has been in `status`, waiting up to `within_s` for it."""
        ...


class ServiceUnavailableError(Exception):
    """The service did not answer (or answered 5xx): the call may or may not have been applied."""


class Workload:
    def __init__(self, http: httpx.AsyncClient, urls: dict[str, str], tokens: Callable[[str, str], dict[str, str]],
                 patience_s: float = 240, statuses: StatusSource | None = None) -> None:  # fmt: skip
        self.http = http
        self.statuses = statuses
        self.intake, self.routing = urls["INTAKE_URL"], urls["ROUTING_URL"]
        self.tokens = tokens
        self.patience_s = patience_s
        self.retried_calls = 0

    async def drive(self, dossier: Driven) -> Driven:
        """From hand-in to the result back with the applicant (status 10)."""
        dossier.phone, dossier.email = f"0912{dossier.number:06d}", f"nguoi.dan.{dossier.number}@example.org"
        await self._hand_in(dossier)
        await self._until(dossier, "acceptance", lambda: self._accept(dossier))
        for step, agency, result in PACKAGE_STEPS if dossier.kind is Kind.INTERAGENCY else STEPS:
            await self._until(dossier, f"step {step}",
                              lambda s=step, a=agency, r=result: self._complete(dossier, s, a, r))  # type: ignore[misc]  # fmt: skip
        if dossier.kind is Kind.POSTAL_RETURN:
            await self._until(dossier, "delivery by post", lambda: self._status_is(dossier, RETURNED))
        elif dossier.kind is Kind.INTERAGENCY:
            await self._until(dossier, "electronic return", lambda: self._status_is(dossier, RETURNED))
        else:
            await self._until(dossier, "result ready", lambda: self._status_is(dossier, 9))
            await self._until(dossier, "hand-over", lambda: self._hand_over(dossier))
            await self._until(dossier, "status 10", lambda: self._status_is(dossier, RETURNED))
        dossier.waiting_for = FINISHED
        return dossier

    async def _hand_in(self, dossier: Driven) -> None:
        """Registration carries an Idempotency-Key, so that a try whose answer was lost is answered again (200)
        instead of registering a second dossier."""
        applicant: dict[str, Any] = {"full_name": "Nguyễn Văn An", "phone": dossier.phone, "email": dossier.email,
                                     "notify_by": "both"}  # fmt: skip
        if dossier.kind is Kind.POSTAL_RETURN:
            applicant["address"] = ADDRESS
        body: dict[str, Any] = {"procedure_code": PROCEDURE, "documents": DOCUMENTS, "applicant": applicant}
        if dossier.kind is Kind.INTERAGENCY:
            body |= {"procedure_code": PACKAGE, "documents": PACKAGE_DOCUMENTS, "return_channel": "electronic"}
        if dossier.kind is Kind.ONLINE:
            url, headers, body = f"{self.intake}/public/dossiers", {}, {**body, "desk_code": DESK}
        else:
            url, headers = f"{self.intake}/desk/dossiers", self._desk()
            if dossier.kind is Kind.POSTAL_RETURN:
                body["return_channel"] = "post"
        headers = {**headers, "Idempotency-Key": f"workload-{dossier.number}-{uuid.uuid4()}"}
        registered: dict[str, Any] = {}

        async def register() -> bool:
            answer = await self._send("POST", url, json=body, headers=headers)
            if answer.status_code not in (200, 201):
                raise AssertionError(f"registration refused: {answer.status_code} {answer.text}")
            registered.update(answer.json())
            return True

        await self._until(dossier, "registration", register)
        dossier.code, dossier.secret = registered["code"], registered["tracking_secret"]
        dossier.id = registered.get("id") or (await self._found_at_desk(dossier))

    async def _found_at_desk(self, dossier: Driven) -> str:
        found: dict[str, Any] = {}

        async def lookup() -> bool:
            url = f"{self.intake}/desk/dossiers/by-code/{dossier.code}"
            answer = await self._send("GET", url, headers=self._desk())
            found.update(answer.json() if answer.status_code == 200 else {})
            return "id" in found

        await self._until(dossier, "the desk to find it", lookup)
        return str(found["id"])

    async def _accept(self, dossier: Driven) -> bool:
        answer = await self._send("POST", f"{self.intake}/desk/dossiers/{dossier.id}/accept", headers=self._desk())
        return answer.status_code == 200 or (answer.status_code == 409 and await self._accepted(dossier))

    async def _complete(self, dossier: Driven, step: str, agency: str, result: dict[str, Any] | None) -> bool:
        url = f"{self.routing}/processing/dossiers/{dossier.code}"
        headers = self.tokens(agency, "processing")
        body = {"note": "Xong", **({"result": result} if result else {})}
        answer = await self._send("POST", f"{url}/steps/{step}/complete", json=body, headers=headers)
        if answer.status_code == 200:
            return True
        view = await self._send("GET", url, headers=headers)
        return view.status_code == 200 and any(
            s["step_id"] == step and s["completed_at"] is not None for s in view.json()["steps"]
        )

    async def _hand_over(self, dossier: Driven) -> bool:
        body = {"documents": CERTIFICATE, "received_by": "applicant"}
        url = f"{self.intake}/desk/dossiers/{dossier.id}/facts/result-handed-over"
        answer = await self._send("POST", url, json=body, headers=self._desk())
        return answer.status_code in (200, 201) or (answer.status_code == 409 and await self._status_is(dossier, 10))

    async def _status_is(self, dossier: Driven, expected: int) -> bool:
        """Routing's status, as its staff see it: public tracking costs a deliberately slow hash of the secret
        per call, which is for applicants and rate-limited, not for polling. With a status source, from that."""
        if self.statuses is not None:
            reached = await self.statuses.reached(dossier.id, expected, within_s=STATUS_WAIT_S)
            if reached:
                dossier.status = expected
            return reached
        url = f"{self.routing}/processing/dossiers/{dossier.code}"
        answer = await self._send("GET", url, headers=self.tokens(JUSTICE, "processing"))
        if answer.status_code == 200:
            dossier.status = int(answer.json()["status"])
        return dossier.status == expected

    async def _accepted(self, dossier: Driven) -> bool:
        answer = await self._send("GET", f"{self.intake}/desk/dossiers/by-code/{dossier.code}", headers=self._desk())
        return answer.status_code == 200 and answer.json()["state"] == "accepted"

    def _desk(self) -> dict[str, str]:
        return self.tokens(DESK, "reception")

    async def _send(self, method: str, url: str, **options: Any) -> httpx.Response:
        try:
            answer = await self.http.request(method, url, **options)
        except httpx.HTTPError as error:
            raise ServiceUnavailableError(f"{method} {url}: {type(error).__name__}") from error
        if answer.status_code >= 500 or answer.status_code == 429:
            raise ServiceUnavailableError(f"{method} {url}: {answer.status_code}")
        return answer

    async def _until(self, dossier: Driven, stage: str, done: Callable[[], Awaitable[bool]]) -> None:
        """Repeat `done` until it holds, through services that are down or still catching up."""
        dossier.waiting_for = stage
        deadline = asyncio.get_running_loop().time() + self.patience_s
        while asyncio.get_running_loop().time() < deadline:
            try:
                if await done():
                    return
            except ServiceUnavailableError:
                self.retried_calls += 1
            await asyncio.sleep(1)
        raise AssertionError(f"dossier {dossier.number} {dossier.code}: {stage} not within {self.patience_s:.0f} s")
