"""Surroundings: ring geometry (hand-computable), the EPCI/département of a commune, flows per
100 ha covered on a tiny hand store, partial coverage flagged."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from ocsge_engine.errors import GeometryError, MillesimeError
from ocsge_engine.indicators.surroundings import (
    RING_QUAD_SEGS,
    per_hectare,
    ring_geometry,
    ring_territory,
    surroundings,
    surroundings_flows,
    surroundings_matrices,
)
from ocsge_engine.store import Store
from ocsge_engine.territories import Territory, get_territory


def _polygon_area_factor(quad_segs: int) -> float:
    """Area of the unit n-gon drawn by a buffer's corners (n = 4 quad_segs): → π."""
    n = 4 * quad_segs
    return n / 2 * math.sin(2 * math.pi / n)


@pytest.mark.parametrize(("side_m", "ring_km"), [(1000.0, 1.0), (2000.0, 5.0), (500.0, 0.5)])
def test_ring_of_a_square_is_the_buffer_minus_the_square(side_m: float, ring_km: float) -> None:
    s, r = side_m, 1000 * ring_km
    square = shapely.box(400_000, 6_400_000, 400_000 + s, 6_400_000 + s)
    ring = ring_geometry(square, ring_km)
    exact_polygon = (s + 2 * r) ** 2 - s ** 2 - (4 - _polygon_area_factor(RING_QUAD_SEGS)) * r ** 2
    assert ring.area == pytest.approx(exact_polygon, rel=1e-9)
    exact_circle = (s + 2 * r) ** 2 - s ** 2 - (4 - math.pi) * r ** 2
    assert ring.area == pytest.approx(exact_circle, rel=1e-3)  # 128-gon arcs
    assert ring.intersection(square).area == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("bad", [0, -1, 51, float("nan")])
def test_bad_ring_width_is_a_french_user_error(bad: float) -> None:
    with pytest.raises(GeometryError, match="ring width") as info:
        ring_geometry(shapely.box(0, 0, 1, 1), bad)
    assert "couronne" in info.value.user_message


def test_surroundings_of_a_commune_epci_and_departement() -> None:
    ring, epci, dep = surroundings("commune:33009", 5)
    arcachon = get_territory("commune:33009")
    assert (ring.kind, ring.name, ring.departements) == ("polygon", "Couronne de 5 km", ("33",))
    assert ring.geometry.intersection(arcachon.geometry).area < 1.0  # m²: the commune is out
    assert ring.geometry.union(arcachon.geometry).area == pytest.approx(
        arcachon.geometry.buffer(5000, quad_segs=RING_QUAD_SEGS).area, rel=1e-9)
    assert (epci.id, epci.name) == ("epci:243300563", "CA Bassin d'Arcachon Sud (COBAS)")
    assert dep.id == "departement:33" and dep.name == "Gironde"
    assert [a.kind for a in surroundings("epci:243300563", 2)] == ["polygon", "departement"]
    assert [a.kind for a in surroundings("departement:33", 1)] == ["polygon"]


@pytest.fixture(scope="module")
def hand_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[shapely.Polygon]]:
    """Two rectangles inside Arcachon: A (1 ha) agricole → artificialisé, B (3 ha) forest kept."""
    arcachon = get_territory("commune:33009")
    x, y = shapely.get_coordinates(arcachon.geometry.representative_point())[0]
    x, y = math.floor(x), math.floor(y)
    a = shapely.box(x, y, x + 100, y + 100)
    b = shapely.box(x + 100, y, x + 400, y + 100)
    if not arcachon.geometry.contains(shapely.union_all([a, b])):  # keep inside the commune
        a, b = (shapely.affinity.translate(g, -200, 0) for g in (a, b))
    assert arcachon.geometry.contains(shapely.union_all([a, b]))
    store = Store.open(tmp_path_factory.mktemp("surroundings") / "store", create=True)
    for year, cs_a, us_a in ((2015, "CS2.2.1", "US1.1"), (2018, "CS1.1.1.1", "US5")):
        layer = gpd.GeoDataFrame({"id": ["A", "B"], "code_cs": [cs_a, "CS2.1.1.1"],
                                  "code_us": [us_a, "US1.2"], "millesime": year,
                                  "departement": "33"}, geometry=[a, b], crs=2154)
        store.write_layer(layer, layer="occupation_sol", departement="33", millesime=year,
                          source_file=f"hand_{year}.gpkg", source_sha256=f"{year:064d}",
                          synthetic=True)
    return store, [a, b]


