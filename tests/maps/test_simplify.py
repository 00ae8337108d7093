"""Light polygons: dissolve per couple, coverage simplification, WGS84, rounding."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from ocsge_engine.errors import GeometryError, SchemaError
from ocsge_engine.maps.simplify import (
    COORD_DECIMALS,
    _coverage_union,
    dissolve_couples,
    light_polygons,
    tolerance_for_extent,
)
from tests.maps.conftest import squares


def test_dissolve_merges_adjacent_same_couple(grid):
    out = dissolve_couples(grid).sort_values("code_cs").reset_index(drop=True)
    assert out[["code_cs", "code_us"]].values.tolist() == [["CS1.1.1.1", "US5"],
                                                          ["CS2.1.1.1", "US1.2"]]
    assert out.geometry.area.round(6).tolist() == [300.0, 100.0]
    assert out.geom_type.tolist() == ["Polygon", "Polygon"]


def test_dissolve_keeps_corner_touching_parts_apart():
    diag = squares([(0, 0, "CS2.2.1", "US1.1"), (1, 1, "CS2.2.1", "US1.1"),
                    (1, 0, "CS2.1.1.1", "US1.2")])
    out = dissolve_couples(diag)
    herb = out[out["code_cs"] == "CS2.2.1"]
    assert len(herb) == 2  # two single parts, each 100 m²
    assert herb.geometry.area.round(6).tolist() == [100.0, 100.0]


def test_dissolve_not_edge_matched_group():
    # B has a vertex at (10, 5) on the edge it shares with A, A does not: a T-junction, which
    # the coverage union rejects; C, same couple, stands apart
    a = shapely.box(0, 0, 10, 10)
    b = shapely.Polygon([(10, 0), (20, 0), (20, 10), (10, 10), (10, 5)])
    c = shapely.box(100, 0, 110, 10)
    gdf = squares([(0, 0, "CS2.2.1", "US1.1")] * 3).set_geometry(
        [shapely.affinity.translate(g, 400_000, 6_400_000) for g in (a, b, c)], crs="EPSG:2154")
    assert _coverage_union(gdf.geometry.to_numpy()) is None  # the slow path is exercised
    out = dissolve_couples(gdf)
    assert sorted(out.geometry.area.round(6).tolist()) == [100.0, 200.0]
    assert out.geom_type.tolist() == ["Polygon", "Polygon"]


def test_dissolve_empty_and_missing_columns(grid):
    assert dissolve_couples(grid.iloc[:0]).empty
    with pytest.raises(SchemaError, match="lacks columns"):
        dissolve_couples(grid.drop(columns="code_us"))


@pytest.mark.parametrize(("bounds", "expected"), [
    ((0, 0, 12_000, 16_000), 5.0),      # 20 km diagonal
    ((0, 0, 30, 40), 1.0),              # tiny: clamped to 1 m
    ((0, 0, 300_000, 400_000), 50.0),   # département: clamped to 50 m
])
def test_tolerance_for_extent(bounds, expected):
    assert tolerance_for_extent(bounds) == expected


def test_light_polygons_wgs84_rounded_area_kept(grid):
    light = light_polygons(grid)
    assert light.crs.to_epsg() == 4326
    assert len(light) == 2
    # largest first, area of the unsimplified merged parts
    assert light["area_ha"].tolist() == [0.03, 0.01]
    coords = shapely.get_coordinates(light.geometry.to_numpy())
    scaled = coords * 10**COORD_DECIMALS
    assert np.allclose(scaled, np.round(scaled), atol=1e-6)
    # lon/lat near the Bassin d'Arcachon
    assert -1.5 < coords[:, 0].min() < -0.5 and 44.0 < coords[:, 1].min() < 45.0


def test_light_polygons_simplify_reduces_vertices():
    # a 1 km square with a 1 m zig-zag on its top edge: 201 extra vertices
    top = [(1000 - i * 5, 1000 + (i % 2) * 0.5) for i in range(201)]
    ring = [(0, 0), (1000, 0), *top, (0, 0)]
    gdf = squares([(0, 0, "CS2.2.1", "US1.1")]).set_geometry(
        [shapely.affinity.translate(shapely.Polygon(ring), 400_000, 6_400_000)], crs="EPSG:2154")
    light = light_polygons(gdf, tolerance_m=2.0)
    assert shapely.get_num_coordinates(light.geometry.iloc[0]) < 10
    # unsimplified area: 100 ha + 200 segments 5 m long, 0.25 m high on average = 100.025 ha
    assert light["area_ha"].iloc[0] == pytest.approx(100.025, abs=0.006)


def test_light_polygons_rejects_geographic_crs(grid):
    with pytest.raises(GeometryError, match="projected CRS"):
        light_polygons(grid.to_crs(4326))
