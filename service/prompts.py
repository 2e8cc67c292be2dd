"""What the assistant says: Jinja2 templates in prompts/<language>/, filled with retrieved records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape


class Prompts:
    """Renders the assistant's texts; no user-facing sentence lives in Python code."""

    def __init__(self, directory: Path, language: str = "de") -> None:
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
