"""Reading the files a town administrator uploads for its map: address points and street lines (CSV with
OpenAddresses' columns, or GeoJSON), and the town's boundary (GeoJSON).

A file is read whole before anything is stored, and every problem is reported with the line or feature it
is on, so an import with a mistake changes nothing and says where to look. Street names of address points
become searchable streets of their own when no street line names them."""

from __future__ import annotations

import csv
import io
import json
import math
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from domain import place_geometry
from domain.place_text import normalised
from infra.i18n import N_, gettext, ngettext

MAX_FILE_BYTES = 50_000_000
MAX_PLACES = 1_000_000
MAX_BOUNDARY_BYTES = 5_000_000
MAX_MESSAGES = 20  # then "…and N more": the first problems say what is wrong with the rest
# Column widths of `place`.
MAX_LABEL, MAX_STREET, MAX_NUMBER, MAX_LOCALITY, MAX_POSTCODE = 300, 200, 20, 100, 20
LONGITUDE_COLUMNS, LATITUDE_COLUMNS = ("lon", "longitude"), ("lat", "latitude")
# Kept in lower case inside a name written in capitals: "RUE DE LA GARE" -> "Rue de la Gare".
SMALL_WORDS = frozenset(
    {"de", "du", "des", "la", "le", "les", "d", "l", "au", "aux", "et", "of", "the", "and"}
)

AT_LINE = N_("Line %(line)s: %(problem)s")
AT_FEATURE = N_("Feature %(feature)s: %(problem)s")
IN_FILE = N_("%(file)s: %(problem)s")
NOT_UTF8 = N_(
    "The file is not UTF-8 text. Save it as UTF-8 (in a spreadsheet, “CSV UTF-8”) and upload it again."
)
NOT_JSON = N_("The file is not valid JSON near line %(line)s, column %(column)s.")
UNKNOWN_FORMAT = N_("Upload a CSV file (.csv) or a GeoJSON file (.geojson or .json).")
TOO_BIG = N_(
    "The file is larger than 50 MB. Split it by area, or leave out the columns the portal does not read."
)
TOO_MANY = N_("The files hold more than 1,000,000 addresses and streets, more than the portal takes.")
NOTHING = N_("The file holds no address points or street lines.")
NO_FILE = N_("Choose a CSV or GeoJSON file of address points and street lines.")
MISSING_COLUMNS = N_(
    "The first line must name the columns LON, LAT and STREET (NUMBER, UNIT, CITY and POSTCODE are read "
    "too); it names %(found)s."
)
NO_FEATURES = N_(
    "The file is JSON but not GeoJSON: upload a FeatureCollection of address points and street lines."
)
BAD_CSV = N_("The line cannot be read as CSV (%(reason)s).")
BAD_LONGITUDE = N_("%(column)s must be a longitude, a number from -180 to 180.")
BAD_LATITUDE = N_("%(column)s must be a latitude, a number from -90 to 90.")
NO_STREET = N_("STREET is empty.")
TOO_LONG = N_("%(column)s is longer than %(length)s characters.")
NOT_A_FEATURE = N_("This is not a GeoJSON Feature.")
OTHER_GEOMETRY = N_(
    "A %(type)s is neither an address point nor a street line (upload the boundary with its own form)."
)
BAD_POINT = N_("The point's coordinates must be a longitude from -180 to 180 and a latitude from -90 to 90.")
BAD_LINE = N_("A street line needs at least two positions, each a longitude and a latitude.")
UNNAMED_LINE = N_("A street line needs a “name” (or “street”) property.")
UNNAMED_POINT = N_("An address point needs a “street” property.")
# The boundary
BOUNDARY_TOO_BIG = N_("The boundary file is larger than 5 MB; simplify its outline and upload it again.")
NO_BOUNDARY_FILE = N_("Choose a GeoJSON file with the municipality's boundary.")
NOT_A_BOUNDARY = N_(
    "The file must hold one Polygon or MultiPolygon: a geometry, a Feature, or a FeatureCollection of one."
)
BAD_RING = N_(
    "Each ring of the boundary needs at least four positions, each a longitude from -180 to 180 and a "
    "latitude from -90 to 90."
)


@dataclass(frozen=True, slots=True)
class NewPlace:
    """An address point or a street, as it will be stored. `number` is normalised (12a), `label` is
    what citizens read; a street from a file of lines keeps its geometry, one named by addresses only
    has none and sits at the middle of its addresses."""

    kind: str  # address | street
    label: str
    latitude: float
    longitude: float
    number: str = ""
    street: str = ""
    locality: str = ""
    postcode: str = ""
    geometry: dict = field(default_factory=dict)


