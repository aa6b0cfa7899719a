"""Nobody where they don't belong, on the whole stack: no endpoint of any service answers without a token but the
public ones, and the providers' callbacks take their provider's signature instead; staff of another agency get 403
from every staff endpoint on a dossier that is not theirs, and see nothing of it anywhere; no lifecycle topic
carries the applicant's personal data, the personal ID number leaves intake on no topic at all, and no service logs
them. The web console: no page or endpoint without a session but login and the probes; its live stream shows staff
only their own agency's events; dead letters and replay are for admins only; a cross-site POST is refused."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import httpx
from aiokafka import AIOKafkaConsumer

from shared.events.catalogue.postal import Direction, carrier_order_number
from tests.support.console import console_session, following, staff_token
from tests.support.messaging import eventually
from tests.support.personal_data import scan_logs
from tests.support.stack import StackCommand, demo_token

DESK, JUSTICE, OTHER_WARD = "H29.101.1", "H29.101.2", "H29.102"
SERVICES = ("intake", "routing", "notification", "postal")
# What any caller may use: probes and metrics, the applicants' public API, the docs and the events' contract.
PUBLIC = re.compile(r"^/(healthz|readyz|metrics|rules|openapi\.json|docs|redoc|asyncapi\.(yaml|json)|public/)")
# The providers' callbacks: no staff token, the provider's signature (shared/callback_signature.py); by path, the
# calls that reach them (an unknown provider would be refused before its signature is looked at).
SIGNED = {"/carrier/webhooks": ["/carrier/webhooks"], "/receipts/{provider}": ["/receipts/brandname", "/receipts/ott"]}
APPLICANT = {"full_name": "Võ Thị Hạnh", "personal_id": "079301004567", "phone": "0978123456",
             "email": "hanh.vo@example.org", "notify_by": "both"}  # fmt: skip
PICKUP_APPLICANT = {"full_name": "Bùi Thị Lan", "phone": "0933000101", "notify_by": "sms",
                    "address": {"street": "45 Pasteur", "ward_code": "26734", "province_code": "79",
                                "ward": "Phường Sài Gòn", "province": "Thành phố Hồ Chí Minh"}}  # fmt: skip
DOCUMENTS = [{"code": "declaration"}, {"code": "birth_certificate_medical"}]
LIFECYCLE = ["lienthong.intake.v1", "lienthong.routing.v1", "lienthong.notification.v1", "lienthong.postal.v1"]


def concrete(path: str) -> str:
    """An OpenAPI path with a value in each parameter: what they are does not matter to an unauthenticated call."""
    return re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()) if m.group(0).endswith("_id}") else "x", path)


async def test_no_endpoint_answers_without_a_token_but_the_public_ones(stack: StackCommand) -> None:
    env = stack.env_file()
    refused, tried, signed = [], 0, set()
    staff = demo_token(stack, DESK, "reception")
    async with httpx.AsyncClient(timeout=30) as http:
        for service in SERVICES:
            base = env[f"{service.upper()}_URL"]
            for path, operations in (await http.get(f"{base}/openapi.json")).json()["paths"].items():
                if PUBLIC.match(path):
                    continue
                for method in operations:
                    tried += 1
                    for called in SIGNED.get(path, [concrete(path)]):
                        answer = await http.request(method, base + called, json={})
                        if answer.status_code != 401:
                            refused.append(f"{service} {method.upper()} {called}: {answer.status_code}")
                    if path in SIGNED:
                        signed.add(path)
                        # A staff token is no substitute for the provider's signature.
                        for called in SIGNED[path]:
                            answer = await http.request(method, base + called, json={}, headers=staff)
                            if answer.status_code != 401 or "takes a signature" not in answer.text:
                                refused.append(f"{service} {method.upper()} {called} with a token: {answer.text}")
    assert tried >= 25, "every staff endpoint of the four services"
    assert signed == set(SIGNED), "the carrier's webhooks and the gateways' receipts"
    assert refused == []


async def accepted_dossier(http: httpx.AsyncClient, stack: StackCommand) -> dict[str, Any]:
    env = stack.env_file()
    body = {"procedure_code": "1.001193", "applicant": APPLICANT, "documents": DOCUMENTS}
    reception = demo_token(stack, DESK, "reception")
    registered = (await http.post(f"{env['INTAKE_URL']}/desk/dossiers", json=body, headers=reception)).json()
    accepted = await http.post(f"{env['INTAKE_URL']}/desk/dossiers/{registered['id']}/accept", headers=reception)
    assert accepted.status_code == 200, accepted.text

    async def in_processing() -> bool:
        url = f"{env['ROUTING_URL']}/processing/dossiers/{registered['code']}"
        return (await http.get(url, headers=demo_token(stack, JUSTICE, "processing"))).status_code == 200

    await eventually(in_processing, what="routing took the dossier into processing")
    return dict(registered)


@dataclass(frozen=True)
class Call:
    """How another agency's staff call a staff endpoint (with what an owner's call would carry) and what they may
    get: REFUSED, a 403 and nothing else; OWN, their own agency's things (2xx) or a 403 for their role, never anything
    of the other dossier; SAME, what every staff member gets alike (a catalogue)."""

    expect: Literal["REFUSED", "OWN", "SAME"] = "REFUSED"
    body: dict[str, Any] | None = None
    params: dict[str, str] | None = None


# Every staff endpoint of the four services. Those naming a dossier (by id, code, step or order number) answer 403,
# never 404, to staff of another agency: staff are authenticated and accountable, a code or order number says its
# desk anyway, and the existence of a dossier is hidden where it must be, from the anonymous public tracking (the
# same 404 for an unknown code and a wrong secret). The desk's search by code is no exception: it finds one dossier
# by the code the applicant shows, and the code names the desk it belongs to.
MISSING_ITEM = {"problem": "invalid", "instruction": "Mang bản chính để đối chiếu"}
RECEIVED = [{"code": "birth_certificate_medical", "title": "Giấy chứng sinh"}]
MONTH = {"from": "2026-12-01", "to": "2026-12-31"}
CALLS: dict[tuple[str, str], list[Call]] = {
    ("GET", "/whoami"): [Call("OWN")],
    # It registers at the desk of whoever calls: nothing of another agency's is named.
    ("POST", "/desk/dossiers"): [Call("OWN", {
        "procedure_code": "1.001193", "documents": DOCUMENTS,
        "applicant": {"full_name": "Đặng Văn Bình", "phone": "0966000102", "notify_by": "sms"}})],
    ("GET", "/desk/dossiers/by-code/{code}"): [Call()],
    ("POST", "/desk/dossiers/{dossier_id}/accept"): [Call()],
    ("POST", "/desk/dossiers/{dossier_id}/refuse"): [Call(body={"reason": "Thiếu tờ khai"})],
    ("POST", "/desk/dossiers/{dossier_id}/reception-supplement"): [
        Call(body={"items": [{"document_code": "birth_certificate_medical", **MISSING_ITEM}]})],
    ("POST", "/desk/dossiers/{dossier_id}/facts/supplement-received"): [
        Call(body={"request_event_id": str(uuid.uuid4()), "documents": RECEIVED})],
    ("POST", "/desk/dossiers/{dossier_id}/facts/obligation-paid"): [Call(body={
        "request_event_id": str(uuid.uuid4()), "amount_vnd": 8000, "receipt_number": "BL-0001", "method": "cash"})],
    ("POST", "/desk/dossiers/{dossier_id}/facts/withdrawal-requested"): [Call(body={"reason": "Không cần nữa"})],
    ("POST", "/desk/dossiers/{dossier_id}/facts/result-handed-over"): [
        Call(body={"documents": RECEIVED, "received_by": "applicant"})],
    ("POST", "/desk/dossiers/{dossier_id}/slip"): [Call()],
    ("GET", "/desk/dossiers/{dossier_id}/supplement-request"): [Call()],
    ("GET", "/desk/dossiers/{dossier_id}/refusal"): [Call()],
    # Admins only, and an admin acts for every agency by design: other agencies' staff are refused by role.
    ("POST", "/desk/dossiers/{dossier_id}/erase-contact"): [Call()],
    ("GET", "/processing/queue"): [Call(params={"agency": JUSTICE}), Call("OWN")],
    ("GET", "/processing/dossiers/{code}"): [Call()],
    ("POST", "/processing/dossiers/{code}/steps/{step_id}/claim"): [Call()],
    ("POST", "/processing/dossiers/{code}/steps/{step_id}/complete"): [Call(body={"note": "Đã đăng ký"})],
    ("POST", "/processing/dossiers/{code}/steps/{step_id}/supplement-request"): [Call(body={
        "reason": "Giấy chứng sinh không hợp lệ",
        "items": [{"document_code": "birth_certificate_medical", "document_title": "Giấy chứng sinh",
                   **MISSING_ITEM}]})],
    ("POST", "/processing/dossiers/{code}/steps/{step_id}/obligation-request"): [Call(body={
        "notice_number": "TB-0001", "items": [{"kind": "fee", "title": "Lệ phí", "amount_vnd": 8000}]})],
    ("POST", "/processing/dossiers/{code}/steps/{step_id}/stop"): [Call(body={"reason": "Người yêu cầu đã mất"})],
    ("POST", "/processing/dossiers/{code}/apology"): [
        Call(body={"reason": "Chậm xác minh", "new_appointment_at": "2026-12-21T09:00:00+07:00"})],
    ("GET", "/processing/dossiers/{code}/apology-letter"): [Call()],
    ("GET", "/processing/dossiers/{code}/control-sheet"): [Call()],
    ("GET", "/accountability"): [Call(params={**MONTH, "agency": JUSTICE}), Call("OWN", params=MONTH)],
    ("GET", "/templates"): [Call("SAME")],
    ("POST", "/templates/preview"): [Call("SAME", {"event_type": "dossier.accepted", "channel": "email"})],
    ("GET", "/shipments/{order_number}"): [Call()],
    # Every service's dead letters and blocked dossiers: admins only, whatever their agency (a replay changes the
    # dossier in that service), so every other role is refused by role.
    ("GET", "/operations/dead-letters"): [Call()],
    ("GET", "/operations/dead-letters/{dead_letter_id}"): [Call()],
    ("POST", "/operations/dead-letters/{dead_letter_id}/replay"): [Call()],
    ("POST", "/operations/dead-letters/{dead_letter_id}/discard"): [Call()],
    ("GET", "/operations/blocked"): [Call()],
}  # fmt: skip


def other_agency_tokens(stack: StackCommand) -> dict[str, dict[str, str]]:
    """Every demo staff member of ward 102 (its committee, desk, justice, economy office), by staff id."""
    demo = json.loads((stack.home / "demo-tokens.json").read_text())
    return {t["staff_id"]: {"Authorization": f"Bearer {t['token']}"} for t in demo["tokens"]
            if OTHER_WARD in (t["agency"], t["agency"].rsplit(".", 1)[0]) and t["role"] != "admin"}  # fmt: skip


def personal_values(applicant: dict[str, Any]) -> set[str]:
    return {str(applicant[key]) for key in ("full_name", "personal_id", "phone", "email") if key in applicant}


async def picked_up_dossier(http: httpx.AsyncClient, stack: StackCommand) -> tuple[dict[str, Any], str]:
    """A dossier of the desk collected by the post: its answer, and the order number of its shipment."""
    env = stack.env_file()
    body = {"procedure_code": "1.001193", "desk_code": DESK, "applicant": PICKUP_APPLICANT, "documents": DOCUMENTS,
            "return_channel": "post"}  # fmt: skip
    asked = await http.post(f"{env['INTAKE_URL']}/public/pickups", json=body)
    assert asked.status_code == 201, asked.text
    order_number = carrier_order_number(asked.json()["code"], Direction.PICKUP)
    shipment = f"{env['POSTAL_URL']}/shipments/{order_number}"

    async def booked() -> bool:
        return (await http.get(shipment, headers=demo_token(stack, DESK, "reception"))).status_code == 200

    await eventually(booked, what="postal booked the pickup")
    return dict(asked.json()), order_number


async def owner_view(http: httpx.AsyncClient, stack: StackCommand, dossier: dict[str, Any]) -> list[Any]:
    env = stack.env_file()
    desk, justice = demo_token(stack, DESK, "reception"), demo_token(stack, JUSTICE, "processing")
    at_desk = await http.get(f"{env['INTAKE_URL']}/desk/dossiers/by-code/{dossier['code']}", headers=desk)
    in_processing = await http.get(f"{env['ROUTING_URL']}/processing/dossiers/{dossier['code']}", headers=justice)
    return [at_desk.json(), in_processing.json()]


async def test_staff_of_another_agency_get_403_on_every_staff_endpoint_and_see_nothing_of_another_s(
    stack: StackCommand,
) -> None:
    env = stack.env_file()
    others = other_agency_tokens(stack)
    assert len(others) >= 4, others.keys()
    async with httpx.AsyncClient(timeout=30) as http:
        dossier = await accepted_dossier(http, stack)  # in processing, its first step open at the ward's justice
        pickup, order_number = await picked_up_dossier(http, stack)
        values = {"dossier_id": dossier["id"], "code": dossier["code"], "step_id": "register",
                  "order_number": order_number, "dead_letter_id": "1"}  # fmt: skip
        # What would tell another agency something of these dossiers, unless it named it itself.
        theirs = {dossier["id"], dossier["code"], dossier["tracking_secret"], pickup["code"], pickup["tracking_secret"],
                  *personal_values(APPLICANT), *personal_values(PICKUP_APPLICANT)}  # fmt: skip
        before = await owner_view(http, stack, dossier)
        owner, unseen = demo_token(stack, DESK, "reception"), set(CALLS)
        problems: list[str] = []
        answered = 0
        for service in SERVICES:
            base = env[f"{service.upper()}_URL"]
            for path, operations in (await http.get(f"{base}/openapi.json")).json()["paths"].items():
                if PUBLIC.match(path) or path in SIGNED:
                    continue
                for method in (m.upper() for m in operations):
                    unknown = set(re.findall(r"\{(\w+)\}", path)) - set(values)
                    if (method, path) not in CALLS or unknown:
                        problems.append(f"{service} {method} {path}: the test cannot call it; teach it how")
                        continue
                    unseen.discard((method, path))
                    url = base + path.format(**values)
                    for call in CALLS[(method, path)]:
                        ask = partial(http.request, method, url, json=call.body, params=call.params)
                        # Only a catalogue is asked of the owner too: the other calls would act on the dossier.
                        same = (await ask(headers=owner)).text if call.expect == "SAME" else ""
                        for staff_id, token in others.items():
                            answer = await ask(headers=token)
                            answered += 1
                            named = url + json.dumps(call.body)
                            told = [v for v in theirs if v in answer.text and v not in named]
                            wrong = {"REFUSED": answer.status_code != 403 or told,
                                     "OWN": answer.status_code not in (200, 201, 403) or told,
                                     "SAME": answer.status_code != 200 or answer.text != same}[call.expect]  # fmt: skip
                            if wrong:
                                problems.append(f"{service} {method} {path} {call.params or ''} as {staff_id}: "
                                                f"{answer.status_code} {answer.text[:300]}")  # fmt: skip
        assert await owner_view(http, stack, dossier) == before, "the dossier is as it was"
    assert unseen == set(), "endpoints the services no longer have"
    assert problems == []
    assert answered >= 200, "every staff endpoint, with every token of the other ward"


async def test_personal_data_stays_off_the_lifecycle_topics_and_out_of_the_logs(stack: StackCommand) -> None:
    env = stack.env_file()
    async with httpx.AsyncClient(timeout=30) as http:
        dossier = await accepted_dossier(http, stack)
    personal = [APPLICANT["full_name"], APPLICANT["phone"], APPLICANT["phone"][1:], APPLICANT["email"]]

    async def everything_on(topics: list[str]) -> str:
        consumer = AIOKafkaConsumer(*topics, bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
                                    auto_offset_reset="earliest", enable_auto_commit=False)  # fmt: skip
        await consumer.start()
        seen: list[str] = []
        try:
            while batches := await consumer.getmany(timeout_ms=1500):
                for records in batches.values():
                    seen += [(r.value or b"").decode() + str(r.headers) for r in records]
        finally:
            await consumer.stop()
        return "\n".join(seen)

    async def contact_published() -> bool:
        return dossier["code"] in (await everything_on(LIFECYCLE))

    await eventually(partial(contact_published), what="the dossier's events on the topics")
    await asyncio.sleep(2)  # the notifications of its acceptance, too
    lifecycle = await everything_on(LIFECYCLE)
    assert [p for p in personal if p in lifecycle] == []
    assert APPLICANT["personal_id"] not in lifecycle + await everything_on(["lienthong.intake.contacts.v1"]), (
        "the personal ID number never leaves intake"
    )
    # The services' logs: the simulators stand for the outside world, which has the data by right.
    logs = [stack.home / "logs" / f"{service}.log" for service in SERVICES]
    assert [str(finding) for finding in scan_logs(logs).findings] == []
    assert APPLICANT["full_name"] not in "\n".join(log.read_text(errors="replace") for log in logs)


# -- the web console -------------------------------------------------------------------------------------------------

# What the console serves without a session: the login page, the probes and metrics, its OpenAPI description.
CONSOLE_OPEN = re.compile(r"^/(healthz|readyz|metrics|openapi\.json|docs|redoc|console/login$)")
OTHER_DESK = "H29.102.1"  # the one-stop desk of ward 102


def test_no_console_page_or_endpoint_answers_without_a_valid_session(stack: StackCommand) -> None:
    base = stack.env_file()["CONSOLE_URL"]
    forged = {"lienthong_console": demo_token(stack, DESK, "reception")["Authorization"][-40:]}
    refused, tried = [], 0
    paths = httpx.get(f"{base}/openapi.json").json()["paths"]
    for cookies in ({}, forged):
        # From the console's own origin: what is checked here is the session, not where the request comes from.
        with httpx.Client(base_url=base, timeout=30, headers={"Origin": base}, cookies=cookies) as http:
            for path, operations in paths.items():
                if CONSOLE_OPEN.match(path):
                    continue
                for method in operations:
                    tried += 1
                    answer = http.request(method, concrete(path))
                    to_login = answer.status_code == 303 and answer.headers["location"].startswith("/console/login")
                    if answer.status_code != 401 and not to_login:
                        refused.append(f"console {method.upper()} {path} {cookies}: {answer.status_code}")
    assert tried >= 16, "every page and endpoint of the console, without a session and with a forged one"
    assert refused == []


async def test_the_console_s_stream_shows_staff_only_their_own_agency_s_events(stack: StackCommand) -> None:
    base = stack.env_file()["CONSOLE_URL"]
    async with (
        console_session(base, staff_token(stack, DESK, "reception")) as desk,
        console_session(base, staff_token(stack, OTHER_DESK, "reception")) as other_ward,
        console_session(base, staff_token(stack, None, "admin")) as admin,
        following(desk) as desk_sees,
        following(other_ward) as other_ward_sees,
        following(admin) as admin_sees,
        httpx.AsyncClient(timeout=30) as http,
    ):
        dossier = await accepted_dossier(http, stack)

        async def delivered() -> bool:
            return "dossier.processing-started" in admin_sees.types_of(dossier["code"]) and (
                "dossier.accepted" in desk_sees.types_of(dossier["code"]))  # fmt: skip

        await eventually(delivered, what="the dossier's events in the desk's and the admin's streams")
        await asyncio.sleep(1)  # what the other ward's stream would have had comes at the same moment
    assert "dossier.processing-started" not in desk_sees.types_of(dossier["code"]), "it names justice, not the desk"
    assert [line for line in other_ward_sees.lines if dossier["code"] in line["text"]] == []
    assert all(f"agency={OTHER_DESK}" in line["text"] for line in other_ward_sees.lines)


async def test_the_console_s_dead_letters_and_replay_are_for_admins_only(stack: StackCommand) -> None:
    base = stack.env_file()["CONSOLE_URL"]
    replay = "/console/operations/routing/dead-letters/987654321/replay"
    for agency, role in ((DESK, "reception"), (JUSTICE, "processing"), ("H29.101", "head")):
        async with console_session(base, staff_token(stack, agency, role)) as session:
            page = await session.get("/console/operations")
            assert page.status_code == 403, (role, page.text[:300])
            refused = await session.post(replay)
            assert refused.status_code == 403, (role, refused.text)
            assert "it takes admin" in refused.json()["detail"]
    async with console_session(base, staff_token(stack, None, "admin")) as admin:
        page = await admin.get("/console/operations")
        assert page.status_code == 200
        assert all(f'id="group-{service}"' in page.text for service in SERVICES)
        # Forwarded to routing, which answers for its own group: no such dead letter.
        forwarded = await admin.post(replay)
        assert forwarded.status_code == 404
        assert "no dead letter 987654321 in group lienthong.routing" in forwarded.text


async def test_the_console_refuses_cross_site_posts(stack: StackCommand) -> None:
    base = stack.env_file()["CONSOLE_URL"]
    replay = "/console/operations/routing/dead-letters/987654321/replay"
    async with console_session(base, staff_token(stack, None, "admin")) as admin:
        elsewhere = await admin.post(replay, headers={"Origin": "http://evil.example"})
        assert elsewhere.status_code == 403, elsewhere.text
        assert "cross-site request refused" in elsewhere.json()["detail"]
        unsaid = admin.build_request("POST", replay)
        del unsaid.headers["Origin"]  # nor a Referer: where it comes from is not proven
        assert (await admin.send(unsaid)).status_code == 403
        logout = await admin.post("/console/logout", headers={"Origin": "http://evil.example"})
        assert logout.status_code == 403
        assert (await admin.get("/console/operations")).status_code == 200, "still logged in"
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:  # a login forced on the staff's browser
        token = staff_token(stack, None, "admin")
        forced = await http.post("/console/login", data={"token": token}, headers={"Origin": "http://evil.example"})
        assert forced.status_code == 403
        assert "set-cookie" not in forced.headers
