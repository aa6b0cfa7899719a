"""Which placeholders of a Jinja template name nothing its context holds, found before any message is sent.

The context of a template is typed: each name maps to its annotation (an event model's field, `str`...). The
check follows attribute chains into pydantic models (`procedure.title`, `item.document_title` inside
`{% for item in items %}`), so a misspelt field fails when the templates load, not when an applicant's message
is rendered. Attributes of anything that is not a model (a string's methods, a loop's `loop.last`) are not
checked.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from typing import Any, Union, get_args, get_origin

from jinja2 import nodes
from pydantic import BaseModel

UNCHECKED: Any = object()
"""The type of a name whose attributes are not checked."""


def unknown_placeholders(template: nodes.Template, context: Mapping[str, Any]) -> list[str]:
    """The dotted names the template uses that `context` (name -> annotation) does not define, in order."""
    checker = _Checker()
    checker.visit(template, dict(context))
    return list(dict.fromkeys(checker.unknown))


class _Checker:
    def __init__(self) -> None:
        self.unknown: list[str] = []

    def visit(self, node: nodes.Node, scope: dict[str, Any]) -> None:
        if isinstance(node, nodes.For):
            self.visit(node.iter, scope)
            item = _element_of(self.resolve(node.iter, scope))
            targets = [node.target, *node.target.find_all(nodes.Name)]  # `item`, or each name of `a, b`
            bound = {target.name: item for target in targets if isinstance(target, nodes.Name)}
            inner = {**scope, "loop": UNCHECKED, **bound}
            for child in [*node.body, *node.else_, *([node.test] if node.test else [])]:
                self.visit(child, inner)
        elif isinstance(node, nodes.Name | nodes.Getattr):
            self.resolve(node, scope)
        else:
            for child in node.iter_child_nodes():
                self.visit(child, scope)

    def resolve(self, node: nodes.Node, scope: dict[str, Any]) -> Any:
        """The annotation of the value `node` names, recording what is unknown on the way."""
        if isinstance(node, nodes.Name):
            if node.name not in scope:
                self.unknown.append(node.name)
                return UNCHECKED
            return scope[node.name]
        if isinstance(node, nodes.Getattr):
            model = _model_of(self.resolve(node.node, scope))
            if model is None:
                return UNCHECKED
            field = model.model_fields.get(node.attr)
            if field is None:
                self.unknown.append(_dotted(node))
                return UNCHECKED
            return field.annotation
        self.visit(node, scope)
        return UNCHECKED


def _without_none(annotation: Any) -> Any:
    """`X | None` -> `X`: an optional field has the attributes of its type when present."""
    if get_origin(annotation) in (Union, types.UnionType):
        present = [arg for arg in get_args(annotation) if arg is not type(None)]
        return present[0] if len(present) == 1 else UNCHECKED
    return annotation


def _model_of(annotation: Any) -> type[BaseModel] | None:
    candidate = _without_none(annotation)
    return candidate if isinstance(candidate, type) and issubclass(candidate, BaseModel) else None


def _element_of(annotation: Any) -> Any:
    """The annotation of one element of a list field, for the target of a `for` loop."""
    candidate = _without_none(annotation)
    origin = get_origin(candidate)
    if isinstance(origin, type) and issubclass(origin, Sequence) and get_args(candidate):
        return get_args(candidate)[0]
    return UNCHECKED


def _dotted(node: nodes.Node) -> str:
    if isinstance(node, nodes.Getattr):
        return f"{_dotted(node.node)}.{node.attr}"
    return node.name if isinstance(node, nodes.Name) else "<expression>"
