"""Geospatial terms through the driver: building geometries, how they meet, distances, circles and the reads of
geospatial indexes (get_intersecting, get_nearest), with RethinkDB's values and messages."""

from __future__ import annotations

import json
import random
import sqlite3
from typing import Any

import pytest
from geographiclib.geodesic import Geodesic
from reql_errors import fails
from rethinkdb import RethinkDB
from rethinkdb.errors import (
    ReqlNonExistenceError,
    ReqlOpFailedError,
    ReqlQueryLogicError,
    ReqlResourceLimitError,
    ReqlServerCompileError,
)
from servers import Restartable

from rethink_widgets.server import keys
from rethink_widgets.server.storage import DATA_FILE


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
    fails(
        conn,
        r.circle([0, 0], 1, num_vertices=10),
        ReqlResourceLimitError,
        "Array over size limit `10`.  To raise the number of allowed elements, modify the `array_limit` option to "
        "`.run` (not available in the Data Explorer), or use an index.",
        array_limit=10,
    )


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


def test_geospatial_reads_hold_no_more_than_an_array(conn: Any, r: RethinkDB, places: str) -> None:
    t, message = r.table(places), "Array size limit exceeded during geospatial index traversal."
    everywhere = r.polygon([-1, -2], [11, -2], [11, 11], [-1, 11])
    assert t.get_intersecting(everywhere, index="g").count().run(conn, array_limit=3) == 3
    fails(conn, t.get_intersecting(everywhere, index="g").count(), ReqlResourceLimitError, message, array_limit=2)
    assert len(t.get_nearest(r.point(0, 0), index="g", max_dist=2000000).run(conn, array_limit=3)) == 3
    fails(
        conn, t.get_nearest(r.point(0, 0), index="g", max_dist=2000000), ReqlResourceLimitError, message, array_limit=2
    )


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


# ---------------------------------------------------------------- geospatial indexes read by cell (geo_cells)
# A geospatial index keeps each geometry under a cell of a quadtree on longitude/latitude; get_intersecting and
# get_nearest read only the cells near what they look for. Here they must find just what a scan of every row finds,
# in the same order, with geometries where cells meet, at the antimeridian and the poles, large and small.

EDGE_LONGITUDES = (-180.0, -90.0, -45.0, 0.0, 45.0, 90.0, 180.0, 22.5)
EDGE_LATITUDES = (-90.0, -45.0, 0.0, 45.0, 67.5, 90.0, -22.5)
NUDGES = (0.0, 0.0, 1e-9, -1e-9, 1e-6, -1e-3)


def spot(rng: random.Random) -> tuple[float, float]:
    """A place on the edges of big cells (or of the map) more often than not."""
    lon = rng.choice(EDGE_LONGITUDES) + rng.choice(NUDGES) if rng.random() < 0.7 else rng.uniform(-180, 180)
    lat = rng.choice(EDGE_LATITUDES) + rng.choice(NUDGES) if rng.random() < 0.7 else rng.uniform(-90, 90)
    return min(max(lon, -180.0), 180.0), min(max(lat, -89.9), 89.9) if rng.random() < 0.5 else min(max(lat, -90), 90)


def random_geometry(r: RethinkDB, rng: random.Random) -> Any:
    lon, lat = spot(rng)
    if rng.random() < 0.6:
        return r.point(lon, lat)
    size = 10 ** rng.uniform(-5, 1)
    lat = min(max(lat, -89.0), 89.0 - size)
    # (past the antimeridian: back from the other side)
    ends = [[((x + 180) % 360) - 180, y] for x, y in ((lon - size / 2, lat), (lon + size / 2, lat + size / 2))]
    if rng.random() < 0.5:
        return r.line(*ends)
    return r.polygon(*ends, [ends[0][0], ends[1][1]])


SPECIAL = (
    lambda r: r.line([179.5, 5], [-179.5, 5.5]),  # across the antimeridian
    lambda r: r.polygon([170, -10], [-170, -10], [-170, 10], [170, 10]),
    lambda r: r.polygon([0, 80], [120, 80], [-120, 80]),  # around the north pole
    lambda r: r.circle([0, -90], 300, unit="km"),  # around the south pole
    lambda r: r.polygon([-60, -30], [60, -30], [60, 30], [-60, 30]),  # big
    lambda r: r.point(180, 10),
    lambda r: r.point(-180, -10),
    lambda r: r.point(42, 90),
    lambda r: r.point(-42, -90),
    lambda r: r.line([-0.001, 0.001], [0.001, -0.001]),  # across the middle of the map
)


