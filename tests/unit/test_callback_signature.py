"""The signature of the providers' callbacks (shared/callback_signature.py): what a provider signs is verified; a
wrong secret, an altered body or timestamp, a missing or malformed header and a stale or future timestamp are
refused, each saying why; and the simulators will not send a callback they cannot sign."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest

from services.notification.simulators.sms_state import Gateway
from services.postal.simulators.carrier_state import Carrier
from shared.callback_signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TOLERANCE_S,
    SignatureRefusedError,
    signed_headers,
    verify,
)
from shared.clock import SystemClock

SECRET = "a-secret-shared-with-the-carrier"
BODY = '{"OrderNumber":"H29.101.1-261202-0001-NH","Status":6,"Reason":"đã lấy hàng"}'.encode()
NOW = 1_796_000_000.0  # any instant: the tests give it, so that nothing depends on the machine's clock


def test_a_signed_callback_is_verified() -> None:
    headers = signed_headers(SECRET, BODY, now=NOW)
    assert headers[TIMESTAMP_HEADER] == str(int(NOW))
    verify(SECRET, BODY, headers, now=NOW)


def test_the_signature_is_hmac_sha256_of_the_timestamp_and_the_raw_body() -> None:
    """What a provider's engineer implements from the documentation, without our code."""
    expected = hmac.new(SECRET.encode(), f"{int(NOW)}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signed_headers(SECRET, BODY, now=NOW)[SIGNATURE_HEADER] == f"sha256={expected}"


def test_header_names_are_case_insensitive_as_in_http() -> None:
    headers = httpx.Headers({name.lower(): value for name, value in signed_headers(SECRET, BODY, now=NOW).items()})
    verify(SECRET, BODY, headers, now=NOW)


def refusal(headers: dict[str, str], body: bytes = BODY, secret: str = SECRET, now: float = NOW) -> str:
    with pytest.raises(SignatureRefusedError) as refused:
        verify(secret, body, headers, now=now)
    return str(refused.value)


def test_a_wrong_secret_is_refused() -> None:
    headers = signed_headers("another-secret-of-another-party", BODY, now=NOW)
    assert "does not match" in refusal(headers)


def test_an_altered_body_is_refused() -> None:
    headers = signed_headers(SECRET, BODY, now=NOW)
    assert "does not match" in refusal(headers, body=BODY.replace(b'"Status":6', b'"Status":14'))
    assert "does not match" in refusal(headers, body=BODY + b" ")


def test_a_timestamp_changed_after_signing_is_refused() -> None:
    """The timestamp is signed with the body: moving it forward to pass the window breaks the signature."""
    headers = signed_headers(SECRET, BODY, now=NOW - 3600)
    assert "does not match" in refusal({**headers, TIMESTAMP_HEADER: str(int(NOW))})


@pytest.mark.parametrize("sent_ago_s", [TOLERANCE_S + 1, 3600, -(TOLERANCE_S + 1)], ids=["stale", "replayed", "future"])
def test_a_timestamp_outside_the_window_is_refused(sent_ago_s: float) -> None:
    headers = signed_headers(SECRET, BODY, now=NOW - sent_ago_s)
    assert f"more than {TOLERANCE_S} s away" in refusal(headers)


def test_a_timestamp_at_the_edge_of_the_window_is_accepted() -> None:
    verify(SECRET, BODY, signed_headers(SECRET, BODY, now=NOW - TOLERANCE_S), now=NOW)


def test_missing_or_malformed_headers_are_refused() -> None:
    headers = signed_headers(SECRET, BODY, now=NOW)
    assert "unsigned" in refusal({})
    assert "unsigned" in refusal({TIMESTAMP_HEADER: headers[TIMESTAMP_HEADER]})
    assert "unsigned" in refusal({SIGNATURE_HEADER: headers[SIGNATURE_HEADER]})
    assert "Unix seconds" in refusal({**headers, TIMESTAMP_HEADER: "2026-12-01T09:00:00Z"})
    assert "does not match" in refusal({**headers, SIGNATURE_HEADER: headers[SIGNATURE_HEADER].upper()})


def test_the_simulators_refuse_to_call_back_unsigned() -> None:
    with pytest.raises(ValueError, match="signed"):
        Carrier(SystemClock(), "http://127.0.0.1:8004/carrier/webhooks")
    with pytest.raises(ValueError, match="signed"):
        Gateway("http://127.0.0.1:8003/receipts", receipt_secrets={"brandname": SECRET})
    Carrier(SystemClock(), None)  # without callbacks, nothing to sign
    Gateway(None)
