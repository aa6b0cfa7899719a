"""The notification service's real adapters against the simulators, over real HTTP and SMTP on 127.0.0.1: the
SMS gateway simulator (both protocols) with its delivery reports POSTed to a receiver here, each signed with its
protocol's secret, and the SMTP sink. Everything runs in the test's event loop on ports 26000-26999; the last tests
start both simulators as the commands they are. No broker or database is needed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry

from services.notification.providers import ProviderMetrics, SendOutcome
from services.notification.providers.email import EmailClient, SmtpConfig
from services.notification.providers.sms import DeliveryReceipt, ReceiptStatus, SmsClient, SmsRequest
from services.notification.providers.sms.selection import PROTOCOLS, RECEIPT_PARSERS, SmsProviders, sms_providers
from services.notification.settings import NotificationSettings
from services.notification.simulators import sms_gateway, smtp_sink
from services.notification.simulators.sms_state import Gateway
from services.notification.templates import RenderedEmail, default_templates
from shared.callback_signature import SignatureRefusedError, verify
from shared.events.catalogue.contacts import ContactRecorded
from shared.events.examples import DOSSIER_CODE, examples
from tests.infrastructure import REPO
from tests.processes import free_low_port
from tests.support.serving import serving

SLOW_S = 1.5  # the slow magic number answers after this; the clients give up after TIMEOUT_S
TIMEOUT_S = 0.5
PHONE = "0912345678"
RECEIPT_SECRETS = {"brandname": "brandname-receipts-secret-of-these-tests", "ott": "ott-receipts-secret-of-these-tests"}


def receiver(received: list[tuple[str, bytes]]) -> FastAPI:
    """Stands for notification's delivery-receipt endpoint: keeps each body with the protocol in its path, once its
    signature is checked as notification does, with that protocol's secret (another protocol's is refused)."""
    app = FastAPI()

    @app.post("/receipts/{protocol}")
    async def receive(protocol: str, request: Request) -> Response:
        body = await request.body()
        try:
            verify(RECEIPT_SECRETS[protocol], body, request.headers)
        except SignatureRefusedError as refusal:
            return Response(str(refusal), status_code=401)
        received.append((protocol, body))
        return Response(status_code=204)

    return app


@pytest.fixture(scope="module")
async def reports() -> AsyncIterator[tuple[str, list[tuple[str, bytes]]]]:
    received: list[tuple[str, bytes]] = []
    async with serving(receiver(received)) as url:
        yield f"{url}/receipts", received


@pytest.fixture(scope="module")
async def gateway_url(reports: tuple[str, list[tuple[str, bytes]]]) -> AsyncIterator[str]:
    gateway = Gateway(callback_url=reports[0], receipt_secrets=RECEIPT_SECRETS, receipt_delay_s=0.05, slow_s=SLOW_S)
    async with serving(sms_gateway.create_app(gateway)) as url:
        yield url


@pytest.fixture
async def simulator(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The simulator's test endpoints, with everything it remembered forgotten."""
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        (await http.delete("/_sim/messages")).raise_for_status()
        yield http


@pytest.fixture
async def clients(gateway_url: str) -> AsyncIterator[dict[str, SmsClient]]:
    metrics = ProviderMetrics(CollectorRegistry())
    made: dict[str, SmsClient] = {}
    for protocol, kind in PROTOCOLS.items():
        http = httpx.AsyncClient(base_url=f"{gateway_url}/{protocol}", timeout=TIMEOUT_S)
        made[protocol] = kind(http, api_key="test-key", sender="LIENTHONG", metrics=metrics)
    yield made
    for client in made.values():
        await client.http.aclose()


async def simulated(simulator: httpx.AsyncClient) -> dict[str, Any]:
    answer = await simulator.get("/_sim/messages")
    answer.raise_for_status()
    report: dict[str, Any] = answer.json()
    return report


def sms(phone: str = PHONE) -> SmsRequest:
    return SmsRequest(uuid4(), phone, "Ho so H21.65-260302-0011 da duoc tiep nhan.")


@pytest.mark.parametrize("protocol", ["brandname", "ott"])
async def test_a_repeated_idempotency_key_sends_one_message(
    protocol: str, clients: dict[str, SmsClient], simulator: httpx.AsyncClient
) -> None:
    request = sms()
    first = await clients[protocol].send_sms(request)
    again = await clients[protocol].send_sms(request)
    assert first.outcome is again.outcome is SendOutcome.ACCEPTED
    assert first.provider_reference == again.provider_reference
    seen = await simulated(simulator)
    key = str(request.notification_id)
    assert (seen["counts"][key], seen["submissions"][key]) == (1, 2)
    [message] = seen["messages"]
    assert (message["protocol"], message["text"], message["sender"]) == (protocol, request.text, "LIENTHONG")
    assert message["to"] == {"brandname": "84912345678", "ott": "+84912345678"}[protocol]


