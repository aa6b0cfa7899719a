"""structlog set-up: JSON lines in production, readable in a terminal, personal data redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from shared.settings import LogSettings

# Personal data is redacted by a processor, not by discipline (design.md, "Observability"): whole values of keys
# that name personal data, and anything that looks like personal data inside every other string.
PERSONAL_KEYS = frozenset(
    {"name", "full_name", "applicant_name", "phone", "email", "address", "street", "personal_id", "id_number",
     "citizen_id", "tax_code", "password", "contact"}
)  # fmt: skip
# The formats personal data really has, and no more: a match never starts or ends inside a word, a number or a
# UUID, so that ids, dossier codes, timestamps, durations and staff ids (`reception@H29.101.1`) survive. The scan of
# the test suite's logs (tests/support/personal_data.py) looks for the same three.
EMAIL = re.compile(r"[\w.+-]+@(?:[\w-]+\.)+[A-Za-z]{2,}(?![\w-])")  # a domain that ends in letters
# A mobile number (03, 05, 07, 08, 09), as intake accepts it, also written 090.123.4567 or +84 901 234 567.
PHONE = re.compile(r"(?<![\w.+-])(?:\+84[ .-]?|84|0)[35789](?:[ .-]?\d){8}(?![\w-])")
# A personal ID number (số định danh cá nhân): 12 digits, the first three a province code from 001 to 096.
PERSONAL_ID = re.compile(r"(?<![\w.+-])0\d{11}(?![\w-])")
# A street address: a house number then a street word ("12 đường Nguyễn Huệ", "số 5/3 hẻm Lê Lợi").
ADDRESS = re.compile(r"(?i)\b(?:số\s+)?\d+[a-z]?(?:/\d+)*\s+(?:đường|phố|hẻm|ngõ|kiệt|duong|pho|hem|ngo)\s+[^,;]+")
PERSONAL_PATTERNS = (EMAIL, PHONE, PERSONAL_ID, ADDRESS)
REDACTED = "[redacted]"
# Libraries that log at INFO a line per HTTP request (httpx) or per SMTP command (aiosmtpd): our own lines say
# what was sent and what came back.
CHATTY_LOGGERS = ("httpx", "mail.log")


def scrub(value: Any) -> Any:
    """The value with personal data redacted: whole values under personal keys, matches of the patterns elsewhere."""
    if isinstance(value, str):
        for pattern in PERSONAL_PATTERNS:
            value = pattern.sub(REDACTED, value)
        return value
    if isinstance(value, dict):
        return {key: REDACTED if key in PERSONAL_KEYS else scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub(item) for item in value)
    return value


def redact_personal_data(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        event_dict[key] = REDACTED if key in PERSONAL_KEYS else scrub(value)
    return event_dict


def configure_logging(settings: LogSettings, **bound: Any) -> None:
    """Route structlog and the standard library (uvicorn, aiokafka) through one renderer."""
    as_json = settings.format == "json" or (settings.format == "auto" and not sys.stderr.isatty())
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_processors,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                # Last before rendering: a traceback quotes the exception's message, which may hold personal data.
                redact_personal_data,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)
    for name in CHATTY_LOGGERS:  # shown again at DEBUG
        logging.getLogger(name).setLevel(logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**bound)
