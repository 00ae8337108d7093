"""Hand-computable layers for the indicator tests (rectangles in metres, shifted into Gironde)."""

from __future__ import annotations

import geopandas as gpd
import shapely

ORIGIN = (380_000.0, 6_400_000.0)


def box(xmin: float, ymin: float, xmax: float, ymax: float) -> shapely.Polygon:
    """Rectangle in local metres, shifted to :data:`ORIGIN` (département 33)."""
    return shapely.box(xmin + ORIGIN[0], ymin + ORIGIN[1], xmax + ORIGIN[0], ymax + ORIGIN[1])


def layer(rows: list[tuple[shapely.Geometry, str, str]], **extra: list[object]) -> gpd.GeoDataFrame:
    """GeoDataFrame from ``(geometry, code_cs, code_us)`` rows, EPSG:2154."""
    data: dict[str, list[object]] = {"code_cs": [r[1] for r in rows],
                                     "code_us": [r[2] for r in rows], **extra}
    return gpd.GeoDataFrame(data, geometry=[r[0] for r in rows], crs="EPSG:2154")
