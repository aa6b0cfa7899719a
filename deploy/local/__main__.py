"""`python -m deploy.local up|down|status|logs|clean` — what `make up`, `make down`... run."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time

from deploy.local.process import PartFailedError, tail
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from shared.logging import configure_logging
from shared.settings import LogSettings


def up(stack: Stack, infrastructure_only: bool) -> int:
    started = time.monotonic()
    what = "PostgreSQL and Kafka" if infrastructure_only else "the lienthong stack"
    print(f"Starting {what} in {stack.settings.root} (ports from {stack.settings.port_base})", flush=True)
    try:
        stack.up(infrastructure_only)
    except (PartFailedError, KeyboardInterrupt) as error:
        if isinstance(error, PartFailedError):
            print(f"\nFAILED: {error.part}: {error}", file=sys.stderr)
            if error.log_file is not None:
                print(f"  log: {error.log_file}\n  last lines:", file=sys.stderr)
                print("    " + tail(error.log_file, 15).replace("\n", "\n    "), file=sys.stderr)
        print("\nStopping what is running, so that no half stack is left behind ...", file=sys.stderr)
        stack.down()
        return 1
    print(f"\nReady in {time.monotonic() - started:.0f} s. Addresses (also in {stack.settings.env_file}):")
    for key, value in stack.environment(stack.select(infrastructure_only)).items():
        print(f"  {key}={value}")
    return 0


def status(stack: Stack, as_json: bool) -> int:
    rows = stack.status()
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    columns = ("part", "state", "pid", "port", "address")
    widths = {c: max(len(c), *(len(row[c]) for row in rows)) for c in columns}
    for row in [dict(zip(columns, columns, strict=True)), *rows]:
        print("  ".join(row[c].ljust(widths[c]) for c in columns).rstrip())
    return 0


def logs(stack: Stack, parts: list[str], follow: bool) -> int:
    files = [p.log_file for p in stack.parts if not parts or p.name in parts]
    existing = [str(f) for f in files if f.exists()]
    if not existing:
        print(f"no logs yet in {stack.settings.logs}")
        return 0
    command = ["tail", "-n", "40", *(["-F"] if follow else []), *existing]
    return subprocess.call(command)


def clean(stack: Stack) -> int:
    stack.down()
    shutil.rmtree(stack.settings.root, ignore_errors=True)
    print(f"deleted {stack.settings.root}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="start every part that is not running, wait until ready")
    up_parser.add_argument("--infra", action="store_true", help="only PostgreSQL and Kafka (for tests)")
    commands.add_parser("down", help="stop every part; data is kept")
    status_parser = commands.add_parser("status", help="each part: up/down, pid, port")
    status_parser.add_argument("--json", action="store_true")
    logs_parser = commands.add_parser("logs", help="the last lines of each part's log")
    logs_parser.add_argument("parts", nargs="*", help="only these parts (postgres, kafka, intake ...)")
    logs_parser.add_argument("-f", "--follow", action="store_true")
    commands.add_parser("clean", help="stop every part and delete the home folder")
    args = parser.parse_args(argv)

    # Progress goes to the terminal as plain lines; library log events below warnings would only clutter it.
    configure_logging(LogSettings(level="WARNING", format="console"))
    stack = Stack(StackSettings())
    if args.command == "up":
        return up(stack, args.infra)
    if args.command == "down":
        stack.down()
        print("stopped (data kept)")
        return 0
    if args.command == "status":
        return status(stack, args.json)
    if args.command == "logs":
        return logs(stack, args.parts, args.follow)
    return clean(stack)


if __name__ == "__main__":
    sys.exit(main())
