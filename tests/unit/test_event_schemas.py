"""The committed JSON Schemas, AsyncAPI document and integrators' guide (docs/events.md) are the ones the models
generate, and the compatibility checker that guards them flags what breaks consumers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs in the dev group

from shared.events import generate
from shared.events.asyncapi import document, render
from shared.events.catalogue import CATALOGUE, EventSpec, is_tombstone, spec_for
from shared.events.compatibility import incompatibilities
from shared.events.examples import example_envelope
from shared.events.generate import (
    ASYNCAPI_FILE,
    EVENTS_DOC_FILE,
    SCHEMAS_DIR,
    plan,
    schema_file,
    schema_of,
    schema_text,
)
from shared.events.markdown import events_markdown

SPECS = list(CATALOGUE.values())
REGENERATE = "the committed file is not what the models generate: run `make events` and commit the result"


def by_type(spec: EventSpec) -> str:
    return spec.event_type


@pytest.mark.parametrize("spec", SPECS, ids=by_type)
def test_the_committed_schema_is_the_generated_one(spec: EventSpec) -> None:
    path = schema_file(spec)
    assert path.exists(), f"{path.name} is missing: run `make events`"
    assert path.read_text(encoding="utf-8") == schema_text(schema_of(spec)), REGENERATE


def test_the_committed_asyncapi_document_is_the_generated_one() -> None:
    assert ASYNCAPI_FILE.read_text(encoding="utf-8") == render(document()), REGENERATE


def test_the_committed_event_guide_is_the_generated_one() -> None:
    assert EVENTS_DOC_FILE.read_text(encoding="utf-8") == events_markdown(), REGENERATE


def test_the_event_guide_gives_every_event_its_topic_fields_and_example() -> None:
    guide = events_markdown()
    for spec in SPECS:
        section = guide.split(f"\n### {spec.event_type}\n", 1)[1].split("\n### ", 1)[0]
        assert f"**Topic** `{spec.topic}`" in section
        if is_tombstone(spec):
            continue
        for name, field in spec.model.model_fields.items():
            assert f"| `{name}` |" in section, f"{spec.event_type}.{name} is not in the guide"
            assert str(field.description).split("\n")[0] in section
        example = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
        assert example == example_envelope(spec).data


def test_check_reports_a_stale_event_guide_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "events.md"
    stale.write_text("# Events, as they were\n", encoding="utf-8")
    monkeypatch.setattr(generate, "EVENTS_DOC_FILE", stale)

    assert generate.main(["--check"]) == 1
    assert f"out of date: {generate.shown(stale)}" in capsys.readouterr().err
    assert stale.read_text(encoding="utf-8") == "# Events, as they were\n"
    assert generate.main([]) == 0
    assert stale.read_text(encoding="utf-8") == events_markdown()
    assert generate.main(["--check"]) == 0


def test_nothing_is_left_to_generate() -> None:
    result = plan()
    assert result.refusals == []
    assert result.writes == {}, REGENERATE


def test_every_schema_file_is_of_a_catalogued_event_and_version() -> None:
    for path in SCHEMAS_DIR.glob("*.json"):
        event_type, _, version = path.name.removesuffix(".json").rpartition(".v")
        spec = spec_for(event_type)
        assert spec is not None, f"{path.name}: no such event type"
        assert 1 <= int(version) <= spec.version, path.name  # older versions stay, as history


@pytest.mark.parametrize("spec", SPECS, ids=by_type)
def test_the_example_is_valid_against_the_committed_schema(spec: EventSpec) -> None:
    schema = json.loads(schema_file(spec).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
        example_envelope(spec).data or {}
    )


def test_the_asyncapi_examples_are_valid_against_their_messages() -> None:
    asyncapi = yaml.safe_load(ASYNCAPI_FILE.read_text(encoding="utf-8"))
    components = asyncapi["components"]
    for event_type, message in components["messages"].items():
        for part in ("payload", "headers"):
            # A schema that carries the components, so that its `#/components/schemas/...` references resolve.
            validator = Draft202012Validator({**message[part], "components": components})
            for example in message["examples"]:
                errors = [error.message for error in validator.iter_errors(example[part])]
                assert errors == [], f"{event_type} {part}: {errors}"
        assert message["headers"]["properties"]["ce_type"]["const"] == event_type
        spec = spec_for(event_type)
        assert spec is not None
        assert (message["payload"].get("type") == "null") is is_tombstone(spec)


# The checker, on small hand-written schemas.

ACTOR = {
    "type": "object",
    "properties": {"staff_id": {"type": "string"}, "role": {"enum": ["reception", "head"], "type": "string"}},
    "required": ["staff_id", "role"],
}


def event(properties: dict[str, Any], required: list[str], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if defs is not None:
        schema["$defs"] = defs
    return schema


OLD = event(
    {
        "reason": {"type": "string"},
        "due_at": {"type": "string", "format": "date-time"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "actor": {"$ref": "#/$defs/Actor"},
        "items": {"type": "array", "items": {"$ref": "#/$defs/Actor"}},
    },
    ["reason", "due_at", "actor"],
    {"Actor": ACTOR},
)


def changed(**properties: Any) -> dict[str, Any]:
    new = copy.deepcopy(OLD)
    new["properties"].update(properties)
    return new


def test_the_same_schema_is_compatible() -> None:
    assert incompatibilities(OLD, copy.deepcopy(OLD)) == []


def test_a_new_optional_property_is_compatible() -> None:
    new = changed(channel={"anyOf": [{"type": "string"}, {"type": "null"}], "default": None})
    new["$defs"]["Actor"]["properties"]["agency_code"] = {"type": "string", "default": ""}
    assert incompatibilities(OLD, new) == []


def test_a_removed_property_is_flagged() -> None:
    new = copy.deepcopy(OLD)
    del new["properties"]["note"]
    assert incompatibilities(OLD, new) == ["property 'note' removed"]


def test_a_renamed_property_is_flagged_as_removed() -> None:
    new = copy.deepcopy(OLD)
    new["properties"]["motive"] = new["properties"].pop("reason")
    new["required"] = ["motive", "due_at", "actor"]
    assert incompatibilities(OLD, new) == ["property 'reason' removed", "new required property 'motive'"]


def test_a_retyped_property_is_flagged() -> None:
    assert incompatibilities(OLD, changed(reason={"type": "integer"})) == [
        "type of 'reason' changed: string -> integer"
    ]
    assert incompatibilities(OLD, changed(due_at={"type": "string", "format": "date"})) == [
        "type of 'due_at' changed: string(date-time) -> string(date)"
    ]
    assert incompatibilities(OLD, changed(note={"type": "string"})) == [
        "type of 'note' changed: null | string -> string"
    ]


def test_a_new_required_property_is_flagged() -> None:
    new = changed(channel={"type": "string"})
    new["required"].append("channel")
    assert incompatibilities(OLD, new) == ["new required property 'channel'"]


def test_a_property_that_became_required_is_flagged() -> None:
    new = copy.deepcopy(OLD)
    new["required"].append("note")
    assert incompatibilities(OLD, new) == ["property 'note' became required"]


def test_nested_models_are_compared_through_their_references() -> None:
    new = copy.deepcopy(OLD)
    new["$defs"]["Actor"]["properties"]["staff_id"] = {"type": "integer"}
    new["$defs"]["Actor"]["properties"]["role"]["enum"] = ["reception"]
    assert incompatibilities(OLD, new) == [
        "type of 'actor.staff_id' changed: string -> integer",
        "allowed values of 'actor.role' changed: {'head', 'reception'} -> {'reception'}",
        "type of 'items[].staff_id' changed: string -> integer",
        "allowed values of 'items[].role' changed: {'head', 'reception'} -> {'reception'}",
    ]


def test_a_nested_model_behind_an_optional_reference_is_compared() -> None:
    old = event({"actor": {"anyOf": [{"$ref": "#/$defs/Actor"}, {"type": "null"}]}}, [], {"Actor": ACTOR})
    new = copy.deepcopy(old)
    new["$defs"]["Actor"]["required"].append("agency_code")
    new["$defs"]["Actor"]["properties"]["agency_code"] = {"type": "string"}
    assert incompatibilities(old, new) == ["new required property 'actor.agency_code'"]


def test_the_real_models_pass_their_own_check() -> None:
    for spec in SPECS:
        assert incompatibilities(schema_of(spec), schema_of(spec)) == []


def test_generating_refuses_to_overwrite_a_schema_with_an_incompatible_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    accepted = CATALOGUE["dossier.accepted"]
    committed = schema_of(accepted)
    committed["properties"]["counter_number"] = {"type": "integer", "description": "Removed since."}
    path = schema_file(accepted, tmp_path)
    path.write_text(schema_text(committed), encoding="utf-8")
    monkeypatch.setattr(generate, "SCHEMAS_DIR", tmp_path)
    monkeypatch.setattr(generate, "ASYNCAPI_FILE", tmp_path / "asyncapi.yaml")
    monkeypatch.setattr(generate, "EVENTS_DOC_FILE", tmp_path / "events.md")

    assert generate.main([]) == 1
    assert "bump the version" in capsys.readouterr().err
    assert "dossier.accepted v1: property 'counter_number' removed" in plan(tmp_path, tmp_path / "a.yaml").refusals
    assert path.read_text(encoding="utf-8") == schema_text(committed), "the committed schema stays"
    assert list(tmp_path.iterdir()) == [path], "nothing at all is written"


def test_generating_overwrites_a_schema_with_a_compatible_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    accepted = CATALOGUE["dossier.accepted"]
    older = schema_of(accepted)
    del older["properties"]["fee_vnd"]  # the model has one more property; a required one would be refused
    older["required"].remove("fee_vnd")
    path = schema_file(accepted, tmp_path)
    path.write_text(schema_text(older), encoding="utf-8")
    monkeypatch.setattr(generate, "SCHEMAS_DIR", tmp_path)
    monkeypatch.setattr(generate, "ASYNCAPI_FILE", tmp_path / "asyncapi.yaml")
    monkeypatch.setattr(generate, "EVENTS_DOC_FILE", tmp_path / "events.md")

    assert plan(tmp_path, tmp_path / "asyncapi.yaml", tmp_path / "events.md").refusals == [
        "dossier.accepted v1: new required property 'fee_vnd'"
    ]
    older["properties"]["fee_vnd"] = schema_of(accepted)["properties"]["fee_vnd"]
    older["properties"]["fee_vnd"]["description"] = "An older wording."
    older["required"].append("fee_vnd")
    path.write_text(schema_text(older), encoding="utf-8")
    assert generate.main([]) == 0
    assert path.read_text(encoding="utf-8") == schema_text(schema_of(accepted))
    assert (tmp_path / "asyncapi.yaml").read_text(encoding="utf-8") == render(document())
    assert (tmp_path / "events.md").read_text(encoding="utf-8") == events_markdown()
    assert len(list(tmp_path.glob("*.json"))) == len(CATALOGUE)
