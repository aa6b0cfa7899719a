"""The outside parties that carry messages to applicants (SMS gateways, an SMTP relay), each behind a small
client. They share one vocabulary: every send ends in one of four outcomes, and the metrics of all of them go
to one registry that the composition root gives (never the process-wide default)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Histogram


class SendOutcome(StrEnum):
    """What a provider made of a message, as far as retrying is concerned."""

    ACCEPTED = "accepted"  # taken for delivery; a delivery receipt may follow
    PERMANENT_FAILURE = "permanent-failure"  # the recipient cannot be reached: retrying will not help
    TEMPORARY_FAILURE = "temporary-failure"  # the recipient may be reachable later (phone off, mailbox full)
    TECHNICAL_FAILURE = "technical-failure"  # our side or the provider's: outage, credentials, rate limit


@dataclass(frozen=True)
class SendResult:
    provider: str
    outcome: SendOutcome
    provider_reference: str | None = None  # the provider's id of the accepted message
    failure_code: str | None = None  # why it failed, never with recipient data
    # The call failed after the request may have reached the provider (a timeout while waiting for the answer):
    # it may have been sent. Retried, it must go to the same provider with the same idempotency key.
    uncertain: bool = False
    elapsed_s: float = 0.0


@dataclass
class ProviderMetrics:
    registry: CollectorRegistry

    def __post_init__(self) -> None:
        r = self.registry
        self.sends = Counter(
            "lienthong_provider_sends",
            "Messages handed to a provider, by channel, provider and outcome",
            ["channel", "provider", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "lienthong_provider_send_seconds", "Time a provider took to answer", ["channel", "provider"], registry=r
        )
        self.uncertain = Counter(
            "lienthong_provider_uncertain_sends",
            "Failed sends that the provider may nevertheless have accepted",
            ["channel", "provider"],
            registry=r,
        )

    def observe(self, channel: str, result: SendResult) -> None:
        self.sends.labels(channel, result.provider, result.outcome.value).inc()
        self.latency.labels(channel, result.provider).observe(result.elapsed_s)
        if result.uncertain:
            self.uncertain.labels(channel, result.provider).inc()
