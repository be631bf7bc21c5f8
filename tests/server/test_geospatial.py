"""Geospatial terms through the driver: building geometries, how they meet, distances, circles and the reads of
geospatial indexes (get_intersecting, get_nearest), with RethinkDB's values and messages."""

from __future__ import annotations

from typing import Any

import pytest
from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import ReqlNonExistenceError, ReqlOpFailedError, ReqlQueryLogicError, ReqlServerCompileError


def geometry(kind: str, coordinates: Any) -> dict[str, Any]:
    return {"$reql_type$": "GEOMETRY", "coordinates": coordinates, "type": kind}


# ---------------------------------------------------------------- building geometries


def test_points_lines_and_polygons(conn: Any, r: RethinkDB) -> None:
    assert r.point(-122.4, 37.8).run(conn) == geometry("Point", [-122.4, 37.8])
    assert r.point(180, -90).run(conn) == geometry("Point", [180, -90])
    assert r.line([0, 0], r.point(0, 1), [0, 0]).run(conn) == geometry("LineString", [[0, 0], [0, 1], [0, 0]])
    # A polygon's ring is closed for it, unless its last point already is its first.
    closed = geometry("Polygon", [[[0, 0], [0, 1], [1, 0], [0, 0]]])
    assert r.polygon([0, 0], [0, 1], [1, 0]).run(conn) == closed
    assert r.polygon([0, 0], [0, 1], [1, 0], [0, 0]).run(conn) == closed


@pytest.mark.parametrize(
    ("query", "error", "message"),
    [
        (lambda r: r.point(0, 91), ReqlQueryLogicError, "Latitude must be between -90 and 90.  Got 91."),
        (lambda r: r.point(-180.5, 0), ReqlQueryLogicError, "Longitude must be between -180 and 180.  Got -180.5."),
        (lambda r: r.point("a", 0), ReqlQueryLogicError, "Expected type NUMBER but found STRING."),
        (lambda r: r.line([0, 0]), ReqlServerCompileError, "Expected 2 or more arguments but found 1."),
        (
            lambda r: r.line([0, 0], [0, 0]),
            ReqlQueryLogicError,
            "Invalid LineString.  Are there antipodal or duplicate vertices?",
        ),
        (
            lambda r: r.line([0, 0], [1, 0, 0]),
            ReqlQueryLogicError,
            "Expected point coordinate pair.  Got 3 element array instead of a 2 element one.",
        ),
        (
            lambda r: r.line(r.point(0, 0), r.line([0, 0], [1, 0])),
            ReqlQueryLogicError,
            "Expected geometry of type `Point` but found `LineString`.",
        ),
        (
            lambda r: r.polygon([0, 0], [0, 1], [1, 0], [-1, 0.5]),
            ReqlQueryLogicError,
            "Invalid LinearRing.  Are there antipodal or duplicate vertices? Is it self-intersecting?",
        ),
        (lambda r: r.polygon([0, 0], [0, 1]), ReqlServerCompileError, "Expected 3 or more arguments but found 2."),
    ],
)
def test_invalid_geometries_are_refused(conn: Any, r: RethinkDB, query: Any, error: Any, message: str) -> None:
    fails(conn, query(r), error, message)


def test_geojson_round_trip(conn: Any, r: RethinkDB) -> None:
    shape = {"coordinates": [[[0, 0], [0, 1], [1, 0], [0, 0]]], "type": "Polygon"}
    built = r.geojson(shape).run(conn)
    assert built == {"$reql_type$": "GEOMETRY", **shape}
    assert r.geojson(shape).to_geojson().run(conn) == shape
    # `bbox` is dropped; a null `crs` is kept.
    assert r.geojson({**shape, "bbox": [0, 0, 1, 1], "crs": None}).run(conn) == {**built, "crs": None}
    assert r.geojson(shape).type_of().run(conn) == "PTYPE<GEOMETRY>"


