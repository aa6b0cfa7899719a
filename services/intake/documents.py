"""The printable documents of the desk (Circular 01/2018 forms) and the public tracking page. The QR code (segno)
is inline SVG, so a page needs no other file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import segno

from shared.printing import PrintedForms

FORMS = PrintedForms(
    Path(__file__).parent / "templates",
    {
        "slip": ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "Mẫu số 01"),
        "supplement": ("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", "Mẫu số 02"),
        "refusal": ("PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", "Mẫu số 03"),
        "tracking": ("TRA CỨU TIẾN ĐỘ GIẢI QUYẾT HỒ SƠ", "Một cửa liên thông"),
    },
)


def render(form: str, **values: Any) -> str:
    return FORMS.render(form, **values)


def qr_svg(url: str) -> str:
    return str(segno.make(url, error="m").svg_inline(scale=4, border=2))
