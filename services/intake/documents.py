"""The printable documents of the desk (Circular 01/2018 forms) and the public tracking page, as HTML that
prints on A4. Jinja2 escapes every value; the QR code (segno) is inline SVG, so the page needs no other file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)
FORMS = {
    "slip": ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "Mẫu số 01"),
    "supplement": ("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", "Mẫu số 02"),
    "refusal": ("PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", "Mẫu số 03"),
    "tracking": ("TRA CỨU TIẾN ĐỘ GIẢI QUYẾT HỒ SƠ", "Một cửa liên thông"),
}


def render(form: str, **values: Any) -> str:
    title, form_name = FORMS[form]
    return TEMPLATES.get_template(f"{form}.html").render(title=title, form=form_name, **values)


def qr_svg(url: str) -> str:
    return str(segno.make(url, error="m").svg_inline(scale=4, border=2))
