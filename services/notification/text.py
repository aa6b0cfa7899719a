"""Small pure functions that shape the text of a message: Vietnamese without diacritics for cheap SMS, the
personal ID number kept out of an SMS, and dates and amounts as an applicant reads them (Vietnam time)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Literal

from shared.calendar.zone import local

Language = Literal["vi", "en"]

# Đ and đ are letters of their own in Unicode, not D with a mark: NFKD leaves them as they are.
_LETTERS_WITHOUT_DECOMPOSITION = str.maketrans({"đ": "d", "Đ": "D"})
# Punctuation that a staff member's free text (a reason, a title) may hold and that has no ASCII decomposition:
# en and em dashes, curly quotes, guillemets.
_TYPOGRAPHY = str.maketrans(
    dict.fromkeys("\u2013\u2014", "-")
    | dict.fromkeys("\u2018\u2019", "'")
    | dict.fromkeys("\u201c\u201d\u00ab\u00bb", '"')
)
# A personal ID number (số định danh cá nhân) is 12 digits; none belongs in an SMS (domain.md, "Notifications").
_PERSONAL_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")
PERSONAL_ID_MASK = "(***)"  # GSM 7-bit basic characters only: one septet each


def unaccented(text: str) -> str:
    """The text in plain ASCII: Vietnamese letters lose their diacritics (`Hồ sơ đã được tiếp nhận` ->
    `Ho so da duoc tiep nhan`), typographic punctuation becomes its ASCII look-alike, anything else `?`."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS_WITHOUT_DECOMPOSITION))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.translate(_TYPOGRAPHY).encode("ascii", "replace").decode("ascii")


def mask_personal_ids(text: str) -> str:
    """The text with every 12-digit number masked: a reason typed by staff could quote an ID number."""
    return _PERSONAL_ID.sub(PERSONAL_ID_MASK, text)


def single_line(text: str) -> str:
    """An SMS is one line: template line breaks and indentation collapse to single spaces."""
    return " ".join(text.split())


def local_datetime(moment: datetime, language: Language) -> str:
    """`08:15 ngày 09/03/2026` / `09/03/2026 08:15 (Vietnam time)`: instants travel in UTC, applicants live in
    Asia/Ho_Chi_Minh."""
    wall = local(moment)
    if language == "vi":
        return f"{wall:%H:%M} ngày {wall:%d/%m/%Y}"
    return f"{wall:%d/%m/%Y %H:%M} (Vietnam time)"


def local_date(day: date | datetime) -> str:
    """`06/03/2026`; an instant is first moved to Vietnam time, so that its day is the applicant's day."""
    return f"{local(day) if isinstance(day, datetime) else day:%d/%m/%Y}"


def money(amount_vnd: int, language: Language) -> str:
    """`50.000 đồng` / `VND 50,000`: each language groups thousands its own way."""
    grouped = f"{amount_vnd:,}"
    if language == "vi":
        return f"{grouped.replace(',', '.')} đồng"
    return f"VND {grouped}"
