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
