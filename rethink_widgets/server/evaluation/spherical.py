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

The unit vectors and great-circle arcs these tests are built from, and EPSILON, are `great_circles`'s.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from rethink_widgets.server import interrupts
from rethink_widgets.server.evaluation.great_circles import (
    EPSILON,
    Arc,
    LonLat,
    Vec,
    angle,
    apart,
    arc_between,
    arc_distance,
    arcs_meet,
    closest,
    cross,
    cuts,
    det,
    dot,
    edge_latitudes,
    has_repeated,
    line_arcs,
    lon_lat,
    loop_arcs,
    meeting_pairs,
    normal,
    unit,
    vector,
)

# ("Point", LonLat), ("LineString", list[LonLat]) or ("Polygon", list[list[LonLat]]) with closed rings.
Shape = tuple[str, Any]
Box = tuple[float, float, float, float]

_IN, _OUT, _ON_SAME, _ON_OPPOSITE = range(4)
_BOX_MARGIN = 1e-9  # degrees, covering the rounding of the latitudes computed for the box
# Polygons of at most this many vertices are kept prepared for the next test (a query tests one against many rows).
CACHED_VERTICES = 1000


# ---------------------------------------------------------------- loops and polygons


def _ring(points: Sequence[LonLat]) -> list[Vec]:
    """A ring's distinct vertices: GeoJSON repeats the first one at the end."""
    vectors = [vector(point) for point in points]
    return vectors[:-1] if len(vectors) > 1 and vectors[0] == vectors[-1] else vectors


def _nearest(p: Vec, arcs: Sequence[Arc]) -> tuple[float, int, int]:
    """The distance from p to a loop, the arc (its index) holding the nearest point, and which end that is."""
    best = (math.inf, 0, -1)
    for i, arc in enumerate(arcs):
        interrupts.check()
        if apart(p, arc.centre, best[0] + arc.reach):
            continue
        point, end = closest(p, arc.a, arc.b)
        distance = angle(p, point)
        if distance < best[0]:
            best = (distance, i, end)
    return best


def _in_corner(before: Vec, corner: Vec, after: Vec, p: Vec) -> bool:
    """Whether p is in the inside angle at `corner` of a loop going before -> corner -> after, inside on its left."""
    first, second = det(corner, after, p) > 0, det(corner, p, before) > 0
    if det(corner, after, before) > 0:  # the inside angle is under a half turn
        return first and second
    return first or second


def _inside(p: Vec, loop: Sequence[Vec], nearest: tuple[float, int, int]) -> bool:
    # The shortest way from p to the loop crosses no edge, so p is on the side of the loop at the nearest point.
    _, i, end = nearest
    count = len(loop)
    if end < 0:
        return det(loop[i], loop[(i + 1) % count], p) > 0
    at = i + end
    return _in_corner(loop[(at - 1) % count], loop[at % count], loop[(at + 1) % count], p)


def _turning(loop: Sequence[Vec]) -> float:
    """The sum of the loop's turns, positive to the left: 2*pi less the area on its left."""
    total = 0.0
    for i, corner in enumerate(loop):
        incoming, outgoing = normal(loop[i - 1], corner), normal(corner, loop[(i + 1) % len(loop)])
        total += math.atan2(dot(cross(incoming, outgoing), corner), dot(incoming, outgoing))
    return total


