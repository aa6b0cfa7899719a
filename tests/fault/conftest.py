"""The fault tier's whole stack: the system of `make up` in a folder of its own (ports from 22000), its shared clock
on a Monday morning, started once for the tests that stop, kill and restart its parts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.support.stack import StackCommand, running_stack

MORNING = datetime.fromisoformat("2026-12-07T08:00:00+07:00")  # a Monday: a working week ahead


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackCommand]:
    # Hundreds of online applicants behind one address would trip the anonymous API's per-address limit, which is
    # not what these tests are about.
    home = tmp_path_factory.mktemp("fault-stack") / "home"
    with running_stack(home, 22000, MORNING, INTAKE_PUBLIC_REQUESTS_PER_MINUTE="1000000") as command:
        yield command
