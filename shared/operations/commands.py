"""The operators' subcommands of `lienthong`: `tail`, `timeline`, `lag`, `topics describe` (straight to the broker,
as an observer that commits nothing) and `dlq`, `blocked` (through the services' admin endpoints, since a replay
must run in the failing group's own process, with its handlers and its database).

Each prints lines for a person, or with `--json` one JSON document (JSON lines for `tail`, a stream). Exit codes:
0 done, 1 what was asked failed (broker or service unreachable, unknown dossier, a refusal), 2 bad usage."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.calendar.zone import ZONE
from shared.events.catalogue import SUBSCRIPTIONS, contacts, topics
from shared.kafka.describe import describe_topics
from shared.kafka.lag import group_lags
from shared.kafka.reading import BEGINNING, END, BrokerUnreachableError, StartAt, UnknownTopicError, follow, read_to_end
from shared.operations.events import EventLine, event_line
from shared.operations.services import OperationError, OperationsClient, admin_token, chosen
from shared.settings import KafkaSettings

LIFECYCLE_TOPICS = [topic for topic in topics() if topic != contacts.TOPIC]
FAILED, USAGE = 1, 2


def add_operations_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tail = commands.add_parser("tail", help="follow the events as they come, one line each")
    tail.add_argument("--type", action="append", help="only events of this type (repeatable)")
    tail.add_argument("--dossier", help="only this dossier's events (its code, or its id)")
    tail.add_argument("--agency", help="only events naming this agency or one of its units")
    tail.add_argument("--topic", action="append", help="a topic to read (repeatable; default: the lifecycle topics)")
    start = tail.add_mutually_exclusive_group()
    start.add_argument("--from-time", help="from this instant on (ISO 8601; Vietnam time unless it has an offset)")
    start.add_argument("--from-offset", type=int, help="from this offset in every partition")
    start.add_argument("--from-beginning", action="store_true", help="from the first event (default: from now)")
    tail.add_argument("--count", type=int, help="stop after this many events (default: follow until Ctrl-C)")
    timeline = commands.add_parser("timeline", help="every event of one dossier across all topics, in time order")
    timeline.add_argument("code", help="the dossier's code")
    commands.add_parser("lag", help="each consumer group's committed offsets against the end of its topics")
    dlq = commands.add_parser("dlq", help="a service's dead letters: list, show, replay into its group, discard")
    dlq.add_argument("action", choices=["list", "show", "replay", "discard"])
    dlq.add_argument("id", nargs="?", type=int, help="the dead letter (show, replay, discard)")
    dlq.add_argument("--service", choices=chosen(None), help="the service whose group it is (list: default all)")
    dlq.add_argument("--all", action="store_true", help="list: also the replayed and discarded ones")
    blocked = commands.add_parser("blocked", help="the dossiers each group holds back, with their dead letter")
    blocked.add_argument("--service", choices=chosen(None), help="one service (default: all)")
    for parser in (tail, timeline, commands.choices["lag"], dlq, blocked):
        parser.add_argument("--json", action="store_true", help="JSON instead of lines for a person")
    for parser in (dlq, blocked):
        parser.add_argument("--token", help="an admin staff token (default: LIENTHONG_ADMIN_TOKEN, else the local "
                            "stack's demo admin token)")  # fmt: skip


def run_operation(args: argparse.Namespace) -> int:
    """Runs `args.command` (or `topics describe`); says what failed on stderr."""
    runs: dict[str, Callable[[argparse.Namespace], int]] = {
        "tail": tail, "timeline": timeline, "lag": lag, "dlq": dlq, "blocked": blocked, "topics": topics_describe,
    }  # fmt: skip
    try:
        return runs[args.command](args)
    except (BrokerUnreachableError, UnknownTopicError, OperationError) as error:
        print(f"lienthong {args.command}: {error}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:  # how a followed stream ends
        return 0
    except BrokenPipeError:  # the reader had enough (`lienthong tail | head`): so have we, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _print(line: str) -> None:
    print(line, flush=True)  # a pipe (grep, a test) sees each line when it comes


def _start(args: argparse.Namespace) -> StartAt:
    if args.from_beginning:
        return BEGINNING
    if args.from_offset is not None:
        return StartAt("offset", offset=args.from_offset)
    if args.from_time:
        at = datetime.fromisoformat(args.from_time)
        return StartAt("time", time=at if at.tzinfo else at.replace(tzinfo=ZONE))
    return END


def _matches(args: argparse.Namespace, line: EventLine) -> bool:
    if args.type and line.type not in args.type:
        return False
    if args.dossier and not line.concerns(args.dossier):
        return False
    return not args.agency or line.involves(args.agency)


def tail(args: argparse.Namespace) -> int:
    if args.count is not None and args.count <= 0:
        print("lienthong tail: --count takes a positive number", file=sys.stderr)
        return USAGE
    try:
        start = _start(args)
    except ValueError as error:
        print(f"lienthong tail: --from-time {args.from_time}: {error}", file=sys.stderr)
        return USAGE

    read = args.topic or LIFECYCLE_TOPICS

    def following() -> None:  # on stderr, so that stdout stays the events alone
        print(f"following {', '.join(read)} (Ctrl-C stops)", file=sys.stderr, flush=True)

    async def run() -> None:
        shown = 0
        async for record in follow(KafkaSettings(), read, start, following):
            line = event_line(record)
            if _matches(args, line):
                _print(json.dumps(line.as_json(), ensure_ascii=False) if args.json else line.text())
                shown += 1
                if shown == args.count:
                    return

    asyncio.run(run())
    return 0


def timeline(args: argparse.Namespace) -> int:
    """Reads every topic to its end: an operator's question about one dossier, not a query for the hot path."""
    records = asyncio.run(read_to_end(KafkaSettings(), topics()))
    code = args.code.encode()
    lines = [event_line(r) for r in records if dict(r.headers).get("ce_subject") == code]
    if not lines:
        raise OperationError(f"no event of dossier {args.code} on {', '.join(topics())}: is the code right?")
    lines.sort(key=lambda line: (line.time, line.topic, line.seq or 0))
    if args.json:
        _print(json.dumps({"dossier_code": args.code, "dossier_id": lines[0].dossier_id,
                           "events": [line.as_json() for line in lines]}, ensure_ascii=False))  # fmt: skip
    else:
        _print(f"dossier {args.code} ({lines[0].dossier_id}): {len(lines)} events")
        for line in lines:
            _print(line.text())
    return 0


