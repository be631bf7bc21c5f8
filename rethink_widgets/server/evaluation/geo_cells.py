"""The cells that key geospatial index entries, and the key ranges a geospatial read looks in.

Level L of a quadtree on longitude/latitude splits [-180, 180] x [-90, 90] into 2^L x 2^L cells (level 0: the whole
map, level LEVELS: cells of about 2 m). A geometry is stored under the smallest cell holding its `spherical.bounds`
box, so a read finds everything meeting a region in the cells that cover the region, everything under them, and
the cells above them. (A small geometry lying across a big cell's edge is stored high up, in a big cell that every
read of its area looks at: points, what indexes mostly hold, never are.)

A cell's key is the Morton (Z-order) code of its lowest corner at full resolution, then its level: the cells under
a cell (with it) then have the keys of one range, and the entries of one cell share a prefix. An index entry's key
is its cell's key followed by the geometry's `keys.encode`, which keeps apart a row's geometries in a multi index.

Reads compare the same integer grid positions that keys are made of, so a box and a geometry's box that meet
always meet in grid positions too, whatever the rounding; query boxes are widened by a margin more than the
tolerance of `spherical.intersects`, and treat the two sides of the antimeridian, and all longitudes at a pole, as
the same places.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from rethink_widgets.server.errors import ReqlError
from rethink_widgets.server.evaluation import geometry, spherical
from rethink_widgets.server.evaluation.geodesy import Ellipsoid
from rethink_widgets.server.evaluation.great_circles import LonLat
from rethink_widgets.server.evaluation.spherical import Box
from rethink_widgets.server.storage.records import KeyRange

LEVELS = 24
_SIDE = 1 << LEVELS  # grid positions along each axis at full resolution
_CODE_BYTES = 6  # a Morton code of two 24-bit positions
KEY_SIZE = _CODE_BYTES + 1  # and the level
_END = b"\xff" * (KEY_SIZE + 1)  # above every key: codes stop short of 2^48

# Degrees a query box is widened by on every side: far more than intersects' tolerance (1e-12 radians) and the
# rounding of boxes (1e-9 degrees), and still about a centimeter.
MARGIN = 1e-7

# Cells covering one query box at most: the deepest level whose cells over the box are this few. More cells read
# fewer rows beyond the box, but each is a range to read, and each has its own chain of cells above.
_MAX_CELLS = 16


class Cell(NamedTuple):
    level: int
    x: int  # column, 0 .. 2^level - 1, from longitude -180
    y: int  # row, 0 .. 2^level - 1, from latitude -90


ROOT = Cell(0, 0, 0)


def _column(lon: float) -> int:
    return min(max(int((lon + 180.0) * (_SIDE / 360.0)), 0), _SIDE - 1)


def _row(lat: float) -> int:
    return min(max(int((lat + 90.0) * (_SIDE / 180.0)), 0), _SIDE - 1)


def _spread(v: int) -> int:
    """The bits of a 24-bit number, a zero between each two (bit i moves to bit 2i)."""
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    return (v | (v << 1)) & 0x5555555555555555


def _code(cell: Cell) -> int:
    shift = LEVELS - cell.level
    return (_spread(cell.y << shift) << 1) | _spread(cell.x << shift)


def cell_key(cell: Cell) -> bytes:
    return _code(cell).to_bytes(_CODE_BYTES, "big") + bytes((cell.level,))


def _grid(box: Box) -> tuple[int, int, int, int]:
    """A (min lon, min lat, max lon, max lat) box in grid positions at full resolution."""
    return _column(box[0]), _row(box[1]), _column(box[2]), _row(box[3])


def holding(box: Box) -> Cell:
    """The smallest cell holding a (min lon, min lat, max lon, max lat) box."""
    x0, y0, x1, y1 = _grid(box)
    shift = max((x0 ^ x1).bit_length(), (y0 ^ y1).bit_length())
    return Cell(LEVELS - shift, x0 >> shift, y0 >> shift)


def entry_key(value: Any, encoded: bytes) -> bytes:
    """The index key of a geometry (`encoded`: its keys.encode). One that is no valid geometry goes in the root cell,
    which every read looks in, so that reads meet it and fail as they do on it."""
    try:
        cell = holding(spherical.bounds(geometry.checked(value)))
    except ReqlError:
        cell = ROOT
    return cell_key(cell) + encoded


def ancestors(cell: Cell) -> list[Cell]:
    return [Cell(level, cell.x >> (cell.level - level), cell.y >> (cell.level - level)) for level in range(cell.level)]


def under(cell: Cell) -> KeyRange:
    """The keys of the entries in a cell and every cell under it."""
    code, size = _code(cell), 1 << (2 * (LEVELS - cell.level))
    # Entries of a bigger cell with the same lowest corner have the same code and a lower level: they stay out.
    high = (code + size).to_bytes(_CODE_BYTES, "big") if code + size < 1 << (8 * _CODE_BYTES) else _END
    return cell_key(cell), high


def own(cell: Cell) -> KeyRange:
    """The keys of the entries in the cell itself."""
    key = cell_key(cell)
    return key, (int.from_bytes(key, "big") + 1).to_bytes(KEY_SIZE, "big")


def covering(box: Box) -> list[Cell]:
    """The cells meeting a box (within [-180, 180] x [-90, 90]), of the deepest level where they are few."""
    x0, y0, x1, y1 = _grid(box)

    def count(level: int) -> int:
        shift = LEVELS - level
        return ((x1 >> shift) - (x0 >> shift) + 1) * ((y1 >> shift) - (y0 >> shift) + 1)

    level = 0
    while level < LEVELS and count(level + 1) <= _MAX_CELLS:
        level += 1
    shift = LEVELS - level
    xs, ys = range(x0 >> shift, (x1 >> shift) + 1), range(y0 >> shift, (y1 >> shift) + 1)
    return [Cell(level, x, y) for x in xs for y in ys]


def query_boxes(box: Box) -> list[Box]:
    """A query box widened by MARGIN, as boxes within the map: longitudes past the antimeridian come back from the
    other side, and a box reaching a pole takes every longitude (all of them meet there)."""
    min_lat, max_lat = max(box[1] - MARGIN, -90.0), min(box[3] + MARGIN, 90.0)
    if min_lat <= -90.0 or max_lat >= 90.0:
        return [(-180.0, min_lat, 180.0, max_lat)]
    # Near a pole a small angle spans many degrees of longitude: the margin widens as the parallels shrink.
    spread = 2.0 * MARGIN / math.cos(math.radians(max(-min_lat, max_lat)))
    min_lon, max_lon = box[0] - spread, box[2] + spread
    if max_lon - min_lon >= 360.0:
        return [(-180.0, min_lat, 180.0, max_lat)]
    boxes = [(max(min_lon, -180.0), min_lat, min(max_lon, 180.0), max_lat)]
    if min_lon <= -180.0:
        boxes.append((min_lon + 360.0, min_lat, 180.0, max_lat))
    if max_lon >= 180.0:
        boxes.append((-180.0, min_lat, max_lon - 360.0, max_lat))
    return boxes


def query_ranges(box: Box) -> list[KeyRange]:
    """The key ranges holding every entry whose geometry's box meets `box` (see `query_boxes`), sorted, apart."""
    cells = {cell for part in query_boxes(box) for cell in covering(part)}
    above = {parent for cell in cells for parent in ancestors(cell)}
    return merged([under(cell) for cell in cells] + [own(cell) for cell in above])


