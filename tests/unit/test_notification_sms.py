"""The SMS clients without a network: each provider's protocol against a scripted HTTP transport (what it sends,
how each answer maps to an outcome), the delivery-report parsers, and the rule that picks and rests gateways."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from uuid import UUID

import httpx
import pytest
from prometheus_client import CollectorRegistry

from services.notification.providers import ProviderMetrics, SendOutcome
from services.notification.providers.sms import (
    DeliveryReceipt,
    ReceiptStatus,
    SmsClient,
    SmsRejectedError,
    SmsRequest,
    national_number,
)
from services.notification.providers.sms.brandname import BrandnameSmsClient
from services.notification.providers.sms.ott import OttSmsClient
from services.notification.providers.sms.selection import RECEIPT_PARSERS, SmsProviders

NOTIFICATION_ID = UUID("bae6e3ee-c097-5db3-ace6-071fa61e6140")
REQUEST = SmsRequest(NOTIFICATION_ID, "0912345678", "Ho so H21.65-260302-0011 da duoc tiep nhan.")
Handler = Callable[[httpx.Request], httpx.Response]


def client(kind: type[SmsClient], handler: Handler, registry: CollectorRegistry | None = None) -> SmsClient:
    http = httpx.AsyncClient(base_url="http://gateway.test/x", transport=httpx.MockTransport(handler))
    metrics = ProviderMetrics(registry or CollectorRegistry())
    return kind(http, api_key="key-1", sender="LIENTHONG", metrics=metrics)


async def test_brandname_sends_its_protocol_and_reads_the_acceptance() -> None:
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"CodeResult": "100", "SMSID": "bn-1", "ErrorMessage": None})

    registry = CollectorRegistry()
    result = await client(BrandnameSmsClient, gateway, registry).send_sms(REQUEST)
    assert (result.provider, result.outcome, result.provider_reference) == ("brandname", SendOutcome.ACCEPTED, "bn-1")
    assert str(seen[0].url) == "http://gateway.test/x/api/v1/sms/send"
    assert json.loads(seen[0].content) == {
        "ApiKey": "key-1", "Brandname": "LIENTHONG", "Phone": "84912345678", "Content": REQUEST.text,
        "IsUnicode": 0, "RequestId": str(NOTIFICATION_ID),
    }  # fmt: skip
    labels = {"channel": "sms", "provider": "brandname", "outcome": "accepted"}
    assert registry.get_sample_value("lienthong_provider_sends_total", labels) == 1


async def test_ott_sends_its_protocol_with_the_idempotency_key_header() -> None:
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"id": "ott-1", "status": "queued"})

    vietnamese = SmsRequest(NOTIFICATION_ID, "+84912345678", "Hồ sơ đã được tiếp nhận")
    result = await client(OttSmsClient, gateway).send_sms(vietnamese)
    assert (result.outcome, result.provider_reference) == (SendOutcome.ACCEPTED, "ott-1")
    assert seen[0].url.path == "/x/v2/messages"
    assert seen[0].headers["Idempotency-Key"] == str(NOTIFICATION_ID)
    assert seen[0].headers["Authorization"] == "Bearer key-1"
    body = json.loads(seen[0].content)
    assert (body["to"], body["text"], body["reference"]) == ("+84912345678", vietnamese.text, str(NOTIFICATION_ID))


@pytest.mark.parametrize(
    ("code", "outcome"),
    [("101", SendOutcome.PERMANENT_FAILURE), ("102", SendOutcome.PERMANENT_FAILURE),
     ("103", SendOutcome.TEMPORARY_FAILURE), ("104", SendOutcome.TECHNICAL_FAILURE),
     ("105", SendOutcome.TECHNICAL_FAILURE), ("99", SendOutcome.TECHNICAL_FAILURE)],
)  # fmt: skip
async def test_brandname_codes_map_to_outcomes(code: str, outcome: SendOutcome) -> None:
    answer = httpx.Response(200, json={"CodeResult": code, "SMSID": None, "ErrorMessage": "x"})
    result = await client(BrandnameSmsClient, lambda _: answer).send_sms(REQUEST)
    assert (result.outcome, result.failure_code, result.uncertain) == (outcome, f"brandname-{code}", False)


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [(400, "INVALID_RECIPIENT", SendOutcome.PERMANENT_FAILURE),
     (422, "RECIPIENT_OPTED_OUT", SendOutcome.PERMANENT_FAILURE),
     (422, "ABSENT_SUBSCRIBER", SendOutcome.TEMPORARY_FAILURE),
     (401, "UNAUTHORIZED", SendOutcome.TECHNICAL_FAILURE),
     (429, "RATE_LIMITED", SendOutcome.TECHNICAL_FAILURE)],
)  # fmt: skip
async def test_ott_refusals_map_to_outcomes(status: int, code: str, outcome: SendOutcome) -> None:
    answer = httpx.Response(status, json={"error": {"code": code, "message": "no"}})
    result = await client(OttSmsClient, lambda _: answer).send_sms(REQUEST)
    assert (result.outcome, result.failure_code) == (outcome, f"ott-{code}")


@pytest.mark.parametrize("kind", [BrandnameSmsClient, OttSmsClient])
async def test_server_errors_and_transport_errors_are_technical(kind: type[SmsClient]) -> None:
    def raising(error: Exception) -> Handler:
        def handler(request: httpx.Request) -> httpx.Response:
            raise error

        return handler

    server_error = await client(kind, lambda _: httpx.Response(503, text="down")).send_sms(REQUEST)
    refused = await client(kind, raising(httpx.ConnectError("refused"))).send_sms(REQUEST)
    timed_out = await client(kind, raising(httpx.ReadTimeout("slow"))).send_sms(REQUEST)
    garbled = await client(kind, lambda _: httpx.Response(200, text="<html>ok</html>")).send_sms(REQUEST)
    assert (server_error.outcome, server_error.failure_code, server_error.uncertain) == (
        SendOutcome.TECHNICAL_FAILURE, "http-503", False,
    )  # fmt: skip
    assert (refused.outcome, refused.failure_code, refused.uncertain) == (
        SendOutcome.TECHNICAL_FAILURE, "ConnectError", False,
    )  # fmt: skip
    # The request may have reached the gateway: retried, it must go there again with the same key.
    assert (timed_out.outcome, timed_out.uncertain) == (SendOutcome.TECHNICAL_FAILURE, True)
    assert (garbled.outcome, garbled.failure_code, garbled.uncertain) == (
        SendOutcome.TECHNICAL_FAILURE, "unreadable-answer", True,
    )  # fmt: skip


async def test_a_foreign_number_is_refused_before_any_call() -> None:
    def gateway(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no call expected")

    result = await client(BrandnameSmsClient, gateway).send_sms(SmsRequest(NOTIFICATION_ID, "+14155550100", "x"))
    assert (result.outcome, result.failure_code) == (SendOutcome.PERMANENT_FAILURE, "not-a-vietnamese-mobile-number")


def test_national_number() -> None:
    assert {national_number(phone) for phone in ("0912345678", "84912345678", "+84912345678")} == {"912345678"}
    with pytest.raises(SmsRejectedError):
        national_number("091234")


@pytest.mark.parametrize(
    ("provider", "body", "expected"),
    [
        ("brandname", {"SMSID": "bn-1", "RequestId": str(NOTIFICATION_ID), "Status": "DELIVRD", "ErrorCode": None,
                       "DoneTime": "2026-03-02 08:40:09"},
         DeliveryReceipt(NOTIFICATION_ID, "bn-1", ReceiptStatus.DELIVERED)),
        ("brandname", {"SMSID": "bn-1", "RequestId": str(NOTIFICATION_ID), "Status": "EXPIRED", "ErrorCode": None,
                       "DoneTime": "2026-03-02 08:40:09"},
         DeliveryReceipt(NOTIFICATION_ID, "bn-1", ReceiptStatus.TEMPORARY_FAILURE, "EXPIRED")),
        ("ott", {"type": "message.status", "data": {"id": "ott-1", "reference": str(NOTIFICATION_ID),
                 "status": "undeliverable", "error_code": "UNKNOWN_SUBSCRIBER", "occurred_at": "2026-03-02T01:40:09Z"}},
         DeliveryReceipt(NOTIFICATION_ID, "ott-1", ReceiptStatus.PERMANENT_FAILURE, "UNKNOWN_SUBSCRIBER")),
    ],
)  # fmt: skip
def test_delivery_reports_parse_to_canonical_receipts(
    provider: str, body: dict[str, object], expected: DeliveryReceipt
) -> None:
    assert RECEIPT_PARSERS[provider](json.dumps(body)) == expected


@pytest.mark.parametrize("provider", ["brandname", "ott"])
def test_a_body_that_is_not_a_report_is_refused(provider: str) -> None:
    with pytest.raises(ValueError, match="validation error"):
        RECEIPT_PARSERS[provider](b'{"Status": "MAYBE"}')


# -- choosing the gateway ----------------------------------------------------------------------------------------


class Scripted:
    """A gateway whose answers are given in advance; counts the calls it gets."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Midpoint(random.Random):
    """Draws 0.5 every time: the weighted order is then the order of weight."""

    def random(self) -> float:
        return 0.5


