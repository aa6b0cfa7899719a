"""Rules are data published at run time: `lienthong rules publish` validates a rules folder and publishes what is
new on the rules topic, and a running service picks a new procedure version up without a restart."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared.rules.publish import SHIPPED_RULES, RulesInvalidError, documents_from_folder, publish
from shared.settings import KafkaSettings
from tests.infrastructure import REPO
from tests.processes import running_service, wait_for
from tests.support.messaging import eventually

BIRTH_REGISTRATION = "1.001193"
LIENTHONG = str(REPO / ".venv" / "bin" / "lienthong")


def rules_with_new_version(folder: Path) -> int:
    """A copy of the shipped rules with one more version of birth registration; returns its number."""
    shutil.copytree(SHIPPED_RULES, folder)
    (path,) = (folder / "procedures").glob(f"{BIRTH_REGISTRATION}-*.yaml")
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    # Unique per run, so that a broker kept between runs still sees a version it has never had.
    number = int(time.time())
    newest = dict(document["versions"][-1])
    newest.update(version=number, effective_from=date(2100, 1, 1) + timedelta(days=number % 3650))
    document["versions"].append(newest)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    return number


async def test_a_new_procedure_version_reaches_a_running_service(
    kafka_settings: KafkaSettings, infrastructure_env: dict[str, str], tmp_path: Path
) -> None:
    await publish(kafka_settings, documents_from_folder())
    with running_service("routing", infrastructure_env) as base:
        wait_for(f"{base}/readyz")
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:

            async def has(key: str) -> bool:
                rules = (await http.get("/rules")).json()
                return bool(rules["loaded"]) and any(key in keys for keys in rules["documents"].values())

            await eventually(lambda: has(f"procedure/{BIRTH_REGISTRATION}/v1"), what="the shipped rules loaded")
            number = rules_with_new_version(tmp_path / "rules")
            command = [LIENTHONG, "rules", "publish", str(tmp_path / "rules")]
            env = {**os.environ, **infrastructure_env}
            published = await asyncio.to_thread(
                subprocess.run, command, env=env, capture_output=True, text=True, check=True
            )
            new_key = f"procedure/{BIRTH_REGISTRATION}/v{number}"
            assert new_key in published.stdout
            await eventually(lambda: has(new_key), what="the new version reached the running service")


async def test_an_invalid_rules_folder_is_refused_with_the_entry_named(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, folder)
    (path,) = (folder / "procedures").glob(f"{BIRTH_REGISTRATION}-*.yaml")
    path.write_text(path.read_text().replace("agency_role: ward_justice", "agency_role: ministry_of_magic", 1))
    with pytest.raises(RulesInvalidError, match=f"procedure {BIRTH_REGISTRATION} v1, step .*ministry_of_magic"):
        documents_from_folder(folder)


async def test_a_published_version_is_never_overwritten(kafka_settings: KafkaSettings, tmp_path: Path) -> None:
    await publish(kafka_settings, documents_from_folder())
    folder = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, folder)
    (path,) = (folder / "procedures").glob(f"{BIRTH_REGISTRATION}-*.yaml")
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    document["versions"][0]["name_en"] = "Birth registration, renamed in place"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    with pytest.raises(RulesInvalidError, match=f"procedure/{BIRTH_REGISTRATION}/v1 is already published"):
        await publish(kafka_settings, documents_from_folder(folder))
