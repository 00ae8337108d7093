"""The store fast path of the overlay (WKB identity before decoding) against the general path.

The reference is :func:`transitions_from_layers` on :meth:`Store.polygons` (decode, clip, overlay
with its own identity short-circuit), itself checked against ``geopandas.overlay`` in
``test_overlay.py``. Layers come from ``benchmarks/synthetic_flows.py`` (jittered lattice, seeded):
~10 % or all cells redrawn, recodes, plus hand-made holes and multipolygons, on a territory that
cuts cells.
"""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely

from ocsge_engine.cli import main
from ocsge_engine.flows import exchange_matrix
from ocsge_engine.flows.levels import classify
from ocsge_engine.flows.overlay import transitions_from_layers
from ocsge_engine.flows.store_pair import (
    boxes_properly_inside,
    transitions_from_store,
    wkb_polygon_area_bounds,
)
from ocsge_engine.store import Store
from ocsge_engine.territories import resolve_territory

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from flows_store import write_delivery, write_store  # noqa: E402

KEYS = ["code_cs_from", "code_us_from", "code_cs_to", "code_us_to"]


def _compare(new: pd.DataFrame, old: pd.DataFrame, keys: list[str]) -> float:
    both = pd.concat([new.set_index(keys)["area_ha"], old.set_index(keys)["area_ha"]],
                     axis=1, keys=["new", "old"])
    assert not both.isna().any().any(), "the same cells on both paths"
    return float(((both["new"] - both["old"]).abs() / both["old"].abs().clip(lower=1e-12)).max())


@pytest.mark.parametrize("changed", [0.1, 1.0])
def test_fast_path_equals_general_path(tmp_path: Path, changed: float) -> None:
    territory_file = write_store(tmp_path, 40, 30, changed)
    store = Store.open(tmp_path / "store")
    territory = resolve_territory(f"polygon:{territory_file}")
    fast = transitions_from_store(store, territory, 2015, 2018)
    assert fast is not None and fast.source == "overlay"
    general = transitions_from_layers(*(store.polygons(territory, y, columns=["code_cs", "code_us"])
                                        for y in (2015, 2018)))
    assert len(fast.table) == len(general.table) > 10
    assert _compare(fast.table, general.table, KEYS) <= 1e-12
    assert _compare(fast.stocks_from, general.stocks_from, ["code_cs", "code_us"]) <= 1e-12
    assert _compare(fast.stocks_to, general.stocks_to, ["code_cs", "code_us"]) <= 1e-12
    # exchange_matrix(fast=True) (the flows command) takes it; the matrix is checked.
    matrix = exchange_matrix(store, territory, 2015, 2018, by="cs4", fast=True)
    assert matrix.source == "overlay" and matrix.table["area_ha"].sum() > 0


def test_ign_delivery_ingested_by_the_cli_then_flows_is_exact(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    """The issue's hidden case in small: an IGN delivery in both layouts, ingested, then flows.

    2015 as a shapefile with ``ID``/``CODE_CS``/``CODE_US``, 2018 as a GeoPackage of
    MultiPolygons with ``id``/``code_cs``/``code_us``; ~10 % of cells redrawn, recodes, 2 % of
    cells merged in pairs and 2 % split in two; an octagon cutting cells. The oracle is
    ``geopandas.overlay`` on the delivered files themselves (not the store), clipped by
    ``geopandas.clip``. Unchanged polygons must be paired by their stored WKB: the formats
    differ (ring orientation, part type), so this holds only because ingest stores one form.
    """
    paths, territory_file = write_delivery(tmp_path, 40, 30, 0.1, merged=0.05, split=0.05)
    store = tmp_path / "store"
    assert main(["-q", "ingest", "--store", str(store), *map(str, paths)]) == 0
    capsys.readouterr()
    with caplog.at_level(logging.DEBUG, logger="ocsge_engine.flows.store_pair"):
        assert main(["-q", "flows", "--store", str(store), "--territory",
                     f"polygon:{territory_file}", "--from", "2015", "--to", "2018",
                     "--by", "cs4", "--format", "csv"]) == 0
    ours = pd.read_csv(io.StringIO(capsys.readouterr().out))
    octagon = gpd.read_file(territory_file)
    delivered = [gpd.read_file(paths[0] / "OCCUPATION_SOL" / "OCCUPATION_SOL.shp"),
                 gpd.read_file(paths[1])]
    # Unchanged polygons whose box is properly inside the octagon, found on the delivered files
    # by GEOS' own equality (shapely.equals: same point set, whatever the ring orientation and
    # part type).
    geoms_from, geoms_to = (d.geometry.to_numpy() for d in delivered)
    tree = shapely.STRtree(geoms_to)
    i, j = tree.query(geoms_from, predicate="covered_by")
    same = shapely.equals(geoms_from[i], geoms_to[j])
    i = i[same]
    boxes = shapely.box(*shapely.bounds(geoms_from[i]).T)
    unchanged_inside = int(shapely.contains_properly(octagon.geometry.iloc[0], boxes).sum())
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("store pair")]
    n_from, n_to, whole = (int(w.rstrip(",")) for w in line.split()[2:7:2])
    assert (n_from, n_to) == (len(geoms_from), len(geoms_to)) == (1200, len(geoms_to))
    assert 0.95 * unchanged_inside <= whole <= unchanged_inside, (whole, unchanged_inside)
    assert whole > 0.5 * n_from

    delivered = [gpd.clip(d, octagon) for d in delivered]
    delivered[0] = delivered[0].rename(columns={"CODE_CS": "code_cs", "CODE_US": "code_us"})
    oracle = gpd.overlay(*(d[["code_cs", "code_us", "geometry"]] for d in delivered),
                         how="intersection", keep_geom_type=True)
    cells = (oracle.assign(area_ha=oracle.geometry.area / 1e4,
                           code_from=classify(oracle["code_cs_1"], oracle["code_us_1"], "cs4"),
                           code_to=classify(oracle["code_cs_2"], oracle["code_us_2"], "cs4"))
             .groupby(["code_from", "code_to"])["area_ha"].sum())
    got = ours.set_index(["code_from", "code_to"])["area_ha"]
    both = pd.concat([got, cells], axis=1, keys=["ours", "geopandas"])
    assert not both.isna().any().any() and len(both) > 20
    assert ((both["ours"] - both["geopandas"]).abs() / both["geopandas"]).max() <= 1e-6
    assert got.sum() == pytest.approx(octagon.area.sum() / 1e4, rel=1e-12)


