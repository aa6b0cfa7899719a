"""End to end, the four services as separate processes over the real broker and database of a local stack, with the
simulated SMS gateway and SMTP sink: a birth registration handed in at the ward's counter is accepted, processed
by the justice officer and signed by the ward chairman, handed back at the desk, and the applicant was told at
each step by SMS and email; public tracking follows it to status 10."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import httpx

from tests.support.messaging import eventually
from tests.support.stack import StackCommand, demo_token

DESK, JUSTICE, COMMITTEE = "H29.101.1", "H29.101.2", "H29.101"


async def test_a_counter_dossier_from_the_desk_to_the_applicant_and_back(stack: StackCommand) -> None:
    env = stack.env_file()
    intake, routing = env["INTAKE_URL"], env["ROUTING_URL"]
    reception = demo_token(stack, DESK, "reception")
    async with httpx.AsyncClient(timeout=30) as http:
        documents = [{"code": "declaration"}, {"code": "birth_certificate_medical"}]
        applicant = {"full_name": "Phạm Thị Dung", "phone": "0987654321", "email": "dung@example.org",
                     "notify_by": "both"}  # fmt: skip
        body = {"procedure_code": "1.001193", "documents": documents, "applicant": applicant}
        registered = (await http.post(f"{intake}/desk/dossiers", json=body, headers=reception)).json()
        code, secret = registered["code"], registered["tracking_secret"]
        accepted = await http.post(f"{intake}/desk/dossiers/{registered['id']}/accept", headers=reception)
        assert accepted.status_code == 200, accepted.text

        async def in_processing() -> bool:
            answer = await http.get(
                f"{routing}/processing/dossiers/{code}", headers=demo_token(stack, JUSTICE, "processing")
            )
            return answer.status_code == 200

        await eventually(in_processing, what="routing took the dossier into processing")
        certificate = {"decision": "granted", "documents": [{"code": "birth_certificate", "title": "Giấy khai sinh"}]}
        for step, agency, result in [("register", JUSTICE, None), ("sign", COMMITTEE, certificate)]:
            done = await http.post(f"{routing}/processing/dossiers/{code}/steps/{step}/complete",
                                   json={"note": "Xong", **({"result": result} if result else {})},
                                   headers=demo_token(stack, agency, "processing"))  # fmt: skip
            assert done.status_code == 200, done.text

        async def status(expected: int) -> bool:
            tracked = await http.get(f"{intake}/public/tracking/{code}", params={"secret": secret})
            return bool(tracked.status_code == 200 and tracked.json()["status"] == expected)

        await eventually(partial(status, 9), what="the tracking view at status 9 (result ready)")
        handed = await http.post(f"{intake}/desk/dossiers/{registered['id']}/facts/result-handed-over",
                                 json={"documents": [{"code": "birth_certificate", "title": "Giấy khai sinh"}],
                                       "received_by": "applicant"},
                                 headers=reception)  # fmt: skip
        assert handed.status_code in (200, 201), handed.text
        await eventually(partial(status, 10), what="the tracking view at status 10 (returned)")

        async def told(kind: str) -> list[Any]:
            url = env["SMS_GATEWAY_MESSAGES_URL" if kind == "sms" else "SMTP_SINK_MESSAGES_URL"]
            messages = (await http.get(url)).json()["messages"]
            return [m for m in messages if code in (m["text"] if kind == "sms" else m["headers"]["Subject"])]

        # Acceptance, the two handovers (desk to justice, justice to the chairman), result ready, and the return
        # with the survey: five messages, each by SMS and by email.
        async def all_told() -> bool:
            return len(await told("sms")) >= 5 and len(await told("email")) >= 5

        await eventually(all_told, timeout_s=60, what="five messages told by SMS and by email")
        await asyncio.sleep(1)
        sms = [m["text"] for m in await told("sms")]
        assert len(sms) == 5, sms
        assert len(await told("email")) == 5
        assert sum("chuyen den" in text for text in sms) == 2
        assert any("tiep nhan" in text for text in sms)
        assert any("/public/surveys/" in text for text in sms), "the survey comes with the return"
        assert all(m["to"].endswith("987654321") for m in (await http.get(env["SMS_GATEWAY_MESSAGES_URL"])).json()[
            "messages"] if code in m["text"])  # fmt: skip
        tracked = (await http.get(f"{intake}/public/tracking/{code}", params={"secret": secret})).json()
        timeline = [entry["event"] for entry in tracked["timeline"]]
        assert "dossier.result-returned" in timeline
        assert (await http.get(f"{intake}/public/tracking/{code}", params={"secret": "WRONG123"})).status_code == 404
