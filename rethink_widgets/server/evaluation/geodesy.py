"""Distances on an ellipsoid: reference ellipsoids, distance units, geodesic distances and circles.

RethinkDB measures along geodesics of the reference ellipsoid with Karney's algorithms, which GeographicLib
implements; shapes are projected on the sphere first (see `spherical`), so a distance to a line or polygon is the
geodesic distance to its nearest point there.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

from geographiclib.geodesic import Geodesic

from rethink_widgets.server import interrupts
from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums, great_circles, spherical
from rethink_widgets.server.evaluation.great_circles import LonLat
from rethink_widgets.server.evaluation.spherical import Shape


class Ellipsoid(NamedTuple):
    equator_radius: float
    flattening: float

    @property
    def poles_radius(self) -> float:
        return self.equator_radius * (1.0 - self.flattening)


WGS84 = Ellipsoid(6378137.0, 1.0 / 298.257223563)
UNIT_SPHERE = Ellipsoid(1.0, 0.0)
METERS_PER_UNIT = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "nm": 1852.0, "ft": 0.3048}


class RadiusTooLarge(ReqlQueryLogicError):
    """A circle too large to draw (get_nearest explains it in its own words)."""


def ellipsoid(geo_system: Any) -> Ellipsoid:
    """The `geo_system` optarg: "WGS84", "unit_sphere" or an object of the equator radius `a` and flattening `f`."""
    if isinstance(geo_system, dict):
        a, f = _number_field(geo_system, "a"), _number_field(geo_system, "f")
        if not a > 0.0:
            raise ReqlQueryLogicError("The equator radius `a` must be positive.")
        if not 0.0 <= f < 1.0:
            raise ReqlQueryLogicError("The flattening `f` must be in the range [0, 1).")
        return Ellipsoid(a, f)
    if not isinstance(geo_system, str):
        raise ReqlQueryLogicError(f"Expected type STRING but found {datums.type_name(geo_system)}.")
    if geo_system == "WGS84":
        return WGS84
    if geo_system == "unit_sphere":
        return UNIT_SPHERE
    raise ReqlQueryLogicError(f'Unrecognized geo system "{geo_system}" (valid options: "WGS84", "unit_sphere").')


def unit_meters(unit: Any) -> float:
    """How many meters the `unit` optarg's unit is."""
    if not isinstance(unit, str):
        raise ReqlQueryLogicError(f"Expected type STRING but found {datums.type_name(unit)}.")
    if unit not in METERS_PER_UNIT:
        raise ReqlQueryLogicError(f"Unrecognized distance unit `{unit}`.")
    return METERS_PER_UNIT[unit]


def to_unit(meters: float, unit_size: float) -> float:
    return meters * (1.0 / unit_size)


def from_unit(distance: float, unit_size: float) -> float:
    return distance * (unit_size / 1.0)


def _number_field(obj: dict[str, Any], key: str) -> float:
    if key not in obj:
        raise ReqlQueryLogicError(f"No attribute `{key}` in object:\n{datums.printed(obj)}")
    value = obj[key]
    if not datums.is_number(value):
        raise ReqlQueryLogicError(f"Expected type NUMBER but found {datums.type_name(value)}.")
    return float(value)


@functools.lru_cache(maxsize=16)
def _geodesic(shape: Ellipsoid) -> Geodesic:
    return Geodesic(shape.equator_radius, shape.flattening)


def _through_sphere(point: LonLat) -> LonLat:
    # RethinkDB measures from the point as the sphere holds it, which can move it by an ulp.
    return great_circles.lon_lat(great_circles.vector(point))


def between(first: LonLat, second: LonLat, shape: Ellipsoid) -> float:
    """The geodesic distance in meters between two points."""
    result = _geodesic(shape).Inverse(first[1], first[0], second[1], second[0], Geodesic.DISTANCE)
    return float(result["s12"])


def distance(point: LonLat, other: Shape, shape: Ellipsoid) -> float:
    """The geodesic distance in meters from a point to the nearest point of `other` (0 inside a polygon)."""
    origin = _through_sphere(point)
    if other[0] == "Point":
        return between(origin, _through_sphere(other[1]), shape)
    # The nearest point comes back from the sphere already; it is the point itself when `point` is on `other`.
    nearest = spherical.project(point, other)
    if nearest == point:
        return 0.0
    return between(origin, nearest, shape)


def max_radius(shape: Ellipsoid) -> float:
    return 0.5 * math.pi * min(shape.equator_radius, shape.poles_radius)


def check_radius(radius: float, shape: Ellipsoid) -> None:
    """Refuse a circle's radius that the ellipsoid cannot hold (RadiusTooLarge)."""
    if radius <= 0.0:
        raise RadiusTooLarge("Radius must be positive")
    limit = max_radius(shape)
    if radius >= limit:
        raise RadiusTooLarge(
            "Radius must be smaller than a quarter of the circumference along the minor axis of the reference "
            f"ellipsoid.  Got {radius:.20g}m, but must be smaller than {limit:.20g}m."
        )


def circle(center: LonLat, radius: float, vertices: int, shape: Ellipsoid) -> tuple[LonLat, ...]:
    """`vertices` points at `radius` meters around `center`, from azimuth -180 degrees on, closed."""
    if vertices <= spherical.CACHED_VERTICES:
        return _kept_circle(center, radius, vertices, shape)
    return _circle(center, radius, vertices, shape)


def _circle(center: LonLat, radius: float, vertices: int, shape: Ellipsoid) -> tuple[LonLat, ...]:
    check_radius(radius, shape)
    geodesic = _geodesic(shape)
    points: list[LonLat] = []
    for i in range(vertices):
        interrupts.check()
        azimuth = -180.0 + (360.0 / vertices * i)
        end = geodesic.Direct(center[1], center[0], azimuth, radius, Geodesic.LATITUDE | Geodesic.LONGITUDE)
        points.append((float(end["lon2"]), float(end["lat2"])))
    return (*points, points[0]) if points else ()


# A query may draw the same circle for every row (`filter(lambda row: row['at'].intersects(r.circle(...)))`).
_kept_circle = functools.lru_cache(maxsize=64)(_circle)


def check_search_radius(inradius: float, sides: int, shape: Ellipsoid) -> None:
    """Refuse a search out to `inradius` meters that RethinkDB's polygon of `sides` sides could not cover.

    That polygon's circumradius is a flat regular polygon's, widened by 1% for numeric leeway and by the
    ellipsoid's largest distortion of distances."""
    distortion = max(shape.equator_radius, shape.poles_radius) / min(shape.equator_radius, shape.poles_radius)
    check_radius(inradius * 1.01 / math.cos(math.pi / sides) * distortion, shape)