def lag(args: argparse.Namespace) -> int:
    lags = asyncio.run(group_lags(KafkaSettings(), {group: list(read) for group, read in SUBSCRIPTIONS.items()}))
    groups: dict[str, list[dict[str, Any]]] = {group: [] for group in SUBSCRIPTIONS}
    for p in lags:
        groups[p.group].append({"topic": p.topic, "partition": p.partition, "committed": p.committed,
                                "end": p.end, "lag": p.lag})  # fmt: skip
    totals = {group: sum(p["lag"] for p in partitions) for group, partitions in groups.items()}
    if args.json:
        _print(json.dumps({"groups": [{"group": group, "lag": totals[group], "partitions": partitions}
                                      for group, partitions in groups.items()]}))  # fmt: skip
        return 0
    for group, partitions in groups.items():
        _print(f"{group}  lag {totals[group]}")
        shown = [row for row in partitions if row["end"] or row["committed"] is not None]
        for row in shown:
            committed = "-" if row["committed"] is None else row["committed"]
            _print(f"  {row['topic']:<30} {row['partition']:>3}  committed {committed:>8}  end {row['end']:>8}  "
                   f"lag {row['lag']:>6}")  # fmt: skip
        if len(shown) < len(partitions):
            _print(f"  ({len(partitions) - len(shown)} empty partitions not shown)")
    return 0