@pytest.mark.parametrize("protocol", ["brandname", "ott"])
@pytest.mark.parametrize(
    ("phone", "outcome"),
    [("0900000001", SendOutcome.PERMANENT_FAILURE), ("+84900000002", SendOutcome.TEMPORARY_FAILURE),
     ("84900000003", SendOutcome.TECHNICAL_FAILURE)],
)  # fmt: skip
async def test_magic_numbers_give_their_outcomes(
    protocol: str, phone: str, outcome: SendOutcome, clients: dict[str, SmsClient], simulator: httpx.AsyncClient
) -> None:
    result = await clients[protocol].send_sms(sms(phone))
    assert (result.provider, result.outcome, result.uncertain) == (protocol, outcome, False)
    assert (await simulated(simulator))["messages"] == []


@pytest.mark.parametrize("protocol", ["brandname", "ott"])
async def test_a_timeout_is_uncertain_and_the_retry_finds_the_first_send(
    protocol: str, clients: dict[str, SmsClient], simulator: httpx.AsyncClient
) -> None:
    request = sms("0900000004")
    timed_out = await clients[protocol].send_sms(request)
    assert (timed_out.outcome, timed_out.uncertain) == (SendOutcome.TECHNICAL_FAILURE, True)
    await asyncio.sleep(SLOW_S)  # the gateway accepted it meanwhile
    retried = await clients[protocol].send_sms(request)
    assert retried.outcome is SendOutcome.ACCEPTED
    assert (await simulated(simulator))["counts"] == {str(request.notification_id): 1}


async def receipt_for(received: list[tuple[str, bytes]], notification_id: UUID, protocol: str) -> DeliveryReceipt:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for at, body in received:
            receipt = RECEIPT_PARSERS[at](body)
            if receipt.notification_id == notification_id:
                assert at == protocol
                return receipt
        await asyncio.sleep(0.02)
    raise AssertionError(f"no delivery report for {notification_id}")


@pytest.mark.parametrize("protocol", ["brandname", "ott"])
@pytest.mark.parametrize(
    ("phone", "status"),
    [(PHONE, ReceiptStatus.DELIVERED), ("0900000005", ReceiptStatus.PERMANENT_FAILURE),
     ("0900000006", ReceiptStatus.TEMPORARY_FAILURE)],
)  # fmt: skip
async def test_delivery_reports_come_back_by_callback_and_parse(
    protocol: str,
    phone: str,
    status: ReceiptStatus,
    clients: dict[str, SmsClient],
    simulator: httpx.AsyncClient,
    reports: tuple[str, list[tuple[str, bytes]]],
) -> None:
    request = sms(phone)
    sent = await clients[protocol].send_sms(request)
    assert sent.outcome is SendOutcome.ACCEPTED
    receipt = await receipt_for(reports[1], request.notification_id, protocol)
    assert (receipt.provider_reference, receipt.status) == (sent.provider_reference, status)
    assert (receipt.failure_code is None) is (status is ReceiptStatus.DELIVERED)


async def test_an_outage_fails_over_to_the_second_gateway_which_takes_over_while_the_first_rests(
    clients: dict[str, SmsClient], simulator: httpx.AsyncClient
) -> None:
    now = [0.0]
    providers = SmsProviders(
        [(clients["brandname"], 1_000_000), (clients["ott"], 1)], failure_threshold=2, cool_down_s=30,
        clock=lambda: now[0],
    )  # fmt: skip
    (await simulator.put("/_sim/outage/brandname")).raise_for_status()
    requests = [sms() for _ in range(3)]
    results = [await providers.send_sms(request) for request in requests]
    assert [(result.provider, result.outcome) for result in results] == [("ott", SendOutcome.ACCEPTED)] * 3
    seen = await simulated(simulator)
    assert seen["requests"] == {"brandname": 2, "ott": 3}  # resting after two failures: the third skipped it
    assert {message["protocol"] for message in seen["messages"]} == {"ott"}
    assert seen["counts"] == {str(request.notification_id): 1 for request in requests}
    (await simulator.delete("/_sim/outage/brandname")).raise_for_status()
    now[0] = 31.0
    recovered = await providers.send_sms(sms())
    assert (recovered.provider, recovered.outcome) == ("brandname", SendOutcome.ACCEPTED)


