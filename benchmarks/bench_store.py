"""Benchmark of the store: write time, cold and warm fetch of one commune's polygons.

Usage::

    .venv/bin/python benchmarks/bench_store.py [--synthetic] [--store DIR]

By default the SYBARVAL demo store is built with ``ocsge_engine.demo.build_demo_store``; with
``--synthetic`` (or when the demo builder is unavailable) the bench writes its own store of
comparable size: the 17 SYBARVAL communes covered by ~30,000 square polygons per millésime
(2015, 2018), with seeded random codes. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from ocsge_engine.store import Store  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "ocsge_sybarval_2015_2018"
TARGET_POLYGONS = 30_000
COMMUNE = "33529"  # La Teste-de-Buch, the largest commune


@dataclass(frozen=True)
class Terr:
    geometry: BaseGeometry
    departements: tuple[str, ...] = ("33",)


def _communes() -> gpd.GeoDataFrame:
    communes = gpd.read_file(SHARED / "Communes_SYBARVAL.shp")
    communes = communes.set_crs("EPSG:2154", allow_override=True)
    communes["geometry"] = shapely.make_valid(communes.geometry.to_numpy())
    return communes


def _synthetic_layer(union: BaseGeometry, year: int, seed: int) -> gpd.GeoDataFrame:
    """Square cells over ``union`` (clipped to it), ~TARGET_POLYGONS of them, seeded codes."""
    minx, miny, maxx, maxy = union.bounds
    side = float(np.sqrt(union.area / TARGET_POLYGONS))
    xs, ys = np.meshgrid(np.arange(minx, maxx, side), np.arange(miny, maxy, side))
    cells = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + side, ys.ravel() + side)
    shapely.prepare(union)
    cells = cells[shapely.intersects(union, cells)]
    cells = shapely.intersection(cells, union)
    cells = cells[~shapely.is_empty(cells) & np.isin(shapely.get_type_id(cells), (3, 6))]
    rng = np.random.default_rng(seed)
    cs = rng.choice(["CS1.1.1.1", "CS1.1.1.2", "CS2.1.1.1", "CS2.2.1", "CS2.1.2"], len(cells))
    us = rng.choice(["US1.1", "US1.2", "US5", "US2", "US6.1"], len(cells))
    return gpd.GeoDataFrame({"id": [f"S{year}_{i}" for i in range(len(cells))], "code_cs": cs,
                             "code_us": us, "millesime": year, "departement": "33"},
                            geometry=cells, crs="EPSG:2154")


def _build_synthetic(store_dir: Path, communes: gpd.GeoDataFrame) -> float:
    union = shapely.union_all(communes.geometry.to_numpy())
    store = Store.open(store_dir, create=True)
    elapsed = 0.0
    for year, seed in ((2015, 1), (2018, 2)):
        layer = _synthetic_layer(union, year, seed)
        start = time.perf_counter()
        info = store.write_layer(layer, layer="occupation_sol", departement="33", millesime=year,
                                 source_file="bench", source_sha256=f"bench{year}",
                                 synthetic=True)
        elapsed += time.perf_counter() - start
        print(f"  wrote {year}: {info.n_features} polygons, {info.area_ha:,.0f} ha")
    return elapsed


def _build_demo(store_dir: Path) -> float | None:
    try:
        from ocsge_engine.demo import build_demo_store
    except ImportError as err:
        print(f"  demo builder unavailable ({err}); using the synthetic store")
        return None
    start = time.perf_counter()
    print(" ", build_demo_store(store_dir).summary())
    return time.perf_counter() - start


def _timed(func, repeat: int = 1) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args()
    communes = _communes()
    with tempfile.TemporaryDirectory() as tmp:
        store_dir = args.store or Path(tmp) / "store"
        build_s = None if args.synthetic else _build_demo(store_dir)
        kind = "demo build (build_demo_store)"
        if build_s is None:
            kind = "synthetic write (2 x write_layer)"
            build_s = _build_synthetic(store_dir, communes)
        print(f"{kind}: {build_s:.2f} s")
        size_mb = sum(p.stat().st_size for p in store_dir.rglob("*") if p.is_file()) / 1e6
        print(f"store size: {size_mb:.1f} MB")
        commune = Terr(communes.loc[communes["CODE_INSEE"] == COMMUNE, "geometry"].iloc[0])
        everything = Terr(shapely.union_all(communes.geometry.to_numpy()))

        cold_open, store = _timed(lambda: Store.open(store_dir))
        cold, gdf = _timed(lambda: store.polygons(commune, 2018))
        warm, _ = _timed(lambda: store.polygons(commune, 2018), repeat=5)
        noclip, _ = _timed(lambda: store.polygons(commune, 2018, clip=False), repeat=3)
        cat_s, _ = _timed(lambda: Store.open(store_dir).catalog(), repeat=5)
        whole, all_gdf = _timed(lambda: store.polygons(everything, 2018), repeat=3)
        print(f"Store.open: {cold_open * 1000:.0f} ms; catalog() on a fresh Store: "
              f"{cat_s * 1000:.0f} ms")
        print(f"commune {COMMUNE}: {len(gdf)} polygons, {gdf.area.sum() / 1e4:,.0f} ha")
        print(f"  cold fetch (first call, new Store): {cold * 1000:.0f} ms")
        print(f"  warm fetch (median of 5): {warm * 1000:.0f} ms; without clip: "
              f"{noclip * 1000:.0f} ms")
        print(f"17 communes ({len(all_gdf)} polygons): {whole * 1000:.0f} ms")


if __name__ == "__main__":
    main()
