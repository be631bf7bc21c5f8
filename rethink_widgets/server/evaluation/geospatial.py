"""Geospatial terms: geometries (point, line, polygon, circle, geojson, to_geojson, fill, polygon_sub), how they
meet (intersects, includes, distance) and the reads of geospatial indexes (get_intersecting, get_nearest).

`geometry` reads and builds the GeoJSON values, `spherical` decides how shapes meet on the sphere and `geodesy`
measures on the reference ellipsoid. A geospatial index keys each geometry by the cell of `geo_cells` holding it:
its reads look only in the cells near what they look for, then test each geometry found there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from rethink_widgets.server.errors import ReqlError, ReqlQueryLogicError, ReqlResourceLimitError
from rethink_widgets.server.evaluation import datums, geo_cells, geodesy, geometry, spherical
from rethink_widgets.server.evaluation.context import Context
from rethink_widgets.server.evaluation.geodesy import Ellipsoid
from rethink_widgets.server.evaluation.great_circles import LonLat
from rethink_widgets.server.evaluation.rows import filter_rows
from rethink_widgets.server.evaluation.spherical import Shape
from rethink_widgets.server.evaluation.tables import as_table
from rethink_widgets.server.evaluation.terms import VARIADIC, Term, operation
from rethink_widgets.server.evaluation.values import (
    GeoSelection,
    SingleSelection,
    Stream,
    Table,
    require_built_index,
)
from rethink_widgets.server.storage.records import KeyRange

# ---------------------------------------------------------------- making geometries


@operation("POINT", 2)
def point(ctx: Context, term: Term) -> dict[str, Any]:
    return geometry.point((ctx.number(term.args[0]), ctx.number(term.args[1])))


@operation("LINE", (2, VARIADIC))
def line(ctx: Context, term: Term) -> dict[str, Any]:
    return geometry.line(_points(ctx, term))


@operation("POLYGON", (3, VARIADIC))
def polygon(ctx: Context, term: Term) -> dict[str, Any]:
    return geometry.polygon(_points(ctx, term))


def _points(ctx: Context, term: Term) -> list[LonLat]:
    return [geometry.point_argument(ctx.datum(node)) for node in term.args]


@operation("GEOJSON", 1)
def geojson(ctx: Context, term: Term) -> dict[str, Any]:
    obj = ctx.object(term.args[0])
    geometry.checked(obj)
    if datums.PTYPE in obj:
        raise ReqlQueryLogicError("GeoJSON object already had a $reql_type$ field.")
    built = {key: value for key, value in obj.items() if key != "bbox"}
    return geometry.sanitize({datums.PTYPE: geometry.GEOMETRY, **built})


@operation("TO_GEOJSON", 1)
def to_geojson(ctx: Context, term: Term) -> dict[str, Any]:
    value = geometry.require(ctx.datum(term.args[0]))
    return {key: item for key, item in value.items() if key != datums.PTYPE}


@operation("CIRCLE", 2, optargs=("geo_system", "unit", "fill", "num_vertices"))
def circle(ctx: Context, term: Term) -> dict[str, Any]:
    fill = ctx.boolean(term.optargs["fill"]) if "fill" in term.optargs else True
    vertices = 32
    if "num_vertices" in term.optargs:
        vertices = ctx.integer(term.optargs["num_vertices"])
        if vertices <= 0:
            raise ReqlQueryLogicError("num_vertices must be positive.")
        if vertices + 1 > ctx.array_limit:  # (the ring closes with its first vertex again)
            raise ctx.array_limit_error()
    shape, unit = _ellipsoid(ctx, term), _unit(ctx, term)
    center = geometry.point_argument(ctx.datum(term.args[0]))
    radius = geodesy.from_unit(ctx.number(term.args[1]), unit)
    ring = geodesy.circle(center, radius, vertices, shape)
    return geometry.polygon(ring) if fill else geometry.line(ring)


@operation("FILL", 1)
def fill(ctx: Context, term: Term) -> dict[str, Any]:
    return geometry.polygon(geometry.line_points(geometry.require(ctx.datum(term.args[0]))))


@operation("POLYGON_SUB", 2)
def polygon_sub(ctx: Context, term: Term) -> dict[str, Any]:
    outer, inner = (_shell_only(ctx.datum(node)) for node in term.args)
    outer_rings = _polygon_rings(outer)
    if not spherical.includes(outer_rings, geometry.checked(inner)):
        raise ReqlQueryLogicError("The second argument to `polygon_sub` is not contained in the first one.")
    built = {**outer, "coordinates": [*outer["coordinates"], inner["coordinates"][0]]}
    geometry.checked(built)
    return built


def _shell_only(value: Any) -> dict[str, Any]:
    polygon_value = geometry.require(value)
    kind = geometry.kind_of(polygon_value)
    if kind != "Polygon":
        raise ReqlQueryLogicError(f"Expected a Polygon but found a {kind}.")
    coordinates = polygon_value["coordinates"]
    if isinstance(coordinates, list) and len(coordinates) > 1:
        raise ReqlQueryLogicError("Expected a Polygon with only an outer shell.  This one has holes.")
    return polygon_value


def _polygon_rings(value: dict[str, Any]) -> list[list[LonLat]]:
    geometry.require_kind(value, "Polygon")
    shape = geometry.checked(value)
    rings: list[list[LonLat]] = shape[1]
    return rings


# ---------------------------------------------------------------- how geometries meet


@operation("INTERSECTS", 2)
def intersects(ctx: Context, term: Term) -> Any:
    other = geometry.checked(geometry.require(ctx.datum(term.args[1])))
    return _on_geometry_or_rows(ctx, ctx.eval(term.args[0]), lambda value: spherical.intersects(value, other))


@operation("INCLUDES", 2)
def includes(ctx: Context, term: Term) -> Any:
    other = geometry.checked(geometry.require(ctx.datum(term.args[1])))

    def test(value: dict[str, Any]) -> bool:
        return spherical.includes(_polygon_rings(value), other)

    return _raw_on_geometry_or_rows(ctx, ctx.eval(term.args[0]), test)


def _on_geometry_or_rows(ctx: Context, value: Any, test: Callable[[Shape], bool]) -> Any:
    return _raw_on_geometry_or_rows(ctx, value, lambda found: test(geometry.checked(found)))


def _raw_on_geometry_or_rows(ctx: Context, value: Any, test: Callable[[dict[str, Any]], bool]) -> Any:
    """A test of one geometry, or of every row of a sequence (keeping the rows that pass, as RethinkDB's filter)."""
    if isinstance(value, SingleSelection):
        value = value.doc
    if not isinstance(value, Stream):
        value = ctx.as_datum(value)
    if isinstance(value, (list, Stream)):
        return filter_rows(ctx, value, lambda row: test(geometry.require(row)))
    return test(geometry.require(value))


@operation("DISTANCE", 2, optargs=("geo_system", "unit"))
def distance(ctx: Context, term: Term) -> float:
    first, second = (geometry.require(ctx.datum(node)) for node in term.args)
    shape, unit = _ellipsoid(ctx, term), _unit(ctx, term)
    if geometry.kind_of(first) != "Point":
        first, second = second, first
    origin = geometry.checked(first)
    if origin[0] != "Point":
        raise ReqlQueryLogicError(f"Expected geometry of type `Point` but found `{origin[0]}`.")
    meters = geodesy.distance(origin[1], geometry.checked(second), shape)
    return datums.number(geodesy.to_unit(meters, unit))


def _ellipsoid(ctx: Context, term: Term) -> Ellipsoid:
    if "geo_system" not in term.optargs:
        return geodesy.WGS84
    return geodesy.ellipsoid(ctx.datum(term.optargs["geo_system"]))


def _unit(ctx: Context, term: Term) -> float:
    return geodesy.unit_meters(ctx.datum(term.optargs["unit"])) if "unit" in term.optargs else 1.0


# ---------------------------------------------------------------- geospatial indexes


@operation("GET_INTERSECTING", 2, optargs=("index",))
def get_intersecting(ctx: Context, term: Term) -> GeoSelection:
    table = as_table(ctx, term.args[0])
    query = geometry.require(ctx.datum(term.args[1]))
    index = _geo_index(ctx, term, table, "get_intersecting")
    query_shape = geometry.checked(query)

    def meets(value: Any) -> bool:
        """What a changefeed on this selection tests each index value of a changed document with."""
        try:
            return geometry.is_geometry(value) and spherical.intersects(geometry.checked(value), query_shape)
        except ReqlError:
            return False  # (a geometry that cannot be read meets nothing, and the feed goes on)

    def rows() -> Iterator[dict[str, Any]]:
        ranges = geo_cells.query_ranges(spherical.bounds(query_shape))
        met = [
            (ikey, pkey)
            for ikey, pkey, value in table.storage.index_key_ranges(table.info, index, ranges)
            if spherical.intersects(geometry.checked(value), query_shape)
        ]
        # In the order of the whole index read in key order before: by geometry, then primary key.
        _check_size(len(met), ctx.array_limit)
        met.sort(key=_value_order)
        for doc in table.storage.index_documents(table.info, index, met):
            if doc is not None:
                yield doc

    return GeoSelection(table, index, meets, rows)


def _check_size(found: int, limit: int) -> None:
    """As RethinkDB, a read of a geospatial index holds no more results than an array may."""
    if found > limit:
        raise ReqlResourceLimitError("Array size limit exceeded during geospatial index traversal.")


def _value_order(entry: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """An entry's place in a geospatial index ordered by value (keys.encode), then primary key."""
    return entry[0][geo_cells.KEY_SIZE :], entry[1]


# get_nearest searches outwards ring by ring as RethinkDB does, so that it fails where RethinkDB fails (a ring too
# large to draw); each ring's radius follows the density of the results so far.
_FIRST_RADIUS_FRACTION = 10.0 / 6378137.0
_GOAL_PER_RING = 100.0
_MAX_GROWTH = 2.0
_RING_SIDES = 8


@operation("GET_NEAREST", 2, optargs=("index", "max_results", "max_dist", "geo_system", "unit"))
def get_nearest(ctx: Context, term: Term) -> list[dict[str, Any]]:
    table = as_table(ctx, term.args[0])
    center_value = ctx.datum(term.args[1])
    index = _geo_index(ctx, term, table, "get_nearest", check_kind=False)
    center = geometry.point_argument(center_value)
    shape, unit = _ellipsoid(ctx, term), _unit(ctx, term)
    max_dist = 100000.0
    if "max_dist" in term.optargs:
        max_dist = geodesy.from_unit(ctx.number(term.optargs["max_dist"]), unit)
        if not max_dist > 0.0:
            raise ReqlQueryLogicError("max_dist must be positive.")
    max_results = 100
    if "max_results" in term.optargs:
        max_results = ctx.integer(term.optargs["max_results"])
        if max_results <= 0:
            raise ReqlQueryLogicError("max_results must be positive.")
    _require_geo(table, index, "get_nearest")
    search = _Nearby(table, index, geometry.checked(geometry.point(center))[1], shape, ctx.array_limit)
    reach = _search_reach(search.count_within, max_dist, max_results, shape)
    # By distance, then in the order of the whole index read in key order before.
    found = sorted((dist, *_value_order(entry), entry) for dist, entry in search.found if dist <= reach)[:max_results]
    docs = table.storage.index_documents(table.info, index, [entry for *_order, entry in found])
    return [
        {"dist": datums.number(geodesy.to_unit(dist, unit)), "doc": doc}
        for (dist, *_order), doc in zip(found, docs, strict=True)
        if doc is not None
    ]


class _Nearby:
    """The geometries of a geospatial index read outwards from a center, a box at a time, each with its distance."""

    def __init__(self, table: Table, index: str, center: LonLat, shape: Ellipsoid, limit: int) -> None:
        self._table, self._index, self._center, self._shape = table, index, center, shape
        self._limit = limit  # the results a search may hold (the query's array limit)
        self._read: list[KeyRange] = []
        self.found: list[tuple[float, tuple[bytes, bytes]]] = []  # (distance, entry)

    def count_within(self, radius: float) -> int:
        """How many geometries are within `radius`, reading first those of the box around it not read yet."""
        box = geo_cells.around(self._center, radius, self._shape)
        ranges = geo_cells.without(geo_cells.query_ranges(box), self._read)
        for ikey, pkey, value in self._table.storage.index_key_ranges(self._table.info, self._index, ranges):
            self.found.append((geodesy.distance(self._center, geometry.checked(value), self._shape), (ikey, pkey)))
        self._read = geo_cells.merged([*self._read, *ranges])
        within = sum(1 for dist, _entry in self.found if dist <= radius)
        _check_size(within, self._limit)
        return within


def _search_reach(count_within: Callable[[float], int], max_dist: float, max_results: int, shape: Ellipsoid) -> float:
    """The radius RethinkDB's outward search stops at, given how many candidates are within a radius."""
    done, radius = 0.0, min(max_dist, _FIRST_RADIUS_FRACTION * shape.equator_radius)
    seen = 0
    while True:
        try:
            geodesy.check_search_radius(radius, _RING_SIDES, shape)
        except geodesy.RadiusTooLarge as error:
            raise ReqlQueryLogicError(
                "The distance has become too large for continuing the indexed nearest traversal.  Consider "
                f"specifying a smaller `max_dist` parameter.  ({error.message})"
            ) from None
        now = count_within(radius)
        density = (now - seen) / (math.pi * (radius * radius - done * done))
        done, seen = radius, now
        radius = math.sqrt(_GOAL_PER_RING / math.pi / density + done * done) if density else done * _MAX_GROWTH
        # (RethinkDB's own bound, where the growth factor never binds: kept, so the search stops where RethinkDB's does)
        radius = min(radius, radius * _MAX_GROWTH, max_dist)
        if done >= max_dist or seen >= max_results:
            return done


def _geo_index(ctx: Context, term: Term, table: Table, name: str, *, check_kind: bool = True) -> str:
    if "index" not in term.optargs:
        raise ReqlQueryLogicError(f"{name} requires an index argument.")
    index = ctx.string(term.optargs["index"])
    if index == table.primary_key:
        raise ReqlQueryLogicError(f"{name} cannot use the primary index.")
    if check_kind:
        _require_geo(table, index, name)
    return index


def _require_geo(table: Table, index: str, name: str) -> None:
    require_built_index(table.info, index)
    if not table.info.indexes[index].geo:
        raise ReqlQueryLogicError(
            f"Index `{index}` is not a geospatial index.  {name} can only be used with a geospatial index."
        )
