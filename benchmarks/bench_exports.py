"""Timings of the Flux / Signaler / Exports work: flows per level, layers GPKG, report, PDF, flags.

Usage::

    .venv/bin/python benchmarks/bench_exports.py [--store DIR] [--territory commune:33529]

Uses ``--store`` (default: ``data/store``, the demo built by ``python -m ocsge_engine demo``).
Prints one line per figure (seconds, single run: these are interactive, once-per-click costs).
"""

from __future__ import annotations

import argparse
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
from ocsge_engine.report.layers import export_territory_layers  # noqa: E402
from ocsge_engine.report.portrait_report import build_portrait_report, pdf_bytes  # noqa: E402
from ocsge_engine.store import Store  # noqa: E402
from ocsge_engine.territories import get_territory  # noqa: E402


def _timed(label: str, func: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = func()
    print(f"{label:<55s} {time.perf_counter() - start:7.2f} s")
    return result


def main() -> None:
    """Run the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", default="data/store")
    parser.add_argument("--territory", default="commune:33529")
    args = parser.parse_args()
    store, territory = Store.open(args.store), get_territory(args.territory)
    couples = _timed("exchange_matrix cs_us 2015->2018 (overlay)",
                     lambda: exchange_matrix(store, territory, 2015, 2018, by="cs_us"))
    for by in ("anf", "cs2", "us1", "artif"):
        _timed(f"regroup to {by} (level switch on the Flux page)", lambda: couples.regroup(by))
    with tempfile.TemporaryDirectory() as folder:
        _timed("territory layers GPKG (2 millésimes + changes)",
               lambda: export_territory_layers(store, territory, 2015, 2018,
                                               Path(folder) / "layers.gpkg"))
        document = _timed("portrait report HTML (3 SVG charts, kaleido cold)",
                          lambda: build_portrait_report(store, territory, (2015, 2018)))
        _timed("portrait report PDF (headless chromium)", lambda: pdf_bytes(document))
        flags = FlagStore(folder)
        flag = validate_flag(territory.id, 2018, "x", shapely.box(0, 0, 10, 10), "CS2.1.1.1",
                             "US1.2", "CS2.2.1", "US1.1", "")
        _timed("add one flag (DuckDB transaction)", lambda: flags.add(flag))
        _timed("list flags", flags.list)
        _timed("flags GPKG bytes", flags.gpkg_bytes)


if __name__ == "__main__":
    main()
