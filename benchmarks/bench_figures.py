"""Croiser / Comparer / Classements on the demo: per-commune figures computed vs read from the batch.

Usage::

    .venv/bin/python benchmarks/bench_figures.py [--store DIR]

Copies the store (default ``data/store``) to a temporary folder, runs the national batch there
once (one in-process worker), then times, cold (first call in the process) and warm:

* Croiser: ``indicators.local_data.communes_indicators`` vs ``batch.figures.communes_indicators``;
* Comparer: ``indicators.comparison_table`` vs ``batch.figures.comparison_table`` (La Teste-de-Buch,
  8 nearest communes + 8 of similar population);
* Classements: ``batch.rankings`` (one DuckDB query over the national Parquet files);

and checks that both paths give identical DataFrames. Prints one line per measure.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from ocsge_engine.batch import rankings, run_flows
from ocsge_engine.batch import figures
from ocsge_engine.batch.cluster import dask_client
from ocsge_engine.indicators import comparison_table
from ocsge_engine.indicators.local_data import communes_indicators
from ocsge_engine.store import Store

TERRITORY = "commune:33529"


def _timed(label: str, func, *args):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    result = func(*args)
    print(f"{label:<55} {time.perf_counter() - t0:7.2f} s")
    return result


def main() -> None:
    """Run the measures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("data/store"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        store_dir = Path(tmp) / "store"
        shutil.copytree(args.store, store_dir, ignore=shutil.ignore_patterns("national"))
        with dask_client(n_workers=1, processes=False, dashboard_address=None) as client:
            t0 = time.perf_counter()
            run_flows(store_dir, None, client=client)
            print(f"{'batch flows (1 in-process worker, defaults)':<55} "
                  f"{time.perf_counter() - t0:7.2f} s")
        store = Store.open(store_dir)
        _timed("freshness check, cold (hashes both input partitions)",
               figures.partition_freshness, store)
        _timed("freshness check, warm", figures.partition_freshness, store)
        served = _timed("Croiser: national rows (batch.figures)", figures.communes_indicators,
                        store, 2015, 2018)
        computed = _timed("Croiser: computed (local_data.communes_indicators)",
                          communes_indicators, store, 2015, 2018)
        pd.testing.assert_frame_equal(served, computed, check_exact=True)
        served = _timed("Comparer: national rows (batch.figures)", figures.comparison_table,
                        store, TERRITORY, 2015, 2018)
        computed = _timed("Comparer: computed (indicators.comparison_table)", comparison_table,
                          store, TERRITORY, 2015, 2018)
        pd.testing.assert_frame_equal(served, computed, check_exact=True)
        _timed("Classements: rankings(net_m2_per_new_inhabitant)", rankings, store_dir)
        print("identical: the Croiser and Comparer tables are equal float for float")


if __name__ == "__main__":
    main()
