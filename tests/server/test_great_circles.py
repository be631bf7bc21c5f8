"""Unit vectors on the sphere, read from and back to (longitude, latitude) pairs as S2 reads them."""

from __future__ import annotations

import math

import pytest

from rethink_widgets.server.evaluation import great_circles


def test_vectors() -> None:
    assert great_circles.vector((0.0, 0.0)) == (1.0, 0.0, 0.0)
    x, y, z = great_circles.vector((90.0, 45.0))
    assert (x, y, z) == pytest.approx((0.0, math.sqrt(0.5), math.sqrt(0.5)), abs=1e-15)
    assert great_circles.lon_lat(great_circles.vector((-122.5, 37.25))) == pytest.approx((-122.5, 37.25), abs=1e-12)