@pytest.mark.parametrize(
    ("obj", "error", "message"),
    [
        ({"coordinates": [[], 0], "type": "Point"}, ReqlQueryLogicError, "Expected type NUMBER but found ARRAY."),
        ({"coordinates": True, "type": "Point"}, ReqlQueryLogicError, "Expected type ARRAY but found BOOL."),
        ({"coordinates": [0, 0], "type": "foo"}, ReqlQueryLogicError, "Unrecognized GeoJSON type `foo`."),
        (
            {"coordinates": [0, 0], "type": "MultiPoint"},
            ReqlQueryLogicError,
            "GeoJSON type `MultiPoint` is not supported.",
        ),
        (
            {"coordinates": [0, 0], "type": "Point", "foo": 1},
            ReqlQueryLogicError,
            "Unrecognized field `foo` found in geometry object.",
        ),
        (
            {"coordinates": [0, 0], "type": "Point", "crs": {"type": "name"}},
            ReqlQueryLogicError,
            "Non-default coordinate reference systems are not supported in GeoJSON objects.  Make sure the `crs` "
            "field of the geometry is null or non-existent.",
        ),
        (
            {"coordinates": [0, 0, 0], "type": "Point"},
            ReqlQueryLogicError,
            "A third altitude coordinate in GeoJSON positions was found, but is not supported.",
        ),
    ],
)
def test_geojson_refusals(conn: Any, r: RethinkDB, obj: dict[str, Any], error: Any, message: str) -> None:
    fails(conn, r.geojson(obj), error, message)


def test_geojson_needs_its_fields(conn: Any, r: RethinkDB) -> None:
    with pytest.raises(ReqlNonExistenceError, match="No attribute `coordinates` in object:"):
        r.geojson({"type": "Point"}).run(conn)


def test_geometry_objects_are_checked_when_built(conn: Any, r: RethinkDB) -> None:
    fails(
        conn,
        r.expr({"$reql_type$": "GEOMETRY", "type": "Point", "coordinates": [0, 0], "x": 1}),
        ReqlQueryLogicError,
        "Unrecognized field `x` found in geometry object.",
    )
    fails(
        conn,
        r.expr({"$reql_type$": "GEOMETRY", "type": "Point"}),
        ReqlNonExistenceError,
        "Field `coordinates` not found in geometry object.",
    )


def test_circles(conn: Any, r: RethinkDB) -> None:
    ring = [
        [0, -9.04369477050382e-06],
        [-7.779638566553426e-06, 4.5218473852518965e-06],
        [7.779638566553426e-06, 4.5218473852518965e-06],
        [0, -9.04369477050382e-06],
    ]
    assert r.circle([0, 0], 1, num_vertices=3).run(conn) == geometry("Polygon", [ring])
    assert r.circle(r.point(0, 0), 1, num_vertices=3, fill=False).run(conn) == geometry("LineString", ring)
    assert r.circle([0, 0], 0.001, num_vertices=3, unit="km").run(conn) == geometry("Polygon", [ring])
    assert len(r.circle([10, 10], 1000).run(conn)["coordinates"][0]) == 33
    assert r.circle([0, 0], 1, fill=False).fill().eq(r.circle([0, 0], 1)).run(conn) is True
    fails(
        conn,
        r.circle([0, 0], 14000000, num_vertices=3),
        ReqlQueryLogicError,
        "Radius must be smaller than a quarter of the circumference along the minor axis of the reference ellipsoid."
        "  Got 14000000m, but must be smaller than 9985163.1855612862855m.",
    )
    fails(conn, r.circle([0, 0], 1, num_vertices=0), ReqlQueryLogicError, "num_vertices must be positive.")


# ---------------------------------------------------------------- distances