def test_wkb_area_bounds_match_shapely() -> None:
    rng = np.random.default_rng(3)
    star = shapely.Polygon([(np.cos(a) * r, np.sin(a) * r) for a, r in
                            zip(np.linspace(0, 2 * np.pi, 41)[:-1], rng.uniform(5, 10, 40))])
    geoms = [shapely.box(380_000, 6_400_000, 380_010.5, 6_400_003.25),
             shapely.affinity.translate(star, 400_000, 6_300_000),
             shapely.box(0, 0, 4, 4).difference(shapely.box(1, 1, 2, 2)),        # hole
             shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
             shapely.Point(1, 2), shapely.Polygon()]
    wkb = [shapely.to_wkb(g) for g in geoms]
    wkb.append(shapely.to_wkb(geoms[0], byte_order=0))  # big-endian: left to GEOS
    arr = pa.array(wkb, type=pa.binary())
    simple, area, bounds = wkb_polygon_area_bounds(arr, np.arange(len(wkb)))
    assert simple.tolist() == [True, True, False, False, False, False, False]
    for k in np.flatnonzero(simple):
        assert area[k] == pytest.approx(geoms[k].area, rel=1e-13)
        assert bounds[k].tolist() == list(geoms[k].bounds)
    # Unaligned offsets (a sliced array) read the same values.
    simple2, area2, _ = wkb_polygon_area_bounds(arr.slice(1), np.array([0]))
    assert simple2.tolist() == [True] and area2[0] == area[1]


def test_boxes_properly_inside_is_conservative() -> None:
    # An L-shaped territory 0..1000 m: boxes well inside, across the notch, outside, on the edge.
    territory = shapely.Polygon([(0, 0), (1000, 0), (1000, 400), (400, 400), (400, 1000),
                                 (0, 1000)])
    rng = np.random.default_rng(7)
    corner = rng.uniform(-100, 1100, size=(5_000, 2))
    size = rng.uniform(1, 60, size=(5_000, 2))
    boxes = np.column_stack([corner, corner + size])
    found = boxes_properly_inside(territory, boxes, grid=256)
    truth = shapely.contains_properly(territory, shapely.box(*boxes.T))
    assert not (found & ~truth).any(), "never inside when it is not"
    assert found.sum() >= 0.9 * truth.sum()   # all but a thin band along the boundary
    assert boxes_properly_inside(territory, np.array([[50., 50, 60, 60], [500, 500, 510, 510],
                                                      [0, 10, 5, 20]]), grid=256).tolist() == [
        True, False, False]


def test_unique_matches_needs_equal_bytes_and_unique_values() -> None:
    from ocsge_engine.flows.store_pair import RawLayer, _unique_matches

    square = shapely.box(0, 0, 2, 2)
    turned = shapely.Polygon([(0, 0), (2, 0), (2, 2), (0, 2), (0, 0)])  # same bbox and length
    other = shapely.box(5, 5, 6, 6)
    twice = shapely.box(8, 8, 9, 9)

    def raw(geoms: list[shapely.Geometry]) -> RawLayer:
        codes = pd.Categorical(["CS1"] * len(geoms))
        return RawLayer(codes, codes, pa.array([g.wkb for g in geoms], type=pa.binary()),
                        shapely.bounds(np.array(geoms)))

    i, j = _unique_matches(raw([square, other, twice, twice]), raw([other, turned, twice]))
    # other ↔ other; square vs turned share the key but not the bytes; twice is not unique.
    assert (i.tolist(), j.tolist()) == ([1], [0])
