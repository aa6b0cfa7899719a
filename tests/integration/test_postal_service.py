"""Postal as a separate process over the real broker and database, with the carrier simulator: both directions
from the request to the end, repeated and out-of-order webhooks, a webhook without the carrier's signature refused,
a failed delivery returned to the agency, the carrier down (the order waits and goes out later), and no personal
data beyond what the carrier needs."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from shared.callback_signature import signed_headers
from shared.logging import PERSONAL_ID
from shared.settings import KafkaSettings
from tests.support.driver import POSTAL, Dossier, driving
from tests.support.messaging import eventually
from tests.support.postal import DESK, PostalDriver, PostalStack, new_dossier, postal_stack
from tests.support.services import schemathesis_run


@pytest.fixture(scope="module")
def stack(
    infrastructure_env: dict[str, str], server_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PostalStack]:
    with postal_stack(infrastructure_env, server_database_url, tmp_path_factory.mktemp("postal")) as stack:
        yield stack


@pytest.fixture
async def driver(stack: PostalStack, kafka_settings: KafkaSettings) -> AsyncIterator[PostalDriver]:
    async with driving(PostalDriver, stack.base, stack.home, kafka_settings, POSTAL) as driver:
        driver.carrier = stack.carrier
        driver.run_clock_from(datetime.now(UTC))
        yield driver


async def order_of(driver: PostalDriver, dossier: Dossier) -> dict[str, object]:
    async def placed() -> bool:
        return any(o["order_number"].startswith(dossier.code) for o in await driver.at_carrier("orders"))

    await eventually(placed, what=f"the carrier order of {dossier.code}")
    return next(o for o in await driver.at_carrier("orders") if str(o["order_number"]).startswith(dossier.code))


async def test_a_pickup_goes_from_the_request_to_the_handover_at_the_desk(driver: PostalDriver) -> None:
    dossier = new_dossier()
    await driver.contact(dossier)
    await driver.ask_pickup(dossier)
    events = await driver.events(
        dossier, "shipment.pickup-scheduled", "shipment.picked-up", "shipment.handed-to-agency"
    )
    order = await order_of(driver, dossier)
    assert order["order_number"] == f"{dossier.code}-NH"
    handed = events[-1].data or {}
    assert (handed["agency"]["code"], handed["seal_intact"], handed["carrier_status_code"]) == (DESK, True, 14)
    picked = next(e.data or {} for e in events if e.type == "shipment.picked-up")
    assert (picked["fee_collected_vnd"], picked["seal_number"]) == (8000, handed["seal_number"])
    bodies = [r["body"] for r in await driver.at_carrier("requests") if r["body"] and dossier.code in json.dumps(r)]
    sent = json.dumps(bodies, ensure_ascii=False)
    assert "Lê Văn Cường" in sent, "the carrier needs the name of whom it visits"
    assert "cuong@example.org" not in sent, "but not the email"
    assert not PERSONAL_ID.search(sent), "and never a personal ID number"


async def test_a_result_goes_back_by_post_and_is_delivered(driver: PostalDriver) -> None:
    dossier = new_dossier()
    await driver.contact(dossier)
    await driver.result_ready(dossier, channel="desk")  # not by post: nothing for postal
    await driver.result_ready(dossier)
    events = await driver.events(dossier, "shipment.dispatched", "shipment.delivered")
    assert [e.type for e in events] == ["shipment.dispatched", "shipment.delivered"]
    assert (await order_of(driver, dossier))["order_number"] == f"{dossier.code}-TR"


async def test_a_failed_delivery_comes_back_to_the_agency(driver: PostalDriver) -> None:
    dossier = new_dossier()
    await driver.contact(dossier)
    driver.set_clock(datetime.now(UTC))  # held still while the carrier is told how it goes
    await driver.result_ready(dossier)
    order = await order_of(driver, dossier)
    await driver.tell_carrier("POST", f"orders/{order['order_number']}/script", {"plan": "failed"})
    driver.run_clock_from(datetime.now(UTC))
    events = await driver.events(dossier, "shipment.delivery-failed", "shipment.delivery-failed",
                                 "shipment.returned-to-agency")  # fmt: skip
    failures = [e.data or {} for e in events if e.type == "shipment.delivery-failed"]
    # Two attempts failed (code 15, twice); then the carrier gave up on the second (16): the result comes back.
    assert [(f["attempt"], f["final"], f["carrier_status_code"]) for f in failures] == [
        (1, False, 15), (2, False, 15), (2, True, 16)]  # fmt: skip
    returned = events[-1].data or {}
    assert (returned["agency"]["code"], returned["carrier_status_code"]) == (DESK, 18)


async def test_repeated_and_late_webhooks_are_applied_once_and_never_backwards(driver: PostalDriver) -> None:
    dossier = new_dossier()
    await driver.contact(dossier)
    driver.set_clock(datetime.now(UTC))
    await driver.result_ready(dossier)
    order = await order_of(driver, dossier)
    stages = [{"code": 2}, {"code": 6, "late_by": 3}, {"code": 10}, {"code": 12, "repeat": 3}, {"code": 14},
              {"code": 14, "repeat": 2}]  # fmt: skip
    await driver.tell_carrier("POST", f"orders/{order['order_number']}/script", {"stages": stages})
    driver.run_clock_from(datetime.now(UTC))
    await driver.events(dossier, "shipment.delivered")

    async def settled() -> bool:
        owed = [
            o["webhooks_owed"] for o in await driver.at_carrier("orders") if o["order_number"] == order["order_number"]
        ]
        return owed == [0]

    await eventually(settled, what="every webhook sent")
    answer = await driver.http.get(f"/shipments/{order['order_number']}", headers=driver.token(DESK, "reception"))
    shipment = answer.json()
    assert (shipment["state"], shipment["carrier_status_code"]) == ("delivered", 14)
    verdicts = [(e["code"], e["verdict"]) for e in shipment["status_events"]]
    assert (6, "stale") in verdicts, "the pickup report arrived after later ones: recorded, not applied"
    assert len({e["event_id"] for e in shipment["status_events"]}) == len(shipment["status_events"])
    assert [e.type for e in driver.published[dossier.id]].count("shipment.delivered") == 1
    other = await driver.http.get(f"/shipments/{order['order_number']}", headers=driver.token("H29.102.1", "reception"))
    assert other.status_code == 403


async def test_a_webhook_without_the_carrier_s_signature_is_refused_and_changes_nothing(
    driver: PostalDriver, stack: PostalStack
) -> None:
    dossier = new_dossier()
    await driver.contact(dossier)
    driver.set_clock(datetime.now(UTC))  # held still: the carrier's own webhooks wait, only this test's arrive
    await driver.result_ready(dossier)
    order = await order_of(driver, dossier)
    webhook = {"OrderNumber": order["order_number"], "ItemCode": order["item_code"], "Status": 2,
               "StatusEventId": f"test-{uuid.uuid4()}", "EventTime": datetime.now(UTC).isoformat()}  # fmt: skip
    body, secret = json.dumps(webhook).encode(), stack.webhook_secret
    forged = {
        "unsigned": {},
        "signed with another secret": signed_headers("not-the-secret-shared-with-the-carrier", body),
        "signed an hour ago": signed_headers(secret, body, now=time.time() - 3600),
        "signed for another body": signed_headers(secret, body.replace(b'"Status": 2', b'"Status": 6')),
    }
    for why, headers in forged.items():
        refused = await driver.http.post("/carrier/webhooks", content=body, headers=headers)
        assert refused.status_code == 401, why
        assert "takes a signature" in refused.json()["detail"], why
        assert refused.headers["WWW-Authenticate"].startswith("HMAC-SHA256"), why

    async def status_events() -> list[str]:
        staff = driver.token(DESK, "reception")
        shipment = (await driver.http.get(f"/shipments/{order['order_number']}", headers=staff)).json()
        return [event["event_id"] for event in shipment["status_events"]]

    assert webhook["StatusEventId"] not in await status_events(), "nothing of a refused webhook is recorded"
    signed = await driver.http.post("/carrier/webhooks", content=body, headers=signed_headers(secret, body))
    assert (signed.status_code, signed.json()) == (200, {"verdict": "applied"})
    assert webhook["StatusEventId"] in await status_events()


async def test_while_the_carrier_is_down_the_order_waits_and_goes_out_once(driver: PostalDriver) -> None:
    dossier = new_dossier()
    await driver.contact(dossier)
    await driver.tell_carrier("PUT", "outage")
    try:
        await driver.ask_pickup(dossier)

        async def tried() -> bool:
            return any(dossier.code in json.dumps(r) for r in await driver.at_carrier("requests"))

        await eventually(tried, what="an order tried during the outage")
        await asyncio.sleep(1.5)
        assert not any(o["order_number"].startswith(dossier.code) for o in await driver.at_carrier("orders"))
        metrics = (await driver.http.get("/metrics")).text
        assert re.search(r"^lienthong_shipments_waiting_for_order [1-9]", metrics, re.M)
    finally:
        await driver.tell_carrier("DELETE", "outage")
    await driver.events(dossier, "shipment.pickup-scheduled", "shipment.handed-to-agency")
    orders = [o for o in await driver.at_carrier("orders") if o["order_number"].startswith(dossier.code)]
    # One order once the carrier is back (a call repeated after a timeout carries the same key: the same order).
    assert len(orders) == 1


async def test_schemathesis_finds_no_server_error(driver: PostalDriver) -> None:
    done = await schemathesis_run(str(driver.http.base_url), driver.token(DESK, "reception")["Authorization"])
    assert done.returncode == 0, done.stdout[-4000:]
    assert "passed" in done.stdout
