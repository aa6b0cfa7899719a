from typing import ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

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
    sms_ott_url: str = Field(
        "http://127.0.0.1:8026/ott", description="Base URL of the SMS gateway speaking the OTT/SMS protocol."
    )
    sms_ott_weight: int = Field(
        1, ge=0, description="Share of SMS sent first through the OTT/SMS gateway; 0 turns it off."
    )
    sms_ott_api_key: SecretStr | None = Field(None, description="API key of the OTT/SMS gateway.")
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
