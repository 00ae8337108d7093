"""Hand-computable layers for the flows tests (rectangles in metres; 100 m × 100 m = 1 ha).

First millésime (2015), four 1 ha squares side by side::

    A1 [0,100]   CS2.2.1 US1.1   (agricole)
    A2 [100,200] CS2.1.1.2 US1.2 (forestier)
    A3 [200,300] CS1.1.1.1 US5   (artificialise)
    A4 [300,400] CS1.2.2 US6.3   (naturel, water)

Second millésime (2018)::

    B1 [0,50]        CS1.1.1.1 US5      (half of A1 built)
    B2 [50,100]      CS2.2.1 US1.1      (rest of A1, same codes, new geometry)
    B3 = A2          CS2.1.1.2 US1.2    (identical geometry and codes)
    B4 = A3          CS2.2.1 US1.1      (identical geometry, de-artificialised)
    B5 [300,400]×[0,60]   CS1.2.2 US6.3
    B6 [300,400]×[60,100] CS1.1.1.2 US4.1.1 (a road on A4)

Everything is shifted by :data:`ORIGIN` (inside Gironde, SYBARVAL) so that a ``polygon:FILE``
territory resolves to département 33. The territory ``box(25, 0, 375, 80)`` cuts A1/B1 at x=25, A4/B5/B6 at x=375 and everything at
y=80. Clipped areas (ha): A = 0.6, 0.8, 0.8, 0.6; B = 0.2, 0.4, 0.8, 0.8, 0.45, 0.15.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pytest
import shapely
from shapely.geometry.base import BaseGeometry

from ocsge_engine.store import Store

ORIGIN = (380_000.0, 6_400_000.0)


def box(xmin: float, ymin: float, xmax: float, ymax: float) -> shapely.Polygon:
    """Rectangle in local metres, shifted to :data:`ORIGIN`."""
    return shapely.box(xmin + ORIGIN[0], ymin + ORIGIN[1], xmax + ORIGIN[0], ymax + ORIGIN[1])


TERRITORY = box(25, 0, 375, 80)


def layer(rows: list[tuple[tuple[float, float, float, float], str, str]]) -> gpd.GeoDataFrame:
    """GeoDataFrame from ``(bounds, code_cs, code_us)`` rows, EPSG:2154."""
    return gpd.GeoDataFrame(
        {"code_cs": [r[1] for r in rows], "code_us": [r[2] for r in rows]},
        geometry=[box(*r[0]) for r in rows], crs="EPSG:2154")


def clip(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Clip to :data:`TERRITORY` like the store does (polygon parts, empties dropped)."""
    out = gdf.copy()
    out.geometry = shapely.intersection(gdf.geometry.to_numpy(), TERRITORY)
    return out[~out.geometry.is_empty].reset_index(drop=True)


LAYER_2015 = [((0, 0, 100, 100), "CS2.2.1", "US1.1"),
              ((100, 0, 200, 100), "CS2.1.1.2", "US1.2"),
              ((200, 0, 300, 100), "CS1.1.1.1", "US5"),
              ((300, 0, 400, 100), "CS1.2.2", "US6.3")]
LAYER_2018 = [((0, 0, 50, 100), "CS1.1.1.1", "US5"),
              ((50, 0, 100, 100), "CS2.2.1", "US1.1"),
              ((100, 0, 200, 100), "CS2.1.1.2", "US1.2"),
              ((200, 0, 300, 100), "CS2.2.1", "US1.1"),
              ((300, 0, 400, 60), "CS1.2.2", "US6.3"),
              ((300, 60, 400, 100), "CS1.1.1.2", "US4.1.1")]
# DIFF layer: only the land whose couple changed, with both couples.
DIFF_2015_2018 = [((0, 0, 50, 100), "CS2.2.1", "US1.1", "CS1.1.1.1", "US5"),
                  ((200, 0, 300, 100), "CS1.1.1.1", "US5", "CS2.2.1", "US1.1"),
                  ((300, 60, 400, 100), "CS1.2.2", "US6.3", "CS1.1.1.2", "US4.1.1")]

