"""The README stays true: its quickstart commands and its configuration table."""

from __future__ import annotations

from pathlib import Path

from tailor.config import settings_table

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_configuration_table_matches_settings() -> None:
    assert settings_table() in README, "run `.venv/bin/python scripts/settings_table.py` to refresh it"


def test_quickstart_is_the_two_make_commands() -> None:
    quick = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    assert "make run" in quick and "make test" in quick
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "make test" in ci
