"""`python -m shared.events.generate` (`make events`): writes the JSON Schema of every event type to
shared/events/schemas/<type>.v<version>.json, the AsyncAPI document to docs/asyncapi.yaml and the integrators'
guide to docs/events.md.

A committed schema is the contract integrators rely on: it is overwritten only by a compatible one (new optional
fields). For anything else the command writes nothing and exits 1: bump the model's `version` (a new schema file;
the old one stays) — and, for a change that breaks the topic's consumers, publish on a `.v2` topic.

    python -m shared.events.generate           write what changed
    python -m shared.events.generate --check   write nothing; exit 1 if anything would change
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.events.asyncapi import document, render
from shared.events.catalogue import CATALOGUE, EventSpec
from shared.events.compatibility import incompatibilities
from shared.events.markdown import events_markdown

REPO = Path(__file__).resolve().parents[2]
SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
ASYNCAPI_FILE = REPO / "docs" / "asyncapi.yaml"
EVENTS_DOC_FILE = REPO / "docs" / "events.md"


def schema_of(spec: EventSpec) -> dict[str, Any]:
    return spec.model.model_json_schema()


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_file(spec: EventSpec, directory: Path = SCHEMAS_DIR) -> Path:
    return directory / f"{spec.event_type}.v{spec.version}.json"


@dataclass
class Plan:
    """What generating would write, and what it refuses to."""

    writes: dict[Path, str] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)


def plan(
    schemas_dir: Path = SCHEMAS_DIR, asyncapi_file: Path = ASYNCAPI_FILE, events_doc_file: Path = EVENTS_DOC_FILE
) -> Plan:
    result = Plan()
    for spec in CATALOGUE.values():
        path = schema_file(spec, schemas_dir)
        schema = schema_of(spec)
        text = schema_text(schema)
        if path.exists():
            committed = path.read_text(encoding="utf-8")
            if committed == text:
                continue
            problems = incompatibilities(json.loads(committed), schema)
            if problems:
                result.refusals.append(f"{spec.event_type} v{spec.version}: {'; '.join(problems)}")
                continue
        result.writes[path] = text
    for path, text in ((asyncapi_file, render(document())), (events_doc_file, events_markdown())):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            result.writes[path] = text
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.events.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
    args = parser.parse_args(argv)

    result = plan(SCHEMAS_DIR, ASYNCAPI_FILE, EVENTS_DOC_FILE)  # read at call time: tests point them elsewhere
    if result.refusals:
        print(
            "bump the version: these models changed incompatibly with their committed schemas (nothing was written):",
            file=sys.stderr,
        )
        for refusal in result.refusals:
            print(f"  {refusal}", file=sys.stderr)
        return 1
    changed = sorted(shown(path) for path in result.writes)
    if args.check:
        for name in changed:
            print(f"out of date: {name}", file=sys.stderr)
        return 1 if changed else 0
    for path, text in result.writes.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"{len(CATALOGUE)} event types; {len(changed)} files written{': ' if changed else ''}{', '.join(changed)}")
    return 0


def shown(path: Path) -> str:
    """A path as the command prints it: relative to the repository when inside it."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


if __name__ == "__main__":
    sys.exit(main())
