from pathlib import Path

from shared.configuration import markdown, sections

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_configuration_page_is_generated_from_the_current_settings() -> None:
    assert DOC.read_text() == markdown() + "\n", "run: lienthong config --markdown > docs/configuration.md"


def test_every_variable_is_described_once() -> None:
    names = [variable.name for _, found in sections() for variable in found]
    assert len(names) == len(set(names))
    assert all(variable.description for _, found in sections() for variable in found)