ACCEPTED = httpx.Response(202, json={"id": "ott-1"})
BN_ACCEPTED = httpx.Response(200, json={"CodeResult": "100", "SMSID": "bn-1"})
DOWN = httpx.ConnectError("refused")


def pair(
    brandname: Scripted, ott: Scripted, now: list[float], *, failure_threshold: int = 3, cool_down_s: float = 60
) -> SmsProviders:
    """Brandname (weight 3) before OTT (weight 1), on a clock the test moves."""
    return SmsProviders(
        [(client(BrandnameSmsClient, brandname), 3), (client(OttSmsClient, ott), 1)],
        failure_threshold=failure_threshold,
        cool_down_s=cool_down_s,
        clock=lambda: now[0],
        rng=Midpoint(),
    )


def test_the_weighted_order_follows_the_weights() -> None:
    weighted: list[tuple[SmsClient, int]] = [
        (client(BrandnameSmsClient, Scripted()), 3),
        (client(OttSmsClient, Scripted()), 1),
        (client(OttSmsClient, Scripted()), 0),
    ]
    providers = SmsProviders(weighted, rng=random.Random(7))
    firsts = [providers.order()[0].name for _ in range(4000)]
    assert len(providers.order()) == 2  # weight 0: never used
    assert 0.72 < firsts.count("brandname") / len(firsts) < 0.78