def _within(inner: Sequence[Vec], outer: Sequence[Vec]) -> bool:
    """Whether loop `inner` is inside loop `outer`, given that their boundaries do not cross."""
    arcs = loop_arcs(outer)
    for p in [*inner, *(arc.centre for arc in loop_arcs(inner))]:
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
        self.arcs = [loop_arcs(loop) for loop in self.loops]
        # A loop inside an odd number of others is a hole: the polygon is on its right.
        self.holes = [
            sum(_within(loop, other) for other in self.loops if other is not loop) % 2 == 1 for loop in self.loops
        ]
        self.edges = [
            arc_between(arc.b, arc.a) if hole else arc
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
                best = (nearest[0], normal(arc.b, arc.a) if hole else normal(arc.a, arc.b))
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


def _stretches(arc: Arc, region: _Region) -> list[int]:
    """Where each stretch of the arc that the region's boundary cuts lies: _IN, _OUT, _ON_SAME or _ON_OPPOSITE."""
    found = []
    for middle in cuts(arc, region.edges):
        where, facing = region.locate(middle)
        if where == _ON_SAME and dot(facing, normal(arc.a, arc.b)) < 0:
            where = _ON_OPPOSITE
        found.append(where)
    return found


def _rests_alone(region: _Region, other: _Region) -> bool:
    """Whether a corner of `region` lies inside an edge of `other`, with neither of its edges running along it."""
    for loop in region.loops:
        for i, corner in enumerate(loop):
            interrupts.check()
            before, after = loop[i - 1], loop[(i + 1) % len(loop)]
            for edge in other.edges:
                if apart(corner, edge.centre, edge.reach):
                    continue
                point, end = closest(corner, edge.a, edge.b)
                if end >= 0 or angle(corner, point) > EPSILON or angle(corner, edge.a) <= EPSILON:
                    continue
                if angle(corner, edge.b) <= EPSILON:
                    continue
                circle = unit(normal(edge.a, edge.b))
                if abs(dot(before, circle)) > EPSILON and abs(dot(after, circle)) > EPSILON:
                    return True
    return False


def _reversed_twin(arc: Arc, region: _Region) -> bool:
    interrupts.check()
    return any(angle(arc.a, edge.b) <= EPSILON and angle(arc.b, edge.a) <= EPSILON for edge in region.edges)


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
    return all(EPSILON < angle(a, b) < math.pi - EPSILON for a, b in pairwise(vectors))


def ring_is_valid(ring: Sequence[LonLat]) -> bool:
    """Whether a closed ring has 3 distinct vertices or more, none repeated, and no edge meeting another
    (other than its neighbours, at their shared vertex) nor doubling back over its neighbour."""
    loop = _ring(ring)
    count = len(loop)
    if count < 3 or not line_is_valid([*ring[:count], ring[0]]):
        return False
    if has_repeated(loop):
        return False
    for i, corner in enumerate(loop):
        before, after = loop[i - 1], loop[(i + 1) % count]
        if arc_distance(before, corner, after) <= EPSILON or arc_distance(after, before, corner) <= EPSILON:
            return False
    return not any(abs(i - j) not in (1, count - 1) for i, j in meeting_pairs(loop_arcs(loop)))


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
            return angle(p, vector(second[1])) <= EPSILON
        if second[0] == "LineString":
            return any(arc_distance(p, arc.a, arc.b) <= EPSILON for arc in line_arcs(second[1]))
        return _prepared(second[1]).covers(p)
    if not _boxes_meet(bounds(first), bounds(second)):
        return False  # (lines and polygons far apart: the tests below would compare every pair of edges)
    if first[0] == "LineString":
        if second[0] == "LineString":
            others = line_arcs(second[1])
            return any(arcs_meet(arc, other) for arc in line_arcs(first[1]) for other in others)
        region = _prepared(second[1])
        return any(where != _OUT for arc in line_arcs(first[1]) for where in _stretches(arc, region))
    return _polygons_meet(_prepared(first[1]), _prepared(second[1]))


def includes(rings: Sequence[Sequence[LonLat]], other: Shape) -> bool:
    """Whether the polygon of these rings holds all of `other`, its boundary counting as inside."""
    region = _prepared(rings)
    if other[0] == "Point":
        return region.covers(vector(other[1]))
    if other[0] == "LineString":
        return all(_OUT not in _stretches(arc, region) for arc in line_arcs(other[1]))
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
            nearest = closest(p, a, b)[0]
            distance = angle(p, nearest)
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
            lowest, highest = edge_latitudes(vector(start), vector(end))
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
