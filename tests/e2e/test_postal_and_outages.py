"""End to end through the post, and with a service down, on the whole stack:
- a birth registration collected at home by the post (the carrier simulator moves on the stack's clock), accepted
  once the post hands it to the desk, processed, and delivered back by post: tracking reaches status 10;
- with notification stopped, processing goes on; the messages go out once it is back, none twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from functools import partial
from typing import Any

import httpx

from tests.infrastructure import REPO
from tests.support.messaging import eventually
from tests.support.stack import StackCommand, demo_token

DESK, JUSTICE, COMMITTEE = "H29.101.1", "H29.101.2", "H29.101"
ADDRESS = {"street": "45 Pasteur", "ward_code": "26734", "province_code": "79", "ward": "Phường Sài Gòn",
           "province": "Thành phố Hồ Chí Minh"}  # fmt: skip
DOCUMENTS = [{"code": "declaration"}, {"code": "birth_certificate_medical"}]
RESULT = {"decision": "granted", "documents": [{"code": "birth_certificate", "title": "Giấy khai sinh"}]}


def advance_clock(stack: StackCommand, by: str) -> None:
    env = {**stack.env, "CLOCK_CONTROL_FILE": str(stack.home / "clock.json")}
    lienthong = str(REPO / ".venv" / "bin" / "lienthong")
    subprocess.run([lienthong, "clock", "advance", by], cwd=REPO, env=env, check=True, capture_output=True)


async def tracked_status(http: httpx.AsyncClient, intake: str, code: str, secret: str, expected: int) -> bool:
    answer = await http.get(f"{intake}/public/tracking/{code}", params={"secret": secret})
    return bool(answer.status_code == 200 and answer.json()["status"] == expected)


async def process(http: httpx.AsyncClient, stack: StackCommand, code: str) -> None:
    """The justice officer registers the birth, the ward chairman signs: the result is ready."""
    routing = stack.env_file()["ROUTING_URL"]

    async def in_processing() -> bool:
        answer = await http.get(
            f"{routing}/processing/dossiers/{code}", headers=demo_token(stack, JUSTICE, "processing")
        )
        return answer.status_code == 200

    await eventually(in_processing, timeout_s=60, what=f"routing took {code} into processing")
    for step, agency, result in [("register", JUSTICE, None), ("sign", COMMITTEE, RESULT)]:
        done = await http.post(f"{routing}/processing/dossiers/{code}/steps/{step}/complete",
                               json={"note": "Xong", **({"result": result} if result else {})},
                               headers=demo_token(stack, agency, "processing"))  # fmt: skip
        assert done.status_code == 200, done.text


async def test_a_dossier_collected_by_the_post_and_delivered_back_by_the_post(stack: StackCommand) -> None:
    intake = stack.env_file()["INTAKE_URL"]
    reception = demo_token(stack, DESK, "reception")
    applicant = {"full_name": "Bùi Văn Long", "phone": "0933123456", "address": ADDRESS, "notify_by": "sms"}
    body = {"procedure_code": "1.001193", "desk_code": DESK, "applicant": applicant, "documents": DOCUMENTS,
            "return_channel": "post"}  # fmt: skip
    async with httpx.AsyncClient(timeout=30) as http:
        asked = await http.post(f"{intake}/public/pickups", json=body)
        assert asked.status_code == 201, asked.text
        code, secret = asked.json()["code"], asked.json()["tracking_secret"]
        dossier_id = (await http.get(f"{intake}/desk/dossiers/by-code/{code}", headers=reception)).json()["id"]

        async def accepted() -> bool:
            # Until the post hands the package over, the desk cannot accept it (409); the carrier moves a stage a
            # minute of the stack's clock, which the test hurries along.
            advance_clock(stack, "2m")
            answer = await http.post(f"{intake}/desk/dossiers/{dossier_id}/accept", headers=reception)
            return answer.status_code == 200

        await eventually(accepted, timeout_s=90, what="the desk accepts the package the post handed over")
        await process(http, stack, code)
        await eventually(partial(tracked_status, http, intake, code, secret, 9), what="the result ready")

        async def delivered() -> bool:
            advance_clock(stack, "2m")
            return await tracked_status(http, intake, code, secret, 10)

        await eventually(delivered, timeout_s=90, what="the result delivered by the post (status 10)")
        timeline = [e["event"] for e in (await http.get(f"{intake}/public/tracking/{code}",
                                                         params={"secret": secret})).json()["timeline"]]  # fmt: skip
    for expected in ("shipment.picked-up", "shipment.handed-to-agency", "dossier.accepted", "shipment.dispatched",
                     "shipment.delivered", "dossier.result-returned"):  # fmt: skip
        assert expected in timeline, (expected, timeline)
    assert timeline.index("shipment.handed-to-agency") < timeline.index("dossier.result-returned")


async def test_with_notification_down_processing_goes_on_and_the_messages_follow(stack: StackCommand) -> None:
    env = stack.env_file()
    intake, sms_url = env["INTAKE_URL"], env["SMS_GATEWAY_MESSAGES_URL"]
    reception = demo_token(stack, DESK, "reception")
    status = {row["part"]: row for row in json.loads(stack("status", "--json").stdout)}
    os.kill(int(status["notification"]["pid"]), signal.SIGKILL)
    try:
        applicant = {"full_name": "Hồ Thị Mai", "phone": "0944123456", "notify_by": "sms"}
        body = {"procedure_code": "1.001193", "applicant": applicant, "documents": DOCUMENTS}
        async with httpx.AsyncClient(timeout=30) as http:
            registered = (await http.post(f"{intake}/desk/dossiers", json=body, headers=reception)).json()
            code, secret = registered["code"], registered["tracking_secret"]
            accepted = await http.post(f"{intake}/desk/dossiers/{registered['id']}/accept", headers=reception)
            assert accepted.status_code == 200
            await process(http, stack, code)
            await eventually(partial(tracked_status, http, intake, code, secret, 9), what="processed meanwhile")

            async def about() -> list[Any]:
                return [m for m in (await http.get(sms_url)).json()["messages"] if code in m["text"]]

            assert await about() == [], "nobody sends while notification is down"
            restarted = stack("up")
            assert restarted.returncode == 0, restarted.stdout + restarted.stderr

            async def caught_up() -> bool:
                return len(await about()) >= 4  # accepted, two handovers, result ready

            await eventually(caught_up, timeout_s=60, what="the messages once notification is back")
            await asyncio.sleep(1)
            texts = [m["text"] for m in await about()]
    finally:
        stack("up")
    assert len(texts) == len(set(texts)) == 4, texts
