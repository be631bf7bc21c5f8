"""The cells keying geospatial index entries: keys, the ranges under a cell and of a cell, the cells holding a box,
the ranges a query box reads (missing no box that meets it, across the antimeridian and at the poles), the box
around a center on an ellipsoid, and sets of ranges."""

from __future__ import annotations

import math
import random

import pytest
from geographiclib.geodesic import Geodesic

from rethink_widgets.server import keys
from rethink_widgets.server.evaluation import geo_cells, geodesy, geometry
from rethink_widgets.server.evaluation.geo_cells import LEVELS, Cell
from rethink_widgets.server.evaluation.spherical import Box
from rethink_widgets.server.storage.records import KeyRange


def interleaved(x: int, y: int) -> int:
    """The Morton code bit by bit: bit i of x at 2i, of y at 2i + 1."""
    return sum(((x >> i) & 1) << (2 * i) | ((y >> i) & 1) << (2 * i + 1) for i in range(LEVELS))


def region(cell: Cell) -> Box:
    """A cell's (min lon, min lat, max lon, max lat)."""
    width, height = 360.0 / (1 << cell.level), 180.0 / (1 << cell.level)
    return (-180 + cell.x * width, -90 + cell.y * height, -180 + (cell.x + 1) * width, -90 + (cell.y + 1) * height)


def holds(outer: Box, inner: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def inside(key: bytes, ranges: list[KeyRange]) -> bool:
    return any(low <= key < high for low, high in ranges)


def random_cell(rng: random.Random) -> Cell:
    level = rng.randrange(LEVELS + 1)
    return Cell(level, rng.randrange(1 << level), rng.randrange(1 << level))


def test_keys_are_morton_codes_then_levels() -> None:
    rng = random.Random(1)
    for _ in range(500):
        cell = random_cell(rng)
        shift = LEVELS - cell.level
        code = interleaved(cell.x << shift, cell.y << shift)
        assert geo_cells.cell_key(cell) == code.to_bytes(6, "big") + bytes((cell.level,))
    assert geo_cells.cell_key(geo_cells.ROOT) == bytes(7)


def test_a_cells_range_holds_the_cells_under_it_and_no_other() -> None:
    rng = random.Random(2)
    for _ in range(300):
        cell = random_cell(rng)
        low, high = geo_cells.under(cell)
        for _ in range(20):
            other = random_cell(rng)
            shift = other.level - cell.level
            below = shift >= 0 and (other.x >> shift, other.y >> shift) == (cell.x, cell.y)
            assert (low <= geo_cells.cell_key(other) + b"\x61" < high) == below, (cell, other)
        for parent in geo_cells.ancestors(cell):
            assert not low <= geo_cells.cell_key(parent) + b"\x61" < high
            own_low, own_high = geo_cells.own(parent)
            assert own_low <= geo_cells.cell_key(parent) + b"\x61\xff" < own_high
            assert not own_low <= geo_cells.cell_key(cell) < own_high or cell == parent
    assert geo_cells.under(geo_cells.ROOT)[1] > geo_cells.cell_key(Cell(LEVELS, (1 << LEVELS) - 1, (1 << LEVELS) - 1))


def test_the_cell_holding_a_box_is_the_smallest() -> None:
    rng = random.Random(3)
    for _ in range(500):
        lon, lat = rng.uniform(-180, 180), rng.uniform(-90, 90)
        size = 10 ** rng.uniform(-7, 2.5)
        box = (lon, lat, min(lon + size, 180.0), min(lat + size / 2, 90.0))
        cell = geo_cells.holding(box)
        assert holds(region(cell), box)
        if cell.level < LEVELS:
            children = [Cell(cell.level + 1, 2 * cell.x + dx, 2 * cell.y + dy) for dx in (0, 1) for dy in (0, 1)]
            assert not any(holds(region(child), box) for child in children)
    assert geo_cells.holding((0.0, 0.0, 0.0, 0.0)).level == LEVELS
    assert geo_cells.holding((180.0, 90.0, 180.0, 90.0)) == Cell(LEVELS, (1 << LEVELS) - 1, (1 << LEVELS) - 1)
    assert geo_cells.holding((-0.001, 10.0, 0.001, 10.0)) == geo_cells.ROOT  # across the prime meridian


def test_entry_keys() -> None:
    point = geometry.point((10.0, 20.0))
    encoded = keys.encode(point)
    key = geo_cells.entry_key(point, encoded)
    assert key[geo_cells.KEY_SIZE :] == encoded
    assert key[: geo_cells.KEY_SIZE] == geo_cells.cell_key(geo_cells.holding((10.0, 20.0, 10.0, 20.0)))
    # What is no valid geometry goes to the root, which every read looks in (and fails on, as before).
    bad = {**point, "coordinates": [500, 0]}
    assert geo_cells.entry_key(bad, b"x") == geo_cells.cell_key(geo_cells.ROOT) + b"x"


def meets(first: Box, second: Box) -> bool:
    return first[0] <= second[2] and second[0] <= first[2] and first[1] <= second[3] and second[1] <= first[3]


def random_box(rng: random.Random) -> Box:
    """A box of any size from a micrometer to half the map, often on the edges of big cells or of the map."""
    edges = [-180.0, -90.0, -45.0, 0.0, 45.0, 90.0, 180.0, 22.5, -67.5]
    lon = rng.choice([rng.uniform(-180, 180), rng.choice(edges)]) + rng.choice([0.0, 1e-9, -1e-9, 1e-6])
    lat = rng.choice([rng.uniform(-90, 90), rng.choice(edges) / 2]) + rng.choice([0.0, 1e-9, -1e-9, 1e-6])
    lon, lat = min(max(lon, -180.0), 180.0), min(max(lat, -90.0), 90.0)
    width, height = (0.0, 0.0) if rng.random() < 0.3 else (10 ** rng.uniform(-8, 2.3), 10 ** rng.uniform(-8, 2))
    return (lon, lat, min(lon + width, 180.0), min(lat + height, 90.0))


def test_query_ranges_miss_no_box_meeting_the_query() -> None:
    rng = random.Random(4)
    stored = [random_box(rng) for _ in range(3000)]
    stored_keys = [geo_cells.cell_key(geo_cells.holding(box)) + b"\x61" for box in stored]
    for _ in range(300):
        query = random_box(rng)
        ranges = geo_cells.query_ranges(query)
        assert ranges == geo_cells.merged(ranges)
        for box, key in zip(stored, stored_keys, strict=True):
            if meets(query, box):
                assert inside(key, ranges), (query, box)


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        ((180.0, 10.0, 180.0, 10.0), (-180.0, 10.0, -180.0, 10.0)),  # the antimeridian, from either side
        ((-180.0, 10.0, -179.0, 11.0), (179.99999999, 10.5, 180.0, 10.5)),
        ((179.5, -5.0, 185.0, 5.0), (-175.5, 0.0, -175.5, 0.0)),  # (around: longitudes past 180)
        ((-190.0, -5.0, -170.0, 5.0), (175.0, 1.0, 175.0, 1.0)),
        ((0.0, 90.0, 0.0, 90.0), (123.0, 90.0, 123.0, 90.0)),  # a pole, at any longitude
        ((-45.0, -90.0, -45.0, -90.0), (45.0, -90.0, 45.0, -90.0)),
        ((0.0, 89.99999999999, 0.0, 89.99999999999), (180.0, 89.99999999999, 180.0, 89.99999999999)),
        ((10.0, 89.999, 10.0, 89.999), (10.0001, 89.999, 10.0001, 89.999)),  # where parallels are short
        ((1e-13, 0.0, 1e-13, 0.0), (-1e-13, 0.0, -1e-13, 0.0)),  # within intersects' tolerance, across edges
    ],
)
def test_query_ranges_treat_the_same_places_as_one(query: Box, stored: Box) -> None:
    key = geo_cells.cell_key(geo_cells.holding(stored))
    assert inside(key, geo_cells.query_ranges(query))