def around(center: LonLat, radius: float, shape: Ellipsoid) -> Box:
    """A box holding every point within `radius` (along the ellipsoid's geodesics) of `center`, its longitudes
    possibly beyond +-180 (see `query_boxes`)."""
    # Along a geodesic, latitude changes by at most 1/M per unit of length and longitude by at most 1/(N cos lat):
    # the meridian radius of curvature M and the normal one N are never less than b^2/a.
    least = shape.equator_radius * (1.0 - shape.flattening) ** 2
    reach = math.degrees(radius / least) * (1.0 + 1e-9)
    lon, lat = center
    low, high = lat - reach, lat + reach
    if low <= -90.0 or high >= 90.0:
        return (-180.0, low, 180.0, high)
    widen = reach / math.cos(math.radians(max(-low, high)))
    return (lon - widen, low, lon + widen, high)


def merged(ranges: Iterable[KeyRange]) -> list[KeyRange]:
    """Ranges joined where they meet or touch, sorted."""
    out: list[KeyRange] = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def without(ranges: Sequence[KeyRange], done: Sequence[KeyRange]) -> list[KeyRange]:
    """The parts of `ranges` outside `done` (both sorted, apart)."""
    out: list[KeyRange] = []
    for start, high in ranges:
        low = start
        for done_low, done_high in done:
            if done_high <= low or done_low >= high:
                continue
            if done_low > low:
                out.append((low, done_low))
            low = done_high
            if low >= high:
                break
        if low < high:
            out.append((low, high))
    return out
