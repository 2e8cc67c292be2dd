"""Data that ships with the package: found inside the installed package, or next to it in a source checkout."""

from __future__ import annotations

from pathlib import Path


class MissingDataError(Exception):
    """A data file that the package ships is missing: the installation is incomplete."""


def bundled(module_file: str, name: str, checkout_name: str | None = None) -> Path:
    """The folder ``name`` shipped with the package that ``module_file`` belongs to.

    In a wheel it lies inside the package (pyproject.toml maps it there); in a source checkout it is the
    top-level folder ``checkout_name`` (default: ``name``) next to the package.

    Raises:
        MissingDataError: if it is in neither place.
    """
    package = Path(module_file).resolve().parent
    for candidate in (package / name, package.parent / (checkout_name or name)):
        if candidate.is_dir():
            return candidate
    raise MissingDataError(
        f"Der Ordner '{name}' fehlt in der Installation ({package}). Installieren Sie atlas-lotse neu (pip install atlas-lotse)."
    )
