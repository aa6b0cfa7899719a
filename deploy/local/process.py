"""Starting, finding and stopping the stack's background processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]


class PartFailedError(RuntimeError):
    """A part of the stack could not start; says what is wrong and what to do."""

    def __init__(self, part: str, message: str, log_file: Path | None = None) -> None:
        super().__init__(message)
        self.part = part
        self.log_file = log_file


def running_pid(pid: int | None, marker: str) -> int | None:
    """`pid` if that process is alive and its command line contains `marker` (pid files can outlive a
    process, and its number can be reused)."""
    if pid is None:
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return pid if marker in " ".join(process.cmdline()) else None
    except psutil.Error:
        return None


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def spawn(command: Sequence[str], *, env: Mapping[str, str], log_file: Path, pid_file: Path, cwd: Path) -> int:
    """Start a process in its own session, so it outlives the command that started it."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    pid_file.write_text(f"{process.pid}\n")
    return process.pid


def terminate(pid: int, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `timeout_s`. A process that has exited but not
    been reaped by its parent (a zombie: a part another program started and still holds) counts as stopped."""
    try:
        psutil.Process(pid).send_signal(signal.SIGTERM)
    except psutil.NoSuchProcess:
        return
    if not wait_until(lambda: process_gone(pid), time.monotonic() + timeout_s):
        os.kill(pid, signal.SIGKILL)
        if not wait_until(lambda: process_gone(pid), time.monotonic() + 10):
            raise PartFailedError(str(pid), f"process {pid} survived SIGKILL")


def process_gone(pid: int) -> bool:
    """Whether the process has exited (a zombie included), whatever its command line says."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def port_owner(port: int) -> str:
    """A description of whoever listens on `port`, as far as this user may see."""
    try:
        for connection in psutil.net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
                if connection.pid is None:
                    break
                process = psutil.Process(connection.pid)
                return f"pid {connection.pid} ({' '.join(process.cmdline())[:80]})"
    except psutil.Error:
        pass
    return "another program"


def wait_until(check: Callable[[], bool], deadline: float, interval_s: float = 0.25) -> bool:
    """Poll `check()` until it is true or `deadline` (time.monotonic) passes."""
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval_s)
    return bool(check())


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log file)"
