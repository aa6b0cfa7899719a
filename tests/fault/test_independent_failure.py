"""Each service fails on its own, on the whole stack: with routing stopped, intake keeps accepting and tracking
answers; with the broker stopped, intake still accepts and stays ready (its outbox keeps the events); once the
stopped part is back, every dossier accepted meanwhile flows on into processing. (With notification stopped,
processing goes on: tests/e2e/test_postal_and_outages.py.)"""

from __future__ import annotations

import asyncio
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


async def while_stopped(
    part: Part, stack: StackCommand, number: int, broker_reachable: bool = True, backlog_at_least: int = 0
) -> list[dict[str, Any]]:
    """Accept dossiers with `part` stopped, checking that intake stays ready, sees the broker as it is and holds
    at least `backlog_at_least` events in its outbox; start the part again."""
    intake = stack.env_file()["INTAKE_URL"]
    await asyncio.to_thread(part.stop)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            dossiers = [await accept_while_down(http, stack, number + n) for n in range(DOSSIERS_WHILE_DOWN)]
            assert (await http.get(f"{intake}/readyz")).status_code == 200, "intake stays ready"

            async def seen_as_it_is() -> bool:
                health = (await http.get(f"{intake}/healthz")).json()
                backlog = await metric(http, intake, "lienthong_outbox_backlog")
                return bool(health["broker"]["reachable"] is broker_reachable and backlog >= backlog_at_least)

            await eventually(seen_as_it_is, what=f"intake seeing the broker reachable: {broker_reachable}, and "
                             f"at least {backlog_at_least} events waiting in its outbox")  # fmt: skip
    finally:
        await restart(part)
    return dossiers


async def test_with_routing_stopped_intake_accepts_and_tracks_and_routing_catches_up(stack: StackCommand) -> None:
    routing = stack.parts().services[1]
    assert routing.name == "routing"
    dossiers = await while_stopped(routing, stack, number=0)
    async with httpx.AsyncClient(timeout=30) as http:
        await all_in_processing(http, stack, dossiers)


async def test_with_the_broker_stopped_intake_accepts_and_everything_flows_once_it_is_back(
    stack: StackCommand,
) -> None:
    # Each accepted dossier leaves at least its acceptance in the outbox.
    dossiers = await while_stopped(
        stack.parts().kafka, stack, number=100, broker_reachable=False, backlog_at_least=DOSSIERS_WHILE_DOWN
    )
    async with httpx.AsyncClient(timeout=30) as http:
        await all_in_processing(http, stack, dossiers)
