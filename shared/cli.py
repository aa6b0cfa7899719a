"""`lienthong`: the operators' command. It reads `<LIENTHONG_HOME>/stack.env` (written by `make up`) when
present, so that it talks to the local stack without flags; the environment wins over that file."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
from pathlib import Path

from shared.configuration import markdown, sections
from shared.kafka.topics import ensure_topics, load_topics
from shared.logging import configure_logging
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lienthong", description="Operate a lienthong system.")
    commands = parser.add_subparsers(dest="command", required=True)
    config_parser = commands.add_parser("config", help="every environment variable, with its current value")
    config_parser.add_argument("--markdown", action="store_true", help="print docs/configuration.md")
    topics_parser = commands.add_parser("topics", help="the topics of deploy/topics.yaml")
    topics_parser.add_argument("action", choices=["list", "ensure"], help="list them, or create the missing ones")
    topics_parser.add_argument(
        "--environment", choices=["local", "production"], default="local", help="replication to create with"
    )
    args = parser.parse_args(argv)

    load_stack_env()
    configure_logging(LogSettings(level="WARNING", format="console"))
    if args.command == "config":
        return config(args.markdown)
    return topics(args.action, args.environment)


if __name__ == "__main__":
    sys.exit(main())