def test_query_ranges_stay_near_a_small_query() -> None:
    ranges = geo_cells.query_ranges((10.0, 20.0, 10.5, 20.5))
    far = geo_cells.cell_key(geo_cells.holding((11.0, 20.0, 11.0, 20.0)))
    assert not inside(far, ranges)
    assert inside(geo_cells.cell_key(geo_cells.ROOT), ranges)  # the cells above it are read too
    assert len(ranges) < 40


@pytest.mark.parametrize(
    "shape", [geodesy.WGS84, geodesy.UNIT_SPHERE, geodesy.Ellipsoid(6378137.0, 0.3), geodesy.Ellipsoid(1000.0, 0.0)]
)
def test_the_box_around_a_center_holds_every_point_within_the_radius(shape: geodesy.Ellipsoid) -> None:
    rng = random.Random(5)
    line = Geodesic(shape.equator_radius, shape.flattening)
    for _ in range(300):
        center = (rng.uniform(-180, 180), rng.choice([rng.uniform(-90, 90), 89.9, -89.99, 0.0]))
        radius = shape.equator_radius * 10 ** rng.uniform(-7, 0)
        box = geo_cells.around(center, radius, shape)
        ranges = geo_cells.query_ranges(box)
        for n in range(16):  # (due north, east, south and west first: as far as the box must reach)
            azimuth, length = (
                (90.0 * n, radius) if n < 4 else (rng.uniform(-180, 180), radius * math.sqrt(rng.random()))
            )
            end = line.Direct(center[1], center[0], azimuth, length)
            spot = (float(end["lon2"]), float(end["lat2"]))
            assert any(meets(part, (*spot, *spot)) for part in geo_cells.query_boxes(box)), (center, radius, spot)
            assert inside(geo_cells.cell_key(geo_cells.holding((*spot, *spot))), ranges), (center, radius, spot)


def test_merged_and_without() -> None:
    a, b, c, d, e, f = (bytes((n,)) for n in (1, 2, 3, 4, 5, 6))
    assert geo_cells.merged([(c, d), (a, b), (b, c), (e, f)]) == [(a, d), (e, f)]
    assert geo_cells.merged([(a, f), (b, c)]) == [(a, f)]
    assert geo_cells.without([(a, f)], [(b, c), (d, e)]) == [(a, b), (c, d), (e, f)]
    assert geo_cells.without([(a, c), (d, f)], [(b, e)]) == [(a, b), (e, f)]
    assert geo_cells.without([(b, c)], [(a, f)]) == []
    assert geo_cells.without([(a, b)], []) == [(a, b)]
