"""Unit vectors and great-circle arcs: the primitives `spherical` builds its regions and tests from.

A point is a unit vector, read from a (longitude, latitude) pair in degrees the way S2 reads it; an arc joins two
points the shorter way round. Two points within EPSILON of each other are the same point, and every test here (on an
arc, meeting, repeated) allows for that rather than for exact equality. None of this knows of polygons, their inside
or their holes: that is `spherical`'s.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

from rethink_widgets.server import interrupts

LonLat = tuple[float, float]
Vec = tuple[float, float, float]

# Points closer than this angle (radians, a few micrometers on Earth) are the same point: what makes two exact
# constructions (a corner computed two ways, a point on a meridian) differ is rounding, orders of magnitude smaller,
# while the gap between a great-circle edge and a parallel of latitude is orders of magnitude larger.
EPSILON = 1e-12


def vector(point: LonLat) -> Vec:
    """The unit vector of a (longitude, latitude) point, computed as S2 does so that equal inputs meet exactly."""
    phi = point[1] * (math.pi / 180)
    theta = point[0] * (math.pi / 180)
    return (math.cos(theta) * math.cos(phi), math.sin(theta) * math.cos(phi), math.sin(phi))


def lon_lat(v: Vec) -> LonLat:
    """The (longitude, latitude) of a vector (of any length), read back as S2 reads it."""
    x, y, z = v
    return (math.atan2(y, x) * (180 / math.pi), math.atan2(z, math.sqrt(x * x + y * y)) * (180 / math.pi))


# ---------------------------------------------------------------- vectors


def dot(a: Vec, b: Vec) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def plus(a: Vec, b: Vec) -> Vec:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def times(a: Vec, k: float) -> Vec:
    return (a[0] * k, a[1] * k, a[2] * k)


def unit(a: Vec) -> Vec:
    return times(a, 1 / math.sqrt(dot(a, a)))


def angle(a: Vec, b: Vec) -> float:
    # atan2 keeps small and near-antipodal angles accurate, where acos of the dot product would not.
    return math.atan2(math.sqrt(dot(cross(a, b), cross(a, b))), dot(a, b))


def normal(a: Vec, b: Vec) -> Vec:
    # (a - b) x (a + b) is 2 a x b, but loses less to cancellation when a and b are close.
    return cross(plus(a, times(b, -1)), plus(a, b))


def det(a: Vec, b: Vec, c: Vec) -> float:
    return dot(cross(a, b), c)


# ---------------------------------------------------------------- arcs


def closest(p: Vec, a: Vec, b: Vec) -> tuple[Vec, int]:
    """The point of arc ab nearest p, with 0 or 1 when that is a or b itself, -1 when it lies between."""
    n = normal(a, b)
    nn = dot(n, n)
    if nn > 0:
        foot = plus(p, times(n, -dot(p, n) / nn))
        if dot(cross(a, foot), n) > 0 and dot(cross(foot, b), n) > 0:
            return unit(foot), -1
    return (a, 0) if dot(p, a) >= dot(p, b) else (b, 1)


def arc_distance(p: Vec, a: Vec, b: Vec) -> float:
    """The angle from p to the nearest point of arc ab."""
    return angle(p, closest(p, a, b)[0])


def crossing(a: Vec, b: Vec, c: Vec, d: Vec) -> Vec | None:
    """Where arcs ab and cd cross, each passing strictly from one side of the other's great circle to the other."""
    ab, cd = normal(a, b), normal(c, d)
    if dot(ab, c) * dot(ab, d) >= 0 or dot(cd, a) * dot(cd, b) >= 0:
        return None
    x = cross(ab, cd)
    if dot(x, x) == 0:
        return None
    # The great circles meet at x and -x; the arcs cross only if both hold the same one of the two.
    if dot(x, plus(a, b)) < 0:
        x = times(x, -1)
    return unit(x) if dot(x, plus(c, d)) > 0 else None


class Arc(NamedTuple):
    """An edge, with a cap (centre and angular radius) holding it, which rules out far edges cheaply."""

    a: Vec
    b: Vec
    centre: Vec
    reach: float


def arc_between(a: Vec, b: Vec) -> Arc:
    return Arc(a, b, unit(plus(a, b)), angle(a, b) / 2 + EPSILON)


def apart(centre: Vec, other: Vec, reach: float) -> bool:
    """Whether two centres are more than `reach` apart (caps whose radii add up to it cannot meet)."""
    return reach < math.pi and dot(centre, other) < math.cos(reach)


