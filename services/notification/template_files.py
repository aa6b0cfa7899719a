"""Reading the template files of `services/notification/templates/` and compiling them, with every check made
at load: the file's shape, its event type in the catalogue, the Jinja syntax and filters, and every placeholder
against the context the event gives (placeholders.py). A broken file stops the load with its name and the fault.

One YAML file per event type (`dossier-accepted.yaml`): its version, whether the message is mandatory (the
applicant may opt out of the others), and per language the SMS and the email's subject, text and HTML body.
`_shared.yaml` holds the labels of coded values and the email footer; `_layout.html` wraps every HTML body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import jinja2
import yaml
from jinja2 import meta
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.notification import text as wording
from services.notification.placeholders import unknown_placeholders
from shared.events.catalogue import spec_for
from shared.events.catalogue.common import Problem, ReturnChannel
from shared.events.catalogue.routing import DossierResultReady, ObligationItem

LANGUAGES: tuple[wording.Language, ...] = ("vi", "en")
Part = Literal["sms", "subject", "text", "html"]

# What a template may use besides its event's fields: the envelope's subject, the contact record's name, and the
# values the caller computes (the survey link is signed by notification, not carried by any event).
COMMON_CONTEXT: dict[str, Any] = {"dossier_code": str, "applicant_name": str, "language": str}
EXTRAS: dict[str, Any] = {"survey_url": str}
LAYOUT_CONTEXT: dict[str, Any] = {"body": str, "subject": str, "footer": str, "language": str}

# Coded values a template shows through the `label` filter: each needs a label in every language.
LABELLED_VALUES: tuple[str, ...] = (
    *Problem,
    *ReturnChannel,
    *get_args(DossierResultReady.model_fields["decision"].annotation),
    *get_args(ObligationItem.model_fields["kind"].annotation),
)


class TemplateError(ValueError):
    """A template file is broken, or a message cannot be rendered from it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmailParts(_Strict):
    subject: str = Field(min_length=1)
    text: str = Field(min_length=1)
    html: str = Field(min_length=1)


class LanguageParts(_Strict):
    sms: str = Field(min_length=1)
    email: EmailParts


class TemplateFile(_Strict):
    event_type: str
    version: int = Field(ge=1)
    mandatory: bool
    vi: LanguageParts
    en: LanguageParts


class SharedFile(_Strict):
    labels: dict[wording.Language, dict[str, str]]
    email_footer: dict[wording.Language, str]


@dataclass(frozen=True)
class MessageTemplate:
    """The compiled template of one event type."""

    code: str
    event_type: str
    version: int
    mandatory: bool
    parts: Mapping[tuple[wording.Language, Part], jinja2.Template]
    extras: frozenset[str]


def read_yaml(path: Path, model: type[_Strict]) -> Any:
    try:
        return model.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as error:
        faults = "; ".join(f"{'.'.join(map(str, fault['loc']))}: {fault['msg']}" for fault in error.errors())
        raise TemplateError(f"{path.name}: {faults}") from error
    except (OSError, yaml.YAMLError) as error:
        raise TemplateError(f"{path.name}: {error}") from error


def environments(shared: SharedFile) -> dict[bool, jinja2.Environment]:
    """The Jinja environments, keyed by autoescape: on for HTML, off for SMS and plain text."""
    missing = {lang: sorted(set(LABELLED_VALUES) - set(shared.labels.get(lang, {}))) for lang in LANGUAGES}
    if any(missing.values()) or set(shared.email_footer) != set(LANGUAGES):
        raise TemplateError(f"_shared.yaml: labels missing {missing}, or a language without an email_footer")

    def language_aware(format_value: Callable[[Any, wording.Language], str]) -> Callable[..., str]:
        return jinja2.pass_context(lambda context, value: format_value(value, context["language"]))

    def label(value: Any, language: wording.Language) -> str:
        try:
            return shared.labels[language][str(value)]
        except KeyError:
            raise TemplateError(f"_shared.yaml: no {language} label for {value!r}") from None

    filters = {
        "local_datetime": language_aware(wording.local_datetime),
        "local_date": wording.local_date,
        "money": language_aware(wording.money),
        "label": language_aware(label),
    }
    made = {}
    for autoescape in (False, True):
        environment = jinja2.Environment(
            undefined=jinja2.StrictUndefined, autoescape=autoescape, trim_blocks=True, lstrip_blocks=True
        )
        environment.filters.update(filters)
        made[autoescape] = environment
    return made


def compile_part(
    environment: jinja2.Environment, source: str, context: Mapping[str, Any], where: str
) -> tuple[jinja2.Template, set[str]]:
    """The compiled part and the top-level names it uses; refuses bad syntax and unknown placeholders."""
    try:
        tree = environment.parse(source)
        compiled = environment.from_string(source)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"{where}: line {error.lineno}: {error.message}") from error
    unknown = unknown_placeholders(tree, context)
    if unknown:
        raise TemplateError(f"{where}: unknown placeholder(s) {unknown}; known: {sorted(context)}")
    return compiled, meta.find_undeclared_variables(tree)


def compile_template(path: Path, environment_for: Mapping[bool, jinja2.Environment]) -> MessageTemplate:
    declared: TemplateFile = read_yaml(path, TemplateFile)
    spec = spec_for(declared.event_type)
    if spec is None:
        raise TemplateError(f"{path.name}: event type {declared.event_type!r} is not in the event catalogue")
    context = {name: field.annotation for name, field in spec.model.model_fields.items()}
    context |= COMMON_CONTEXT | EXTRAS
    parts: dict[tuple[wording.Language, Part], jinja2.Template] = {}
    used: set[str] = set()
    for language in LANGUAGES:
        given: LanguageParts = getattr(declared, language)
        sources: dict[Part, str] = {
            "sms": given.sms,
            "subject": given.email.subject,
            "text": given.email.text,
            "html": given.email.html,
        }
        for part, source in sources.items():
            where = f"{path.name}: {language}.{part}"
            parts[language, part], names = compile_part(environment_for[part == "html"], source, context, where)
            used |= names
    return MessageTemplate(
        code=path.stem,
        event_type=declared.event_type,
        version=declared.version,
        mandatory=declared.mandatory,
        parts=parts,
        extras=frozenset(used & set(EXTRAS)),
    )
