"""Benchmark of the exchange-matrix engine against ``geopandas.overlay``.

Usage::

    .venv/bin/python benchmarks/bench_flows.py                  # (a) and (b), 200k + 200k
    .venv/bin/python benchmarks/bench_flows.py --scale 0.25     # same, 50k + 50k (development)
    .venv/bin/python benchmarks/bench_flows.py --departement    # + 1.5 M polygons per millésime
    .venv/bin/python benchmarks/bench_flows.py --delivery       # + (c), an ingested IGN delivery

Cases, side by side in one run (each measurement in a fresh process, so peak RSS is its own):

(a) synthetic 200k + 200k polygons, ~10 % of cells changed (geometry re-drawn, half of them
    recoded, 2 % of the others recoded), written to a store (département 33, 2015 and 2018);
(b) the same with every geometry re-digitised;
(c) with ``--delivery``: case (a) plus 2 % of cells merged in pairs and 2 % split in two in 2018,
    written as an **IGN delivery** (2015: shapefile folder, fields ``ID``/``CODE_CS``/``CODE_US``;
    2018: GeoPackage of MultiPolygons, fields ``id``/``code_cs``/``code_us``) and ingested by the
    CLI (``ingest``), as a user would, before the same comparison.

For each case: the **CLI wall time** of ``python -m ocsge_engine -q flows --by cs4 --format csv``
on a ``polygon:`` territory that cuts cells (start-up, store read, clipping, overlay, CSV
included), its CPU time and peak RSS; then ``geopandas.overlay(how="intersection")`` **compute
alone** on the same clipped layers (read from the store before the clock starts), its CPU time
and peak RSS; the speed-up; and the largest per-cell difference of the CLI's CSV against
geopandas (relative to the cell). The machine is shared: load average and CPU/wall ratios are
printed so that a busy run can be told from a quiet one.

``--departement`` adds 1,225 × 1,225 = 1.5 M polygons per millésime, 90 % unchanged (engine in
process, on layers the benchmark builds in memory before the clock); ``--departement-store``
writes that département to a store and times the CLI on it, as a user runs it (``flows --by cs4
--format csv`` on an octagon cutting cells: start-up, store read, clipping, overlay, CSV), with
its peak RSS; the cells must add up to the octagon's area (no geopandas at this size: about
10 minutes). ``--store`` adds one commune from a warm store (first call, then median of 5).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

FULL = (500, 400)      # 200,000 cells
DEPARTEMENT = (1225, 1225)  # 1,500,625 cells
YEARS = (2015, 2018)


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
    """Run one in-process engine measurement (département case) and return its figures."""
    from synthetic_flows import layer_pair

    gdf_from, gdf_to = layer_pair(nx, ny, changed, seed=42)
    base = _rss_mb()
    out: dict[str, float] = {"n": nx * ny, "base_rss_mb": base}
    from ocsge_engine.flows import exchange_matrix_from_layers

    start, cpu = time.perf_counter(), time.process_time()
    matrix = exchange_matrix_from_layers(gdf_from, gdf_to, "cs_us")
    out["engine_s"] = time.perf_counter() - start
    out["engine_cpu_s"] = time.process_time() - cpu
    out["engine_peak_mb"] = _peak_mb()
    out["self_check_rel_error"] = _self_check_error(matrix)
    return out


def geopandas_worker(store_dir: str, territory_file: str) -> dict[str, float]:
    """Read both clipped layers from the store, then time ``geopandas.overlay`` alone."""
    import geopandas as gpd

    from ocsge_engine.flows.levels import classify
    from ocsge_engine.store import Store
    from ocsge_engine.territories import get_territory

    store = Store.open(Path(store_dir))
    territory = get_territory(f"polygon:{territory_file}")
    gdf_from, gdf_to = (store.polygons(territory, y, columns=["code_cs", "code_us"])
                        for y in YEARS)
    start, cpu = time.perf_counter(), time.process_time()
    oracle = gpd.overlay(gdf_from, gdf_to, how="intersection", keep_geom_type=True)
    out = {"geopandas_s": time.perf_counter() - start,
           "geopandas_cpu_s": time.process_time() - cpu, "geopandas_peak_mb": _peak_mb(),
           "n_from": len(gdf_from), "n_to": len(gdf_to)}
    cells = (oracle.assign(area_ha=oracle.geometry.area / 1e4,
                           code_from=classify(oracle["code_cs_1"], oracle["code_us_1"], "cs4"),
                           code_to=classify(oracle["code_cs_2"], oracle["code_us_2"], "cs4"))
             .groupby(["code_from", "code_to"])["area_ha"].sum())
    Path(store_dir, "..", "geopandas_cs4.csv").resolve().write_text(
        cells.reset_index().to_csv(index=False))
    return out


def _cli(store_dir: Path, territory_file: Path, out_csv: Path) -> dict[str, float]:
    """Run the CLI under /usr/bin/time: wall, user+sys CPU, peak RSS."""
    cmd = ["/usr/bin/time", "-f", "%e %U %S %M", sys.executable, "-m", "ocsge_engine", "-q",
           "flows", "--store", str(store_dir), "--territory", f"polygon:{territory_file}",
           "--from", str(YEARS[0]), "--to", str(YEARS[1]), "--by", "cs4", "--format", "csv"]
    with open(out_csv, "w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.PIPE, text=True, check=False,
                              cwd=HERE.parent)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    wall, user, system, peak_kb = proc.stderr.strip().splitlines()[-1].split()
    return {"cli_s": float(wall), "cli_cpu_s": float(user) + float(system),
            "cli_peak_mb": int(peak_kb) / 1024}


def _cell_error(ours_csv: Path, theirs_csv: Path) -> tuple[float, float, int]:
    """Max |ours - geopandas| per cs4 cell: (m², relative to the cell, number of cells)."""
    import pandas as pd

    ours = pd.read_csv(ours_csv).set_index(["code_from", "code_to"])["area_ha"]
    theirs = pd.read_csv(theirs_csv).set_index(["code_from", "code_to"])["area_ha"]
    both = pd.concat([ours, theirs], axis=1, keys=["ours", "theirs"]).fillna(0.0)
    diff = (both["ours"] - both["theirs"]).abs()
    rel = diff / both["theirs"].where(both["theirs"] > 0)
    return float(diff.max() * 1e4), float(rel.max()), len(both)


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


def _report_departement_store(work: Path) -> None:
    """CLI ``flows`` on a 1.5 M + 1.5 M store: wall, CPU, peak RSS, and the area check."""
    import pandas as pd
    from flows_store import territory_polygon, write_store

    folder = work / "departement"
    start = time.perf_counter()
    territory_file = write_store(folder, *DEPARTEMENT, 0.10)
    written = time.perf_counter() - start
    load_before = os.getloadavg()[0]
    cli = _cli(folder / "store", territory_file, folder / "cli_cs4.csv")
    cells_ha = pd.read_csv(folder / "cli_cs4.csv")["area_ha"]
    octagon_ha = territory_polygon(*DEPARTEMENT).area / 1e4
    n = DEPARTEMENT[0] * DEPARTEMENT[1]
    print(f"\n== département from a store: {n:,} + {n:,} polygons, ~90 % unchanged "
          f"(store written in {written:.0f} s) ==")
    print(f"  CLI flows --by cs4 --format csv : {cli['cli_s']:6.2f} s wall, "
          f"{cli['cli_cpu_s']:6.2f} s CPU, peak RSS {cli['cli_peak_mb']:5.0f} MB")
    print(f"  cells vs territory area         : {len(cells_ha)} cells, sum {cells_ha.sum():,.4f} ha"
          f" vs octagon {octagon_ha:,.4f} ha (relative {abs(cells_ha.sum() / octagon_ha - 1):.1e})")
    print(f"  machine                         : load average {load_before:.1f} -> "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def _ingest(paths: list[Path], store_dir: Path) -> float:
    """Ingest IGN delivery paths with the CLI, as a user would; return its wall time."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ocsge_engine", "-q", "ingest", "--store",
                           str(store_dir), *map(str, paths)], capture_output=True, text=True,
                          check=False, cwd=HERE.parent)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return time.perf_counter() - start


