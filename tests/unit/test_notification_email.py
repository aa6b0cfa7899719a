"""The email as it goes on the wire: a long Vietnamese subject survives folding into encoded words."""

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from uuid import uuid4

from services.notification.providers.email import SMTP_POLICY, build_email
from services.notification.templates import RenderedEmail

SUBJECT = "Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ H29.101.1-261202-01311515"


def test_a_long_vietnamese_subject_keeps_every_space_once_folded() -> None:
    content = RenderedEmail("dossier-apology-issued", 1, True, subject=SUBJECT, text="x", html="<p>x</p>")
    message = build_email(content, notification_id=uuid4(), sender="Một cửa <no-reply@lienthong.local>",
                          recipient="an@example.org", domain="lienthong.local", sent_at=datetime.now(UTC))  # fmt: skip
    raw = message.as_bytes(policy=SMTP_POLICY)
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in headers.split(b"\r\n")), "folded, as RFC 5322 asks"
    assert headers.isascii()
    assert BytesParser(policy=policy.default).parsebytes(raw)["Subject"] == SUBJECT
