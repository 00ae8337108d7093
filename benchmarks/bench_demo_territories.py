"""Timings of the SYBARVAL demo builder and of territory lookups (prints figures, asserts nothing).

Usage: ``.venv/bin/python benchmarks/bench_demo_territories.py``
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ocsge_engine import demo, territories


def _timed(label: str, func, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = func(*args, **kwargs)
    print(f"{label:<45} {1000 * (time.perf_counter() - start):9.1f} ms")
    return result


def main() -> None:
    """Run each step once and print its wall-clock time."""
    inputs = _timed("demo: load_inputs", demo.load_inputs)
    params = demo.DemoParams()
    grid = _timed("demo: build_zones", demo.build_zones, inputs, params)
    _timed("demo: build_roads", demo.build_roads, inputs, grid, params)
    part = _timed("demo: build_demo_partition (17 communes)", demo.build_demo_partition,
                  inputs=inputs)
    print(f"{'demo: features per millesime':<45} {len(part):9d}")
    with tempfile.TemporaryDirectory() as tmp:
        report = _timed("demo: build_demo_store (cold, incl. writes)", demo.build_demo_store,
                        Path(tmp) / "store")
        print(report.summary())
        _timed("demo: build_demo_store (already present)", demo.build_demo_store, Path(tmp) / "store")
    _timed("territories: first get_territory (cold)", territories.get_territory, "commune:33005")
    _timed("territories: search 'lege cap ferret' (warm)", territories.search_territories,
           "lege cap ferret")
    _timed("territories: get_territory commune (warm)", territories.get_territory, "commune:33236")
    _timed("territories: get_territory departement:33 (1st)", territories.get_territory,
           "departement:33")
    _timed("territories: get_territory departement:33 (cached)", territories.get_territory,
           "departement:33")
    _timed("territories: population epci (warm)", territories.population, "epci:243300563")
    _timed("territories: nearest_communes (warm)", territories.nearest_communes, "33009")


if __name__ == "__main__":
    main()