def topics_describe(args: argparse.Namespace) -> int:
    states = asyncio.run(describe_topics(KafkaSettings()))
    if args.json:
        _print(json.dumps({"topics": [{"name": s.name, "present": bool(s.partitions),
                                       "defined_partitions": s.defined_partitions, "records": s.records,
                                       "partitions": [vars(p) for p in s.partitions], "config": s.config}
                                      for s in states]}))  # fmt: skip
        return 0
    for s in states:
        if not s.partitions:
            _print(f"{s.name}: missing (`lienthong topics ensure` creates it)")
            continue
        mismatch = "" if len(s.partitions) == s.defined_partitions else f" (defined: {s.defined_partitions})"
        _print(f"{s.name}: {len(s.partitions)} partitions{mismatch}, {s.records} records, "
               + " ".join(f"{k}={v}" for k, v in sorted(s.config.items())))  # fmt: skip
        _print("  end offsets: " + " ".join(f"{p.partition}:{p.end}" for p in s.partitions))
    return 0


def dlq(args: argparse.Namespace) -> int:
    if args.action != "list" and (args.id is None or args.service is None):
        print(f"lienthong dlq {args.action}: give the dead letter's id and --service", file=sys.stderr)
        return USAGE
    if args.action == "list":
        query = {"all": "true"} if args.all else {}
        return _per_group(args, "/dead-letters", query, "dead letters", _dead_letter_text)
    client = OperationsClient(args.service, admin_token(args.token))
    if args.action == "show":
        answer = client.call("GET", f"/dead-letters/{args.id}")
    else:
        answer = client.call("POST", f"/dead-letters/{args.id}/{args.action}")
    if args.json or args.action == "show":
        _print(json.dumps(answer, ensure_ascii=False, indent=None if args.json else 2))
    else:
        outcome = f" ({answer['outcome']})" if "outcome" in answer else ""
        _print(f"dead letter {args.id} of {answer['group']} {answer['resolution']}{outcome}")
    return 0


def blocked(args: argparse.Namespace) -> int:
    return _per_group(args, "/blocked", {}, "blocked dossiers", _blocked_text)


def _blocked_text(dossier: dict[str, Any]) -> str:
    return (f"{dossier['dossier_code'] or dossier['dossier_id']}  since {dossier['blocked_at']}  "
            f"{dossier['parked']} parked  by " + _dead_letter_text(dossier["dead_letter"]))  # fmt: skip


def _per_group(
    args: argparse.Namespace, path: str, query: dict[str, str], what: str, text: Callable[[Any], str]
) -> int:
    """GET `path` of each chosen service and print its group's items (the answer's list named like the path); a
    service that fails is said on stderr, and the others still shown."""
    token = admin_token(args.token)
    key = path.strip("/").replace("-", "_")
    answers, failed = [], 0
    for service in chosen(args.service):
        try:
            answers.append(OperationsClient(service, token).call("GET", path, **query))
        except OperationError as error:
            print(f"lienthong {args.command}: {error}", file=sys.stderr)
            failed = FAILED
    if args.json:
        _print(json.dumps({"groups": answers}, ensure_ascii=False))
        return failed
    for answer in answers:
        _print(f"{answer['group']}: {len(answer[key])} {what}")
        for item in answer[key]:
            _print("  " + text(item))
    return failed


def _dead_letter_text(letter: dict[str, Any]) -> str:
    resolved = f"  {letter['resolution']}" if letter["resolution"] else ""
    return (f"#{letter['id']}  {letter['dead_at']}  {letter['topic']}[{letter['partition']}]@{letter['offset']}  "
            f"{letter['event_type'] or '?'}  {letter['dossier_code'] or letter['dossier_id']} #{letter['seq']}  "
            f"{letter['error'][:160]}{resolved}")  # fmt: skip
