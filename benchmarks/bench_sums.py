"""EPCI figures and matrices: summed from the batch's commune rows vs the EPCI's own overlay.

Usage::

    .venv/bin/python benchmarks/bench_sums.py [--store data/store]

The store must hold the national batch of its communes (``scripts/setup.sh`` runs it on the
demo). For each of the three SYBARVAL EPCI, times in one process:

* ``portrait_figures`` (Portrait, the report, every page's headline metrics) and the Flux page's
  couple-level matrix, summed from the communes' precomputed rows (first call: the rows read
  and decoded; second call: the engine's row cache warm);
* the same two computed from the EPCI's own overlay (``load_pair`` + ``portrait_figures(...,
  pair=...)``, ``exchange_matrix``), what the pages did before;

and prints the largest relative difference over the figures and the largest cell difference of
the matrices (both must be float rounding only).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocsge_engine.batch.pages import summed_figures, summed_matrix  # noqa: E402
from ocsge_engine.flows import exchange_matrix  # noqa: E402
from ocsge_engine.indicators.pair import load_pair  # noqa: E402
from ocsge_engine.portrait import portrait_figures  # noqa: E402
from ocsge_engine.store import Store  # noqa: E402
from ocsge_engine.territories import get_territory  # noqa: E402

EPCI = ("243300563", "243301504", "243301405")


def _timed(func, *args):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    result = func(*args)
    return result, time.perf_counter() - t0


def main() -> None:
    """Run the measures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("data/store"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    store = Store.open(args.store)
    print(f"{'EPCI':<42} {'sum 1st':>8} {'sum 2nd':>8} {'overlay':>8} {'max rel':>9}  "
          f"{'matrix sum':>10} {'overlay':>8} {'max cell':>9}")
    for code in EPCI:
        epci = get_territory(f"epci:{code}")
        summed, t_sum = _timed(summed_figures, store, epci, 2015, 2018)
        if summed is None:
            sys.exit(f"{epci.id}: no batch rows for all its communes in {args.store}: run "
                     f"`python -m ocsge_engine batch flows --store {args.store}` first")
        _, t_sum2 = _timed(summed_figures, store, epci, 2015, 2018)
        t0 = time.perf_counter()
        overlay = portrait_figures(store, epci, 2015, 2018,
                                   pair=load_pair(store, epci, 2015, 2018))
        t_overlay = time.perf_counter() - t0
        worst = max((abs(f.value - summed[k].value) / max(abs(f.value), 1e-12)
                     for k, f in overlay.figures.items()
                     if f.value is not None and summed[k].value is not None), default=0.0)
        matrix, t_msum = _timed(summed_matrix, store, epci, 2015, 2018)
        fly, t_mfly = _timed(exchange_matrix, store, epci, 2015, 2018, "cs_us")
        a, b = matrix.pivot(), fly.pivot()
        cell = float(np.abs(a.reindex_like(b).to_numpy() - b.to_numpy()).max())
        print(f"{epci.name[:42]:<42} {t_sum:7.2f}s {t_sum2:7.2f}s {t_overlay:7.2f}s "
              f"{worst:9.1e}  {t_msum:9.2f}s {t_mfly:7.2f}s {cell:8.1e} ha")


if __name__ == "__main__":
    main()