async def test_an_uncertain_failure_does_not_fail_over(
    clients: dict[str, SmsClient], simulator: httpx.AsyncClient
) -> None:
    providers = SmsProviders([(clients["brandname"], 1_000_000), (clients["ott"], 1)])
    request = sms("0900000004")
    result = await providers.send_sms(request)
    assert (result.provider, result.outcome, result.uncertain) == ("brandname", SendOutcome.TECHNICAL_FAILURE, True)
    await asyncio.sleep(SLOW_S)
    seen = await simulated(simulator)
    # Rightly uncertain: the first gateway did send it, and a second one would have sent it again.
    assert (seen["requests"], seen["counts"]) == ({"brandname": 1}, {str(request.notification_id): 1})


async def test_the_gateways_configured_in_the_settings(gateway_url: str, simulator: httpx.AsyncClient) -> None:
    settings = NotificationSettings(
        sms_brandname_url=f"{gateway_url}/brandname", sms_ott_url=f"{gateway_url}/ott", sms_ott_weight=0,
        sms_timeout_s=TIMEOUT_S,
    )  # fmt: skip
    registry = CollectorRegistry()
    async with sms_providers(settings, ProviderMetrics(registry)) as providers:
        assert [client.name for client in providers.order()] == ["brandname"]  # weight 0: off
        assert (await providers.send_sms(sms())).outcome is SendOutcome.ACCEPTED
    labels = {"channel": "sms", "provider": "brandname", "outcome": "accepted"}
    assert registry.get_sample_value("lienthong_provider_sends_total", labels) == 1


# -- email -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def sink() -> AsyncIterator[tuple[int, smtp_sink.Sink]]:
    port = free_low_port()
    async with smtp_sink.smtp_sink("127.0.0.1", port) as received:
        yield port, received


def email_client(port: int, registry: CollectorRegistry | None = None) -> EmailClient:
    config = SmtpConfig(
        host="127.0.0.1", port=port, security="none", username=None, password=None, timeout_s=5,
        sender="Một cửa liên thông <no-reply@lienthong.local>", message_id_domain="lienthong.test",
    )  # fmt: skip
    return EmailClient(config, ProviderMetrics(registry or CollectorRegistry()))


def acceptance_email() -> RenderedEmail:
    contact = examples()["contact.recorded"]
    assert isinstance(contact, ContactRecorded)
    return default_templates().render(
        "dossier.accepted", "email", "vi", examples()["dossier.accepted"], contact, dossier_code=DOSSIER_CODE
    )


async def test_an_email_arrives_as_utf8_text_and_html_with_a_message_id_fixed_by_the_notification(
    sink: tuple[int, smtp_sink.Sink],
) -> None:
    port, received = sink
    notification_id, content = uuid4(), acceptance_email()
    client = email_client(port)
    first = await client.send_email(notification_id, "lan.nguyen@example.org", content)
    resent = await client.send_email(notification_id, "lan.nguyen@example.org", content)
    assert first.outcome is resent.outcome is SendOutcome.ACCEPTED
    expected_id = f"<{notification_id}@lienthong.test>"
    assert first.provider_reference == expected_id
    # SMTP cannot deduplicate: both copies arrive, recognisably the same notification.
    assert received.counts()[expected_id] == 2
    message: EmailMessage = next(mail.message for mail in received.received if mail.message_id == expected_id)
    assert message.get_content_type() == "multipart/alternative"
    assert str(message["Subject"]) == content.subject == f"Hồ sơ {DOSSIER_CODE} đã được tiếp nhận"
    assert str(message["From"]) == "Một cửa liên thông <no-reply@lienthong.local>"
    assert str(message["X-Lienthong-Template"]) == "dossier-accepted; version=1"
    plain, html = (part for part in message.walk() if not part.is_multipart())
    assert (plain.get_content_type(), plain.get_content_charset()) == ("text/plain", "utf-8")
    assert (html.get_content_type(), html.get_content_charset()) == ("text/html", "utf-8")
    assert plain.get_content().replace("\r\n", "\n") == content.text
    assert "Hẹn trả kết quả: <strong>08:15 ngày 09/03/2026</strong>" in html.get_content()


@pytest.mark.parametrize(
    ("recipient", "outcome", "code"),
    [("bounce@example.org", SendOutcome.PERMANENT_FAILURE, "smtp-550"),
     ("full@example.org", SendOutcome.TEMPORARY_FAILURE, "smtp-452")],
)  # fmt: skip
async def test_refused_recipients_give_their_outcomes(
    recipient: str, outcome: SendOutcome, code: str, sink: tuple[int, smtp_sink.Sink]
) -> None:
    port, received = sink
    before = len(received.received)
    result = await email_client(port).send_email(uuid4(), recipient, acceptance_email())
    assert (result.outcome, result.failure_code, result.uncertain) == (outcome, code, False)
    assert len(received.received) == before


