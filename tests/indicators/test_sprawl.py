"""Sprawl indicators on hand-computable rectangles.

2015: built block E = [0,100]×[0,100] (CS1.1.1.1 × US5), field F = [100,1000]×[0,100] (agricole).
2018: N1 = [100,160]×[0,100] (6,000 m², built, touching E) and N2 = [700,760]×[0,50] (3,000 m²,
built, 600 m from E) replace parts of F. Covered area 100,000 m².
"""

from __future__ import annotations

import math

import pytest
import shapely

from ocsge_engine.indicators import SprawlOptions, flux_from_pair, pair_from_layers, sprawl_from_pair
from ocsge_engine.indicators.sprawl import (
    distances_to,
    isolated_mask,
    merge_patches,
    polsby_popper,
    urban_footprint,
)

from indicator_shapes import box, layer

E, F = box(0, 0, 100, 100), box(100, 0, 1000, 100)
N1, N2 = box(100, 0, 160, 100), box(700, 0, 760, 50)


@pytest.fixture(scope="module")
def result():
    y2015 = layer([(E, "CS1.1.1.1", "US5"), (F, "CS2.2.1", "US1.1")])
    rest = shapely.difference(F, shapely.union(N1, N2))
    y2018 = layer([(E, "CS1.1.1.1", "US5"), (rest, "CS2.2.1", "US1.1"),
                   (N1, "CS1.1.1.1", "US5"), (N2, "CS1.1.1.1", "US5")])
    pair = pair_from_layers(y2015, y2018, 2015, 2018)
    return sprawl_from_pair(pair, flux_from_pair(pair))


def test_contiguity_and_isolation(result) -> None:
    assert result.new_patches == 2 and result.new_area_ha == pytest.approx(0.9)
    assert result.contiguous_share == pytest.approx(6000 / 9000)
    assert result.new_built_count == 2
    assert result.isolated_built_count == 1 and result.isolated_built_ha == pytest.approx(0.3)


def test_distance_to_core(result) -> None:
    assert result.max_distance_to_core_m == pytest.approx(600.0, abs=0.01)
    assert result.mean_distance_to_core_m == pytest.approx(3000 * 600 / 9000, abs=0.01)


def test_density_and_compactness(result) -> None:
    assert result.built_density == pytest.approx(19_000 / 100_000)
    assert result.built_share_of_artificial == pytest.approx(1.0)
    # the closing (polygonal round buffers) cuts the corners slightly: a square scores π/4 ≈ 0.785
    assert result.compactness_from == pytest.approx(math.pi / 4, rel=0.05)
    assert (result.footprint_parts_from, result.footprint_parts_to) == (1, 2)
    assert result.to_dict()["options"] == {"contiguity_m": 1.0, "isolation_m": 100.0,
                                           "footprint_m": 50.0}


def test_helpers() -> None:
    assert [round(g.area) for g in merge_patches([box(0, 0, 1, 1), box(1, 0, 2, 1),
                                                  box(5, 5, 6, 6)])] == [2, 1]
    # two blocks 80 m apart merge in the footprint (closing 50 m), 120 m apart they do not
    assert len(urban_footprint([box(0, 0, 100, 100), box(180, 0, 280, 100)], 50)) == 1
    assert len(urban_footprint([box(0, 0, 100, 100), box(220, 0, 320, 100)], 50)) == 2
    assert polsby_popper(shapely.Point(0, 0).buffer(10, quad_segs=64)) == pytest.approx(1, abs=1e-3)
    assert isolated_mask([box(0, 0, 1, 1)], [box(101.5, 0, 102, 1)], 100).tolist() == [True]
    assert isolated_mask([box(0, 0, 1, 1)], [box(101, 0, 102, 1)], 100).tolist() == [False]
    assert distances_to([box(0, 0, 1, 1)], None).tolist() == [math.inf]
    assert SprawlOptions().isolation_m == 100.0
