"""Reference ellipsoids, distance units, geodesic distances and circles, as RethinkDB computes them."""

from __future__ import annotations

import math

import pytest

from rethink_widgets.server.errors import ReqlQueryLogicError
from rethink_widgets.server.evaluation import geodesy


def test_ellipsoids() -> None:
    assert geodesy.ellipsoid("WGS84") == geodesy.WGS84
    assert geodesy.ellipsoid("unit_sphere") == geodesy.UNIT_SPHERE
    assert geodesy.ellipsoid({"a": 2, "f": 0.5}) == geodesy.Ellipsoid(2.0, 0.5)
    with pytest.raises(ReqlQueryLogicError, match=r"The equator radius `a` must be positive\."):
        geodesy.ellipsoid({"a": 0, "f": 0})
    with pytest.raises(ReqlQueryLogicError, match=r"The flattening `f` must be in the range \[0, 1\)."):
        geodesy.ellipsoid({"a": 1, "f": 1})
    with pytest.raises(ReqlQueryLogicError, match="Unrecognized geo system"):
        geodesy.ellipsoid("GRS80")


def test_units() -> None:
    assert geodesy.unit_meters("mi") == 1609.344
    assert geodesy.to_unit(1852.0, geodesy.unit_meters("nm")) == 1.0
    assert geodesy.from_unit(2.0, geodesy.unit_meters("km")) == 2000.0
    with pytest.raises(ReqlQueryLogicError, match=r"Unrecognized distance unit `yd`\."):
        geodesy.unit_meters("yd")


def test_distances_on_the_ellipsoid_and_the_sphere() -> None:
    assert repr(geodesy.distance((-122, 37), ("Point", (-122, 36)), geodesy.WGS84)) == "110968.30443995494"
    # Half a meridian and half the equator of WGS84 are the same length: the shortest way round the equator to the
    # antipode goes over a pole.
    pole_to_pole = geodesy.distance((0, -90), ("Point", (0, 90)), geodesy.WGS84)
    assert geodesy.distance((0, 0), ("Point", (180, 0)), geodesy.WGS84) == pytest.approx(pole_to_pole, rel=1e-15)
    # On the unit sphere a distance is an angle in radians.
    assert geodesy.distance((0, 0), ("Point", (90, 0)), geodesy.UNIT_SPHERE) == pytest.approx(math.pi / 2)


def test_distance_to_a_line_is_to_its_nearest_point() -> None:
    to_line = geodesy.distance((0, 0), ("LineString", [(0.1, 0), (1, 0)]), geodesy.WGS84)
    assert to_line == geodesy.distance((0, 0), ("Point", (0.1, 0)), geodesy.WGS84)
    inside = ("Polygon", [[(0, -1), (0, 1), (10, 10), (0, -1)]])
    assert geodesy.distance((0.5, 0.5), inside, geodesy.WGS84) == 0.0


def test_circles() -> None:
    ring = geodesy.circle((0, 0), 1, 3, geodesy.WGS84)
    assert ring == (
        (0.0, -9.04369477050382e-06),
        (-7.779638566553426e-06, 4.5218473852518965e-06),
        (7.779638566553426e-06, 4.5218473852518965e-06),
        (0.0, -9.04369477050382e-06),
    )
    for lon, lat in ring:
        assert geodesy.distance((0, 0), ("Point", (lon, lat)), geodesy.WGS84) == pytest.approx(1.0)
    with pytest.raises(geodesy.RadiusTooLarge, match=r"Got 2m, but must be smaller than 1.570796326794896558m\."):
        geodesy.circle((0, 0), 2, 3, geodesy.UNIT_SPHERE)
    with pytest.raises(geodesy.RadiusTooLarge, match="Radius must be positive"):
        geodesy.circle((0, 0), 0, 3, geodesy.WGS84)


def test_search_radius_allows_for_the_polygon_around_it() -> None:
    geodesy.check_search_radius(9_000_000, 8, geodesy.WGS84)
    with pytest.raises(geodesy.RadiusTooLarge, match=r"Got 10968937\.995244588703m"):
        geodesy.check_search_radius(10_000_000, 8, geodesy.WGS84)