@dataclass(slots=True)
class _Point:
    number: str
    display_number: str
    street: str
    unit: str
    locality: str
    postcode: str
    latitude: float
    longitude: float


@dataclass(slots=True)
class _Read:
    """What the files hold, before addresses and streets are made of it."""

    points: list[_Point] = field(default_factory=list)
    lines: dict[tuple[str, str], tuple[str, str, list]] = field(default_factory=dict)  # name, locality, lines
    problems: list[str] = field(default_factory=list)
    count: int = 0  # problems found, shown or not

    def problem(self, message: str) -> None:
        self.count += 1
        if len(self.problems) < MAX_MESSAGES:
            self.problems.append(message)

    @property
    def size(self) -> int:
        return len(self.points) + len(self.lines)


def parse_places(content: bytes, filename: str) -> tuple[list[NewPlace], list[str]]:
    """One file of address points and streets; see `parse_place_files`."""
    return parse_place_files([(content, filename)])


def parse_place_files(files: Sequence[tuple[bytes, str]]) -> tuple[list[NewPlace], list[str]]:
    """The places of one or more files (a town often has its streets and its addresses apart), or the
    problems found, translated, each with where it is. No places are returned when there is a problem."""
    read = _Read()
    for content, filename in files:
        before = len(read.problems)
        _read_file(read, content, filename)
        if len(files) > 1:
            read.problems[before:] = [
                gettext(IN_FILE) % {"file": filename, "problem": problem}
                for problem in read.problems[before:]
            ]
    if not read.count and not read.size:
        read.problem(gettext(NOTHING))
    if read.count:
        extra = read.count - len(read.problems)
        if extra:
            read.problems.append(ngettext("…and %(num)s more problem.", "…and %(num)s more problems.", extra))
        return [], read.problems
    return _places(read), []


def _read_file(read: _Read, content: bytes, filename: str) -> None:
    if not content:
        read.problem(gettext(NO_FILE))
        return
    if len(content) > MAX_FILE_BYTES:
        read.problem(gettext(TOO_BIG))
        return
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        read.problem(gettext(NOT_UTF8))
        return
    name = filename.lower()
    if name.endswith((".geojson", ".json")) or (not name.endswith(".csv") and text.lstrip()[:1] == "{"):
        _read_geojson(read, text)
    elif name.endswith((".csv", ".txt")) or "," in text[:1000] or ";" in text[:1000]:
        _read_csv(read, text)
    else:
        read.problem(gettext(UNKNOWN_FORMAT))


