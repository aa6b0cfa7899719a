"""Is a new JSON Schema of an event type backward compatible with the committed one?

Within a schema version (and a topic version), the contract allows only new optional properties (design.md,
"The event contract"): old consumers ignore what they do not know, and new consumers must still read every event
already on the topic, which is kept forever. So this reports, recursively through nested objects and arrays
(`$ref`s into `$defs` are resolved):

- a property removed (a rename is a removal plus an addition);
- a property's type changed (including its format, e.g. date -> date-time) or its allowed values changed;
- a new required property;
- an existing property that became required.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# Nested models do not refer to themselves in the catalogue; the limit only keeps a recursive schema finite.
MAX_DEPTH = 32


def incompatibilities(old_schema: Schema, new_schema: Schema) -> list[str]:
    """What in `new_schema` breaks readers or writers of `old_schema`; empty when compatible."""
    problems: list[str] = []
    _compare(_Side(old_schema, old_schema), _Side(new_schema, new_schema), "", problems, 0)
    return problems


class _Side:
    """A schema together with the document its `$ref`s point into."""

    def __init__(self, schema: Schema, root: Schema) -> None:
        self.root = root
        self.schema = _resolve(schema, root)

    def child(self, schema: Schema) -> _Side:
        return _Side(schema, self.root)

    def branches(self) -> list[_Side]:
        """The schema itself, or the alternatives it is made of (`anyOf`/`oneOf`/`allOf`), resolved."""
        alternatives = [
            branch for keyword in ("anyOf", "oneOf", "allOf") for branch in self.schema.get(keyword, []) or []
        ]
        if not alternatives:
            return [self]
        return [side for branch in alternatives for side in self.child(branch).branches()]

    def types(self) -> frozenset[str]:
        found: set[str] = set()
        for side in self.branches():
            found |= side._own_types()
        return frozenset(found)

    def _own_types(self) -> set[str]:
        schema = self.schema
        if "type" in schema:
            declared = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        elif "const" in schema:
            declared = [_json_type(schema["const"])]
        elif "enum" in schema:
            declared = [_json_type(value) for value in schema["enum"]]
        elif "properties" in schema:
            declared = ["object"]
        elif "items" in schema:
            declared = ["array"]
        else:
            declared = ["any"]
        return {f"{name}({schema['format']})" if "format" in schema and name == "string" else name for name in declared}

    def values(self) -> frozenset[Any] | None:
        """The allowed values when every alternative is an enum, a const or null; None when any value of the type
        is allowed."""
        values: set[Any] = set()
        for side in self.branches():
            schema = side.schema
            if "const" in schema:
                values.add(_hashable(schema["const"]))
            elif "enum" in schema:
                values |= {_hashable(value) for value in schema["enum"]}
            elif schema.get("type") == "null":
                values.add(None)
            else:
                return None
        return frozenset(values)

    def properties(self) -> tuple[dict[str, Schema], set[str]] | None:
        """The properties and required names of the object alternatives; None if it is not an object."""
        properties: dict[str, Schema] = {}
        required: set[str] = set()
        is_object = False
        for side in self.branches():
            if "properties" in side.schema or side.schema.get("type") == "object":
                is_object = True
                properties.update(side.schema.get("properties", {}))
                required |= set(side.schema.get("required", []))
        return (properties, required) if is_object else None

    def sub_schemas(self, keyword: str) -> list[_Side]:
        return [
            side.child(side.schema[keyword]) for side in self.branches() if isinstance(side.schema.get(keyword), dict)
        ]


def _compare(old: _Side, new: _Side, path: str, problems: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    where = f"'{path}'" if path else "the event"
    old_types, new_types = old.types(), new.types()
    if old_types != new_types:
        problems.append(f"type of {where} changed: {_show(old_types)} -> {_show(new_types)}")
        return
    old_values, new_values = old.values(), new.values()
    if old_values != new_values:
        problems.append(f"allowed values of {where} changed: {_show_values(old_values)} -> {_show_values(new_values)}")
    old_object, new_object = old.properties(), new.properties()
    if old_object is not None and new_object is not None:
        (old_properties, old_required), (new_properties, new_required) = old_object, new_object
        for name, old_property in old_properties.items():
            if name not in new_properties:
                problems.append(f"property '{_join(path, name)}' removed")
            else:
                _compare(
                    old.child(old_property), new.child(new_properties[name]), _join(path, name), problems, depth + 1
                )
        for name in sorted(new_required - old_required):
            if name in old_properties:
                problems.append(f"property '{_join(path, name)}' became required")
            else:
                problems.append(f"new required property '{_join(path, name)}'")
    for keyword, suffix in (("items", "[]"), ("additionalProperties", "{}")):
        for old_sub in old.sub_schemas(keyword):
            for new_sub in new.sub_schemas(keyword):
                _compare(old_sub, new_sub, path + suffix, problems, depth + 1)


def _resolve(schema: Schema, root: Schema) -> Schema:
    """Follows `$ref`s (local JSON pointers such as `#/$defs/Actor`); keywords beside a `$ref` win."""
    seen: set[str] = set()
    while isinstance(schema.get("$ref"), str):
        reference: str = schema["$ref"]
        if reference in seen or not reference.startswith("#"):
            break
        seen.add(reference)
        target: Any = root
        for part in reference[1:].split("/")[1:]:
            target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = {**target, **{key: value for key, value in schema.items() if key != "$ref"}}
    return schema


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(types: frozenset[str]) -> str:
    return " | ".join(sorted(types))


def _show_values(values: frozenset[Any] | None) -> str:
    return "any" if values is None else "{" + ", ".join(sorted(map(repr, values))) + "}"