def _report_cli(label: str, size: tuple[int, int], changed: float, work: Path,
                delivery: bool = False) -> None:
    from flows_store import write_delivery, write_store

    folder = work / label[0]
    start = time.perf_counter()
    if delivery:
        paths, territory_file = write_delivery(folder, size[0], size[1], changed)
        written = time.perf_counter() - start
        ingested = _ingest(paths, folder / "store")
        written_how = (f"delivery written in {written:.0f} s, ingested by the CLI in "
                       f"{ingested:.0f} s")
    else:
        territory_file = write_store(folder, size[0], size[1], changed)
        written_how = f"store written in {time.perf_counter() - start:.0f} s"
    load_before = os.getloadavg()[0]
    cli = _cli(folder / "store", territory_file, folder / "cli_cs4.csv")
    cmd = [sys.executable, __file__, "--geopandas-worker", str(folder / "store"),
           str(territory_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    gpd = json.loads(proc.stdout.strip().splitlines()[-1])
    load_after = os.getloadavg()[0]
    abs_m2, rel, n_cells = _cell_error(folder / "cli_cs4.csv", folder / "geopandas_cs4.csv")
    print(f"\n== ({label}) {size[0] * size[1]:,} + {size[0] * size[1]:,} polygons, "
          f"{changed:.0%} of cells changed; {gpd['n_from']:,} + {gpd['n_to']:,} after clipping "
          f"({written_how}) ==")
    print(f"  CLI flows --by cs4 --format csv : {cli['cli_s']:6.2f} s wall, "
          f"{cli['cli_cpu_s']:6.2f} s CPU, peak RSS {cli['cli_peak_mb']:5.0f} MB")
    print(f"  geopandas.overlay compute alone : {gpd['geopandas_s']:6.2f} s wall, "
          f"{gpd['geopandas_cpu_s']:6.2f} s CPU, peak RSS {gpd['geopandas_peak_mb']:5.0f} MB "
          "(layers read before the clock)")
    print(f"  speed-up                        : x{gpd['geopandas_s'] / cli['cli_s']:.1f} wall, "
          f"x{gpd['geopandas_cpu_s'] / cli['cli_cpu_s']:.1f} CPU")
    print(f"  cs4 cells vs geopandas          : {n_cells} cells, max |diff| {abs_m2:.2e} m², "
          f"max relative {rel:.1e}")
    print(f"  machine                         : load average {load_before:.1f} -> "
          f"{load_after:.1f} on {os.cpu_count()} cores")


def main() -> None:
    """Parse options, run the cases, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("engine",))
    parser.add_argument("--geopandas-worker", nargs=2, metavar=("STORE", "TERRITORY"))
    parser.add_argument("--nx", type=int)
    parser.add_argument("--ny", type=int)
    parser.add_argument("--changed", type=float)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="share of the 200k cells (0.25 = 50k, for development)")
    parser.add_argument("--departement", action="store_true", help="add the 1.5 M polygon case")
    parser.add_argument("--departement-store", action="store_true",
                        help="add the 1.5 M polygon case written to a store, through the CLI")
    parser.add_argument("--skip-200k", action="store_true", help="skip cases (a) and (b)")
    parser.add_argument("--delivery", action="store_true",
                        help="add case (c): an IGN delivery (SHP 2015 upper-case fields, GPKG "
                             "2018 lower-case fields and MultiPolygons, merges and splits), "
                             "ingested by the CLI, then the same comparison")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the synthetic stores (default: a temporary folder)")
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--territory", default="commune:33005")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.nx, args.ny, args.changed)))
        return
    if args.geopandas_worker:
        print(json.dumps(geopandas_worker(*args.geopandas_worker)))
        return
    start = time.perf_counter()
    print(f"machine: {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f}")
    side = args.scale ** 0.5
    size = (round(FULL[0] * side), round(FULL[1] * side))
    with tempfile.TemporaryDirectory(dir=args.work) as work:
        if not args.skip_200k:
            _report_cli("a: ~10 % changed", size, 0.10, Path(work))
            _report_cli("b: fully changed", size, 1.0, Path(work))
        if args.delivery:
            _report_cli("c: IGN delivery, ~10 % changed, 2 % merged, 2 % split", size, 0.10,
                        Path(work), delivery=True)
        if args.departement_store:
            _report_departement_store(Path(work))
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
