"""Printable forms (Circular 01/2018's Mẫu 01 to 05) as HTML that prints on A4. Every service's forms extend one
base page (`templates/base.html`: the national heading, the title and the form number); Jinja2 escapes every value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from shared.calendar.zone import local_text

BASE_TEMPLATES = Path(__file__).parent / "templates"


class PrintedForms:
    """The forms of one service: `forms` maps a template name to its printed title and form number."""

    def __init__(self, folder: Path, forms: dict[str, tuple[str, str]]) -> None:
        self.forms = forms
        self.environment = Environment(
            loader=ChoiceLoader([FileSystemLoader(folder), FileSystemLoader(BASE_TEMPLATES)]),
            autoescape=select_autoescape(["html"]),
        )
        self.environment.filters["local"] = local_text

    def render(self, form: str, **values: Any) -> str:
        title, form_number = self.forms[form]
        return self.environment.get_template(f"{form}.html").render(title=title, form=form_number, **values)
