"""`lienthong`: the operators' command. It reads `<LIENTHONG_HOME>/stack.env` (written by `make up`) when
present, so that it talks to the local stack without flags; the environment wins over that file."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
from datetime import datetime, timedelta
from pathlib import Path

from shared.calendar.commands import add_calendar_parser, run_calendar
from shared.calendar.zone import ZONE
from shared.clock import ClockSettings, ControllableClock, parse_duration
from shared.identity import commands as staff_commands
from shared.identity.settings import IdentitySettings
from shared.identity.staff import ROLES
from shared.kafka.topics import ensure_topics, load_topics
from shared.logging import configure_logging
from shared.operations.commands import add_operations_parsers, run_operation
from shared.rules.publish import SHIPPED_RULES, RulesInvalidError, documents_from_folder, publish
from shared.settings import KafkaSettings, LogSettings


def load_stack_env() -> None:
    env_file = Path(os.environ.get("LIENTHONG_HOME", ".local")) / "stack.env"
    if not env_file.exists():
        return
    for line in env_file.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            os.environ.setdefault(key, shlex.split(value)[0] if value else "")


def config(as_markdown: bool) -> int:
    # Imported here: it loads every service's settings, which no other command needs.
    from shared.configuration import markdown, sections

    if as_markdown:
        print(markdown())
        return 0
    for title, found in sections():
        print(f"{title}:")
        for variable in found:
            current = os.environ.get(variable.name)
            shown = "(set)" if current and "PASSWORD" in variable.name else current
            print(f"  {variable.name:<34} {shown if current is not None else variable.default or '-'}")
    return 0


def topics(action: str, environment: str) -> int:
    catalogue = load_topics()
    if action == "list":
        for topic in catalogue.topics:
            print(f"{topic.name:<34} {topic.partitions:>3}  {topic.config['cleanup.policy']:<8} {topic.purpose}")
        return 0
    kafka = KafkaSettings()
    created = asyncio.run(ensure_topics(kafka, "production" if environment == "production" else "local"))
    print(f"{len(created)} topics created on {kafka.bootstrap_servers}: {', '.join(created) or 'none missing'}")
    return 0


def staff(args: argparse.Namespace) -> int:
    settings = IdentitySettings()
    if args.staff_command == "keys":
        return staff_commands.manage_keys(settings, args.action, getattr(args, "kid", None))
    lifetime = timedelta(days=args.days) if args.days else timedelta(minutes=args.minutes) if args.minutes else None
    return staff_commands.print_token(
        settings, agency=args.agency, role=args.role, staff_id=args.staff_id, lifetime=lifetime, demo=args.demo
    )


def rules(folder: Path, check_only: bool) -> int:
    try:
        documents = documents_from_folder(folder)
        if check_only:
            print(f"{folder}: valid ({len(documents)} documents)")
            return 0
        kafka = KafkaSettings()
        published = asyncio.run(publish(kafka, documents))
    except RulesInvalidError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{len(published)} of {len(documents)} documents published on {kafka.bootstrap_servers}"
          + "".join(f"\n  {key}" for key in published))  # fmt: skip
    return 0


def clock(action: str, value: str | None) -> int:
    settings = ClockSettings()
    if settings.control_file is None:
        print(
            "no controllable clock here: CLOCK_CONTROL_FILE is not set (local and test stacks set it)", file=sys.stderr
        )
        return 1
    controlled = ControllableClock(settings.control_file)
    try:
        if action == "set":
            controlled.set(datetime.fromisoformat(value or ""), frozen=False)
        elif action == "freeze":
            controlled.set(datetime.fromisoformat(value or ""), frozen=True)
        elif action == "advance":
            controlled.advance(parse_duration(value or ""))
        elif action == "reset":
            controlled.reset()
    except ValueError as error:
        print(f"lienthong clock {action}: {error}", file=sys.stderr)
        return 2
    print(controlled.now().astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S %Z"))
    return 0


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def add_staff_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff_parser = commands.add_parser("staff", help="staff tokens, and the keys that sign them")
    staff_subcommands = staff_parser.add_subparsers(dest="staff_command", required=True)
    token_parser = staff_subcommands.add_parser(
        "token", help="print a signed staff token (creates the key folder and its first key if none)"
    )
    token_parser.add_argument("--agency", required=True, help="code of the staff member's agency, e.g. H21.65")
    token_parser.add_argument("--role", required=True, choices=ROLES, help="what the staff member may do")
    token_parser.add_argument("--staff-id", help="the staff member's id (default: <role>@<agency>)")
    lifetime = token_parser.add_mutually_exclusive_group()
    lifetime.add_argument("--days", type=positive_int, help="valid for N days")
    lifetime.add_argument("--minutes", type=positive_int, help="valid for N minutes (default: IDENTITY_TOKEN_MINUTES)")
    token_parser.add_argument("--demo", action="store_true", help="mark it a demo token")
    keys_parser = staff_subcommands.add_parser("keys", help="the signing keys of IDENTITY_KEYS_DIR")
    keys_actions = keys_parser.add_subparsers(dest="action", required=True)
    keys_actions.add_parser("list", help="every key of the JWKS, and which one signs")
    keys_actions.add_parser("rotate", help="add a key and sign with it; older keys keep verifying their tokens")
    retire_parser = keys_actions.add_parser("retire", help="remove a key: its tokens are refused from then on")
    retire_parser.add_argument("kid", help="the key to retire (see `lienthong staff keys list`)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lienthong", description="Operate a lienthong system.")
    commands = parser.add_subparsers(dest="command", required=True)
    config_parser = commands.add_parser("config", help="every environment variable, with its current value")
    config_parser.add_argument("--markdown", action="store_true", help="print docs/configuration.md")
    topics_parser = commands.add_parser("topics", help="the topics of deploy/topics.yaml")
    topics_parser.add_argument(
        "action",
        choices=["list", "ensure", "describe"],
        help="list them, create the missing ones, or describe them as the broker has them",
    )
    topics_parser.add_argument(
        "--environment", choices=["local", "production"], default="local", help="replication to create with"
    )
    topics_parser.add_argument("--json", action="store_true", help="describe: JSON instead of lines for a person")
    add_operations_parsers(commands)
    add_staff_parser(commands)
    rules_parser = commands.add_parser("rules", help="rules published as data: procedures, holidays, agencies")
    rules_actions = rules_parser.add_subparsers(dest="rules_command", required=True)
    publish_parser = rules_actions.add_parser("publish", help="validate a rules folder and publish what is new")
    publish_parser.add_argument(
        "folder", nargs="?", type=Path, default=SHIPPED_RULES, help="default: the shipped rules"
    )
    publish_parser.add_argument("--check", action="store_true", help="only validate; publish nothing")
    add_calendar_parser(commands)
    clock_parser = commands.add_parser("clock", help="the stack's controllable clock (local and test stacks only)")
    clock_parser.add_argument("action", choices=["show", "set", "freeze", "advance", "reset"])
    clock_parser.add_argument("value", nargs="?", help="an instant with its offset (set, freeze) or 90s/15m/4h/3d")
    args = parser.parse_args(argv)

    load_stack_env()
    configure_logging(LogSettings(level="WARNING", format="console"))
    if args.command == "config":
        return config(args.markdown)
    if args.command == "staff":
        return staff(args)
    if args.command == "rules":
        return rules(args.folder, args.check)
    if args.command == "calendar":
        return run_calendar(args)
    if args.command == "clock":
        return clock(args.action, args.value)
    if args.command != "topics" or args.action == "describe":
        return run_operation(args)
    return topics(args.action, args.environment)


if __name__ == "__main__":
    sys.exit(main())