def _clean(value: Any) -> str:
    """A value as text: no control characters (a NUL would not fit in PostgreSQL), no spaces around."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "" if value is None else str(value)
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text).strip()


def _display(value: str) -> str:
    """A name as citizens read it: files often write every name in capitals ("EVERGREEN TER")."""
    if not value.isupper():
        return value
    words = value.lower().split()
    return " ".join(
        word if index and word in SMALL_WORDS else "-".join(part.capitalize() for part in word.split("-"))
        for index, word in enumerate(words)
    )


def _coordinate(value: str, low: float, high: float) -> float | None:
    text = value.strip()
    if "," in text and "." not in text:  # a decimal comma, from a spreadsheet in French
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) and low <= number <= high else None


def _too_long(values: dict[str, str]) -> str | None:
    limits = {"NUMBER": MAX_NUMBER, "STREET": MAX_STREET, "CITY": MAX_LOCALITY, "POSTCODE": MAX_POSTCODE}
    for column, length in limits.items():
        if len(values.get(column, "")) > length:
            return gettext(TOO_LONG) % {"column": column, "length": length}
    return None


def _read_csv(read: _Read, text: str) -> None:
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t|", key=first.count)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(rows, [])]
    except csv.Error as error:
        read.problem(gettext(AT_LINE) % {"line": 1, "problem": gettext(BAD_CSV) % {"reason": error}})
        return
    columns = {name: index for index, name in reversed(list(enumerate(header)))}
    longitude = next((columns[name] for name in LONGITUDE_COLUMNS if name in columns), None)
    latitude = next((columns[name] for name in LATITUDE_COLUMNS if name in columns), None)
    if longitude is None or latitude is None or "street" not in columns:
        found = ", ".join(name.upper() for name in header if name) or "—"
        read.problem(gettext(MISSING_COLUMNS) % {"found": found[:200]})
        return
    picked: dict[str, int | None] = {"LON": longitude, "LAT": latitude}
    picked |= {name.upper(): columns.get(name) for name in ("number", "street", "unit", "city", "postcode")}
    for line, values in _csv_rows(read, rows, picked):
        if read.size >= MAX_PLACES:
            read.problem(gettext(TOO_MANY))
            return
        checked = _checked_point(values)
        if isinstance(checked, str):
            read.problem(gettext(AT_LINE) % {"line": line, "problem": checked})
            continue
        _add_point(read, values, *checked)


def _csv_rows(read: _Read, rows: Any, picked: dict[str, int | None]) -> Iterator[tuple[int, dict[str, str]]]:
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            problem = gettext(BAD_CSV) % {"reason": error}
            read.problem(gettext(AT_LINE) % {"line": rows.line_num, "problem": problem})
            continue
        if not any(cell.strip() for cell in row):
            continue
        values = {
            name: _clean(row[index]) if index is not None and index < len(row) else ""
            for name, index in picked.items()
        }
        yield rows.line_num, values


def _checked_point(values: dict[str, str]) -> tuple[float, float] | str:
    """(latitude, longitude) of a row, or what is wrong with it."""
    longitude = _coordinate(values["LON"], -180, 180)
    if longitude is None:
        return gettext(BAD_LONGITUDE) % {"column": "LON"}
    latitude = _coordinate(values["LAT"], -90, 90)
    if latitude is None:
        return gettext(BAD_LATITUDE) % {"column": "LAT"}
    if not values["STREET"]:
        return gettext(NO_STREET)
    return _too_long(values) or (latitude, longitude)


def _add_point(read: _Read, values: dict[str, str], latitude: float, longitude: float) -> None:
    read.points.append(
        _Point(
            number=normalised(values["NUMBER"]),
            display_number=values["NUMBER"],
            street=_display(values["STREET"]),
            unit=values["UNIT"][:20],
            locality=_display(values["CITY"]),
            postcode=values["POSTCODE"].upper(),
            latitude=latitude,
            longitude=longitude,
        )
    )


def _read_geojson(read: _Read, text: str) -> None:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        read.problem(gettext(NOT_JSON) % {"line": error.lineno, "column": error.colno})
        return
    kind = document.get("type") if isinstance(document, dict) else None
    features = (
        document.get("features") if kind == "FeatureCollection" else [document] if kind == "Feature" else None
    )
    if not isinstance(features, list):
        read.problem(gettext(NO_FEATURES))
        return
    for number, feature in enumerate(features, start=1):
        if read.size >= MAX_PLACES:
            read.problem(gettext(TOO_MANY))
            return
        if problem := _feature_problem(read, feature):
            read.problem(gettext(AT_FEATURE) % {"feature": number, "problem": problem})


def _feature_problem(read: _Read, feature: Any) -> str | None:
    """Adds the feature to what was read, or says what is wrong with it."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return gettext(NOT_A_FEATURE)
    geometry, properties = feature.get("geometry"), feature.get("properties")
    geometry = geometry if isinstance(geometry, dict) else {}
    properties = properties if isinstance(properties, dict) else {}
    given = {str(key).upper(): _clean(value) for key, value in properties.items()}
    kind = geometry.get("type")
    if kind == "Point":
        position = geometry.get("coordinates")
        if not _is_position(position):
            return gettext(BAD_POINT)
        if not given.get("STREET"):
            return gettext(UNNAMED_POINT)
        values = {name: given.get(name, "") for name in ("NUMBER", "STREET", "UNIT", "CITY", "POSTCODE")}
        if problem := _too_long(values):
            return problem
        _add_point(read, values, float(position[1]), float(position[0]))
        return None
    if kind in ("LineString", "MultiLineString"):
        lines = place_geometry.lines_of(geometry) if isinstance(geometry.get("coordinates"), list) else []
        if not lines or not all(isinstance(line, list) and len(line) >= 2 for line in lines):
            return gettext(BAD_LINE)
        if not all(_is_position(position) for line in lines for position in line):
            return gettext(BAD_LINE)
        name = _display(given.get("NAME") or given.get("STREET") or "")
        if not name:
            return gettext(UNNAMED_LINE)
        locality = _display(given.get("CITY", ""))
        if problem := _too_long({"STREET": name, "CITY": locality}):
            return problem
        key = (normalised(name), normalised(locality))
        stored = read.lines.setdefault(key, (name, locality, []))
        stored[2].extend([[round(float(x), 7), round(float(y), 7)] for x, y, *_ in line] for line in lines)
        return None
    return gettext(OTHER_GEOMETRY) % {"type": str(kind or "feature")[:40]}


