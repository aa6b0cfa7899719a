from __future__ import annotations

import time
from abc import ABC, abstractmethod
from pathlib import Path

from deploy.local.process import PartFailedError, process_gone, read_pid, running_pid, tail, terminate
from deploy.local.settings import StackSettings


class Part(ABC):
    """One process of the stack: PostgreSQL, the broker, or a service."""

    name: str
    # A string that the part's command line contains, to tell our process from a reused pid.
    marker: str

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings

    @property
    @abstractmethod
    def port(self) -> int: ...

    @property
    @abstractmethod
    def address(self) -> str: ...

    @property
    def log_file(self) -> Path:
        return self.settings.logs / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.settings.run / f"{self.name}.pid"

    def pid(self) -> int | None:
        return running_pid(read_pid(self.pid_file), self.marker)

    def prepare(self) -> None:  # noqa: B027 - most parts need no preparation
        """Work before a start: fetch, initialise storage, write configuration."""

    @abstractmethod
    def launch(self) -> None: ...

    @abstractmethod
    def is_ready(self) -> bool: ...

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.ready_timeout_s
        launched = read_pid(self.pid_file)
        while time.monotonic() < deadline:
            # By its pid, not by pid(): until it has exec'd, a child shows its parent's command line.
            if launched is None or process_gone(launched):
                raise self.failure("exited during start-up")
            if self.is_ready():
                return
            time.sleep(0.25)
        raise self.failure(f"not ready after {self.settings.ready_timeout_s:.0f} s")

    def stop(self, timeout_s: float = 30) -> None:
        pid = self.pid()
        if pid is not None:
            terminate(pid, timeout_s)
        self.pid_file.unlink(missing_ok=True)

    def failure(self, message: str) -> PartFailedError:
        return PartFailedError(self.name, message, self.log_file)

    def last_log_lines(self, lines: int = 20) -> str:
        return tail(self.log_file, lines)