def test_distances(conn: Any, r: RethinkDB) -> None:
    assert r.distance(r.point(-122, 37), r.point(-122, 36)).coerce_to("STRING").run(conn) == "110968.30443995494"
    meters = r.distance(r.point(-122, 37), r.point(-123, 37)).run(conn)
    assert meters == pytest.approx(89011.26253835332, rel=1e-12)
    for unit, size in [("km", 1000.0), ("mi", 1609.344), ("nm", 1852.0), ("ft", 0.3048)]:
        assert r.distance(r.point(-122, 37), r.point(-123, 37), unit=unit).run(conn) == meters * (1.0 / size)
    tenth = {"a": 637813.7, "f": 1.0 / 298.257223563}
    assert r.distance(r.point(-122, 37), r.point(-123, 37), geo_system=tenth).run(conn) == pytest.approx(meters / 10)
    assert r.distance(r.point(0, 0), r.point(0, 0)).run(conn) == 0
    # To a line or polygon: to its nearest point, and nothing from inside a polygon.
    assert r.distance(r.point(0, 0), r.line([0.1, 0], [1, 0])).eq(r.distance(r.point(0, 0), r.point(0.1, 0))).run(conn)
    assert r.distance(r.polygon([0, -1], [0, 1], [10, 10]), r.point(0.5, 0.5)).run(conn) == 0
    fails(
        conn,
        r.distance(r.point(0, 0), r.point(1, 1), unit="parsec"),
        ReqlQueryLogicError,
        "Unrecognized distance unit `parsec`.",
    )
    fails(
        conn,
        r.distance(r.point(0, 0), r.point(1, 1), geo_system="mars"),
        ReqlQueryLogicError,
        'Unrecognized geo system "mars" (valid options: "WGS84", "unit_sphere").',
    )


# ---------------------------------------------------------------- intersects, includes, polygon_sub


def test_intersects_and_includes(conn: Any, r: RethinkDB) -> None:
    square = r.polygon([1, 1], [2, 1], [2, 2], [1, 2])
    holed = square.polygon_sub(r.polygon([1.1, 1.1], [1.9, 1.1], [1.9, 1.9], [1.1, 1.9]))
    assert square.intersects(r.point(1.5, 1.5)).run(conn) is True
    assert holed.intersects(r.point(1.5, 1.5)).run(conn) is False
    assert holed.includes(r.point(1.05, 1.05)).run(conn) is True
    assert square.includes(r.line([1.5, 1.5], [3, 3])).run(conn) is False
    # On sequences they keep what passes.
    points = r.expr([r.point(1, 0), r.point(3, 0), r.point(2, 0)])
    assert points.intersects(r.line([0, 0], [2, 0])).count().run(conn) == 2
    fails(
        conn,
        r.point(0, 0).includes(r.point(0, 0)),
        ReqlQueryLogicError,
        "Expected geometry of type `Polygon` but found `Point`.",
    )


def test_polygon_sub(conn: Any, r: RethinkDB) -> None:
    square = r.polygon([0, 0], [1, 0], [1, 1], [0, 1])
    holed = square.polygon_sub(r.polygon([0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9])).run(conn)
    assert holed["coordinates"] == [
        [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]],
        [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9], [0.1, 0.1]],
    ]
    fails(
        conn,
        square.polygon_sub(r.polygon([0, 0], [2, 0], [2, 2], [0, 2])),
        ReqlQueryLogicError,
        "The second argument to `polygon_sub` is not contained in the first one.",
    )
    fails(
        conn,
        square.polygon_sub(r.line([0, 0], [1, 1])),
        ReqlQueryLogicError,
        "Expected a Polygon but found a LineString.",
    )


# ---------------------------------------------------------------- geospatial indexes


@pytest.fixture
def places(conn: Any, r: RethinkDB, table: str) -> str:
    r.table(table).insert([
        {"id": 0, "g": r.point(10, 10), "m": [r.point(0, 0), r.point(1, 0), r.point(2, 0)]},
        {"id": 1, "g": r.polygon([0, 0], [0, 1], [1, 1], [1, 0])},
        {"id": 2, "g": r.line([0.000002, -1], [-0.000001, 1])},
    ]).run(conn)  # fmt: skip
    r.table(table).index_create("g", geo=True).run(conn)
    r.table(table).index_create("m", geo=True, multi=True).run(conn)
    r.table(table).index_create("other").run(conn)
    r.table(table).index_wait().run(conn)
    return table


