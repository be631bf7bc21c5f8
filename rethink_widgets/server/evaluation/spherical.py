"""Points, lines and polygons on the unit sphere, related the way RethinkDB's S2 library relates them.

A point is a (longitude, latitude) pair in degrees; a line or ring joins its vertices by great-circle arcs (the
shorter way round), never by straight lines in longitude/latitude. A polygon is a list of closed rings: as in S2 each
ring stands for the smaller of the two regions it bounds, whichever way it turns, and a point is in the polygon when
an odd number of ring regions hold it (so a hole outside the shell is a second shell). Polygons and lines are closed:
their boundary belongs to them.

RethinkDB leaves the cases where shapes only touch to S2's symbolic perturbation, which settles each one by the
order of the coordinates rather than by a rule. Here the same tests' answers come from rules instead:

- a point meets a line or a polygon when it is on it (within EPSILON); points meet when they are the same point;
- lines meet when they share any point; a line meets a polygon when a stretch of it of some length is in the
  polygon or on its boundary, and the polygon includes the line when every stretch is;
- polygons meet when their overlap is more than single points, except that edges they share exactly, run in opposite
  directions (a hole and the polygon filling it, tiles side by side), do not count; a polygon includes another when
  the other is in it, neither boundary entering the other's inside, shared stretches facing the same way;
- a corner of one polygon resting alone on the inside of an edge of the other (no edge running along) counts as
  crossing that edge: the polygons meet and neither includes the other.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, NamedTuple

from rethink_widgets.server import interrupts

LonLat = tuple[float, float]
# ("Point", LonLat), ("LineString", list[LonLat]) or ("Polygon", list[list[LonLat]]) with closed rings.
Shape = tuple[str, Any]
Vec = tuple[float, float, float]
Box = tuple[float, float, float, float]

# Points closer than this angle (radians, a few micrometers on Earth) are the same point: what makes two exact
# constructions (a corner computed two ways, a point on a meridian) differ is rounding, orders of magnitude smaller,
# while the gap between a great-circle edge and a parallel of latitude is orders of magnitude larger.
EPSILON = 1e-12
_IN, _OUT, _ON_SAME, _ON_OPPOSITE = range(4)
_BOX_MARGIN = 1e-9  # degrees, covering the rounding of the latitudes computed for the box
# Polygons of at most this many vertices are kept prepared for the next test (a query tests one against many rows).
CACHED_VERTICES = 1000


def vector(point: LonLat) -> Vec:
    """The unit vector of a (longitude, latitude) point, computed as S2 does so that equal inputs meet exactly."""
    phi = point[1] * (math.pi / 180)
    theta = point[0] * (math.pi / 180)
    return (math.cos(theta) * math.cos(phi), math.sin(theta) * math.cos(phi), math.sin(phi))


def lon_lat(v: Vec) -> LonLat:
    """The (longitude, latitude) of a vector (of any length), read back as S2 reads it."""
    x, y, z = v
    return (math.atan2(y, x) * (180 / math.pi), math.atan2(z, math.sqrt(x * x + y * y)) * (180 / math.pi))


# ---------------------------------------------------------------- vectors and arcs


def _dot(a: Vec, b: Vec) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _plus(a: Vec, b: Vec) -> Vec:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _times(a: Vec, k: float) -> Vec:
    return (a[0] * k, a[1] * k, a[2] * k)


def _unit(a: Vec) -> Vec:
    return _times(a, 1 / math.sqrt(_dot(a, a)))


def _angle(a: Vec, b: Vec) -> float:
    # atan2 keeps small and near-antipodal angles accurate, where acos of the dot product would not.
    return math.atan2(math.sqrt(_dot(_cross(a, b), _cross(a, b))), _dot(a, b))


def _normal(a: Vec, b: Vec) -> Vec:
    # (a - b) x (a + b) is 2 a x b, but loses less to cancellation when a and b are close.
    return _cross(_plus(a, _times(b, -1)), _plus(a, b))


def _det(a: Vec, b: Vec, c: Vec) -> float:
    return _dot(_cross(a, b), c)


def _closest(p: Vec, a: Vec, b: Vec) -> tuple[Vec, int]:
    """The point of arc ab nearest p, with 0 or 1 when that is a or b itself, -1 when it lies between."""
    n = _normal(a, b)
    nn = _dot(n, n)
    if nn > 0:
        foot = _plus(p, _times(n, -_dot(p, n) / nn))
        if _dot(_cross(a, foot), n) > 0 and _dot(_cross(foot, b), n) > 0:
            return _unit(foot), -1
    return (a, 0) if _dot(p, a) >= _dot(p, b) else (b, 1)


def _distance(p: Vec, a: Vec, b: Vec) -> float:
    return _angle(p, _closest(p, a, b)[0])


def _crossing(a: Vec, b: Vec, c: Vec, d: Vec) -> Vec | None:
    """Where arcs ab and cd cross, each passing strictly from one side of the other's great circle to the other."""
    ab, cd = _normal(a, b), _normal(c, d)
    if _dot(ab, c) * _dot(ab, d) >= 0 or _dot(cd, a) * _dot(cd, b) >= 0:
        return None
    x = _cross(ab, cd)
    if _dot(x, x) == 0:
        return None
    # The great circles meet at x and -x; the arcs cross only if both hold the same one of the two.
    if _dot(x, _plus(a, b)) < 0:
        x = _times(x, -1)
    return _unit(x) if _dot(x, _plus(c, d)) > 0 else None


