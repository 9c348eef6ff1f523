"""The README's configuration table and ``core/config.py`` name the same environment variables."""

from __future__ import annotations

import re

from core.config import ENVIRONMENT_VARIABLES
from tests.conftest import ROOT

README = ROOT / "README.md"


def readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def configuration_rows() -> list[list[str]]:
    """The table's rows below its header, as their cells: variable, default, meaning."""
    lines = [line for line in readme_section("Configuration").splitlines() if line.startswith("|")]
    assert lines[0].replace(" ", "") == "|variable|default|meaning|", lines[0]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines[2:]]


def documented_variables() -> set[str]:
    return {name for row in configuration_rows() for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row[0])}


def test_the_configuration_table_lists_every_variable_the_code_reads():
    assert sorted(set(ENVIRONMENT_VARIABLES) - documented_variables()) == []


def test_the_configuration_table_lists_no_variable_the_code_does_not_read():
    assert sorted(documented_variables() - set(ENVIRONMENT_VARIABLES)) == []


def test_every_row_of_the_configuration_table_gives_a_default_and_a_meaning():
    for row in configuration_rows():
        assert len(row) == 3 and all(row), row