def arcs_meet(one: Arc, other: Arc) -> bool:
    interrupts.check()  # (called for pairs of edges: many for long lines)
    if apart(one.centre, other.centre, one.reach + other.reach):
        return False
    a, b, c, d = one.a, one.b, other.a, other.b
    if crossing(a, b, c, d) is not None:
        return True
    return min(arc_distance(a, c, d), arc_distance(b, c, d), arc_distance(c, a, b), arc_distance(d, a, b)) <= EPSILON


def cuts(arc: Arc, edges: Sequence[Arc]) -> list[Vec]:
    """The midpoints of the stretches into which `edges` cut the arc (where they cross it or a vertex is on it)."""
    a, b = arc.a, arc.b
    towards = unit(cross(normal(a, b), a))  # the direction of b from a, square to a
    length = angle(a, b)
    marks = [0.0, length]
    for edge in edges:
        interrupts.check()
        if apart(arc.centre, edge.centre, arc.reach + edge.reach):
            continue
        found = [edge.a] if arc_distance(edge.a, a, b) <= EPSILON else []
        found += [x for x in [crossing(a, b, edge.a, edge.b)] if x is not None]
        marks += [min(max(math.atan2(dot(x, towards), dot(x, a)), 0.0), length) for x in found]
    marks.sort()
    stops = [marks[0]] + [mark for before, mark in pairwise(marks) if mark - before > EPSILON]
    if length - stops[-1] <= EPSILON:
        stops[-1] = length  # the last stretch ends at b, however close to it an earlier cut fell
    middles = [(start + end) / 2 for start, end in pairwise(stops)] or [length / 2]
    return [plus(times(a, math.cos(t)), times(towards, math.sin(t))) for t in middles]


def loop_arcs(loop: Sequence[Vec]) -> list[Arc]:
    """Arc i goes from vertex i to the next, the last one back to vertex 0."""
    return [arc_between(loop[i], loop[(i + 1) % len(loop)]) for i in range(len(loop))]


def line_arcs(points: Sequence[LonLat]) -> list[Arc]:
    return [arc_between(a, b) for a, b in pairwise([vector(point) for point in points])]


# ---------------------------------------------------------------- sets of points and arcs


_NEIGHBOURS = tuple(itertools.product((-1, 0, 1), repeat=3))


def has_repeated(loop: Sequence[Vec]) -> bool:
    """Whether two vertices are the same point: each is looked for among those in its cube of side EPSILON and the
    cubes around it, where any other within EPSILON of it lies."""
    cubes: dict[tuple[int, ...], list[Vec]] = {}
    for v in loop:
        interrupts.check()
        cube = tuple(math.floor(c / EPSILON) for c in v)
        for offset in _NEIGHBOURS:
            near = cubes.get(tuple(c + d for c, d in zip(cube, offset, strict=True)), ())
            if any(angle(v, other) <= EPSILON for other in near):
                return True
        cubes.setdefault(cube, []).append(v)
    return False


def meeting_pairs(arcs: Sequence[Arc]) -> list[tuple[int, int]]:
    """The pairs of arcs that meet, found by a sweep over their angular distance from a fixed axis."""
    axis = unit((0.2, 0.3, 0.9))  # any axis; this one is unlikely to be the centre of a regular ring
    spans = sorted(
        (distance - arc.reach, distance + arc.reach, i)
        for i, arc in enumerate(arcs)
        for distance in [angle(axis, arc.centre)]
    )
    pairs = []
    for k, (_, end, i) in enumerate(spans):
        interrupts.check()
        for start, _, j in spans[k + 1 :]:
            if start > end:
                break
            if arcs_meet(arcs[i], arcs[j]):
                pairs.append((i, j))
    return pairs


def edge_latitudes(a: Vec, b: Vec) -> tuple[float, float]:
    """The lowest and highest latitude along arc ab, which can be between its ends."""
    lats = [lon_lat(a)[1], lon_lat(b)[1]]
    n = unit(normal(a, b))
    top = (-n[2] * n[0], -n[2] * n[1], 1 - n[2] * n[2])  # the pole, less its part along n: the circle's top
    if dot(top, top) > 0:
        extremes = (unit(top), times(unit(top), -1))
        lats += [lon_lat(x)[1] for x in extremes if dot(cross(a, x), n) > 0 and dot(cross(x, b), n) > 0]
    return min(lats), max(lats)