class _Arc(NamedTuple):
    """An edge, with a cap (centre and angular radius) holding it, which rules out far edges cheaply."""

    a: Vec
    b: Vec
    centre: Vec
    reach: float


def _arc(a: Vec, b: Vec) -> _Arc:
    return _Arc(a, b, _unit(_plus(a, b)), _angle(a, b) / 2 + EPSILON)


def _apart(centre: Vec, other: Vec, reach: float) -> bool:
    """Whether two centres are more than `reach` apart (caps whose radii add up to it cannot meet)."""
    return reach < math.pi and _dot(centre, other) < math.cos(reach)


def _arcs_meet(one: _Arc, other: _Arc) -> bool:
    interrupts.check()  # (called for pairs of edges: many for long lines)
    if _apart(one.centre, other.centre, one.reach + other.reach):
        return False
    a, b, c, d = one.a, one.b, other.a, other.b
    if _crossing(a, b, c, d) is not None:
        return True
    return min(_distance(a, c, d), _distance(b, c, d), _distance(c, a, b), _distance(d, a, b)) <= EPSILON


def _cuts(arc: _Arc, edges: Sequence[_Arc]) -> list[Vec]:
    """The midpoints of the stretches into which `edges` cut the arc (where they cross it or a vertex is on it)."""
    a, b = arc.a, arc.b
    towards = _unit(_cross(_normal(a, b), a))  # the direction of b from a, square to a
    length = _angle(a, b)
    marks = [0.0, length]
    for edge in edges:
        interrupts.check()
        if _apart(arc.centre, edge.centre, arc.reach + edge.reach):
            continue
        found = [edge.a] if _distance(edge.a, a, b) <= EPSILON else []
        found += [x for x in [_crossing(a, b, edge.a, edge.b)] if x is not None]
        marks += [min(max(math.atan2(_dot(x, towards), _dot(x, a)), 0.0), length) for x in found]
    marks.sort()
    stops = [marks[0]] + [mark for before, mark in pairwise(marks) if mark - before > EPSILON]
    if length - stops[-1] <= EPSILON:
        stops[-1] = length  # the last stretch ends at b, however close to it an earlier cut fell
    middles = [(start + end) / 2 for start, end in pairwise(stops)] or [length / 2]
    return [_plus(_times(a, math.cos(t)), _times(towards, math.sin(t))) for t in middles]


def _ring(points: Sequence[LonLat]) -> list[Vec]:
    """A ring's distinct vertices: GeoJSON repeats the first one at the end."""
    vectors = [vector(point) for point in points]
    return vectors[:-1] if len(vectors) > 1 and vectors[0] == vectors[-1] else vectors


