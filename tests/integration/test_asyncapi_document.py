"""docs/asyncapi.yaml is accepted by the official AsyncAPI parser (the npm package @asyncapi/parser, pinned in
tests/asyncapi/package.json and installed from its lockfile into tests/asyncapi/node_modules)."""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shared.events.catalogue import CATALOGUE
from shared.events.generate import ASYNCAPI_FILE

PROJECT = Path(__file__).resolve().parents[1] / "asyncapi"
LOCKFILE = PROJECT / "package-lock.json"
INSTALLED = PROJECT / "node_modules" / ".package-lock.json"  # npm writes it at the end of an install


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is needed to validate the AsyncAPI document with the official parser (Node.js 18+)"
    return path


@pytest.fixture(scope="module")
def validator() -> Path:
    """tests/asyncapi/validate.mjs, with its dependencies installed when they are missing or older than the
    lockfile. The lock on package.json keeps two test runs from installing into the same folder at once."""
    with (PROJECT / "package.json").open("rb") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not INSTALLED.exists() or INSTALLED.stat().st_mtime < LOCKFILE.stat().st_mtime:
            done = subprocess.run(
                [tool("npm"), "ci", "--no-audit", "--no-fund"],
                cwd=PROJECT,
                timeout=600,
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, f"npm ci failed in {PROJECT}:\n{done.stdout}\n{done.stderr}"
    return PROJECT / "validate.mjs"


def validate(validator: Path, document: Path) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [tool("node"), str(validator), str(document)], cwd=PROJECT, capture_output=True, text=True, timeout=120
    )
    return done.returncode, json.loads(done.stdout), done.stderr


def test_the_lockfile_pins_the_parser_and_names_no_web_address() -> None:
    package = json.loads((PROJECT / "package.json").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+", package["dependencies"]["@asyncapi/parser"]), "an exact version"
    lock = LOCKFILE.read_text()
    assert "http" not in lock, "run `node relock.mjs` in tests/asyncapi"
    assert (
        json.loads(lock)["packages"]["node_modules/@asyncapi/parser"]["version"]
        == (package["dependencies"]["@asyncapi/parser"])
    )
    assert "omit-lockfile-registry-resolved=true" in (PROJECT / ".npmrc").read_text().splitlines()


def test_the_official_parser_accepts_the_document(validator: Path) -> None:
    pinned = json.loads((PROJECT / "package.json").read_text())["dependencies"]["@asyncapi/parser"]
    installed = json.loads((PROJECT / "node_modules" / "@asyncapi" / "parser" / "package.json").read_text())
    assert installed["version"] == pinned
    code, result, errors = validate(validator, ASYNCAPI_FILE)
    assert code == 0, errors
    assert result["valid"] is True
    assert "Error" not in result["diagnostics"]
    assert sorted(result["messages"]) == sorted(CATALOGUE), "every event type is a message of the document"


def test_the_parser_reports_a_broken_document(validator: Path, tmp_path: Path) -> None:
    broken = tmp_path / "asyncapi.yaml"
    text = ASYNCAPI_FILE.read_text(encoding="utf-8")
    broken.write_text(
        text.replace(
            "  lienthong.routing.v1:\n    address: lienthong.routing.v1\n",
            "  lienthong.routing.v1:\n    address: 5\n",
            1,
        )
    )
    assert broken.read_text(encoding="utf-8") != text
    code, result, errors = validate(validator, broken)
    assert code == 1
    assert result["valid"] is False
    assert "address" in errors