def geo_rows(r: RethinkDB, rng: random.Random, ids: range) -> list[dict[str, Any]]:
    return [
        {
            "id": n,
            "g": SPECIAL[n](r) if n < len(SPECIAL) else random_geometry(r, rng),
            "m": [random_geometry(r, rng) for _ in range(rng.randrange(3))],
        }
        for n in ids
    ]


def queries(r: RethinkDB, rng: random.Random, stored: list[Any]) -> list[Any]:
    found = [r.point(*point["coordinates"]) for point in stored if point["type"] == "Point"]
    return [
        *rng.sample(found, 8),  # exactly where rows are
        r.point(-180, 10), r.point(180, -10), r.point(0, 90), r.point(7, -90), r.point(0, 0),
        *(r.circle(list(spot(rng)), rng.choice((0.001, 1, 100, 2000)), unit="km") for _ in range(8)),
        r.polygon([175, -5], [-175, -5], [-175, 5], [175, 5]),
        r.circle([0, 90], 500, unit="km"),
        r.polygon([-100, -60], [100, -60], [100, 60], [-100, 60]),
        r.line([-1, 0], [1, 0]), r.line([179, 45], [-179, 45]), r.line([0, -89], [0, 89]),
    ]  # fmt: skip


def scan_intersecting(r: RethinkDB, t: Any, query: Any) -> Any:
    """What a get_intersecting of the index on `g` gives, found by a scan: by geometry, then primary key."""
    return t.filter(lambda row: row["g"].intersects(query)).order_by(r.row["g"], "id")["id"]


def scan_intersecting_multi(t: Any, query: Any) -> Any:
    met = t.concat_map(
        lambda row: row["m"].filter(lambda g: g.intersects(query)).map(lambda g: {"g": g, "id": row["id"]})
    )
    return met.order_by("g", "id")["id"]


def scan_nearest(r: RethinkDB, t: Any, center: Any, max_dist: float, max_results: int) -> Any:
    measured = t.map(lambda row: {"id": row["id"], "g": row["g"], "dist": r.distance(center, row["g"])})
    nearest = measured.filter(r.row["dist"] <= max_dist).order_by("dist", "g", "id").limit(max_results)
    return nearest.map(lambda found: [found["id"], found["dist"]])


def assert_reads_as_scans(conn: Any, r: RethinkDB, table: str, rng: random.Random) -> None:
    t = r.table(table)
    stored = t.order_by("id")["g"].run(conn)
    for query in queries(r, rng, stored):
        assert list(t.get_intersecting(query, index="g")["id"].run(conn)) == list(
            scan_intersecting(r, t, query).run(conn)
        )
        got = t.get_intersecting(query, index="m")["id"].run(conn)
        assert list(got) == list(scan_intersecting_multi(t, query).run(conn))
    for _ in range(8):
        center, max_dist = r.point(*spot(rng)), rng.choice((10, 1000, 100000, 3000000))
        max_results = rng.choice((1, 5, 100))
        got = t.get_nearest(center, index="g", max_dist=max_dist, max_results=max_results)
        want = scan_nearest(r, t, center, max_dist, max_results).run(conn)
        assert got.map(lambda found: [found["doc"]["id"], found["dist"]]).run(conn) == want


def test_geospatial_index_reads_find_what_scans_find(conn: Any, r: RethinkDB, table: str) -> None:
    rng = random.Random(11)
    t = r.table(table)
    t.insert(geo_rows(r, rng, range(400))).run(conn)
    # Built in the background (more rows than a chunk), while rows come in.
    t.index_create("g", geo=True).run(conn)
    t.index_create("m", geo=True, multi=True).run(conn)
    t.insert(geo_rows(r, rng, range(400, 500))).run(conn)
    t.index_wait().run(conn)
    assert_reads_as_scans(conn, r, table, rng)
    # Rows moved, reshaped and deleted leave their old cells.
    moved = [{"id": n, "g": random_geometry(r, rng), "m": [random_geometry(r, rng)]} for n in range(0, 500, 3)]
    t.insert(moved, conflict="replace").run(conn)
    t.filter(lambda row: row["id"] % 3 == 1).delete().run(conn)
    assert_reads_as_scans(conn, r, table, rng)