def _is_position(position: Any) -> TypeGuard[list]:
    if not isinstance(position, list) or len(position) < 2:
        return False
    x, y = position[0], position[1]
    numbers = all(isinstance(value, int | float) and not isinstance(value, bool) for value in (x, y))
    return numbers and math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90


def _places(read: _Read) -> list[NewPlace]:
    """Streets first: a search that reads only so many candidates meets a street before its addresses."""
    localities = {normalised(point.locality) for point in read.points if point.locality}
    localities |= {locality for _, locality in read.lines if locality}
    with_locality = len(localities) > 1  # "1 Main Street" is in two of them: say which

    def label(text: str, locality: str) -> str:
        return (f"{text}, {locality}" if with_locality and locality else text)[:MAX_LABEL]

    streets = []
    for name, locality, lines in read.lines.values():
        latitude, longitude = place_geometry.middle_of(lines)
        geometry = {"type": "LineString", "coordinates": lines[0]}
        if len(lines) > 1:
            geometry = {"type": "MultiLineString", "coordinates": lines}
        streets.append(
            NewPlace("street", label(name, locality), latitude, longitude, "", name, locality, "", geometry)
        )
    named_by_points: dict[tuple[str, str], list[_Point]] = {}
    for point in read.points:
        key = (normalised(point.street), normalised(point.locality))
        if key not in read.lines:
            named_by_points.setdefault(key, []).append(point)
    for points in named_by_points.values():
        first = points[0]
        latitude = sum(point.latitude for point in points) / len(points)
        longitude = sum(point.longitude for point in points) / len(points)
        shown = label(first.street, first.locality)
        streets.append(NewPlace("street", shown, latitude, longitude, "", first.street, first.locality))
    addresses = []
    seen: set[tuple[str, float, float]] = set()
    for point in read.points:
        if not point.number:  # a point on a street with no number: it only places its street
            continue
        text = f"{point.display_number} {point.street}" + (f", {point.unit}" if point.unit else "")
        shown = label(text, point.locality)
        where = (shown, round(point.latitude, 5), round(point.longitude, 5))
        if where in seen:  # the same address twice, as OpenAddresses' files sometimes have it
            continue
        seen.add(where)
        addresses.append(
            NewPlace(
                "address",
                shown,
                point.latitude,
                point.longitude,
                point.number,
                point.street,
                point.locality,
                point.postcode,
            )
        )
    return streets + addresses


def parse_boundary(content: bytes) -> tuple[dict | None, list[str]]:
    """The town's boundary as a GeoJSON Polygon or MultiPolygon (rings closed), or the problems found."""
    if not content:
        return None, [gettext(NO_BOUNDARY_FILE)]
    if len(content) > MAX_BOUNDARY_BYTES:
        return None, [gettext(BOUNDARY_TOO_BIG)]
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return None, [gettext(NOT_UTF8)]
    except json.JSONDecodeError as error:
        return None, [gettext(NOT_JSON) % {"line": error.lineno, "column": error.colno}]
    geometry = _boundary_geometry(document)
    if geometry is None:
        return None, [gettext(NOT_A_BOUNDARY)]
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    cleaned = []
    for polygon in polygons if isinstance(polygons, list) else [None]:
        rings = [_ring(ring) for ring in polygon] if isinstance(polygon, list) and polygon else [None]
        if any(ring is None for ring in rings):
            return None, [gettext(BAD_RING)]
        cleaned.append(rings)
    if not cleaned:
        return None, [gettext(BAD_RING)]
    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": cleaned[0]}, []
    return {"type": "MultiPolygon", "coordinates": cleaned}, []


def _boundary_geometry(document: Any) -> dict | None:
    if not isinstance(document, dict):
        return None
    if document.get("type") == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list) or len(features) != 1:
            return None
        document = features[0]
    if isinstance(document, dict) and document.get("type") == "Feature":
        document = document.get("geometry")
    if isinstance(document, dict) and document.get("type") in ("Polygon", "MultiPolygon"):
        return document
    return None


def _ring(ring: Any) -> list[list[float]] | None:
    if not isinstance(ring, list) or not all(_is_position(position) for position in ring):
        return None
    positions = [[round(float(position[0]), 7), round(float(position[1]), 7)] for position in ring]
    if positions and positions[0] != positions[-1]:
        positions.append(positions[0])  # GeoJSON closes its rings; a file that forgot still means it
    return positions if len(positions) >= 4 else None