def _loop_arcs(loop: Sequence[Vec]) -> list[_Arc]:
    """Arc i goes from vertex i to the next, the last one back to vertex 0."""
    return [_arc(loop[i], loop[(i + 1) % len(loop)]) for i in range(len(loop))]


# ---------------------------------------------------------------- loops and polygons


def _nearest(p: Vec, arcs: Sequence[_Arc]) -> tuple[float, int, int]:
    """The distance from p to a loop, the arc (its index) holding the nearest point, and which end that is."""
    best = (math.inf, 0, -1)
    for i, arc in enumerate(arcs):
        interrupts.check()
        if _apart(p, arc.centre, best[0] + arc.reach):
            continue
        point, end = _closest(p, arc.a, arc.b)
        distance = _angle(p, point)
        if distance < best[0]:
            best = (distance, i, end)
    return best


def _in_corner(before: Vec, corner: Vec, after: Vec, p: Vec) -> bool:
    """Whether p is in the inside angle at `corner` of a loop going before -> corner -> after, inside on its left."""
    first, second = _det(corner, after, p) > 0, _det(corner, p, before) > 0
    if _det(corner, after, before) > 0:  # the inside angle is under a half turn
        return first and second
    return first or second


def _inside(p: Vec, loop: Sequence[Vec], nearest: tuple[float, int, int]) -> bool:
    # The shortest way from p to the loop crosses no edge, so p is on the side of the loop at the nearest point.
    _, i, end = nearest
    count = len(loop)
    if end < 0:
        return _det(loop[i], loop[(i + 1) % count], p) > 0
    at = i + end
    return _in_corner(loop[(at - 1) % count], loop[at % count], loop[(at + 1) % count], p)


def _turning(loop: Sequence[Vec]) -> float:
    """The sum of the loop's turns, positive to the left: 2*pi less the area on its left."""
    total = 0.0
    for i, corner in enumerate(loop):
        incoming, outgoing = _normal(loop[i - 1], corner), _normal(corner, loop[(i + 1) % len(loop)])
        total += math.atan2(_dot(_cross(incoming, outgoing), corner), _dot(incoming, outgoing))
    return total


def _within(inner: Sequence[Vec], outer: Sequence[Vec]) -> bool:
    """Whether loop `inner` is inside loop `outer`, given that their boundaries do not cross."""
    arcs = _loop_arcs(outer)
    for p in [*inner, *(arc.centre for arc in _loop_arcs(inner))]:
        nearest = _nearest(p, arcs)
        if nearest[0] > EPSILON:
            return _inside(p, outer, nearest)
    return False


def _uncancelled(rings: Sequence[Sequence[LonLat]]) -> list[Sequence[LonLat]]:
    """The rings but those that come in pairs of the same loop: as in S2, where a hole's edges run against its
    shell's, the two cancel out (a polygon less all of itself is empty)."""
    cycles = [_cycle(ring) for ring in rings]
    kept: list[int] = []
    for i, cycle in enumerate(cycles):
        twin = next((j for j in kept if cycles[j] == cycle), None)
        if twin is None:
            kept.append(i)
        else:
            kept.remove(twin)
    return [rings[i] for i in kept]


def _cycle(ring: Sequence[LonLat]) -> tuple[LonLat, ...]:
    """A ring's vertices from its least one on, the way round that reads least: equal for the same loop."""
    points = list(ring[:-1]) if len(ring) > 1 and ring[0] == ring[-1] else list(ring)
    start = points.index(min(points))
    forward = points[start:] + points[:start]
    backward = [forward[0], *reversed(forward[1:])]
    return tuple(min(forward, backward))


