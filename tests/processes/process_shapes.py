"""Hand-computable layers for the process tests: 1 ha squares (100 m × 100 m) in a row.

Each square ``k`` spans ``[100 k, 100 k + 100] × [0, 100]`` (shifted into Gironde). First and
second millésime, and the process each change belongs to in the default table::

    k  2015                 2018                                  process (ha)
    0  CS2.2.1 US1.1        left half CS1.1.1.1 US5               etalement_residentiel 0.5
                            right half CS1.1.1.2 US4.1.1          infrastructures_transport 0.5
    1  CS1.1.1.1 US5        CS2.2.1 US1.1                         renaturation 1
    2  CS2.2.1 US5          CS1.1.1.1 US5                         densification 1
    3  CS2.2.1 US1.1        CS1.1.2.1 US1.3                       carrieres 1
    4  CS2.1.1.1 US1.2      CS2.1.1.1 US1.2                       stable 1
    5  CS2.2.1 US1.1        CS2.1.2 US6.3                         deprise_agricole 1
    6  CS2.1.1.2 US1.2      CS2.1.1.1 US1.2                       autre_changement 1
"""

from __future__ import annotations

import geopandas as gpd
import shapely

ORIGIN = (380_000.0, 6_400_000.0)


def box(xmin: float, ymin: float, xmax: float, ymax: float) -> shapely.Polygon:
    """Rectangle in local metres, shifted to :data:`ORIGIN`."""
    return shapely.box(xmin + ORIGIN[0], ymin + ORIGIN[1], xmax + ORIGIN[0], ymax + ORIGIN[1])


def layer(rows: list[tuple[tuple[float, float, float, float], str, str]]) -> gpd.GeoDataFrame:
    """GeoDataFrame from ``(bounds, code_cs, code_us)`` rows, EPSG:2154, ids ``p0, p1…``."""
    return gpd.GeoDataFrame(
        {"id": [f"p{i}" for i in range(len(rows))], "code_cs": [r[1] for r in rows],
         "code_us": [r[2] for r in rows]},
        geometry=[box(*r[0]) for r in rows], crs="EPSG:2154")


def sq(k: int, x0: float = 0.0, x1: float = 100.0) -> tuple[float, float, float, float]:
    """Bounds of square ``k`` (optionally a vertical slice of it)."""
    return (100 * k + x0, 0.0, 100 * k + x1, 100.0)


BEFORE = [(sq(0), "CS2.2.1", "US1.1"), (sq(1), "CS1.1.1.1", "US5"), (sq(2), "CS2.2.1", "US5"),
          (sq(3), "CS2.2.1", "US1.1"), (sq(4), "CS2.1.1.1", "US1.2"), (sq(5), "CS2.2.1", "US1.1"),
          (sq(6), "CS2.1.1.2", "US1.2")]
AFTER = [(sq(0, 0, 50), "CS1.1.1.1", "US5"), (sq(0, 50, 100), "CS1.1.1.2", "US4.1.1"),
         (sq(1), "CS2.2.1", "US1.1"), (sq(2), "CS1.1.1.1", "US5"), (sq(3), "CS1.1.2.1", "US1.3"),
         (sq(4), "CS2.1.1.1", "US1.2"), (sq(5), "CS2.1.2", "US6.3"), (sq(6), "CS2.1.1.1", "US1.2")]
EXPECTED_HA = {"etalement_residentiel": 0.5, "infrastructures_transport": 0.5, "renaturation": 1.0,
               "densification": 1.0, "carrieres": 1.0, "stable": 1.0, "deprise_agricole": 1.0,
               "autre_changement": 1.0}


def layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Both millésimes."""
    return layer(BEFORE), layer(AFTER)
