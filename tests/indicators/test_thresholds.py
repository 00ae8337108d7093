"""Official thresholded status (décret n° 2023-1096) on hand-made layers (areas in m²).

Each layer is a whole "département" layer: the status is computed on it as given. Fields are
CS2.2.1 × US1.1 (non-artificial), the town CS1.1.1.1 × US5 (built, artificial), a yard
CS1.1.2.1 × US5 (mineral, artificial, not built). Every expected value is computed by hand in
the comments.
"""

from __future__ import annotations

import numpy as np
import shapely

from ocsge_engine.indicators import official_status
from ocsge_engine.indicators.thresholds import Thresholds, adjacency, threshold_status

from indicator_shapes import ORIGIN, box, layer

FIELD = ("CS2.2.1", "US1.1")
BUILT = ("CS1.1.1.1", "US5")
YARD = ("CS1.1.2.1", "US5")
ENCLAVE, ISLAND, BUILDING = Thresholds().criteria()


def _status(rows):
    got = official_status(layer([(g, *codes) for g, codes in rows]))
    return got["artif"].tolist(), got["crit_seuil"].tolist()


def test_criteria_names() -> None:
    assert (ENCLAVE, ISLAND, BUILDING) == ("enclave_non_artif_<2500", "ilot_artif_<2500",
                                           "bati_>=50")


def test_small_enclave_in_town_becomes_artificial() -> None:
    hole = box(40, 40, 80, 90)                                   # 40 × 50 = 2,000 m²
    town = shapely.difference(box(0, 0, 100, 100), hole)         # 8,000 m² with a hole
    assert _status([(town, BUILT), (hole, FIELD)]) == ([True, True], [None, ENCLAVE])


def test_large_enclave_stays_non_artificial() -> None:
    hole = box(20, 20, 80, 70)                                   # 60 × 50 = 3,000 m²
    town = shapely.difference(box(0, 0, 100, 100), hole)
    assert _status([(town, BUILT), (hole, FIELD)]) == ([True, False], [None, None])


def test_enclave_just_below_and_at_the_threshold() -> None:
    for width, expected in ((49.98, True), (50.0, False)):      # 2,499 m² / 2,500 m²
        hole = box(10, 10, 10 + width, 60)
        town = shapely.difference(box(0, 0, 100, 100), hole)
        assert _status([(town, BUILT), (hole, FIELD)])[0] == [True, expected]


def test_building_in_small_artificial_enclave_in_fields() -> None:
    building = box(50, 50, 65, 70)                               # 15 × 20 = 300 m²
    yard = shapely.difference(box(50, 50, 90, 100), building)    # 2,000 − 300 = 1,700 m²
    fields = shapely.difference(box(0, 0, 200, 200), box(50, 50, 90, 100))
    artif, crit = _status([(fields, FIELD), (building, BUILT), (yard, YARD)])
    # the 2,000 m² artificial island goes back to the fields (rule 2) but its 300 m² building
    # stays artificial (rule 3): 300 m² artificial in all
    assert artif == [False, True, False] and crit == [None, BUILDING, ISLAND]


def test_isolated_buildings_of_40_and_60_m2() -> None:
    b40, b60 = box(10, 10, 18, 15), box(100, 100, 110, 106)      # 8 × 5 = 40, 10 × 6 = 60 m²
    fields = shapely.difference(box(0, 0, 200, 200), shapely.union(b40, b60))
    artif, crit = _status([(fields, FIELD), (b40, BUILT), (b60, BUILT)])
    assert artif == [False, False, True] and crit == [None, ISLAND, BUILDING]


def test_two_touching_buildings_form_one_built_patch() -> None:
    b1, b2 = box(10, 10, 16, 15), box(16, 10, 22, 15)            # 30 + 30 = 60 m², one edge
    fields = shapely.difference(box(0, 0, 100, 100), box(10, 10, 22, 15))
    assert _status([(fields, FIELD), (b1, BUILT), (b2, BUILT)])[0] == [False, True, True]


def test_two_touching_small_patches_form_one_surface() -> None:
    a, b = box(10, 10, 40, 60), box(40, 10, 70, 60)              # 1,500 + 1,500 m², one edge
    fields = shapely.difference(box(0, 0, 200, 200), box(10, 10, 70, 60))
    assert _status([(fields, FIELD), (a, YARD), (b, YARD)]) == ([False, True, True],
                                                                 [None, None, None])
    c = box(100, 10, 130, 60)                                    # the same 1,500 m² apart
    fields = shapely.difference(box(0, 0, 200, 200), shapely.union(box(10, 10, 40, 60), c))
    assert _status([(fields, FIELD), (a, YARD), (c, YARD)])[0] == [False, False, False]