class _Region:
    """A polygon ready for tests: its loops, each turned to have the smaller region it bounds on its left."""

    def __init__(self, rings: Sequence[Sequence[LonLat]]) -> None:
        self.loops: list[list[Vec]] = []
        for ring in _uncancelled(rings):
            loop = _ring(ring)
            if _turning(loop) < -1e-14:  # S2's tolerance, which leaves a hemisphere as it was given
                loop.reverse()
            self.loops.append(loop)
        self.arcs = [_loop_arcs(loop) for loop in self.loops]
        # A loop inside an odd number of others is a hole: the polygon is on its right.
        self.holes = [
            sum(_within(loop, other) for other in self.loops if other is not loop) % 2 == 1 for loop in self.loops
        ]
        self.edges = [
            _arc(arc.b, arc.a) if hole else arc
            for arcs, hole in zip(self.arcs, self.holes, strict=True)
            for arc in arcs
        ]

    def locate(self, p: Vec) -> tuple[int, Vec]:
        """_IN or _OUT, or _ON_SAME with the normal of the boundary edge holding p, directed with the polygon left."""
        inside = False
        best: tuple[float, Vec] = (math.inf, p)
        for loop, arcs, hole in zip(self.loops, self.arcs, self.holes, strict=True):
            nearest = _nearest(p, arcs)
            arc = arcs[nearest[1]]
            if nearest[0] < best[0]:
                best = (nearest[0], _normal(arc.b, arc.a) if hole else _normal(arc.a, arc.b))
            if nearest[0] > EPSILON:
                inside ^= _inside(p, loop, nearest)
        if best[0] <= EPSILON:
            return _ON_SAME, best[1]
        return (_IN if inside else _OUT), best[1]

    def covers(self, p: Vec) -> bool:
        return self.locate(p)[0] != _OUT


@functools.lru_cache(maxsize=64)
def _region(rings: tuple[tuple[LonLat, ...], ...]) -> _Region:
    """The prepared region of a polygon, kept for the next tests: a query tests one polygon against many rows."""
    return _Region(rings)


def _prepared(rings: Sequence[Sequence[LonLat]]) -> _Region:
    if sum(len(ring) for ring in rings) > CACHED_VERTICES:
        return _Region(rings)  # (kept, a big polygon would hold on to its memory)
    return _region(tuple(tuple(ring) for ring in rings))


def _stretches(arc: _Arc, region: _Region) -> list[int]:
    """Where each stretch of the arc that the region's boundary cuts lies: _IN, _OUT, _ON_SAME or _ON_OPPOSITE."""
    found = []
    for middle in _cuts(arc, region.edges):
        where, normal = region.locate(middle)
        if where == _ON_SAME and _dot(normal, _normal(arc.a, arc.b)) < 0:
            where = _ON_OPPOSITE
        found.append(where)
    return found


def _line_arcs(points: Sequence[LonLat]) -> list[_Arc]:
    return [_arc(a, b) for a, b in pairwise([vector(point) for point in points])]


def _rests_alone(region: _Region, other: _Region) -> bool:
    """Whether a corner of `region` lies inside an edge of `other`, with neither of its edges running along it."""
    for loop in region.loops:
        for i, corner in enumerate(loop):
            interrupts.check()
            before, after = loop[i - 1], loop[(i + 1) % len(loop)]
            for edge in other.edges:
                if _apart(corner, edge.centre, edge.reach):
                    continue
                point, end = _closest(corner, edge.a, edge.b)
                if end >= 0 or _angle(corner, point) > EPSILON or _angle(corner, edge.a) <= EPSILON:
                    continue
                if _angle(corner, edge.b) <= EPSILON:
                    continue
                circle = _unit(_normal(edge.a, edge.b))
                if abs(_dot(before, circle)) > EPSILON and abs(_dot(after, circle)) > EPSILON:
                    return True
    return False


def _reversed_twin(arc: _Arc, region: _Region) -> bool:
    interrupts.check()
    return any(_angle(arc.a, edge.b) <= EPSILON and _angle(arc.b, edge.a) <= EPSILON for edge in region.edges)


def _polygons_meet(first: _Region, second: _Region) -> bool:
    for arc in second.edges:
        for where in _stretches(arc, first):
            if where in (_IN, _ON_SAME) or (where == _ON_OPPOSITE and not _reversed_twin(arc, first)):
                return True
    if any(_IN in _stretches(arc, second) for arc in first.edges):
        return True
    return _rests_alone(first, second) or _rests_alone(second, first)


def _polygon_holds(outer: _Region, inner: _Region) -> bool:
    if any(where in (_OUT, _ON_OPPOSITE) for arc in inner.edges for where in _stretches(arc, outer)):
        return False
    if any(_IN in _stretches(arc, inner) for arc in outer.edges):
        return False
    return not (_rests_alone(outer, inner) or _rests_alone(inner, outer))


