"""Benchmark of the official thresholded status (``indicators/thresholds.py``) on whole layers.

Usage::

    .venv/bin/python benchmarks/bench_thresholds.py [--polygons 200000] [--store DIR]

Times :func:`ocsge_engine.indicators.official_status` on a synthetic département-sized layer: a
seeded Voronoi tessellation (``--polygons`` cells of ~1,500 m² on average, 30,000 ha at 200,000
polygons: the polygon count of a rural département, with town-sized polygons everywhere so that
the rules bite) whose codes follow a smooth random field plus noise: towns, fields and forest
with many small patches of each status. With ``--store`` it also times
the ``occupation_sol`` partitions of that store (e.g. the demo: ``data/store``). Prints seconds,
CPU seconds (the machine may be shared), the adjacency stage and the peak RSS of the process;
asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from ocsge_engine.indicators.thresholds import adjacency, official_status  # noqa: E402

# (CS, US) by class of the smooth field, from urban to forest.
CLASSES = (("CS1.1.1.1", "US5"), ("CS1.1.1.2", "US4.1.1"), ("CS2.2.1", "US5"),
           ("CS2.2.1", "US1.1"), ("CS2.1.1.2", "US1.2"))


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB, Linux ``ru_maxrss`` is in kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_layer(n: int, seed: int = 2023) -> gpd.GeoDataFrame:
    """A seeded Voronoi layer of about ``n`` polygons with spatially correlated codes."""
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(n * 1500.0))  # ~1,500 m² per cell: the rules bite
    points = shapely.multipoints(rng.uniform(0, side, size=(n, 2)))
    extent = shapely.box(0, 0, side, side)
    cells = np.asarray(shapely.get_parts(shapely.voronoi_polygons(points, extend_to=extent)))
    cells = shapely.intersection(cells, extent)
    cells = cells[shapely.area(cells) > 0]
    grid = 128
    field = ndimage.gaussian_filter(rng.standard_normal((grid, grid)), 4)
    noise = rng.standard_normal(len(cells)) * 0.35 * field.std()
    centre = shapely.get_coordinates(shapely.centroid(cells))
    cell = np.clip((centre / side * grid).astype(int), 0, grid - 1)
    value = field[cell[:, 1], cell[:, 0]] + noise
    bins = np.quantile(value, [0.08, 0.12, 0.16, 0.55])  # 8 % built, 4 % roads, 4 % lawns
    kind = np.digitize(value, bins)
    codes = np.array(CLASSES, dtype=object)[kind]
    return gpd.GeoDataFrame({"code_cs": codes[:, 0], "code_us": codes[:, 1]},
                            geometry=cells, crs="EPSG:2154")


def time_layer(name: str, layer: gpd.GeoDataFrame) -> dict[str, float]:
    """Time the adjacency alone, then the whole status; print one line."""
    geoms = layer.geometry.to_numpy()
    start = time.perf_counter()
    i, _ = adjacency(geoms)
    adjacency_s = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    status = official_status(layer)
    total_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    changed = status["crit_seuil"].notna()
    crit = status["crit_seuil"][changed].value_counts().to_dict()
    print(f"{name}: {len(layer):,} polygons, {len(i):,} adjacent pairs; adjacency "
          f"{adjacency_s:.1f} s, official_status {total_s:.1f} s (CPU {cpu_s:.1f} s); "
          f"crit_seuil {crit}; "
          f"peak RSS {peak_rss_mb():.0f} MB")
    return {"polygons": len(layer), "adjacency_s": adjacency_s, "status_s": total_s,
            "status_cpu_s": cpu_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polygons", type=int, default=200_000)
    parser.add_argument("--store", type=Path, default=None,
                        help="also time the occupation_sol partitions of this store")
    args = parser.parse_args(argv)
    if args.store is not None:
        from ocsge_engine.store import Store

        store = Store.open(args.store)
        catalog = store.catalog()
        for row in catalog[catalog["layer"] == "occupation_sol"].itertuples():
            layer = store.read_layer("occupation_sol", row.departement, int(row.millesime),
                                     columns=["code_cs", "code_us"])
            time_layer(f"store D{row.departement} {row.millesime}", layer)
    start = time.perf_counter()
    layer = synthetic_layer(args.polygons)
    print(f"synthetic layer built in {time.perf_counter() - start:.1f} s "
          f"({layer.geometry.area.sum() / 1e4:,.0f} ha; classes "
          f"{pd.Series(layer['code_cs'] + ' ' + layer['code_us']).value_counts().to_dict()})")
    time_layer("synthetic", layer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
