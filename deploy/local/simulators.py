"""The outside world a local stack stands in for, so that `make up` sends real SMS, emails and carrier orders over
the real protocols to something that keeps them: an SMS gateway simulator and an SMTP sink (see
`services/notification/simulators/`) and a carrier (`services/postal/simulators/`). The services of the stack are
pointed at them (`provider_environment`)."""

from __future__ import annotations

import os
import sys

import httpx

from deploy.local.part import Part
from deploy.local.process import REPO, spawn
from deploy.local.settings import StackSettings


def provider_environment(settings: StackSettings, service: str) -> dict[str, str]:
    """What points a service of the stack at the simulators it talks to."""
    ports = settings.ports
    gateway = f"http://127.0.0.1:{ports.sms_gateway}"
    return {
        "notification": {
            "NOTIFICATION_SMTP_PORT": str(ports.smtp_sink),
            "NOTIFICATION_SMS_BRANDNAME_URL": f"{gateway}/brandname",
            "NOTIFICATION_SMS_OTT_URL": f"{gateway}/ott",
            "NOTIFICATION_PUBLIC_URL": f"http://127.0.0.1:{ports.service('notification')}",
        },
        "postal": {"POSTAL_CARRIER_URL": f"http://127.0.0.1:{ports.carrier}"},
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
        env = {**os.environ, "CLOCK_CONTROL_FILE": str(self.settings.clock_file)}
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