async def test_the_connection_kept_open_survives_a_refusal_and_a_relay_restart() -> None:
    """The client keeps its connection to the relay between messages: a refused recipient leaves it usable, and
    one the relay closed meanwhile is replaced before anything is sent on it (so the send is not uncertain)."""
    port = free_low_port()
    client = email_client(port)
    async with smtp_sink.smtp_sink("127.0.0.1", port) as first_run:
        refused = await client.send_email(uuid4(), "bounce@example.org", acceptance_email())
        accepted = await client.send_email(uuid4(), "lan@example.org", acceptance_email())
        assert (refused.outcome, accepted.outcome) == (SendOutcome.PERMANENT_FAILURE, SendOutcome.ACCEPTED)
        assert len(first_run.received) == 1
    async with smtp_sink.smtp_sink("127.0.0.1", port) as second_run:
        after_restart = await client.send_email(uuid4(), "lan@example.org", acceptance_email())
        assert (after_restart.outcome, after_restart.uncertain) == (SendOutcome.ACCEPTED, False)
        assert len(second_run.received) == 1


async def test_an_unreachable_relay_is_a_technical_failure_that_sent_nothing() -> None:
    registry = CollectorRegistry()
    result = await email_client(free_low_port(), registry).send_email(uuid4(), "lan@example.org", acceptance_email())
    assert (result.outcome, result.failure_code, result.uncertain) == (
        SendOutcome.TECHNICAL_FAILURE, "smtp-connect", False,
    )  # fmt: skip
    labels = {"channel": "email", "provider": "smtp", "outcome": "technical-failure"}
    assert registry.get_sample_value("lienthong_provider_sends_total", labels) == 1


# -- the simulators as commands ------------------------------------------------------------------------------------


@pytest.fixture
def commands(tmp_path: Path) -> Iterator[dict[str, int]]:
    ports = {name: free_low_port() for name in ("sms", "smtp", "sink_http")}
    started = [
        [sys.executable, "-m", "services.notification.simulators.sms_gateway", "--port", str(ports["sms"])],
        [sys.executable, "-m", "services.notification.simulators.smtp_sink",
         "--smtp-port", str(ports["smtp"]), "--http-port", str(ports["sink_http"])],
    ]  # fmt: skip
    with (tmp_path / "simulators.log").open("ab") as log:  # kept with the run's logs, which make test scans
        processes = [subprocess.Popen(command, cwd=REPO, env={**os.environ, "LOG_FORMAT": "json"}, stdout=log,
                                      stderr=subprocess.STDOUT) for command in started]  # fmt: skip
        try:
            yield ports
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)


async def answering(url: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as http:
        while True:
            try:
                return (await http.get(url)).raise_for_status()
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


async def test_the_simulators_run_as_commands(commands: dict[str, int]) -> None:
    gateway = f"http://127.0.0.1:{commands['sms']}"
    sink_http = f"http://127.0.0.1:{commands['sink_http']}"
    await answering(f"{gateway}/_sim/messages")
    await answering(f"{sink_http}/messages")
    async with httpx.AsyncClient(base_url=f"{gateway}/ott", timeout=5) as http:
        client = PROTOCOLS["ott"](http, api_key="k", sender="LIENTHONG", metrics=ProviderMetrics(CollectorRegistry()))
        request = sms()
        assert (await client.send_sms(request)).outcome is SendOutcome.ACCEPTED
    notification_id = uuid4()
    sent = await email_client(commands["smtp"]).send_email(notification_id, "lan@example.org", acceptance_email())
    assert sent.outcome is SendOutcome.ACCEPTED
    assert (await answering(f"{gateway}/_sim/messages")).json()["counts"] == {str(request.notification_id): 1}
    mailbox = (await answering(f"{sink_http}/messages")).json()
    assert mailbox["counts"] == {f"<{notification_id}@lienthong.test>": 1}
    [mail] = mailbox["messages"]
    assert [part["content_type"] for part in mail["parts"]] == ["text/plain", "text/html"]
    assert mail["headers"]["Subject"] == acceptance_email().subject


def test_the_gateway_will_not_send_reports_it_cannot_sign() -> None:
    env = {name: value for name, value in os.environ.items() if not name.endswith("_RECEIPT_SECRET")}
    env["NOTIFICATION_SMS_BRANDNAME_RECEIPT_SECRET"] = RECEIPT_SECRETS["brandname"]  # the OTT one is missing
    started = subprocess.run(
        [sys.executable, "-m", "services.notification.simulators.sms_gateway", "--port", str(free_low_port()),
         "--callback-url", "http://127.0.0.1:8003/receipts"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert started.returncode == 2
    assert "NOTIFICATION_SMS_OTT_RECEIPT_SECRET" in started.stderr
