from datetime import time
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.notification.domain import Limits
from shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATION_", extra="ignore")

    service: ClassVar[str] = "notification"
    default_port: ClassVar[int] = 8003

    smtp_host: str = Field("127.0.0.1", description="SMTP relay that sends the emails (the local sink by default).")
    smtp_port: int = Field(8025, description="Port of the SMTP relay.")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        "none", description="`starttls` upgrades a plain connection, `tls` connects with TLS (port 465 usually)."
    )
    smtp_username: str | None = Field(None, description="SMTP user name, if the relay asks for authentication.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_timeout_s: float = Field(10, gt=0, description="How long one SMTP exchange may take.")
    email_sender: str = Field(
        "Một cửa liên thông <no-reply@lienthong.local>", description="The From of every email (name and address)."
    )
    message_id_domain: str = Field(
        "lienthong.local",
        description="Right-hand side of each email's Message-ID `<notification id@domain>`, fixed per notification "
        "so that a resent email is recognisable.",
    )
    sms_brandname_url: str = Field(
        "http://127.0.0.1:8026/brandname", description="Base URL of the SMS gateway speaking the brandname protocol."
    )
    sms_brandname_weight: int = Field(
        3, ge=0, description="Share of SMS sent first through the brandname gateway; 0 turns it off."
    )
    sms_brandname_api_key: SecretStr | None = Field(None, description="API key of the brandname gateway.")
    sms_brandname_receipt_secret: SecretStr | None = Field(
        None,
        min_length=16,
        description="Secret shared with the brandname gateway, which signs each delivery receipt with it "
        "(HMAC-SHA256 of the timestamp and raw body, in X-Lienthong-Signature). Unset: its receipts are refused (401).",
    )
    sms_ott_url: str = Field(
        "http://127.0.0.1:8026/ott", description="Base URL of the SMS gateway speaking the OTT/SMS protocol."
    )
    sms_ott_weight: int = Field(
        1, ge=0, description="Share of SMS sent first through the OTT/SMS gateway; 0 turns it off."
    )
    sms_ott_api_key: SecretStr | None = Field(None, description="API key of the OTT/SMS gateway.")
    sms_ott_receipt_secret: SecretStr | None = Field(
        None,
        min_length=16,
        description="Secret shared with the OTT/SMS gateway, which signs each delivery receipt with it "
        "(HMAC-SHA256 of the timestamp and raw body, in X-Lienthong-Signature). Unset: its receipts are refused (401).",
    )
    sms_sender: str = Field(
        "LIENTHONG", max_length=11, description="The registered brandname the SMS come from (at most 11 characters)."
    )
    sms_timeout_s: float = Field(5, gt=0, description="How long an SMS gateway may take to answer one send.")
    sms_failure_threshold: int = Field(
        3, ge=1, description="Technical failures in a row after which a gateway rests and the others take over."
    )
    sms_cool_down_s: float = Field(60, ge=0, description="How long a failing gateway rests before it is tried again.")
    sms_unaccented: bool = Field(
        True, description="Send Vietnamese SMS without diacritics (plain ASCII: 160 characters per SMS, not 70)."
    )
    public_url: str = Field(
        "http://127.0.0.1:8003", description="Address applicants reach notification at: the survey links use it."
    )
    survey_key: SecretStr | None = Field(
        None,
        description="Key that signs the survey links (HMAC-SHA256); by default one is made once and kept in the "
        "service's database.",
    )
    quiet_hours: str = Field(
        "21:00-07:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$",
        description="Local hours when optional messages wait (they are queued, never dropped).",
    )  # fmt: skip
    sms_per_hour: int = Field(5, ge=1, description="At most this many SMS to one number in an hour; more wait.")
    retry_delays_s: str = Field(
        "10,60,300,1800",
        description="Waits before each retry of a temporary or technical failure, in seconds; their count bounds "
        "the retries.",
    )
    stuck_send_s: float = Field(
        120, gt=0, description="A send still in flight after this long is taken for dead and sent again."
    )
    receipt_timeout_s: float = Field(
        72 * 3600, gt=0, description="An SMS accepted but without a delivery receipt after this long is a failure."
    )
    sender_interval_s: float = Field(1.0, gt=0, le=60, description="How often the sender looks for messages to send.")

    @field_validator("retry_delays_s")
    @classmethod
    def _delays_are_seconds(cls, value: str) -> str:
        if not all(part.strip().replace(".", "", 1).isdigit() for part in value.split(",")):
            raise ValueError("give the waits in seconds, separated by commas: 10,60,300")
        return value

    def receipt_secret(self, provider: Literal["brandname", "ott"]) -> SecretStr | None:
        """The secret a gateway signs its delivery receipts with."""
        return {"brandname": self.sms_brandname_receipt_secret, "ott": self.sms_ott_receipt_secret}[provider]

    def limits(self) -> Limits:
        start, end = self.quiet_hours.split("-")
        return Limits(
            quiet_from=time.fromisoformat(start),
            quiet_until=time.fromisoformat(end),
            sms_per_hour=self.sms_per_hour,
            retry_delays_s=tuple(float(s) for s in self.retry_delays_s.split(",") if s.strip()),
        )
