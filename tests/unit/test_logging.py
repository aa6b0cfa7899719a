import json
import logging

import pytest
import structlog

from shared.logging import REDACTED, configure_logging, redact_personal_data
from shared.settings import LogSettings


def test_personal_fields_are_redacted_whatever_the_caller_wrote() -> None:
    event = redact_personal_data(None, "info", {"event": "x", "phone": "0901234567", "dossier_id": "d1"})
    assert event == {"event": "x", "phone": REDACTED, "dossier_id": "d1"}


def test_json_lines_carry_the_bound_service_and_dotted_event_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(LogSettings(format="json"), service="intake")
    structlog.get_logger("t").info("dossier.accepted", code="H21.65-220914-0011", email="a@b.vn")
    logging.getLogger("uvicorn").warning("from the standard library")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["event"] == "dossier.accepted"
    assert lines[0]["service"] == "intake"
    assert lines[0]["email"] == REDACTED
    assert lines[1]["event"] == "from the standard library"
    assert lines[1]["service"] == "intake"


def test_personal_data_in_an_exception_does_not_survive_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogSettings(format="json"), service="notification")
    try:
        raise ValueError("no route to 0901234567")
    except ValueError:
        structlog.get_logger("t").exception("send.failed")
    logging.getLogger("aiokafka").error("failed", exc_info=ValueError("mailbox nguyen.van.an@example.vn is full"))
    output = capsys.readouterr().err
    assert "0901234567" not in output
    assert "nguyen.van.an@example.vn" not in output
    assert output.count(REDACTED) >= 2


PERSONAL_SAMPLES = [
    "nguyen.van.an@example.vn",
    "0901234567",
    "+84 901 234 567",
    "090.123.4567",
    "079203001234",  # a 12-digit personal ID number
    "12 đường Nguyễn Huệ",
    "số 5/3 hẻm Lê Lợi",
]


@pytest.mark.parametrize("sample", PERSONAL_SAMPLES)
def test_personal_data_inside_any_value_does_not_survive(sample: str) -> None:
    event = redact_personal_data(
        None,
        "error",
        {
            "event": f"delivery failed for {sample}, retrying",
            "error": f"SMTP 550 <{sample}> rejected",
            "details": {"recipient": sample, "attempts": 3},
            "history": [sample, "ok"],
        },
    )
    rendered = repr(event)
    assert sample not in rendered
    assert event["details"]["attempts"] == 3


def test_ids_codes_and_numbers_that_are_not_personal_survive() -> None:
    event = redact_personal_data(
        None,
        "info",
        {
            "event": "dossier.accepted",
            "dossier_code": "H21.65-220914-0011",
            "dossier_id": "3f0c2a9e-5d1b-4c1e-9a7e-2b8f6d4c1a00",
            "event_id": "c9ed8e87-e623-425b-9b8b-079266731578",  # a last group of 12 digits, as one UUID in 280 has
            "dossier_seq": 12,
            "offset": 123456,
            "amount_vnd": 1500000,
        },
    )
    assert event["dossier_code"] == "H21.65-220914-0011"
    assert event["dossier_id"] == "3f0c2a9e-5d1b-4c1e-9a7e-2b8f6d4c1a00"
    assert event["event_id"] == "c9ed8e87-e623-425b-9b8b-079266731578"
    assert event["amount_vnd"] == 1500000


def test_a_line_per_http_request_or_smtp_command_shows_only_at_debug(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogSettings(format="json"), service="notification")
    logging.getLogger("httpx").info('HTTP Request: POST http://gateway/send "HTTP/1.1 200 OK"')
    logging.getLogger("mail.log").info("('127.0.0.1', 40000) >> b'NOOP'")
    logging.getLogger("httpx").warning("a warning still shows")
    assert [json.loads(line)["event"] for line in capsys.readouterr().err.splitlines()] == ["a warning still shows"]

    configure_logging(LogSettings(format="json", level="DEBUG"), service="notification")
    logging.getLogger("httpx").info("shown when debugging")
    assert "shown when debugging" in capsys.readouterr().err
