"""Each service fails on its own, on the whole stack: with routing stopped, intake keeps accepting and tracking
answers; with the broker stopped, intake still accepts and stays ready (its outbox keeps the events); once the
stopped part is back, every dossier accepted meanwhile flows on into processing. (With notification stopped,
processing goes on: tests/e2e/test_postal_and_outages.py.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from deploy.local.part import Part
from tests.support.messaging import eventually
from tests.support.services import metric
from tests.support.stack import StackCommand, demo_token, restart
from tests.support.workload import DESK, DOCUMENTS, JUSTICE, PROCEDURE

DOSSIERS_WHILE_DOWN = 5


async def accept_while_down(http: httpx.AsyncClient, stack: StackCommand, number: int) -> dict[str, Any]:
    """Registered and accepted at the desk, then tracked: each answer as an applicant and the desk see it."""
    intake, reception = stack.env_file()["INTAKE_URL"], demo_token(stack, DESK, "reception")
    applicant = {"full_name": "Lê Văn Bình", "phone": f"0913{number:06d}", "notify_by": "sms"}
    body = {"procedure_code": PROCEDURE, "documents": DOCUMENTS, "applicant": applicant}
    registered = await http.post(f"{intake}/desk/dossiers", json=body, headers=reception)
    assert registered.status_code == 201, registered.text
    dossier = registered.json()
    accepted = await http.post(f"{intake}/desk/dossiers/{dossier['id']}/accept", headers=reception)
    assert accepted.status_code == 200, accepted.text
    tracked = await http.get(
        f"{intake}/public/tracking/{dossier['code']}", params={"secret": dossier["tracking_secret"]}
    )
    assert tracked.status_code == 200, tracked.text
    assert tracked.json()["status"] == 2
    return dict(dossier)


async def all_in_processing(http: httpx.AsyncClient, stack: StackCommand, dossiers: list[dict[str, Any]]) -> None:
    routing, justice = stack.env_file()["ROUTING_URL"], demo_token(stack, JUSTICE, "processing")

    async def processing() -> bool:
        answers = [await http.get(f"{routing}/processing/dossiers/{d['code']}", headers=justice) for d in dossiers]
        return all(a.status_code == 200 and a.json()["status"] == 4 for a in answers)

    await eventually(processing, timeout_s=120, what="every dossier accepted meanwhile in processing")


@dataclass
class Outage:
    dossiers: list[dict[str, Any]]
    intake_backlog: float  # events waiting in intake's outbox once they were accepted, the part still stopped


async def while_stopped(part: Part, stack: StackCommand, number: int, broker_reachable: bool = True) -> Outage:
    """Accept dossiers with `part` stopped, checking intake stays ready and sees the broker as it is; start the
    part again."""
    intake = stack.env_file()["INTAKE_URL"]
    await asyncio.to_thread(part.stop)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            dossiers = [await accept_while_down(http, stack, number + n) for n in range(DOSSIERS_WHILE_DOWN)]
            assert (await http.get(f"{intake}/readyz")).status_code == 200, "intake stays ready"

            async def broker_seen() -> bool:
                return bool((await http.get(f"{intake}/healthz")).json()["broker"]["reachable"] is broker_reachable)

            await eventually(broker_seen, what=f"intake's health saying the broker reachable: {broker_reachable}")
            backlog = await metric(http, intake, "lienthong_outbox_backlog")
    finally:
        await restart(part)
    return Outage(dossiers, backlog)


async def test_with_routing_stopped_intake_accepts_and_tracks_and_routing_catches_up(stack: StackCommand) -> None:
    routing = stack.parts().services[1]
    assert routing.name == "routing"
    outage = await while_stopped(routing, stack, number=0)
    async with httpx.AsyncClient(timeout=30) as http:
        await all_in_processing(http, stack, outage.dossiers)


async def test_with_the_broker_stopped_intake_accepts_and_everything_flows_once_it_is_back(
    stack: StackCommand,
) -> None:
    outage = await while_stopped(stack.parts().kafka, stack, number=100, broker_reachable=False)
    assert outage.intake_backlog >= DOSSIERS_WHILE_DOWN, "the acceptances wait in the outbox"
    async with httpx.AsyncClient(timeout=30) as http:
        await all_in_processing(http, stack, outage.dossiers)