def test_per_hectare_on_a_hand_store(hand_store) -> None:
    store, _ = hand_store
    result = surroundings_flows(store, "commune:33009", 2015, 2018, by="anf", ring_km=5)
    areas = result.areas.set_index("role")
    assert list(areas.index) == ["territoire", "couronne", "epci", "departement"]
    assert areas["covered_ha"].to_dict() == pytest.approx(
        {"territoire": 4.0, "couronne": 0.0, "epci": 4.0, "departement": 4.0})
    for role, territory_id in (("territoire", "commune:33009"), ("epci", "epci:243300563"),
                               ("departement", "departement:33")):
        territory = get_territory(territory_id)
        coverage = store.coverage(territory, 2015)
        assert areas.at[role, "covered_ha"] == pytest.approx(coverage.covered_ha, rel=1e-9)
        assert areas.at[role, "coverage_share"] == pytest.approx(4.0 / territory.area_ha)
        assert not areas.at[role, "complete"]           # 4 ha of a commune: partial, flagged
    assert areas.at["couronne", "coverage_share"] == 0.0
    flows = result.flows
    assert set(flows["role"]) == {"territoire", "epci", "departement"}  # no flow in the ring
    assert (flows["code_from"] == "agricole").all() and (flows["code_to"] == "artificialise").all()
    assert flows["area_ha"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert flows["ha_per_100ha"].tolist() == pytest.approx([25.0, 25.0, 25.0])  # 1 ha / 4 ha
    # another level regroups the same matrices: artif level, 1 ha non-artif → artif
    matrices = surroundings_matrices(store, "commune:33009", 2015, 2018, ring_km=5)
    artif = per_hectare(matrices, "artif").flows
    assert artif["ha_per_100ha"].tolist() == pytest.approx([25.0, 25.0, 25.0])
    table = result.table()
    assert table.loc[table["role"] == "departement", "name"].tolist() == ["Gironde"]


def test_area_outside_the_store_has_no_coverage(hand_store) -> None:
    store, (a, b) = hand_store
    landes = Territory("polygon", "ailleurs", "Ailleurs", shapely.box(0, 0, 10, 10), ("40",))
    half = Territory("polygon", "moitie", "Moitié de A", shapely.box(*a.bounds[:3],
                                                                       a.bounds[1] + 50), ("33",))
    result = surroundings_flows(store, "commune:33009", 2015, 2018, areas=[landes, half])
    areas = result.areas.set_index("territory_id")
    assert areas.at["polygon:ailleurs", "covered_ha"] == 0.0
    assert areas.at["polygon:moitie", "coverage_share"] == pytest.approx(1.0)
    assert areas.at["polygon:moitie", "complete"]
    half_flow = result.flows[result.flows["role"] == "couronne"]
    assert half_flow["area_ha"].tolist() == pytest.approx([0.5])
    assert half_flow["ha_per_100ha"].tolist() == pytest.approx([100.0])  # all of it changed


def test_missing_pair_for_the_territory_raises(hand_store) -> None:
    store, _ = hand_store
    with pytest.raises(MillesimeError):
        surroundings_flows(store, "commune:33009", 2018, 2015)
    with pytest.raises(MillesimeError):
        surroundings_flows(store, "commune:33009", 2015, 2021)


def test_ring_territory_keeps_the_territory_departements_at_sea(tmp_path: Path) -> None:
    far = Territory("polygon", "large", "Au large", shapely.box(100_000, 6_000_000, 100_100,
                                                                6_000_100), ("33",))
    ring = ring_territory(far, 1)
    assert ring.departements == ("33",) and ring.code == "couronne_1km_large"
