"""What the assistant says: Jinja2 templates in prompts/<language>/, filled with retrieved records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape


class Prompts:
    """Renders the assistant's texts; no user-facing sentence lives in Python code."""

    def __init__(self, directory: Path, language: str = "de") -> None:
        self.directory = directory / language
        self.language = language
        self.env = Environment(
            loader=FileSystemLoader(str(directory / language)),
            autoescape=select_autoescape(default=False),  # plain text; the page inserts it as text
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(f"{name}.j2").render(**context).strip()

    def labels(self) -> dict[str, Any]:
        """Short texts (quick-reply chips, example questions) from labels.yaml."""
        path = self.directory / "labels.yaml"
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {} if path.is_file() else {}

    def names(self) -> list[str]:
        """Every template in this language (for rendering tests)."""
        return sorted(p.stem for p in self.directory.glob("*.j2"))