def test_nearest_stops_where_rethinkdb_stops(conn: Any, r: RethinkDB, table: str) -> None:
    rng = random.Random(12)
    t = r.table(table)
    t.insert(geo_rows(r, rng, range(300))).run(conn)
    t.index_create("g", geo=True).run(conn)
    t.index_wait().run(conn)
    # Enough rows found near the center: the search ends long before a radius it could not draw.
    center = r.point(0, 0)
    near = t.get_nearest(center, index="g", max_dist=9900000, max_results=3)
    assert near.map(lambda found: [found["doc"]["id"], found["dist"]]).run(conn) == (
        scan_nearest(r, t, center, 9900000, 3).run(conn)
    )
    # Too few: it fails as RethinkDB fails.
    t.insert({"id": "far", "g": r.point(100, -30)}).run(conn)
    with pytest.raises(ReqlQueryLogicError, match="The distance has become too large"):
        t.get_nearest(r.point(-80, -25.5), index="g", max_dist=9900, unit="km", max_results=1000).run(conn)


def test_moved_geometries_leave_their_cells(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.index_create("g", geo=True).run(conn)
    t.index_create("m", geo=True, multi=True).run(conn)
    t.insert({"id": 1, "g": r.point(10, 10), "m": [r.point(1, 1), r.point(-170, 60)]}).run(conn)
    here, there = r.circle([10, 10], 10, unit="km"), r.circle([-170, -80], 10, unit="km")
    assert list(t.get_intersecting(here, index="g")["id"].run(conn)) == [1]
    t.get(1).update({"g": r.point(-170, -80)}).run(conn)
    assert list(t.get_intersecting(here, index="g").run(conn)) == []
    assert list(t.get_intersecting(there, index="g")["id"].run(conn)) == [1]
    assert t.get_nearest(r.point(-170.001, -80), index="g", max_dist=1000)["doc"]["id"].run(conn) == [1]
    t.get(1).update({"g": r.polygon([0, 80], [120, 80], [-120, 80])}).run(conn)
    assert list(t.get_intersecting(r.point(33, 90), index="g")["id"].run(conn)) == [1]
    assert list(t.get_intersecting(there, index="g").run(conn)) == []
    t.get(1).update({"m": [r.point(-170, 60)]}).run(conn)
    assert list(t.get_intersecting(r.point(1, 1), index="m").run(conn)) == []
    assert list(t.get_intersecting(r.point(-170, 60), index="m")["id"].run(conn)) == [1]
    t.get(1).delete().run(conn)
    assert list(t.get_intersecting(r.point(33, 90), index="g").run(conn)) == []
    assert list(t.get_intersecting(r.point(-170, 60), index="m").run(conn)) == []


def test_geospatial_indexes_after_a_restart_and_from_an_older_format(restartable: Restartable, r: RethinkDB) -> None:
    rng = random.Random(13)
    conn = r.connect(restartable.host, restartable.port)
    r.table_create("places").run(conn)
    t = r.table("places")
    t.insert(geo_rows(r, rng, range(300))).run(conn)
    t.index_create("g", geo=True).run(conn)
    t.index_create("m", geo=True, multi=True).run(conn)
    t.index_wait().run(conn)
    probe = r.polygon([-50, -50], [50, -50], [50, 50], [-50, 50])
    before = list(t.get_intersecting(probe, index="g")["id"].run(conn))
    assert before == list(scan_intersecting(r, t, probe).run(conn))
    conn.close()
    restartable.kill()
    restartable.restart()
    conn = r.connect(restartable.host, restartable.port)
    assert list(t.get_intersecting(probe, index="g")["id"].run(conn)) == before
    conn.close()
    restartable.kill()
    # The first geospatial indexes keyed entries by value, as other indexes do: they are built again.
    with sqlite3.connect(restartable.directory / DATA_FILE) as db:
        db.execute("UPDATE indexes SET key_format = 0")
        for (sql,) in db.execute("SELECT sql FROM indexes WHERE geo = 1").fetchall():
            rows = db.execute(f"SELECT pkey, value FROM {sql}").fetchall()
            db.execute(f"DELETE FROM {sql}")
            old = [(keys.encode(json.loads(value)), pkey, value) for pkey, value in rows]
            db.executemany(f"INSERT INTO {sql} VALUES (?, ?, ?)", old)
    restartable.restart()
    conn = r.connect(restartable.host, restartable.port)
    t.index_wait().run(conn)
    assert list(t.get_intersecting(probe, index="g")["id"].run(conn)) == before
    assert_reads_as_scans(conn, r, "places", rng)
    conn.close()


def test_the_antimeridian_and_the_poles_are_one_place(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.index_create("g", geo=True).run(conn)
    t.insert([
        {"id": 1, "g": r.point(179.99999999999, 20)},  # (within intersects' tolerance of -180)
        {"id": 2, "g": r.point(-179.999, 0)},
        {"id": 3, "g": r.point(120, 89.99999999999)},
        {"id": 4, "g": r.point(0, -90)},
    ]).run(conn)  # fmt: skip
    assert list(t.get_intersecting(r.point(-180, 20), index="g")["id"].run(conn)) == [1]
    assert list(t.get_intersecting(r.point(-60, 90), index="g")["id"].run(conn)) == [3]
    assert list(t.get_intersecting(r.point(77, -90), index="g")["id"].run(conn)) == [4]
    near = t.get_nearest(r.point(179.999, 0), index="g", max_dist=1000)
    assert near.map(lambda found: found["doc"]["id"]).run(conn) == [2]
    assert t.get_nearest(r.point(-60, 89.9999), index="g", max_dist=100)["doc"]["id"].run(conn) == [3]


@pytest.mark.parametrize("latitude", [0.0, 45.0, -60.0, 84.0, 89.5])
def test_nearest_finds_rows_just_within_max_dist(conn: Any, r: RethinkDB, table: str, latitude: float) -> None:
    """Rows due north, south, east and west of the center, just short of max_dist: the farthest the box drawn around
    a radius must reach, along each axis."""
    t = r.table(table)
    t.index_create("g", geo=True).run(conn)
    max_dist, center = 300000.0, (170.0, latitude)
    line = Geodesic.WGS84
    ends = [line.Direct(latitude, center[0], azimuth, max_dist * (1 - 1e-9)) for azimuth in (0, 90, 180, -90)]
    t.insert([{"id": n, "g": r.point(end["lon2"], end["lat2"])} for n, end in enumerate(ends)]).run(conn)
    got = t.get_nearest(r.point(*center), index="g", max_dist=max_dist)["doc"]["id"].run(conn)
    assert sorted(got) == [0, 1, 2, 3]


def test_changes_of_what_meets_an_area(conn: Any, r: RethinkDB, table: str) -> None:
    t = r.table(table)
    t.index_create("at", geo=True).run(conn)
    t.index_wait().run(conn)
    t.insert([{"id": 1, "at": r.point(0.5, 0.5)}, {"id": 2, "at": r.point(5, 5)}]).run(conn)
    area = r.polygon([0, 0], [1, 0], [1, 1], [0, 1])
    feed = t.get_intersecting(area, index="at").changes(include_initial=True).run(conn)
    assert feed.next(wait=30)["new_val"]["id"] == 1
    t.insert({"id": 3, "at": r.point(9, 9)}).run(conn)  # elsewhere: not seen
    t.insert({"id": 4, "at": r.point(0.2, 0.2)}).run(conn)
    assert feed.next(wait=30) == {"old_val": None, "new_val": {"id": 4, "at": r.point(0.2, 0.2).run(conn)}}
    t.get(1).update({"at": r.point(7, 7)}).run(conn)  # leaves the area
    left = feed.next(wait=30)
    assert (left["old_val"]["id"], left["new_val"]) == (1, None)
    t.get(2).update({"at": r.point(0.9, 0.9)}).run(conn)  # comes in
    came = feed.next(wait=30)
    assert (came["old_val"], came["new_val"]["id"]) == (None, 2)
    feed.close()
    fails(
        conn,
        t.get_intersecting(area, index="at").limit(1).changes(),
        ReqlQueryLogicError,
        "Cannot get changes on the first elements of an unordered stream.",
    )
