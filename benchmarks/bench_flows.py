"""Benchmark of the exchange-matrix engine against ``geopandas.overlay``.

Usage::

    .venv/bin/python benchmarks/bench_flows.py                 # default (< 5 min on 2 cores)
    .venv/bin/python benchmarks/bench_flows.py --departement   # + 1.5 M polygons per millésime
    .venv/bin/python benchmarks/bench_flows.py --full-geopandas  # geopandas on 200k, no extrapolation

Cases (each measured in a fresh subprocess, so that peak RSS is its own):

1. synthetic 200k + 200k polygons, ~90 % geometries unchanged: our engine
   (``exchange_matrix_from_layers(..., by="cs_us")``), then the same with every geometry changed;
2. ``geopandas.overlay(how="intersection")`` on the same layers. By default it runs on a 50k-cell
   window of the same generator and its time is extrapolated ×4 (overlay cost is linear in the
   number of candidate pairs); our engine runs on that window too, for a like-for-like ratio and
   the area error (max |ours - geopandas| per matrix cell, relative to the cell);
3. the self-check error: max over classes of |row sum - stock| / stock (and columns);
4. with ``--departement``: 1,225 × 1,225 = 1.5 M polygons per millésime, 90 % unchanged;
5. one commune from a warm store (``--store``, default: the configured store if it exists):
   first call, then the median of 5 warm calls.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

FULL = (500, 400)      # 200,000 cells
WINDOW = (250, 200)    # 50,000 cells (geopandas window, extrapolated x4)
DEPARTEMENT = (1225, 1225)  # 1,500,625 cells


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _self_check_error(matrix) -> float:  # noqa: ANN001
    wide = matrix.pivot()
    rows = (wide.sum(axis=1) - matrix.stocks_from.reindex(wide.index, fill_value=0)).abs()
    cols = (wide.sum(axis=0) - matrix.stocks_to.reindex(wide.columns, fill_value=0)).abs()
    rel_rows = rows / matrix.stocks_from.reindex(wide.index, fill_value=0).clip(lower=1e-12)
    rel_cols = cols / matrix.stocks_to.reindex(wide.columns, fill_value=0).clip(lower=1e-12)
    return float(max(rel_rows.max(), rel_cols.max()))


def worker(case: str, nx: int, ny: int, changed: float) -> dict[str, float]:
    """Run one measurement in this process and return its figures."""
    from synthetic_flows import layer_pair

    gdf_from, gdf_to = layer_pair(nx, ny, changed, seed=42)
    base = _rss_mb()
    out: dict[str, float] = {"n": nx * ny, "base_rss_mb": base}
    if case in ("engine", "both"):
        from ocsge_engine.flows import exchange_matrix_from_layers

        start, cpu = time.perf_counter(), time.process_time()
        matrix = exchange_matrix_from_layers(gdf_from, gdf_to, "cs_us")
        out["engine_s"] = time.perf_counter() - start
        out["engine_cpu_s"] = time.process_time() - cpu
        out["engine_peak_mb"] = _peak_mb()
        out["self_check_rel_error"] = _self_check_error(matrix)
    if case in ("geopandas", "both"):
        import geopandas as gpd

        start, cpu = time.perf_counter(), time.process_time()
        oracle = gpd.overlay(gdf_from, gdf_to, how="intersection", keep_geom_type=True)
        out["geopandas_s"] = time.perf_counter() - start
        out["geopandas_cpu_s"] = time.process_time() - cpu
        out["geopandas_peak_mb"] = _peak_mb()
        if case == "both":
            out.update(_area_error(matrix, oracle))
    return out


def _area_error(matrix, oracle) -> dict[str, float]:  # noqa: ANN001
    import pandas as pd

    theirs = (oracle.assign(area_ha=oracle.geometry.area / 1e4,
                            code_from=oracle["code_cs_1"] + "_" + oracle["code_us_1"],
                            code_to=oracle["code_cs_2"] + "_" + oracle["code_us_2"])
              .groupby(["code_from", "code_to"])["area_ha"].sum())
    ours = matrix.table.set_index(["code_from", "code_to"])["area_ha"]
    both = pd.concat([ours, theirs], axis=1, keys=["ours", "theirs"]).fillna(0.0)
    diff = (both["ours"] - both["theirs"]).abs()
    rel = diff / both["theirs"].where(both["theirs"] > 0)
    return {"max_abs_error_m2": float(diff.max() * 1e4), "max_rel_error": float(rel.max())}


def _spawn(case: str, size: tuple[int, int], changed: float) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--worker", case, "--nx", str(size[0]), "--ny", str(size[1]),
           "--changed", str(changed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _store_case(store_dir: Path, territory: str) -> None:
    from ocsge_engine.flows import exchange_matrix
    from ocsge_engine.store import Store

    store = Store.open(store_dir)
    years = store.millesimes(__import__("ocsge_engine.territories", fromlist=["x"])
                             .get_territory(territory))
    year_from, year_to = years[0], years[-1]
    start = time.perf_counter()
    matrix = exchange_matrix(store, territory, year_from, year_to, by="anf")
    first = time.perf_counter() - start
    warm, cpu = [], []
    for _ in range(5):
        start, cpu_start = time.perf_counter(), time.process_time()
        exchange_matrix(store, territory, year_from, year_to, by="anf")
        warm.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    print(f"warm store {territory} {year_from}->{year_to}: first call {first * 1000:.0f} ms, "
          f"warm median {statistics.median(warm) * 1000:.0f} ms wall (min {min(warm) * 1000:.0f} "
          f"ms, CPU median {statistics.median(cpu) * 1000:.0f} ms), {len(matrix.table)} cells, "
          f"source {matrix.source}")


def _report_synthetic(label: str, changed: float, full_geopandas: bool) -> None:
    engine = _spawn("engine", FULL, changed)
    window_size = FULL if full_geopandas else WINDOW
    window = _spawn("both", window_size, changed)
    factor = (FULL[0] * FULL[1]) / (window_size[0] * window_size[1])
    gpd_full = window["geopandas_s"] * factor
    gpd_cpu = window["geopandas_cpu_s"] * factor
    note = "measured" if factor == 1 else f"extrapolated x{factor:.0f} from a {window['n']:,} window"
    print(f"\n== {label}: {engine['n']:,} + {engine['n']:,} polygons ==")
    print(f"  engine        : {engine['engine_s']:7.2f} s wall, {engine['engine_cpu_s']:6.2f} s CPU"
          f"   peak RSS {engine['engine_peak_mb']:6.0f} MB (data alone "
          f"{engine['base_rss_mb']:.0f} MB)   self-check rel error "
          f"{engine['self_check_rel_error']:.1e}")
    print(f"  geopandas     : {gpd_full:7.2f} s wall, {gpd_cpu:6.2f} s CPU   ({note}; window: "
          f"{window['geopandas_s']:.2f} s, peak RSS {window['geopandas_peak_mb']:.0f} MB incl. "
          "our engine run on the window)")
    print(f"  speed-up      : x{gpd_full / engine['engine_s']:.1f} wall, "
          f"x{gpd_cpu / engine['engine_cpu_s']:.1f} CPU (200k)   "
          f"x{window['geopandas_s'] / window['engine_s']:.1f} wall like-for-like on the window")
    print(f"  area error vs geopandas (window): max {window['max_abs_error_m2']:.2e} m² per cell, "
          f"max relative {window['max_rel_error']:.1e}")


def main() -> None:
    """Parse options, run the cases, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("engine", "geopandas", "both"))
    parser.add_argument("--nx", type=int)
    parser.add_argument("--ny", type=int)
    parser.add_argument("--changed", type=float)
    parser.add_argument("--departement", action="store_true", help="add the 1.5 M polygon case")
    parser.add_argument("--full-geopandas", action="store_true",
                        help="run geopandas.overlay on the full 200k layers")
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--territory", default="commune:33005")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.nx, args.ny, args.changed)))
        return
    start = time.perf_counter()
    print(f"machine: {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f}")
    _report_synthetic("~90 % unchanged geometries", 0.10, args.full_geopandas)
    _report_synthetic("fully changed geometries", 1.0, args.full_geopandas)
    if args.departement:
        dep = _spawn("engine", DEPARTEMENT, 0.10)
        print(f"\n== département scale: {dep['n']:,} + {dep['n']:,} polygons, ~90 % unchanged ==")
        print(f"  engine        : {dep['engine_s']:7.2f} s wall, {dep['engine_cpu_s']:6.2f} s CPU"
              f"   peak RSS {dep['engine_peak_mb']:6.0f} MB"
              f" (data alone {dep['base_rss_mb']:.0f} MB)   self-check rel error "
              f"{dep['self_check_rel_error']:.1e}")
    from ocsge_engine.config import get_settings

    store_dir = args.store or get_settings().store_dir
    print()
    if (Path(store_dir) / "catalog.duckdb").exists():
        _store_case(Path(store_dir), args.territory)
    else:
        print(f"warm store: skipped, no store at {store_dir} (python -m ocsge_engine demo)")
    print(f"\ntotal benchmark time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
