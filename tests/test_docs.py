"""The docs keep up with the code: every setting and command is in the README."""

from __future__ import annotations

from pathlib import Path

from service.cli import main
from service.config import Settings

ROOT = Path(__file__).parent.parent


def test_every_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"ATLAS_{name.upper()}" in readme, name


def test_every_command_is_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    editors = (ROOT / "corpus" / "README.md").read_text(encoding="utf-8")
    for command in main.commands:
        assert f"atlas {command}" in readme, command
    for command in ("validate", "index", "import", "export"):
        assert f"atlas {command}" in editors, command


def test_quick_start_is_two_make_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
