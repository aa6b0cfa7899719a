"""The messages applicants receive, per lifecycle event, channel and language, rendered from versioned templates.

    templates = load_templates()          # every check happens here (template_files.py)
    sms = templates.render("dossier.accepted", "sms", "vi", event, contact, dossier_code=code, unaccented=True)
    email = templates.render("dossier.accepted", "email", "en", event, contact, dossier_code=code)

Rendering is pure: the event's data, the contact record and the dossier code (the envelope's subject: most
routing and postal events do not repeat it) go in, a message comes out. Vietnamese first, English on request;
an SMS can be unaccented (plain ASCII, a third of the price of a Unicode SMS) and never holds a personal ID
number. Whether the applicant may opt out of a message is data of its template (`mandatory`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, overload

import jinja2
from markupsafe import Markup

from services.notification import text as wording
from services.notification.template_files import (
    LAYOUT_CONTEXT,
    MessageTemplate,
    SharedFile,
    TemplateError,
    compile_part,
    compile_template,
    environments,
    read_yaml,
)
from shared.events.catalogue import EventData, spec_for
from shared.events.catalogue.contacts import ContactRecorded

__all__ = ["RenderedEmail", "RenderedSms", "TemplateError", "Templates", "default_templates", "load_templates"]

TEMPLATES_DIR = Path(__file__).with_name("templates")
Channel = Literal["sms", "email"]


@dataclass(frozen=True)
class RenderedSms:
    template: str  # the template's code, e.g. dossier-accepted
    version: int
    mandatory: bool
    text: str


@dataclass(frozen=True)
class RenderedEmail:
    template: str
    version: int
    mandatory: bool
    subject: str
    text: str
    html: str


class Templates:
    """Every template, compiled and checked; one per event type that the applicant is told about."""

    def __init__(self, by_event_type: Mapping[str, MessageTemplate], layout: jinja2.Template, shared: SharedFile):
        self._by_event_type = dict(by_event_type)
        self._layout = layout
        self._footer = shared.email_footer

    def event_types(self) -> list[str]:
        return sorted(self._by_event_type)

    def template_for(self, event_type: str) -> MessageTemplate:
        try:
            return self._by_event_type[event_type]
        except KeyError:
            raise TemplateError(f"no template tells the applicant about {event_type!r}") from None

    def is_mandatory(self, event_type: str) -> bool:
        """Whether the applicant receives it even after opting out of optional messages."""
        return self.template_for(event_type).mandatory

    @overload
    def render(
        self, event_type: str, channel: Literal["sms"], language: wording.Language, data: EventData,
        contact: ContactRecorded, *, dossier_code: str, unaccented: bool = ..., extras: Mapping[str, str] | None = ...,
    ) -> RenderedSms: ...  # fmt: skip

    @overload
    def render(
        self, event_type: str, channel: Literal["email"], language: wording.Language, data: EventData,
        contact: ContactRecorded, *, dossier_code: str, unaccented: bool = ..., extras: Mapping[str, str] | None = ...,
    ) -> RenderedEmail: ...  # fmt: skip

    def render(
        self,
        event_type: str,
        channel: Channel,
        language: wording.Language,
        data: EventData,
        contact: ContactRecorded,
        *,
        dossier_code: str,
        unaccented: bool = False,
        extras: Mapping[str, str] | None = None,
    ) -> RenderedSms | RenderedEmail:
        """The message about `data` (an event of `event_type`) for `contact`. `unaccented` applies to SMS;
        `extras` gives what the template needs beyond the event (`survey_url`)."""
        template = self.template_for(event_type)
        spec = spec_for(event_type)
        if spec is None or not isinstance(data, spec.model):
            raise TemplateError(f"{template.code}: expects the data of {event_type}, got {type(data).__name__}")
        missing = template.extras - set(extras or {})
        if missing:
            raise TemplateError(f"{template.code}: needs {sorted(missing)} besides the event")
        context: dict[str, Any] = {name: getattr(data, name) for name in type(data).model_fields}
        context |= {"dossier_code": dossier_code, "applicant_name": contact.full_name, "language": language}
        context |= dict(extras or {})

        def part(name: Literal["sms", "subject", "text", "html"]) -> str:
            return template.parts[language, name].render(context)

        if channel == "sms":
            sms = wording.single_line(wording.mask_personal_ids(part("sms")))
            return RenderedSms(
                template.code, template.version, template.mandatory, wording.unaccented(sms) if unaccented else sms
            )
        subject = wording.single_line(part("subject"))
        footer = self._footer[language]
        html = self._layout.render(body=Markup(part("html")), subject=subject, footer=footer, language=language)
        return RenderedEmail(
            template.code,
            template.version,
            template.mandatory,
            subject=subject,
            text=f"{part('text').strip()}\n\n-- \n{footer}\n",
            html=html,
        )


def load_templates(directory: Path = TEMPLATES_DIR) -> Templates:
    """Every template of `directory`, checked; raises TemplateError naming the file at fault."""
    shared: SharedFile = read_yaml(directory / "_shared.yaml", SharedFile)
    environment_for = environments(shared)
    by_event_type: dict[str, MessageTemplate] = {}
    for path in sorted(directory.glob("[!_]*.yaml")):
        template = compile_template(path, environment_for)
        if template.event_type in by_event_type:
            other = by_event_type[template.event_type].code
            raise TemplateError(f"{path.name}: {template.event_type} already has a template ({other}.yaml)")
        by_event_type[template.event_type] = template
    layout_path = directory / "_layout.html"
    try:
        layout_source = layout_path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateError(f"{layout_path.name}: {error}") from error
    layout, _ = compile_part(environment_for[True], layout_source, LAYOUT_CONTEXT, layout_path.name)
    return Templates(by_event_type, layout, shared)


@cache
def default_templates() -> Templates:
    """The templates shipped with the service, loaded once per process."""
    return load_templates()