async def test_a_technical_failure_fails_over_and_enough_of_them_rest_the_gateway() -> None:
    brandname, ott, now = Scripted(DOWN), Scripted(ACCEPTED), [0.0]
    providers = pair(brandname, ott, now, failure_threshold=2, cool_down_s=60)
    for expected_brandname_calls in (1, 2, 2, 2):  # the third and fourth sends skip the resting gateway
        result = await providers.send_sms(REQUEST)
        assert (result.provider, result.outcome) == ("ott", SendOutcome.ACCEPTED)
        assert brandname.calls == expected_brandname_calls
    now[0] = 61.0  # rested: tried again first, and it has recovered
    brandname.answers = [BN_ACCEPTED]
    result = await providers.send_sms(REQUEST)
    assert (result.provider, brandname.calls, ott.calls) == ("brandname", 3, 4)


async def test_when_every_gateway_rests_all_are_tried_by_weight() -> None:
    brandname, ott, now = Scripted(DOWN), Scripted(DOWN), [0.0]
    providers = pair(brandname, ott, now, failure_threshold=1, cool_down_s=60)
    first = await providers.send_sms(REQUEST)
    second = await providers.send_sms(REQUEST)
    assert (first.outcome, second.outcome) == (SendOutcome.TECHNICAL_FAILURE,) * 2
    assert (brandname.calls, ott.calls) == (2, 2)


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [(httpx.Response(200, json={"CodeResult": "101"}), SendOutcome.PERMANENT_FAILURE),
     (httpx.ReadTimeout("slow"), SendOutcome.TECHNICAL_FAILURE)],
)  # fmt: skip
async def test_no_failover_after_a_permanent_or_uncertain_failure(
    answer: httpx.Response | Exception, outcome: SendOutcome
) -> None:
    brandname, ott = Scripted(answer), Scripted(ACCEPTED)
    result = await pair(brandname, ott, [0.0]).send_sms(REQUEST)
    assert (result.provider, result.outcome, ott.calls) == ("brandname", outcome, 0)


async def test_a_temporary_failure_fails_over_without_resting_the_gateway() -> None:
    brandname, ott = Scripted(httpx.Response(200, json={"CodeResult": "103"})), Scripted(ACCEPTED)
    providers = pair(brandname, ott, [0.0], failure_threshold=1)
    for calls in (1, 2):
        assert (await providers.send_sms(REQUEST)).provider == "ott"
        assert brandname.calls == calls