# Expected flows (ha) after clipping, computed by hand for every level.
EXPECTED: dict[str, dict[tuple[str, str], float]] = {
    "anf": {("agricole", "artificialise"): 0.2, ("agricole", "agricole"): 0.4,
            ("forestier", "forestier"): 0.8, ("artificialise", "agricole"): 0.8,
            ("naturel", "naturel"): 0.45, ("naturel", "artificialise"): 0.15},
    "artif": {("non_artificialise", "artificialise"): 0.35,
              ("non_artificialise", "non_artificialise"): 1.65,
              ("artificialise", "non_artificialise"): 0.8},
    "imper": {("permeable", "impermeable"): 0.35, ("permeable", "permeable"): 1.65,
              ("impermeable", "permeable"): 0.8},
    "cs1": {("CS2", "CS1"): 0.2, ("CS2", "CS2"): 1.2, ("CS1", "CS2"): 0.8, ("CS1", "CS1"): 0.6},
    "cs2": {("CS2.2", "CS1.1"): 0.2, ("CS2.2", "CS2.2"): 0.4, ("CS2.1", "CS2.1"): 0.8,
            ("CS1.1", "CS2.2"): 0.8, ("CS1.2", "CS1.2"): 0.45, ("CS1.2", "CS1.1"): 0.15},
    "cs3": {("CS2.2.1", "CS1.1.1"): 0.2, ("CS2.2.1", "CS2.2.1"): 0.4,
            ("CS2.1.1", "CS2.1.1"): 0.8, ("CS1.1.1", "CS2.2.1"): 0.8,
            ("CS1.2.2", "CS1.2.2"): 0.45, ("CS1.2.2", "CS1.1.1"): 0.15},
    "cs4": {("CS2.2.1", "CS1.1.1.1"): 0.2, ("CS2.2.1", "CS2.2.1"): 0.4,
            ("CS2.1.1.2", "CS2.1.1.2"): 0.8, ("CS1.1.1.1", "CS2.2.1"): 0.8,
            ("CS1.2.2", "CS1.2.2"): 0.45, ("CS1.2.2", "CS1.1.1.2"): 0.15},
    "us1": {("US1", "US5"): 0.2, ("US1", "US1"): 1.2, ("US5", "US1"): 0.8,
            ("US6", "US6"): 0.45, ("US6", "US4"): 0.15},
    "us2": {("US1.1", "US5"): 0.2, ("US1.1", "US1.1"): 0.4, ("US1.2", "US1.2"): 0.8,
            ("US5", "US1.1"): 0.8, ("US6.3", "US6.3"): 0.45, ("US6.3", "US4.1"): 0.15},
    "us3": {("US1.1", "US5"): 0.2, ("US1.1", "US1.1"): 0.4, ("US1.2", "US1.2"): 0.8,
            ("US5", "US1.1"): 0.8, ("US6.3", "US6.3"): 0.45, ("US6.3", "US4.1.1"): 0.15},
    "cs_us": {("CS2.2.1_US1.1", "CS1.1.1.1_US5"): 0.2, ("CS2.2.1_US1.1", "CS2.2.1_US1.1"): 0.4,
              ("CS2.1.1.2_US1.2", "CS2.1.1.2_US1.2"): 0.8,
              ("CS1.1.1.1_US5", "CS2.2.1_US1.1"): 0.8, ("CS1.2.2_US6.3", "CS1.2.2_US6.3"): 0.45,
              ("CS1.2.2_US6.3", "CS1.1.1.2_US4.1.1"): 0.15},
}


@pytest.fixture()
def layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The two millésimes, clipped to the territory."""
    return clip(layer(LAYER_2015)), clip(layer(LAYER_2018))


@pytest.fixture()
def diff_layer() -> gpd.GeoDataFrame:
    """The DIFF layer, clipped to the territory."""
    gdf = gpd.GeoDataFrame(
        {"code_cs_from": [r[1] for r in DIFF_2015_2018], "code_us_from": [r[2] for r in DIFF_2015_2018],
         "code_cs_to": [r[3] for r in DIFF_2015_2018], "code_us_to": [r[4] for r in DIFF_2015_2018]},
        geometry=[box(*r[0]) for r in DIFF_2015_2018], crs="EPSG:2154")
    return clip(gdf)


@pytest.fixture()
def expected() -> dict[str, dict[tuple[str, str], float]]:
    """Hand-computed flows (ha) per level."""
    return EXPECTED


@pytest.fixture()
def make_layer():
    """``make_layer(rows)`` → GeoDataFrame of rectangles (see :func:`layer`)."""
    return layer


# Third millésime (2021) for chains: B2 gets built.
LAYER_2021 = [(r[0], "CS1.1.1.1", "US5") if r[0] == (50, 0, 100, 100) else r for r in LAYER_2018]


@dataclass(frozen=True)
class Terr:
    """Duck-typed territory (what the store and the flows need)."""

    geometry: BaseGeometry
    departements: tuple[str, ...] = ("33",)


def _with_schema(gdf: gpd.GeoDataFrame, **columns: object) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out.insert(0, "id", [f"F{i}" for i in range(len(out))])
    for name, value in columns.items():
        out[name] = value
    return out


@pytest.fixture()
def territory() -> Terr:
    """The cutting territory ``box(25, 0, 375, 80)``."""
    return Terr(TERRITORY)


@pytest.fixture(scope="module")
def flow_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A store written through the Store API: occupation_sol 2015/2018/2021 and diff 2015_2018.

    Layers are stored unclipped; the store clips them to the territory on read.
    """
    store = Store.open(tmp_path_factory.mktemp("flows") / "store", create=True)
    for year, rows in ((2015, LAYER_2015), (2018, LAYER_2018), (2021, LAYER_2021)):
        store.write_layer(_with_schema(layer(rows), millesime=year, departement="33"),
                          layer="occupation_sol", departement="33", millesime=year,
                          source_file=f"test_{year}.gpkg", source_sha256=f"{year:064d}",
                          synthetic=True)
    diff = gpd.GeoDataFrame(
        {"code_cs_from": [r[1] for r in DIFF_2015_2018], "code_us_from": [r[2] for r in DIFF_2015_2018],
         "code_cs_to": [r[3] for r in DIFF_2015_2018], "code_us_to": [r[4] for r in DIFF_2015_2018]},
        geometry=[box(*r[0]) for r in DIFF_2015_2018], crs="EPSG:2154")
    store.write_layer(_with_schema(diff, millesime_from=2015, millesime_to=2018, departement="33"),
                      layer="diff", departement="33", millesime="2015_2018",
                      source_file="test_diff.gpkg", source_sha256="d" * 64, synthetic=True)
    return store
