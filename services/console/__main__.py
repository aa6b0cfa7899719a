"""`python -m services.console`: the console's composition root."""

from types import FrameType

import uvicorn
from prometheus_client import CollectorRegistry

from services.console.app import Console, build_console
from services.console.settings import ConsoleSettings
from shared.clock import ClockSettings, clock_from
from shared.identity.settings import IdentitySettings
from shared.logging import configure_logging

# Open event streams are ended at a stop; one that still hangs on is closed after this long rather than waited for.
GRACEFUL_SHUTDOWN_S = 3


class ConsoleServer(uvicorn.Server):
    """uvicorn, which on SIGTERM or SIGINT also ends the console's event streams: they never end by themselves, and
    uvicorn waits for every open connection before it stops."""

    def __init__(self, config: uvicorn.Config, console: Console) -> None:
        super().__init__(config)
        self.console = console

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self.console.stopping()


if __name__ == "__main__":
    settings = ConsoleSettings()
    configure_logging(settings.log, service=settings.service)
    app = build_console(settings, IdentitySettings(), clock_from(ClockSettings()), CollectorRegistry())
    config = uvicorn.Config(app, host=settings.host, port=settings.http_port, log_config=None, access_log=False,
                            lifespan="on", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)  # fmt: skip
    ConsoleServer(config, app.state.console).run()
