"""A broken environment gets a message that says what is wrong and what to do."""

from pathlib import Path

import pytest

from deploy.local.kafka import KafkaPart, check_java
from deploy.local.process import PartFailedError
from deploy.local.settings import StackSettings


def fake_java(folder: Path, version_line: str) -> Path:
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(0o755)
    return folder


def test_missing_java_is_named_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(PartFailedError, match=r"Java not found .*apt-get install openjdk-17-jre-headless"):
        check_java()


@pytest.mark.parametrize("line", ['openjdk version "11.0.20" 2023-07-18', 'java version "1.8.0_381"'])
def test_an_old_java_is_refused_with_its_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, line: str) -> None:
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path, line)))
    with pytest.raises(PartFailedError, match=r"Java (11|8) found .*needs 17\+"):
        check_java()


def test_java_17_or_newer_is_accepted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path, 'openjdk version "21.0.4" 2024-07-16')))
    assert check_java() == str(tmp_path / "bin" / "java")


def test_missing_maven_is_named_when_the_jars_are_not_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path / "jdk", 'openjdk version "17.0.15"')))
    monkeypatch.setenv("PATH", "/nonexistent")
    part = KafkaPart(StackSettings(home=tmp_path / "home", cache=tmp_path / "empty-cache"))
    with pytest.raises(PartFailedError, match=r"Maven \(mvn\) not found.*apt-get install maven"):
        part.prepare()
