"""Hand-computable map fixtures: 10 m squares in Lambert-93 (EPSG:2154)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

X0, Y0 = 400_000.0, 6_400_000.0  # near the Bassin d'Arcachon


def squares(cells: list[tuple[int, int, str, str]], size: float = 10.0) -> gpd.GeoDataFrame:
    """One ``size`` m square per ``(col, row, code_cs, code_us)``."""
    geoms = [shapely.box(X0 + c * size, Y0 + r * size, X0 + (c + 1) * size, Y0 + (r + 1) * size)
             for c, r, _, _ in cells]
    return gpd.GeoDataFrame({"id": [f"p{i}" for i in range(len(cells))],
                             "code_cs": [cs for _, _, cs, _ in cells],
                             "code_us": [us for _, _, _, us in cells]},
                            geometry=geoms, crs="EPSG:2154")


@pytest.fixture
def grid() -> gpd.GeoDataFrame:
    """2×2 squares: three built/residential forming an L, one broadleaf forest (0,1)."""
    return squares([(0, 0, "CS1.1.1.1", "US5"), (1, 0, "CS1.1.1.1", "US5"),
                    (1, 1, "CS1.1.1.1", "US5"), (0, 1, "CS2.1.1.1", "US1.2")])
