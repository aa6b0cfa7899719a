"""Which SMS gateway sends a message: weighted priority between the configured gateways, failover after errors.

The rule, in full:
- Each send tries the gateways in a weighted random order: a gateway of weight w comes first with probability
  w / (sum of the weights), e.g. brandname three sends in four at 3:1.
- A technical or temporary failure moves on to the next gateway; an acceptance or a permanent failure (a number
  that does not exist, whichever gateway is asked) ends the send. So does an *uncertain* failure: the gateway
  may have sent the message, and only that gateway can recognise its idempotency key when it is retried.
- A gateway that failed technically `failure_threshold` times in a row rests for `cool_down_s`: it is skipped
  while another gateway is awake, and when all rest, all are tried in order of weight. Any answer that is not a
  technical failure resets its count.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx
import structlog

from services.notification.providers import ProviderMetrics, SendOutcome, SendResult
from services.notification.providers.sms import DeliveryReceipt, SmsClient, SmsRequest, brandname, ott
from services.notification.settings import NotificationSettings

log = structlog.get_logger(__name__)

PROTOCOLS: dict[str, type[SmsClient]] = {"brandname": brandname.BrandnameSmsClient, "ott": ott.OttSmsClient}
RECEIPT_PARSERS: dict[str, Callable[[bytes | str], DeliveryReceipt]] = {
    "brandname": brandname.parse_receipt,
    "ott": ott.parse_receipt,
}
_FAIL_OVER = (SendOutcome.TECHNICAL_FAILURE, SendOutcome.TEMPORARY_FAILURE)


@dataclass
class _Gateway:
    client: SmsClient
    weight: int
    failures_in_a_row: int = 0
    resting_until: float = float("-inf")


class SmsProviders:
    def __init__(
        self,
        weighted: Sequence[tuple[SmsClient, int]],
        *,
        failure_threshold: int = 3,
        cool_down_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._gateways = [_Gateway(client, weight) for client, weight in weighted if weight > 0]
        if not self._gateways:
            raise ValueError("no SMS gateway has a weight above 0")
        self._failure_threshold = failure_threshold
        self._cool_down_s = cool_down_s
        self._clock = clock
        self._rng = rng or random.Random()

    def order(self) -> list[SmsClient]:
        """The gateways to try for the next send, first first."""
        now = self._clock()
        awake = [gateway for gateway in self._gateways if gateway.resting_until <= now]
        if not awake:
            return [gateway.client for gateway in sorted(self._gateways, key=lambda g: -g.weight)]
        # Weighted sampling without replacement (Efraimidis and Spirakis): each key is u ** (1 / weight).
        keys = {id(gateway): self._rng.random() ** (1 / gateway.weight) for gateway in awake}
        return [gateway.client for gateway in sorted(awake, key=lambda g: -keys[id(g)])]

    async def send_sms(
        self, request: SmsRequest, only: str | None = None, before_each: Callable[[str], Awaitable[None]] | None = None
    ) -> SendResult:
        """Send through the first gateway that takes it; the result of the last one tried otherwise. `only` names
        the gateway of an uncertain earlier try: it alone can recognise the idempotency key. `before_each` hears the
        name of each gateway before it is called, so that a caller can record where a send may have gone."""
        result: SendResult | None = None
        clients = self.order()
        if only is not None:
            clients = [c for c in clients if c.name == only] or clients
        for client in clients:
            if before_each is not None:
                await before_each(client.name)
            result = await client.send_sms(request)
            self._record(client, result)
            if result.outcome not in _FAIL_OVER or result.uncertain:
                return result
        assert result is not None  # order() is never empty
        return result

    def _record(self, client: SmsClient, result: SendResult) -> None:
        gateway = next(gateway for gateway in self._gateways if gateway.client is client)
        if result.outcome is not SendOutcome.TECHNICAL_FAILURE:
            gateway.failures_in_a_row = 0
            return
        gateway.failures_in_a_row += 1
        if gateway.failures_in_a_row >= self._failure_threshold:
            gateway.resting_until = self._clock() + self._cool_down_s
            gateway.failures_in_a_row = 0
            log.warning("sms.gateway-resting", provider=client.name, cool_down_s=self._cool_down_s)


@asynccontextmanager
async def sms_providers(settings: NotificationSettings, metrics: ProviderMetrics) -> AsyncIterator[SmsProviders]:
    """The configured gateways, each with its own HTTP client (closed on exit)."""
    configured = [
        ("brandname", settings.sms_brandname_url, settings.sms_brandname_weight, settings.sms_brandname_api_key),
        ("ott", settings.sms_ott_url, settings.sms_ott_weight, settings.sms_ott_api_key),
    ]
    async with AsyncExitStack() as stack:
        weighted: list[tuple[SmsClient, int]] = []
        for protocol, url, weight, api_key in configured:
            if weight == 0:
                continue
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=settings.sms_timeout_s))
            key = api_key.get_secret_value() if api_key else ""
            client = PROTOCOLS[protocol](http, api_key=key, sender=settings.sms_sender, metrics=metrics)
            weighted.append((client, weight))
        yield SmsProviders(
            weighted, failure_threshold=settings.sms_failure_threshold, cool_down_s=settings.sms_cool_down_s
        )
