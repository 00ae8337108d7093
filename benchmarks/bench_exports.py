"""Timings of the Flux / Signaler / Exports work: bundle, report, PDF, flows, layers GPKG, flags.

Usage::

    BROWSER_PATH=/usr/bin/chromium .venv/bin/python benchmarks/bench_exports.py \
        [--store DIR] [--territory commune:33529] [--first bundle|report] [--repeat 3]

Uses ``--store`` (default: ``data/store``, the demo built by ``python -m ocsge_engine demo``).
The export named by ``--first`` runs first, in a fresh process (imports, Chromium start-up and
the pair's overlay included: what a CLI call pays); then the bundle and the report (HTML + PDF)
are timed ``--repeat`` times warm (median, as in the app after a first export). The other
lines are single runs (interactive, once-per-click costs). The load average is printed: the
timings are only comparable at a similar load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from ocsge_engine.flags import FlagStore, validate_flag  # noqa: E402
from ocsge_engine.flows import exchange_matrix  # noqa: E402
from ocsge_engine.report.bundle import build_bundle  # noqa: E402
from ocsge_engine.report.layers import export_territory_layers  # noqa: E402
from ocsge_engine.report.portrait_report import build_portrait_report, pdf_bytes  # noqa: E402
from ocsge_engine.store import Store  # noqa: E402
from ocsge_engine.territories import get_territory  # noqa: E402


def _timed(label: str, func: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = func()
    print(f"{label:<55s} {time.perf_counter() - start:7.2f} s")
    return result


def _load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def _bundle(store: Store, territory: Any) -> bytes:
    return build_bundle(store, territory, 2015, 2018)


def _report(store: Store, territory: Any) -> bytes:
    return pdf_bytes(build_portrait_report(store, territory, (2015, 2018)))


def _exports(store: Store, territory: Any, first: str, repeat: int) -> None:
    """Bundle and report (HTML + PDF): the first call of ``first``, then warm medians."""
    print(_load())
    calls = {"bundle": ("ZIP bundle (charts PNG+SVG, report HTML+PDF, GPKG)", _bundle),
             "report": ("portrait report HTML + PDF", _report)}
    order = [first] + [k for k in calls if k != first]
    label, func = calls[first]
    _timed(f"{label}, first call (cold process)", lambda: func(store, territory))
    for key in order:
        label, func = calls[key]
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            func(store, territory)
            times.append(time.perf_counter() - start)
        print(f"{label + ', warm (median of ' + str(repeat) + ')':<55s} "
              f"{statistics.median(times):7.2f} s  (runs: "
              + ", ".join(f"{t:.2f}" for t in times) + ")")
    print(_load())


def main() -> None:
    """Run the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", default="data/store")
    parser.add_argument("--territory", default="commune:33529")
    parser.add_argument("--first", choices=("bundle", "report"), default="bundle")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exports-only", action="store_true",
                        help="only the bundle and report timings")
    args = parser.parse_args()
    store, territory = Store.open(args.store), get_territory(args.territory)
    _exports(store, territory, args.first, args.repeat)
    if args.exports_only:
        return
    couples = _timed("exchange_matrix cs_us 2015->2018 (overlay)",
                     lambda: exchange_matrix(store, territory, 2015, 2018, by="cs_us"))
    for by in ("anf", "cs2", "us1", "artif"):
        _timed(f"regroup to {by} (level switch on the Flux page)", lambda: couples.regroup(by))
    with tempfile.TemporaryDirectory() as folder:
        _timed("territory layers GPKG (2 millésimes + changes)",
               lambda: export_territory_layers(store, territory, 2015, 2018,
                                               Path(folder) / "layers.gpkg"))
        document = _timed("portrait report HTML (warm renderer)",
                          lambda: build_portrait_report(store, territory, (2015, 2018)))
        _timed("portrait report PDF (warm browser)", lambda: pdf_bytes(document))
        flags = FlagStore(folder)
        flag = validate_flag(territory.id, 2018, "x", shapely.box(0, 0, 10, 10), "CS2.1.1.1",
                             "US1.2", "CS2.2.1", "US1.1", "")
        _timed("add one flag (DuckDB transaction)", lambda: flags.add(flag))
        _timed("list flags", flags.list)
        _timed("flags GPKG bytes", flags.gpkg_bytes)


if __name__ == "__main__":
    main()
