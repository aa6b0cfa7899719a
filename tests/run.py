"""`make test`: the whole suite against a real broker and database, one pytest run per tier.

    python -m tests.run              every tier
    python -m tests.run unit stack   only these tiers

The broker and database come from tests/infrastructure.py (given, containers, or a local stack started once
for the run and stopped after); Debian's chromium package, which the e2e tier drives, is installed when missing.
Each tier keeps what its tests write, the logs of every process they start among it, the e2e tier's screenshots
among them, in .local/test-runs/<tier> (pytest's --basetemp). After the last tier every log of the run is scanned for
personal data, which fails the run. Prints the time spent per tier and ends with one line `N passed, N failed`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from shared.configuration import stack_bound_variables
from shared.logging import configure_logging
from shared.settings import LogSettings
from tests.infrastructure import REPO, TEST_STACK_HOME, infrastructure
from tests.support.browser import ensure_chromium
from tests.support.personal_data import log_files, scan_logs

# In the order they run: the fast ones first, so that a broken basic fails early.
TIERS = ("unit", "integration", "stack", "e2e", "fault")
# The tiers that drive the web console in headless Chromium (Debian's package, installed when missing).
BROWSER_TIERS = {"e2e"}
RUNS = REPO / ".local" / "test-runs"


@dataclass
class TierResult:
    tier: str
    seconds: float
    passed: int
    failed: int
    skipped: int
    exit_code: int


def run_tier(tier: str, env: dict[str, str], reports: Path) -> TierResult:
    report = reports / f"{tier}.xml"
    print(f"\n=== tier {tier} ===", flush=True)
    started = time.monotonic()
    exit_code = subprocess.call(
        [
            sys.executable,
            "-m",
            "pytest",
            f"tests/{tier}",
            "-q",
            # The slowest tests of each tier, so that a suite growing long shows where.
            "--durations=8",
            f"--junitxml={report}",
            f"--basetemp={RUNS / tier}",
            "-p",
            "no:cacheprovider",
        ],
        cwd=REPO,
        env=env,
    )
    seconds = time.monotonic() - started
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if report.exists():
        suite = ET.parse(report).getroot().find("testsuite")
        if suite is not None:
            counts = {key: int(suite.get(key, 0)) for key in counts}
    failed = counts["failures"] + counts["errors"]
    passed = counts["tests"] - failed - counts["skipped"]
    # pytest's exit code 5 means the tier collected no test: a tier that tests nothing is a failure here.
    return TierResult(tier, seconds, passed, failed, counts["skipped"], exit_code)


def logs_hold_no_personal_data(tiers: list[str]) -> bool:
    """Scans the logs of the tiers run and of the local infrastructure (when the run started one); prints where
    personal data was found, masked, or how much was scanned."""
    scan = scan_logs(log_files([*(RUNS / tier for tier in tiers), TEST_STACK_HOME / "logs"]))
    for finding in scan.findings:
        print(f"personal data in a log: {finding}")
    found = f"{len(scan.findings)} pieces of personal data found" if scan.findings else "no personal data"
    print(f"logs of the run: {scan.files} files, {scan.lines} lines scanned; {found}")
    return not scan.findings


def main(argv: list[str]) -> int:
    tiers = [tier for tier in (argv or TIERS) if (REPO / "tests" / tier).is_dir()]
    unknown = set(argv) - set(TIERS)
    if unknown:
        print(f"unknown tiers: {sorted(unknown)}; the tiers are {', '.join(TIERS)}", file=sys.stderr)
        return 2
    configure_logging(LogSettings(level="WARNING", format="console"))
    # A shell without job control starts a background command with Ctrl-C ignored, and the ignoring passes on to
    # every child: the tests that stop a command with SIGINT would wait for it in vain. A handled signal is reset
    # to its default in the children.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if BROWSER_TIERS & set(tiers) and (missing := ensure_chromium()):
        print(f"cannot run the tiers {', '.join(sorted(BROWSER_TIERS & set(tiers)))}: {missing}", file=sys.stderr)
        return 1
    RUNS.mkdir(parents=True, exist_ok=True)  # pytest makes its --basetemp, not the folders above it
    started = time.monotonic()
    results: list[TierResult] = []
    with infrastructure() as infra_env, tempfile.TemporaryDirectory() as reports:
        print(f"infrastructure ready in {time.monotonic() - started:.0f} s", flush=True)
        # A shell that sourced a stack.env exports that stack's addresses; the tests get only their own.
        bound = stack_bound_variables()
        env = {name: value for name, value in os.environ.items() if name not in bound} | infra_env
        results = [run_tier(tier, env, Path(reports)) for tier in tiers]
    print("\ntier          seconds  passed  failed  skipped")
    for r in results:
        print(f"{r.tier:<12} {r.seconds:8.1f} {r.passed:7d} {r.failed:7d} {r.skipped:8d}")
    print(f"{'total':<12} {time.monotonic() - started:8.1f}   (infrastructure start and stop included)")
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results) + sum(1 for r in results if r.exit_code != 0 and r.failed == 0)
    clean_logs = logs_hold_no_personal_data(tiers)
    print(f"{passed} passed, {failed} failed")
    return 0 if all(r.exit_code == 0 for r in results) and clean_logs else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
