"""The end-to-end tier's stack: the whole system of `make up`, started once for the tier in a folder of its own
(ports from 24000, or from LIENTHONG_E2E_PORT_BASE to run a second copy of the tier beside the first), its shared
clock set to a working morning outside the quiet hours."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.support.stack import StackCommand, running_stack

# Wednesday 2 December 2026, 09:00 in Vietnam, running.
MORNING = "2026-12-02T09:00:00+07:00"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackCommand]:
    port_base = int(os.environ.get("LIENTHONG_E2E_PORT_BASE", "24000"))
    with running_stack(tmp_path_factory.mktemp("e2e") / "home", port_base, datetime.fromisoformat(MORNING)) as command:
        yield command