def test_point_contact_does_not_join_patches() -> None:
    a, b = box(10, 10, 40, 60), box(40, 60, 70, 110)             # 1,500 m² each, one corner
    fields = shapely.difference(box(0, 0, 200, 200), shapely.union(a, b))
    assert _status([(fields, FIELD), (a, YARD), (b, YARD)]) == (
        [False, False, False], [None, ISLAND, ISLAND])
    assert [x.tolist() for x in adjacency([a, b])] == [[], []]
    assert [x.tolist() for x in adjacency([a, box(40, 59, 70, 110)])] == [[0], [1]]  # 1 m edge


def test_extension_touching_town_is_part_of_the_big_patch() -> None:
    town, extension = box(0, 0, 100, 100), box(100, 0, 115, 100)  # 10,000 + 1,500 m²
    fields = box(115, 0, 300, 100)
    assert _status([(town, BUILT), (extension, YARD), (fields, FIELD)])[0] == [True, True, False]


def test_hole_filled_then_island_removed() -> None:
    garden = box(20, 20, 30, 40)                                 # 200 m² hole
    island = shapely.difference(box(10, 10, 40, 50), garden)     # 1,200 − 200 = 1,000 m²
    fields = shapely.difference(box(0, 0, 100, 100), box(10, 10, 40, 50))
    # rule 1 fills the garden (non-artificial, < 2,500 m², touches artificial land); rule 2 then
    # removes the 1,200 m² island with it: both end non-artificial, the garden as in the matrix
    assert _status([(fields, FIELD), (island, YARD), (garden, FIELD)]) == (
        [False, False, False], [None, ISLAND, None])


def test_patch_alone_in_the_layer_keeps_its_status() -> None:
    # no neighbour at all: enclosed in nothing (edge choice, thresholds module docstring)
    assert _status([(box(0, 0, 10, 10), YARD)]) == ([True], [None])
    assert _status([(box(0, 0, 10, 10), FIELD)]) == ([False], [None])


def test_patch_on_the_layer_edge_is_measured_inside_the_layer() -> None:
    edge = box(0, 0, 20, 100)                                    # 2,000 m² on the layer's edge
    town = box(20, 0, 200, 100)
    assert _status([(edge, FIELD), (town, BUILT)]) == ([True, True], [ENCLAVE, None])


def test_disabled_thresholds_and_custom_values() -> None:
    b40 = box(10, 10, 18, 15)
    geoms = [shapely.difference(box(0, 0, 100, 100), b40), b40]
    assert threshold_status(geoms, [False, True], [False, True],
                            Thresholds(enabled=False))[0].tolist() == [False, True]
    assert threshold_status(geoms, [False, True], [False, True],
                            Thresholds(min_built_m2=30))[0].tolist() == [False, True]
    assert threshold_status(geoms, [False, True], [False, True])[0].tolist() == [False, False]


def test_keeps_the_layer_index_and_handles_empty_layers() -> None:
    gdf = layer([(box(0, 0, 10, 10), *YARD), (box(10, 0, 100, 100), *FIELD)])
    gdf.index = [7, 3]
    got = official_status(gdf)
    assert got.index.tolist() == [7, 3] and got["artif"].dtype == bool
    assert got["artif"].tolist() == [False, False] and got.loc[7, "crit_seuil"] == ISLAND
    empty = official_status(gdf.iloc[:0])
    assert empty.empty and list(empty.columns) == ["artif", "crit_seuil"]


def test_overlapping_slivers_join_and_invalid_geometry_is_repaired() -> None:
    a, b = box(0, 0, 30, 50), box(29.9, 0, 60, 50)               # overlap 0.1 m wide
    bowtie = shapely.transform(shapely.Polygon([(500, 500), (510, 510), (510, 500), (500, 510)]),
                               lambda xy: xy + np.array(ORIGIN))  # invalid
    fields = shapely.difference(box(-100, -100, 700, 700),
                                shapely.union_all([a, b, shapely.make_valid(bowtie)]))
    artif, _ = threshold_status([fields, a, b, bowtie], [False, True, True, True],
                                [False, False, False, True])
    assert len(adjacency([fields, bowtie])[0]) == 1  # it has neighbours: rule 3 decides
    # a + b ≈ 3,000 m², one patch; the bow-tie (2 × 25 m² built triangles touching at a point,
    # one 50 m² MultiPolygon once repaired) stays built ≥ 50 m²
    assert artif.tolist() == [False, True, True, True]
    assert np.isclose(shapely.area(shapely.make_valid(bowtie)), 50.0)