# ---------------------------------------------------------------- the public tests


def line_is_valid(points: Sequence[LonLat]) -> bool:
    """Whether no two neighbouring vertices are the same point or antipodal (where no one arc joins them)."""
    vectors = [vector(point) for point in points]
    return all(EPSILON < _angle(a, b) < math.pi - EPSILON for a, b in pairwise(vectors))


def ring_is_valid(ring: Sequence[LonLat]) -> bool:
    """Whether a closed ring has 3 distinct vertices or more, none repeated, and no edge meeting another
    (other than its neighbours, at their shared vertex) nor doubling back over its neighbour."""
    loop = _ring(ring)
    count = len(loop)
    if count < 3 or not line_is_valid([*ring[:count], ring[0]]):
        return False
    if _has_repeated(loop):
        return False
    for i, corner in enumerate(loop):
        before, after = loop[i - 1], loop[(i + 1) % count]
        if _distance(before, corner, after) <= EPSILON or _distance(after, before, corner) <= EPSILON:
            return False
    return not any(abs(i - j) not in (1, count - 1) for i, j in _meeting_pairs(_loop_arcs(loop)))


_NEIGHBOURS = tuple(itertools.product((-1, 0, 1), repeat=3))


def _has_repeated(loop: Sequence[Vec]) -> bool:
    """Whether two vertices are the same point: each is looked for among those in its cube of side EPSILON and the
    cubes around it, where any other within EPSILON of it lies."""
    cubes: dict[tuple[int, ...], list[Vec]] = {}
    for v in loop:
        interrupts.check()
        cube = tuple(math.floor(c / EPSILON) for c in v)
        for offset in _NEIGHBOURS:
            near = cubes.get(tuple(c + d for c, d in zip(cube, offset, strict=True)), ())
            if any(_angle(v, other) <= EPSILON for other in near):
                return True
        cubes.setdefault(cube, []).append(v)
    return False


def _meeting_pairs(arcs: Sequence[_Arc]) -> list[tuple[int, int]]:
    """The pairs of arcs that meet, found by a sweep over their angular distance from a fixed axis."""
    axis = _unit((0.2, 0.3, 0.9))  # any axis; this one is unlikely to be the centre of a regular ring
    spans = sorted(
        (distance - arc.reach, distance + arc.reach, i)
        for i, arc in enumerate(arcs)
        for distance in [_angle(axis, arc.centre)]
    )
    pairs = []
    for k, (_, end, i) in enumerate(spans):
        interrupts.check()
        for start, _, j in spans[k + 1 :]:
            if start > end:
                break
            if _arcs_meet(arcs[i], arcs[j]):
                pairs.append((i, j))
    return pairs


def polygon_is_valid(rings: Sequence[Sequence[LonLat]]) -> bool:
    """Whether the rings (each valid) neither cross nor share a stretch of boundary; they may touch at points."""
    loops = [_Region([ring]) for ring in _uncancelled(rings)]
    for i, first in enumerate(loops):
        for second in loops[i + 1 :]:
            found = {where for arc in first.edges for where in _stretches(arc, second)}
            if _ON_SAME in found or _ON_OPPOSITE in found or {_IN, _OUT} <= found:
                return False
    return True


def intersects(first: Shape, second: Shape) -> bool:
    """Whether two shapes meet (see the module's rules)."""
    kinds = ("Point", "LineString", "Polygon")
    if kinds.index(first[0]) > kinds.index(second[0]):
        first, second = second, first
    if first[0] == "Point":
        p = vector(first[1])
        if second[0] == "Point":
            return _angle(p, vector(second[1])) <= EPSILON
        if second[0] == "LineString":
            return any(_distance(p, arc.a, arc.b) <= EPSILON for arc in _line_arcs(second[1]))
        return _prepared(second[1]).covers(p)
    if not _boxes_meet(bounds(first), bounds(second)):
        return False  # (lines and polygons far apart: the tests below would compare every pair of edges)
    if first[0] == "LineString":
        if second[0] == "LineString":
            others = _line_arcs(second[1])
            return any(_arcs_meet(arc, other) for arc in _line_arcs(first[1]) for other in others)
        region = _prepared(second[1])
        return any(where != _OUT for arc in _line_arcs(first[1]) for where in _stretches(arc, region))
    return _polygons_meet(_prepared(first[1]), _prepared(second[1]))


