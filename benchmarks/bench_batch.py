"""Throughput of the national batch with 1 and 2 local Dask workers, and the scaling estimate.

Usage::

    .venv/bin/python benchmarks/bench_batch.py [--demo-store DIR] [--side-km 12] [--cell-m 150]

1. A synthetic store of 4 départements (32, 33, 34, 69: the ones with commune polygons), each a
   seeded grid square (tests/batch/batch_synthetic.py), is run with 1 then 2 workers, sprawl off
   (4 tasks, so 2 workers can work in parallel): communes/s and polygons/s.
2. The SYBARVAL demo (département 33, 33,179 polygons per millésime, 25 communes touched) runs
   with 1 worker and the default options (sprawl on): the per-polygon cost used for France.
3. Scaling estimate: polygons per département = area (COG 2018 communes,
   /work/shared/data/communes_geojson_2018) × the demo's polygon density, since no per-département
   polygon count of IGN's deliveries is available offline; pairs per département from
   data/reference/ocsge_millesimes_summary.csv.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "batch"))

from batch_synthetic import build_synthetic_store  # noqa: E402

from ocsge_engine.batch import BatchOptions, run_flows  # noqa: E402

COMMUNES_FRANCE = Path("/work/shared/data/communes_geojson_2018/communes_france_2018.parquet")
CENTRES = {"32": "32013", "33": "33005", "34": "34172", "69": "69123"}


def _run(store: Path, workers: int, options: BatchOptions) -> dict[str, float]:
    shutil.rmtree(store / "national", ignore_errors=True)
    t0 = time.perf_counter()
    report = run_flows(store, None, n_workers=workers, options=options)
    wall = time.perf_counter() - t0
    done = report.by_status("done")
    communes = sum(o.n_communes for o in done)
    polygons = sum(o.n_polygons for o in done)
    task_s = sum(o.elapsed_s for o in done)
    return {"workers": workers, "partitions": len(done), "communes": communes,
            "polygons": polygons, "wall_s": wall, "task_s": task_s,
            "communes_per_s": communes / wall, "polygons_per_s": polygons / wall,
            "ms_per_polygon_task": 1e3 * task_s / max(polygons, 1)}


def _departement_areas() -> pd.Series:
    communes = gpd.read_parquet(COMMUNES_FRANCE).to_crs(2154)
    dep = communes["code"].str[:2].where(~communes["code"].str.startswith("97"),
                                         communes["code"].str[:3])
    return (communes.geometry.area / 1e4).groupby(dep).sum()


def _estimate(density_per_ha: float, ms_per_polygon: float) -> None:
    areas = _departement_areas()
    summary = pd.read_csv(REPO / "data/reference/ocsge_millesimes_summary.csv", dtype=str)
    summary["pairs"] = summary["n_millesimes"].astype(int) - 1
    summary["area_ha"] = summary["departement"].map(areas)
    metro = summary[summary["area_ha"].notna()]
    # one pair = both millésimes read: 2 × polygons of one millésime
    metro = metro.assign(polygons=2 * metro["area_ha"] * density_per_ha * metro["pairs"])
    total = metro["polygons"].sum()
    cpu_h = total * ms_per_polygon / 1e3 / 3600
    biggest = metro.sort_values("polygons").iloc[-1]
    print(f"\nScaling estimate ({len(metro)} départements with OCS GE and polygons area, "
          f"{int(metro['pairs'].sum())} pairs, {metro['area_ha'].sum() / 1e6:.2f} Mha):")
    print(f"  polygons read (both millésimes of each pair) at {density_per_ha:.3f} poly/ha: "
          f"{total / 1e6:.1f} M")
    print(f"  at {ms_per_polygon:.3f} ms/polygon: {cpu_h:.1f} CPU-hours")
    for workers in (2, 16, 64, 256):
        # a département is one task: the wall time is at least the largest task
        floor_h = biggest["polygons"] * ms_per_polygon / 1e3 / 3600 / max(biggest["pairs"], 1)
        print(f"  {workers:4d} workers: ~{max(cpu_h / workers, floor_h):.2f} h "
              f"(largest task D{biggest['departement']}: {floor_h:.2f} h)")
    print(f"  at 4x the demo density (real OCS GE is finer in towns): ~{4 * cpu_h:.0f} CPU-hours")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-store", type=Path, default=None, help="existing demo store")
    parser.add_argument("--side-km", type=float, default=12.0)
    parser.add_argument("--cell-m", type=float, default=150.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        store = build_synthetic_store(Path(tmp) / "synthetic", side_m=args.side_km * 1e3,
                                      cell_m=args.cell_m, centres=CENTRES)
        rows = [_run(store, w, BatchOptions(sprawl=False)) for w in (1, 2)]
        print("Synthetic 4-département store, sprawl off (2-core shared CPU):")
        print(pd.DataFrame(rows).round(3).to_string(index=False))
        demo = args.demo_store
        if demo is None:
            from ocsge_engine.demo import build_demo_store

            demo = Path(tmp) / "demo"
            build_demo_store(demo)
        else:
            shutil.copytree(demo, Path(tmp) / "demo")
            demo = Path(tmp) / "demo"
        demo_rows = [_run(demo, 1, BatchOptions()), _run(demo, 1, BatchOptions(sprawl=False))]
        print("\nSYBARVAL demo (D33, 1 task), 1 worker, sprawl on then off:")
        print(pd.DataFrame(demo_rows).round(3).to_string(index=False))
        density = 33_179 / 146_515  # demo polygons per hectare (one millésime)
        _estimate(density, demo_rows[0]["ms_per_polygon_task"])


if __name__ == "__main__":
    main()
