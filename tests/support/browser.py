"""Headless Chromium for the tests that look at pages as a person does: Debian's `chromium` package, started by its
path through the playwright package (which never downloads a browser of its own here). `make test` installs the
package when it is missing (`ensure_chromium`, called by tests/run.py before the tiers that need it)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Browser, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
PACKAGE = "chromium"
# Headless, without a sandbox (CI runs as root), and quiet: nothing reaches out to Google's services.
ARGUMENTS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def ensure_chromium() -> str | None:
    """Installs Debian's chromium when it is missing; None when it is there, else what went wrong and what to do."""
    if CHROMIUM.exists():
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return (f"the browser tests need Debian's {PACKAGE} package at {CHROMIUM}: "
                f"install it with `apt-get install --no-install-recommends {PACKAGE}`")  # fmt: skip
    print(f"installing {PACKAGE} (Debian's package) for the browser tests ...", flush=True)
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", PACKAGE]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.call(install, env=environment) != 0:  # the package lists may be missing or stale
        subprocess.call(["apt-get", "update", "-q"], env=environment)
        subprocess.call(install, env=environment)
    if not CHROMIUM.exists():
        return f"`{' '.join(install)}` did not install {CHROMIUM}: the browser tests cannot run"
    return None


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGUMENTS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()