def includes(rings: Sequence[Sequence[LonLat]], other: Shape) -> bool:
    """Whether the polygon of these rings holds all of `other`, its boundary counting as inside."""
    region = _prepared(rings)
    if other[0] == "Point":
        return region.covers(vector(other[1]))
    if other[0] == "LineString":
        return all(_OUT not in _stretches(arc, region) for arc in _line_arcs(other[1]))
    return _polygon_holds(region, _prepared(other[1]))


def project(point: LonLat, shape: Shape) -> LonLat:
    """The point of `shape` nearest `point`: `point` itself if it is on the shape, else the nearest point read back
    from the sphere once, as RethinkDB reads it for a distance (so it is not to go through `vector` again)."""
    p = vector(point)
    if shape[0] == "Point":
        return lon_lat(vector(shape[1]))
    if shape[0] == "LineString":
        chains = [[vector(spot) for spot in shape[1]]]
    else:
        region = _prepared(shape[1])
        if region.covers(p):
            return point
        chains = [[*loop, loop[0]] for loop in region.loops]
    best: tuple[float, Vec] = (math.inf, p)
    for chain in chains:
        for a, b in pairwise(chain):
            nearest = _closest(p, a, b)[0]
            distance = _angle(p, nearest)
            if distance < best[0]:  # the first of equally near edges, as S2 picks
                best = (distance, nearest)
    return point if best[0] <= EPSILON else lon_lat(best[1])


def _boxes_meet(first: Box, second: Box) -> bool:
    return first[0] <= second[2] and second[0] <= first[2] and first[1] <= second[3] and second[1] <= first[3]


def bounds(shape: Shape) -> Box:
    """(min lon, min lat, max lon, max lat) holding the shape, great-circle bulges included; a shape crossing the
    antimeridian or reaching a pole gets the whole longitude range."""
    if shape[0] == "Point":
        lon, lat = shape[1]
        return (lon, lat, lon, lat)
    rings = [shape[1]] if shape[0] == "LineString" else shape[1]
    spots = [spot for ring in rings for spot in ring]
    lons, lats = [spot[0] for spot in spots], [spot[1] for spot in spots]
    low, high, wraps = min(lats), max(lats), False
    for ring in rings:
        for start, end in pairwise(ring):
            lowest, highest = _edge_latitudes(vector(start), vector(end))
            low, high = min(low, lowest), max(high, highest)
            wraps = wraps or abs(end[0] - start[0]) > 180
    if shape[0] == "Polygon":
        region = _prepared(shape[1])
        low = -90.0 if region.covers((0.0, 0.0, -1.0)) else low
        high = 90.0 if region.covers((0.0, 0.0, 1.0)) else high
    if wraps or max(-low, high) >= 90 - _BOX_MARGIN:
        lons = [-180.0, 180.0]
    return (
        max(min(lons) - _BOX_MARGIN, -180.0),
        max(low - _BOX_MARGIN, -90.0),
        min(max(lons) + _BOX_MARGIN, 180.0),
        min(high + _BOX_MARGIN, 90.0),
    )


def _edge_latitudes(a: Vec, b: Vec) -> tuple[float, float]:
    """The lowest and highest latitude along arc ab, which can be between its ends."""
    lats = [lon_lat(a)[1], lon_lat(b)[1]]
    n = _unit(_normal(a, b))
    top = (-n[2] * n[0], -n[2] * n[1], 1 - n[2] * n[2])  # the pole, less its part along n: the circle's top
    if _dot(top, top) > 0:
        extremes = (_unit(top), _times(_unit(top), -1))
        lats += [lon_lat(x)[1] for x in extremes if _dot(_cross(a, x), n) > 0 and _dot(_cross(x, b), n) > 0]
    return min(lats), max(lats)
