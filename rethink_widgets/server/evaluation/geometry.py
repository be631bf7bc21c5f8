"""GEOMETRY values: GeoJSON objects read into shapes, checked as RethinkDB checks them, and built from coordinates.

A geometry is the GeoJSON object of a Point, LineString or Polygon with `$reql_type$: "GEOMETRY"`. Reading one gives a
shape of `spherical` (longitude/latitude pairs in degrees, edges along great circles) after RethinkDB's checks, with
its messages: positions of two numbers in range, lines without duplicate or antipodal neighbours, closed rings that do
not cross themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from rethink_widgets.server.errors import ReqlNonExistenceError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums, great_circles, spherical
from rethink_widgets.server.evaluation.great_circles import LonLat
from rethink_widgets.server.evaluation.spherical import Shape

GEOMETRY = "GEOMETRY"
_UNSUPPORTED = frozenset(
    {"MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection", "Feature", "FeatureCollection"}
)


def is_geometry(value: Any) -> bool:
    return isinstance(value, dict) and value.get(datums.PTYPE) == GEOMETRY


def require(value: Any) -> dict[str, Any]:
    """`value` as a geometry, or RethinkDB's type error."""
    if not is_geometry(value):
        found = datums.type_name(value)
        cls = ReqlNonExistenceError if value is None else ReqlQueryLogicError
        raise cls(f"Expected type PTYPE<GEOMETRY> but found {found}.")
    geojson: dict[str, Any] = value
    return geojson


def sanitize(obj: dict[str, Any]) -> dict[str, Any]:
    """The checks every GEOMETRY object gets when it is built: known fields, of the right types."""
    for key, value in obj.items():
        if key == "coordinates":
            _expect_type(value, list, "ARRAY")
        elif key == "type":
            _expect_type(value, str, "STRING")
        elif key not in {"crs", datums.PTYPE}:
            raise ReqlQueryLogicError(f"Unrecognized field `{key}` found in geometry object.")
    for key in ("type", "coordinates"):
        if key not in obj:
            raise ReqlNonExistenceError(f"Field `{key}` not found in geometry object.")
    return obj


def shape(geojson: dict[str, Any]) -> Shape:
    """The shape a GeoJSON object describes, after every check RethinkDB makes (`crs` must be null or absent)."""
    kind = _field(geojson, "type")
    coordinates = _field(geojson, "coordinates")
    _expect_type(kind, str, "STRING")
    if kind == "Point":
        return ("Point", _position(coordinates))
    if kind == "LineString":
        return ("LineString", _line(coordinates))
    if kind == "Polygon":
        return ("Polygon", _polygon(coordinates))
    if kind in _UNSUPPORTED:
        raise ReqlQueryLogicError(f"GeoJSON type `{kind}` is not supported.")
    raise ReqlQueryLogicError(f"Unrecognized GeoJSON type `{kind}`.")


def checked(geojson: dict[str, Any]) -> Shape:
    """`shape`, refusing a coordinate reference system other than the default."""
    if geojson.get("crs") is not None:
        raise ReqlQueryLogicError(
            "Non-default coordinate reference systems are not supported in GeoJSON objects.  "
            "Make sure the `crs` field of the geometry is null or non-existent."
        )
    return shape(geojson)


def kind_of(geojson: dict[str, Any]) -> str:
    kind = _field(geojson, "type")
    _expect_type(kind, str, "STRING")
    return str(kind)


def require_kind(geojson: dict[str, Any], kind: str) -> None:
    found = kind_of(geojson)
    if found != kind:
        raise ReqlQueryLogicError(f"Expected geometry of type `{kind}` but found `{found}`.")


# ---------------------------------------------------------------- building geometries


def point(lon_lat: LonLat) -> dict[str, Any]:
    return _built("Point", [datums.number(lon_lat[0]), datums.number(lon_lat[1])])


def line(points: Sequence[LonLat]) -> dict[str, Any]:
    return _built("LineString", _coordinates(points))


def polygon(shell: Sequence[LonLat], holes: tuple[list[Any], ...] = ()) -> dict[str, Any]:
    """A polygon of `shell` (closed if its last point is not its first) and `holes` (coordinates, already closed)."""
    ring = _coordinates(shell)
    if shell and shell[0] != shell[-1]:
        ring.append(ring[0])
    return _built("Polygon", [ring, *holes])


def point_argument(value: Any) -> LonLat:
    """A point given to r.line, r.polygon, r.circle or get_nearest: a Point geometry or a [longitude, latitude]."""
    if is_geometry(value):
        require_kind(value, "Point")
        return _numbers(_field(value, "coordinates"))
    _expect_type(value, list, "ARRAY")
    if len(value) != 2:
        raise ReqlQueryLogicError(
            f"Expected point coordinate pair.  Got {len(value)} element array instead of a 2 element one."
        )
    return (_number(value[0]), _number(value[1]))


