from pathlib import Path

import pytest

from shared.db.migrations import MigrationError, MigrationSource


def write(folder: Path, name: str, sql: str = "SELECT 1;") -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(sql)


def test_migrations_load_in_version_order(tmp_path: Path) -> None:
    write(tmp_path, "0002_add_index.sql")
    write(tmp_path, "0001_create_table.sql")
    loaded = MigrationSource("demo", tmp_path).load()
    assert [(m.version, m.name) for m in loaded] == [(1, "create_table"), (2, "add_index")]


def test_a_badly_named_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "1_Create Table.sql")
    with pytest.raises(MigrationError, match="NNNN_lowercase_words"):
        MigrationSource("demo", tmp_path).load()


def test_two_files_with_one_version_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "0001_one.sql")
    write(tmp_path, "0001_other.sql")
    with pytest.raises(MigrationError, match="share a version"):
        MigrationSource("demo", tmp_path).load()


def test_a_missing_folder_is_an_error_not_an_empty_list(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="not found"):
        MigrationSource("demo", tmp_path / "nowhere").load()