def test_get_intersecting(conn: Any, r: RethinkDB, places: str) -> None:
    t = r.table(places)
    assert t.get_intersecting(r.point(0.5, 0.5), index="g").count().run(conn) == 1
    assert t.get_intersecting(r.point(20, 20), index="g").count().run(conn) == 0
    assert sorted(t.get_intersecting(r.line([0, 0], [10, 10]), index="g")["id"].run(conn)) == [0, 1, 2]
    assert t.get_intersecting(r.point(0, 0), index="g").type_of().run(conn) == "SELECTION<STREAM>"
    # A multi index gives a document once for each of its geometries that meets the query.
    assert t.get_intersecting(r.polygon([0, 0], [0, 1], [1, 1], [1, 0]), index="m").count().run(conn) == 2
    # What it gives is a selection: it can be written through.
    t.get_intersecting(r.point(10, 10), index="g").update({"seen": True}).run(conn)
    assert t.get(0)["seen"].run(conn) is True


def test_get_nearest(conn: Any, r: RethinkDB, places: str) -> None:
    t = r.table(places)
    near = t.get_nearest(r.point(0, 0), index="g", max_dist=1565110).pluck("dist", {"doc": "id"}).run(conn)
    # RethinkDB's own copy of GeographicLib can round a distance one unit in the last place differently.
    assert near == [
        {"dist": 0, "doc": {"id": 1}},
        {"dist": pytest.approx(0.055659745396754216, rel=1e-15), "doc": {"id": 2}},
        {"dist": pytest.approx(1565109.0992178896, rel=1e-15), "doc": {"id": 0}},
    ]
    assert t.get_nearest(r.point(0, 0), index="g", max_dist=1565110, max_results=2).count().run(conn) == 2
    in_km = t.get_nearest(r.point(0, 0), index="g", max_dist=1566, unit="km")["dist"].run(conn)
    assert in_km == pytest.approx([0, 0.00005565974539675422, 1565.1090992178897], rel=1e-15)
    assert t.get_nearest(r.point(0, 0), index="g").type_of().run(conn) == "ARRAY"
    fails(
        conn,
        t.get_nearest(r.point(0, 0), index="g", max_dist=10000000),
        ReqlQueryLogicError,
        "The distance has become too large for continuing the indexed nearest traversal.  Consider specifying a "
        "smaller `max_dist` parameter.  (Radius must be smaller than a quarter of the circumference along the minor "
        "axis of the reference ellipsoid.  Got 10968937.995244588703m, but must be smaller than "
        "9985163.1855612862855m.)",
    )


def test_geospatial_index_refusals(conn: Any, r: RethinkDB, places: str) -> None:
    t = r.table(places)
    fails(conn, t.get_intersecting(r.point(0, 0)), ReqlQueryLogicError, "get_intersecting requires an index argument.")
    fails(
        conn, t.get_nearest(r.point(0, 0), index="id"), ReqlQueryLogicError, "get_nearest cannot use the primary index."
    )
    fails(
        conn,
        t.get_intersecting(r.point(0, 0), index="other"),
        ReqlQueryLogicError,
        "Index `other` is not a geospatial index.  get_intersecting can only be used with a geospatial index.",
    )
    fails(
        conn,
        t.get_nearest(r.point(0, 0), index="missing"),
        ReqlOpFailedError,
        f"Index `missing` was not found on table `test.{places}`.",
    )
    only_geo = "Index `g` is a geospatial index.  Only get_nearest and get_intersecting can use a geospatial index."
    for query in (t.get_all(0, index="g"), t.between(0, 1, index="g"), t.order_by(index="g")):
        fails(conn, query.count(), ReqlQueryLogicError, only_geo)
    fails(
        conn,
        t.get_all(r.point(0, 0), index="other"),
        ReqlQueryLogicError,
        "Cannot use a geospatial index with `get_all`. Use `get_intersecting` instead.",
    )
    # Only r.point may stand in an index function: the other geometry terms can differ between machines.
    fails(
        conn,
        t.index_create("lines", lambda row: r.line(row["a"], row["b"])),
        ReqlQueryLogicError,
        "Could not prove function deterministic.  Index functions must be deterministic.",
    )
    assert t.index_create("points", lambda row: r.point(row["x"], row["y"])).run(conn) == {"created": 1}
