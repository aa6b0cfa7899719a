"""The outside world a local stack stands in for, so that `make up` sends real SMS, emails and carrier orders over
the real protocols to something that keeps them: an SMS gateway simulator and an SMTP sink (see
`services/notification/simulators/`) and a carrier (`services/postal/simulators/`). The services of the stack are
pointed at them (`provider_environment`), and each side of a signed callback gets the same secret."""

from __future__ import annotations

import json
import os
import secrets
import sys

import httpx

from deploy.local.part import Part
from deploy.local.process import REPO, spawn
from deploy.local.settings import StackSettings

# The secrets a simulator signs its callbacks with, by simulator: the variables it and the service both read.
CALLBACK_SECRETS = {
    "sms-gateway": ("NOTIFICATION_SMS_BRANDNAME_RECEIPT_SECRET", "NOTIFICATION_SMS_OTT_RECEIPT_SECRET"),
    "carrier": ("POSTAL_CARRIER_WEBHOOK_SECRET",),
}


def callback_secrets(settings: StackSettings, simulator: str) -> dict[str, str]:
    """The secrets of one simulator's callbacks, made at random for the stack's first start and kept in its home, so
    that a service or simulator started again alone still agrees with the other side."""
    path = settings.root / "callback-secrets.json"
    kept: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = [name for names in CALLBACK_SECRETS.values() for name in names]
    if not set(wanted) <= set(kept):
        kept = {name: kept.get(name) or secrets.token_hex(32) for name in wanted}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(kept, indent=2) + "\n")
    return {name: kept[name] for name in CALLBACK_SECRETS.get(simulator, ())}


def provider_environment(settings: StackSettings, service: str) -> dict[str, str]:
    """What points a service of the stack at the simulators it talks to, and checks their callbacks."""
    ports = settings.ports
    gateway = f"http://127.0.0.1:{ports.sms_gateway}"
    return {
        "notification": {
            "NOTIFICATION_SMTP_PORT": str(ports.smtp_sink),
            "NOTIFICATION_SMS_BRANDNAME_URL": f"{gateway}/brandname",
            "NOTIFICATION_SMS_OTT_URL": f"{gateway}/ott",
            "NOTIFICATION_PUBLIC_URL": f"http://127.0.0.1:{ports.service('notification')}",
            **callback_secrets(settings, "sms-gateway"),
        },
        "postal": {"POSTAL_CARRIER_URL": f"http://127.0.0.1:{ports.carrier}", **callback_secrets(settings, "carrier")},
    }.get(service, {})


class SimulatorPart(Part):
    def __init__(self, settings: StackSettings, name: str, port: int, arguments: list[str], messages_url: str) -> None:
        """`messages_url` lists what the simulator received: it answers once the simulator is ready."""
        super().__init__(settings)
        self.name = name
        package = "postal" if name == "carrier" else "notification"
        self.marker = f"services.{package}.simulators.{name.replace('-', '_')}"
        self._port = port
        self.arguments = arguments
        self.messages_url = messages_url

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def launch(self) -> None:
        command = [sys.executable, "-m", self.marker, *self.arguments]
        env = {**os.environ, "CLOCK_CONTROL_FILE": str(self.settings.clock_file),
               **callback_secrets(self.settings, self.name)}  # fmt: skip
        spawn(command, env=env, log_file=self.log_file, pid_file=self.pid_file, cwd=REPO)

    def is_ready(self) -> bool:
        try:
            return httpx.get(self.messages_url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


def simulators(settings: StackSettings) -> list[SimulatorPart]:
    ports = settings.ports
    receipts = f"http://127.0.0.1:{ports.service('notification')}/receipts"
    gateway = f"http://127.0.0.1:{ports.sms_gateway}"
    return [
        SimulatorPart(settings, "sms-gateway", ports.sms_gateway,
                      ["--port", str(ports.sms_gateway), "--callback-url", receipts], f"{gateway}/_sim/messages"),
        SimulatorPart(settings, "smtp-sink", ports.smtp_sink,
                      ["--smtp-port", str(ports.smtp_sink), "--http-port", str(ports.smtp_sink_http)],
                      f"http://127.0.0.1:{ports.smtp_sink_http}/messages"),
        # The carrier moves its shipments on the stack's shared clock (CLOCK_CONTROL_FILE, in the environment).
        SimulatorPart(settings, "carrier", ports.carrier,
                      ["--port", str(ports.carrier), "--stage-s", "60",
                       "--callback-url", f"http://127.0.0.1:{ports.service('postal')}/carrier/webhooks"],
                      f"http://127.0.0.1:{ports.carrier}/_sim/orders"),
    ]  # fmt: skip
