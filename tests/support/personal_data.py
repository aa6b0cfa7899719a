"""The scan of log files for personal data: personal ID numbers, phone numbers and email addresses, in the formats
shared/logging.py redacts (one definition of each). `make test` runs it over every log of the run (tests/run.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shared.logging import EMAIL, PERSONAL_ID, PHONE

KINDS = {"personal ID number": PERSONAL_ID, "phone number": PHONE, "email address": EMAIL}
# Kafka names the segment files of a topic's partition `<first offset, 20 digits>.log`: records, not a log.
KAFKA_SEGMENT = re.compile(r"\d{20}\.log")


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    kind: str
    masked: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} {self.masked}"


@dataclass
class LogScan:
    files: int = 0
    lines: int = 0
    findings: list[Finding] = field(default_factory=list)


def masked(value: str) -> str:
    """Enough to find the value again in the file, not enough to read it."""
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def log_files(folders: Iterable[Path]) -> list[Path]:
    """Every `*.log` file under these folders (those that exist), but Kafka's segment files."""
    return sorted(
        path
        for folder in folders
        if folder.is_dir()
        for path in folder.rglob("*.log")
        if path.is_file() and not KAFKA_SEGMENT.fullmatch(path.name)
    )


def scan_logs(files: Iterable[Path]) -> LogScan:
    scan = LogScan()
    for path in files:
        scan.files += 1
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                scan.lines += 1
                scan.findings += [
                    Finding(path, number, kind, masked(found.group()))
                    for kind, pattern in KINDS.items()
                    for found in pattern.finditer(line)
                ]
    return scan
