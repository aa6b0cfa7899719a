"""Nobody where they don't belong, on the whole stack: no endpoint of any service answers without a token but the
public ones; staff of another agency get 403 on a dossier that is not theirs; no lifecycle topic carries the
applicant's personal data, the personal ID number leaves intake on no topic at all, and no service logs them."""

from __future__ import annotations

import asyncio
import re
import uuid
from functools import partial
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from tests.support.messaging import eventually
from tests.support.stack import StackCommand, demo_token

DESK, JUSTICE, OTHER_DESK, OTHER_JUSTICE = "H29.101.1", "H29.101.2", "H29.102.1", "H29.102.2"
SERVICES = ("intake", "routing", "notification", "postal")
# What any caller may use: probes and metrics, the applicants' public API, the providers' callbacks, the docs.
PUBLIC = re.compile(r"^/(healthz|readyz|metrics|rules|openapi\.json|docs|redoc|public/|receipts/|carrier/webhooks)")
APPLICANT = {"full_name": "Võ Thị Hạnh", "personal_id": "079301004567", "phone": "0978123456",
             "email": "hanh.vo@example.org", "notify_by": "both"}  # fmt: skip
LIFECYCLE = ["lienthong.intake.v1", "lienthong.routing.v1", "lienthong.notification.v1", "lienthong.postal.v1"]


def concrete(path: str) -> str:
    """An OpenAPI path with a value in each parameter: what they are does not matter to an unauthenticated call."""
    return re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()) if m.group(0).endswith("_id}") else "x", path)


async def test_no_endpoint_answers_without_a_token_but_the_public_ones(stack: StackCommand) -> None:
    env = stack.env_file()
    refused, tried = [], 0
    async with httpx.AsyncClient(timeout=30) as http:
        for service in SERVICES:
            base = env[f"{service.upper()}_URL"]
            for path, operations in (await http.get(f"{base}/openapi.json")).json()["paths"].items():
                if PUBLIC.match(path):
                    continue
                for method in operations:
                    tried += 1
                    answer = await http.request(method, base + concrete(path), json={})
                    if answer.status_code != 401:
                        refused.append(f"{service} {method.upper()} {path}: {answer.status_code}")
    assert tried >= 25, "every staff endpoint of the four services"
    assert refused == []


async def accepted_dossier(http: httpx.AsyncClient, stack: StackCommand) -> dict[str, Any]:
    env = stack.env_file()
    body = {"procedure_code": "1.001193", "applicant": APPLICANT,
            "documents": [{"code": "declaration"}, {"code": "birth_certificate_medical"}]}  # fmt: skip
    reception = demo_token(stack, DESK, "reception")
    registered = (await http.post(f"{env['INTAKE_URL']}/desk/dossiers", json=body, headers=reception)).json()
    accepted = await http.post(f"{env['INTAKE_URL']}/desk/dossiers/{registered['id']}/accept", headers=reception)
    assert accepted.status_code == 200, accepted.text

    async def in_processing() -> bool:
        url = f"{env['ROUTING_URL']}/processing/dossiers/{registered['code']}"
        return (await http.get(url, headers=demo_token(stack, JUSTICE, "processing"))).status_code == 200

    await eventually(in_processing, what="routing took the dossier into processing")
    return dict(registered)


async def test_staff_of_another_agency_get_403_on_what_is_not_theirs(stack: StackCommand) -> None:
    env = stack.env_file()
    intake, routing = env["INTAKE_URL"], env["ROUTING_URL"]
    async with httpx.AsyncClient(timeout=30) as http:
        dossier = await accepted_dossier(http, stack)
        code, other_desk = dossier["code"], demo_token(stack, OTHER_DESK, "reception")
        other_justice = demo_token(stack, OTHER_JUSTICE, "processing")
        answers = {
            "intake: find the dossier": await http.get(f"{intake}/desk/dossiers/by-code/{code}", headers=other_desk),
            "intake: refuse it": await http.post(f"{intake}/desk/dossiers/{dossier['id']}/refuse",
                                                 json={"reason": "x"}, headers=other_desk),
            "intake: print its slip": await http.post(f"{intake}/desk/dossiers/{dossier['id']}/slip",
                                                      headers=other_desk),
            "routing: read it": await http.get(f"{routing}/processing/dossiers/{code}", headers=other_justice),
            "routing: claim its step": await http.post(f"{routing}/processing/dossiers/{code}/steps/register/claim",
                                                       headers=other_justice),
            "routing: complete its step": await http.post(
                f"{routing}/processing/dossiers/{code}/steps/register/complete", json={"note": "x"},
                headers=other_justice),
            "routing: its control sheet": await http.get(f"{routing}/processing/dossiers/{code}/control-sheet",
                                                         headers=other_justice),
            "routing: the agency's board": await http.get(
                f"{routing}/accountability", params={"from": "2026-12-01", "to": "2026-12-31", "agency": JUSTICE},
                headers=other_justice),
            "routing: the agency's queue": await http.get(f"{routing}/processing/queue", params={"agency": JUSTICE},
                                                          headers=other_justice),
        }  # fmt: skip
    assert {what: answer.status_code for what, answer in answers.items()} == dict.fromkeys(answers, 403)


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
    logs = "\n".join((stack.home / "logs" / f"{service}.log").read_text(errors="replace") for service in SERVICES)
    assert [p for p in [*personal, APPLICANT["personal_id"]] if p in logs] == []