def line_points(geojson: dict[str, Any]) -> list[LonLat]:
    """The positions of a LineString, unchecked beyond their form (r.fill makes a polygon of them)."""
    require_kind(geojson, "LineString")
    coordinates = _field(geojson, "coordinates")
    _expect_type(coordinates, list, "ARRAY")
    return [_numbers(position) for position in coordinates]


def _built(kind: str, coordinates: list[Any]) -> dict[str, Any]:
    built = {datums.PTYPE: GEOMETRY, "coordinates": coordinates, "type": kind}
    checked(built)
    return built


def _coordinates(points: Sequence[LonLat]) -> list[Any]:
    return [[datums.number(lon), datums.number(lat)] for lon, lat in points]


# ---------------------------------------------------------------- reading coordinates


def _field(obj: dict[str, Any], key: str) -> Any:
    if key not in obj:
        raise ReqlNonExistenceError(f"No attribute `{key}` in object:\n{datums.printed(obj)}")
    return obj[key]


def _expect_type(value: Any, python_type: type, name: str) -> None:
    if not isinstance(value, python_type) or isinstance(value, bool) != (python_type is bool):
        cls = ReqlNonExistenceError if value is None else ReqlQueryLogicError
        raise cls(f"Expected type {name} but found {datums.type_name(value)}.")


def _number(value: Any) -> float:
    if not datums.is_number(value):
        cls = ReqlNonExistenceError if value is None else ReqlQueryLogicError
        raise cls(f"Expected type NUMBER but found {datums.type_name(value)}.")
    return float(value)


def _numbers(position: Any) -> LonLat:
    """A GeoJSON position: longitude and latitude (no altitude)."""
    _expect_type(position, list, "ARRAY")
    if len(position) < 2:
        raise ReqlQueryLogicError("Too few coordinates.  Need at least longitude and latitude.")
    if len(position) > 3:
        raise ReqlQueryLogicError(
            "Too many coordinates.  GeoJSON position should have no more than three coordinates, "
            f"but got {len(position)}."
        )
    if len(position) == 3:
        raise ReqlQueryLogicError("A third altitude coordinate in GeoJSON positions was found, but is not supported.")
    return (_number(position[0]), _number(position[1]))


def _position(position: Any) -> LonLat:
    lon, lat = _numbers(position)
    if not -180.0 <= lon <= 180.0:
        raise ReqlQueryLogicError(f"Longitude must be between -180 and 180.  Got {lon:.20g}.")
    if not -90.0 <= lat <= 90.0:
        raise ReqlQueryLogicError(f"Latitude must be between -90 and 90.  Got {lat:.20g}.")
    # The two ends of the longitude range are the same meridian.
    return (-180.0 if lon == 180.0 else lon, lat)


def _line(coordinates: Any) -> list[LonLat]:
    _expect_type(coordinates, list, "ARRAY")
    if len(coordinates) < 2:
        raise ReqlQueryLogicError("GeoJSON LineString must have at least two positions.")
    points = [_position(position) for position in coordinates]
    if not spherical.line_is_valid(points):
        raise ReqlQueryLogicError("Invalid LineString.  Are there antipodal or duplicate vertices?")
    return points


def _ring(coordinates: Any) -> tuple[LonLat, ...]:
    _expect_type(coordinates, list, "ARRAY")
    if len(coordinates) < 4:
        raise ReqlQueryLogicError("GeoJSON LinearRing must have at least four positions.")
    points = tuple(_position(position) for position in coordinates)
    if great_circles.vector(points[0]) != great_circles.vector(points[-1]):
        raise ReqlQueryLogicError("First and last vertex of GeoJSON LinearRing must be identical.")
    return points


def _polygon(coordinates: Any) -> tuple[tuple[LonLat, ...], ...]:
    _expect_type(coordinates, list, "ARRAY")
    rings = tuple(_ring(ring) for ring in coordinates)
    small = sum(len(ring) for ring in rings) <= spherical.CACHED_VERTICES
    problem = _small_polygon_problem(rings) if small else _polygon_problem(rings)
    if problem is not None:
        raise ReqlQueryLogicError(problem)
    return rings


def _polygon_problem(rings: tuple[tuple[LonLat, ...], ...]) -> str | None:
    if not all(spherical.ring_is_valid(ring) for ring in rings):
        return "Invalid LinearRing.  Are there antipodal or duplicate vertices? Is it self-intersecting?"
    if not spherical.polygon_is_valid(rings):
        return "Some edges in GeoJSON polygon could not be used.  Are they intersecting?"
    return None


# A query may build the same polygon for every row (`filter(lambda row: row['at'].intersects(r.circle(...)))`).
_small_polygon_problem = functools.lru_cache(maxsize=64)(_polygon_problem)
