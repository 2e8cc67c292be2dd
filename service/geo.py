"""The map (/karte) and the locator maps: server-rendered SVG from the records' locations, no tiles, no scripts."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from indexer.corpus import RecordDict
from indexer.geodata import HEIGHT, WIDTH, Land, boundaries_file, inside_frame, load_boundaries, project
from indexer.places import LAENDER, SIZE_SHORT, laender_of
from service.explain import Presenter

# Space types are told apart by shape as well as colour (WCAG 1.4.1); a record with several shows its first.
SHAPES = {"innenstadt": "circle", "quartier": "square", "gewerbegebiet": "triangle"}
SHAPE_NAMES = {"circle": "Kreis", "square": "Quadrat", "triangle": "Dreieck"}
MAP_FILTERS = ("space_type", "theme", "status", "state", "size_class")
log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def boundaries(cache_dir: Path) -> list[Land]:
    """The Länder outlines prepared by ``atlas geodata`` (read once); without them the map shows markers only."""
    laender = load_boundaries(cache_dir)
    if not laender:
        log.warning("Karte ohne Ländergrenzen: %s fehlt – 'atlas geodata' ausführen.", boundaries_file(cache_dir))
    return laender


@dataclass(frozen=True)
class Marker:
    id: str
    title: str
    place: str
    x: float
    y: float
    shape: str
    space_type: str
    label: str  # what a screen reader and the tooltip say
    size: float = 1.0  # locator maps are drawn small, so their markers are drawn larger

    def glyph(self) -> dict[str, Any]:
        """The marker's SVG element and attributes, centred on (x, y)."""
        x, y, k = self.x, self.y, self.size
        if self.shape == "square":
            return {"tag": "rect", "x": round(x - 4.5 * k, 1), "y": round(y - 4.5 * k, 1), "width": 9 * k, "height": 9 * k}
        if self.shape == "triangle":
            return {"tag": "polygon",
                    "points": f"{x:g},{y - 6 * k:.1f} {x + 5.5 * k:.1f},{y + 4 * k:.1f} {x - 5.5 * k:.1f},{y + 4 * k:.1f}"}
        return {"tag": "circle", "cx": x, "cy": y, "r": 5 * k}


@dataclass
class MapView:
    """What /karte shows: the Länder, one marker per place of each matching solution, and the list below."""

    laender: list[Land]
    markers: list[Marker]
    listed: list[dict[str, Any]]  # every matching solution, for the list view (the text alternative)
    unmapped: int  # matching solutions without a place in the frame (Land-wide, abroad, unknown)
    width: float = WIDTH
    height: float = HEIGHT
    filters: dict[str, str] = field(default_factory=dict)


def _spread(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Markers at the same place fan out on a small sunflower spiral, so each stays visible and clickable."""
    seen: dict[tuple[float, float], int] = {}
    out = []
    for x, y in points:
        n = seen.get((x, y), 0)
        seen[(x, y)] = n + 1
        if n:
            radius, angle = 6.0 * math.sqrt(n), n * 2.39996
            x, y = round(x + radius * math.cos(angle), 1), round(y + radius * math.sin(angle), 1)
        out.append((x, y))
    return out


def matches(record: RecordDict, filters: dict[str, str]) -> bool:
    """Whether a record passes the map's filters (each a single value; empty means any)."""
    values: dict[str, list[str]] = {
        "space_type": record["space_types"], "theme": record["themes"], "status": [record["status"]],
        "state": laender_of(record["state"]), "size_class": [record.get("size_class", "")],
    }
    return all(value in values[name] for name, value in filters.items() if value)


def filter_options(records: Iterable[RecordDict], presenter: Presenter, taxonomy: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """(value, label) choices for each filter, in taxonomy order; Länder and size classes that occur only."""
    records = list(records)
    states = {land for r in records for land in laender_of(r["state"])}
    classes = {r.get("size_class", "") for r in records}
    return {
        "space_type": [(s, presenter.label("space_types", s)) for s in taxonomy.get("space_types", {})],
        "theme": [(s, presenter.label("themes", s)) for s in taxonomy.get("themes", {})],
        "status": [(s, presenter.label("status", s)) for s in taxonomy.get("status", {})],
        "state": [(name, name) for name in LAENDER if name in states],
        "size_class": [(s, label) for s, label in SIZE_SHORT.items() if s in classes],
    }


def map_view(records: Iterable[RecordDict], laender: list[Land], presenter: Presenter, filters: dict[str, str]) -> MapView:
    """The map of the records that pass the filters."""
    chosen = [r for r in records if matches(r, filters)]
    pending: list[tuple[RecordDict, str, tuple[float, float]]] = []
    unmapped = 0
    for record in chosen:
        places = [loc for loc in record.get("location", []) if inside_frame(loc["lat"], loc["lon"])]
        if not places:
            unmapped += 1
        for loc in places:
            pending.append((record, loc["place"] or record["municipality"], project(loc["lat"], loc["lon"])))
    markers = []
    for (record, place, _), (x, y) in zip(pending, _spread([p for _, _, p in pending]), strict=True):
        wanted = filters.get("space_type")
        space = wanted if wanted in record["space_types"] else record["space_types"][0]
        shape = SHAPES.get(space, "circle")
        label = (f"{record['title']} – {place}, {presenter.label('status', record['status'])} "
                 f"({presenter.label('space_types', space)})")
        markers.append(Marker(record["id"], record["title"], place, x, y, shape, space, label))
    listed = [{"id": r["id"], "title": r["title"], "municipality": r["municipality"], "state": r["state"],
               "status": presenter.label("status", r["status"]),
               "space_types": ", ".join(presenter.label("space_types", s) for s in r["space_types"]),
               "size_class": SIZE_SHORT.get(r.get("size_class", ""), "")}
              for r in sorted(chosen, key=lambda r: (r["municipality"], r["title"]))]
    return MapView(laender, markers, listed, unmapped, filters={k: v for k, v in filters.items() if v})


def locator(record: RecordDict, laender: list[Land], presenter: Presenter) -> MapView:
    """The small map of one solution's places (the details view and the solution page)."""
    view = map_view([record], laender, presenter, {})
    view.markers = [replace(m, size=3.0) for m in view.markers]
    return view
