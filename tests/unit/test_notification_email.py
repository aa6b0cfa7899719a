"""The email as it goes on the wire: a long Vietnamese subject survives folding into encoded words, a Vietnamese
sender name is encoded, and both alternatives arrive in UTF-8."""

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from uuid import uuid4

from services.notification.providers.email import build_email
from services.notification.templates import RenderedEmail

SUBJECT = "Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ H29.101.1-261202-01311515"


def test_a_long_vietnamese_subject_keeps_every_space_once_folded() -> None:
    content = RenderedEmail("dossier-apology-issued", 1, True, subject=SUBJECT,
                            text="Kính gửi ông Lê Văn An,\n", html="<p>Kính gửi ông Lê Văn An,</p>\n")  # fmt: skip
    raw = build_email(content, notification_id=uuid4(), sender="Một cửa <no-reply@lienthong.local>",
                          recipient="an@example.org", domain="lienthong.local", sent_at=datetime.now(UTC))  # fmt: skip
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in headers.split(b"\r\n")), "folded, as RFC 5322 asks"
    assert headers.isascii()
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["Subject"] == SUBJECT
    assert (parsed["From"].addresses[0].display_name, parsed["From"].addresses[0].addr_spec) == (
        "Một cửa",
        "no-reply@lienthong.local",
    )
    assert isinstance(parsed, EmailMessage)
    bodies = {kind: parsed.get_body(preferencelist=(kind,)) for kind in ("plain", "html")}
    assert {kind: body.get_content() if body else None for kind, body in bodies.items()} == {
        "plain": "Kính gửi ông Lê Văn An,\n",
        "html": "<p>Kính gửi ông Lê Văn An,</p>\n",
    }
