"""Timings of issue 7's remaining parts: surroundings flows, sprawl typology, draft flags.

Usage::

    .venv/bin/python benchmarks/bench_surroundings.py [--store DIR]

Uses ``--store`` (default: the configured store, e.g. the demo built by
``python -m ocsge_engine demo``). Prints one line per figure (wall-clock seconds, one cold run
then one warm run where caches matter). Figures of the README come from a shared 2-core CPU.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocsge_engine.config import get_settings  # noqa: E402
from ocsge_engine.flags import FlagStore, validate_flag  # noqa: E402
from ocsge_engine.indicators.surroundings import (  # noqa: E402
    per_hectare,
    surroundings,
    surroundings_matrices,
)
from ocsge_engine.indicators.typology import territory_typology  # noqa: E402
from ocsge_engine.store import Store  # noqa: E402
from ocsge_engine.territories import get_territory  # noqa: E402


def _timed(label: str, func, *args, **kwargs):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = func(*args, **kwargs)
    print(f"{label}: {time.perf_counter() - t0:.2f} s")
    return out


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, default=get_settings().store_dir)
    parser.add_argument("--communes", nargs="+", default=["33009", "33529"])
    args = parser.parse_args()
    store = Store.open(args.store)
    for code in args.communes:
        territory = get_territory(f"commune:{code}")
        areas = _timed(f"surroundings commune:{code} (ring 5 km, EPCI, département)",
                       surroundings, territory, 5)
        matrices = _timed(f"surroundings_matrices commune:{code} (4 overlays, CS×US)",
                          surroundings_matrices, store, territory, 2015, 2018, 5, areas)
        for by in ("anf", "cs_us"):
            result = _timed(f"per_hectare by={by} (regroup only)", per_hectare, matrices, by)
        print("   zones: " + ", ".join(f"{r.name} {100 * r.coverage_share:.1f} %"
                                       for r in result.areas.itertuples()))
        _timed(f"typology commune:{code} 2015 + 2018 (10 m)",
               lambda t=territory: [territory_typology(store, t, y) for y in (2015, 2018)])
    with tempfile.TemporaryDirectory() as tmp:
        import shapely

        flags = FlagStore(tmp)
        drafts = [validate_flag("commune:33009", 2018, f"p{k}", shapely.box(k, 0, k + 1, 1),
                                "CS2.1.1.1", "US1.2", "CS1.1.1.2", "US1.2", "bench")
                  for k in range(500)]
        _timed("add_drafts 500 drafts (one transaction)", flags.add_drafts, drafts)
        _timed("add_drafts same 500 again (all skipped)", flags.add_drafts, drafts)
        _timed("drafts() listing 500", flags.drafts)


if __name__ == "__main__":
    main()
