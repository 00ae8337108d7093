"""Seeded synthetic two-département store for the batch tests (small: ~100 cells per département).

Each département gets a square of ``SIDE_M`` metres centred on one of its communes, cut into a
grid of ``CELL_M`` cells (several communes are crossed, some only in part). The first millésime
draws one CS×US couple per cell; the second changes the couple of a fifth of the cells and splits
a tenth of them in two halves with different couples, so that the overlay has real intersections.
Both millésimes cover the same square, so every commune's matrix passes its self-check.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory

CENTRES: dict[str, str] = {"32": "32013", "33": "33005"}  # Auch, Andernos-les-Bains
YEARS: tuple[int, int] = (2016, 2019)
SIDE_M = 6000.0
CELL_M = 600.0
COUPLES: tuple[tuple[str, str], ...] = (
    ("CS1.1.1.1", "US5"), ("CS1.1.1.2", "US4.1.1"), ("CS2.2.1", "US1.1"), ("CS2.1.1.2", "US1.2"),
    ("CS2.1.1.1", "US6.3"), ("CS1.2.2", "US6.3"), ("CS2.2.1", "US5"), ("CS1.1.2.1", "US1.1"),
)


def _grid(centre: shapely.Point, side_m: float, cell_m: float) -> list[shapely.Polygon]:
    x0, y0 = centre.x - side_m / 2, centre.y - side_m / 2
    n = int(side_m / cell_m)
    return [shapely.box(x0 + i * cell_m, y0 + j * cell_m, x0 + (i + 1) * cell_m,
                        y0 + (j + 1) * cell_m) for i in range(n) for j in range(n)]


def _layers(departement: str, centre: str, seed: int, side_m: float, cell_m: float
            ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng([seed, int(departement)])
    cells = _grid(get_territory(f"commune:{centre}").geometry.centroid, side_m, cell_m)
    first = rng.integers(len(COUPLES), size=len(cells))
    geoms_a, codes_a = cells, [COUPLES[k] for k in first]
    geoms_b, codes_b = [], []
    for cell, k in zip(cells, first):
        draw = rng.random()
        if draw < 0.1:  # split in two halves, one keeps the couple
            xmin, ymin, xmax, ymax = cell.bounds
            mid = (xmin + xmax) / 2
            geoms_b += [shapely.box(xmin, ymin, mid, ymax), shapely.box(mid, ymin, xmax, ymax)]
            codes_b += [COUPLES[k], COUPLES[int(rng.integers(len(COUPLES)))]]
        elif draw < 0.3:
            geoms_b.append(cell)
            codes_b.append(COUPLES[int(rng.integers(len(COUPLES)))])
        else:
            geoms_b.append(cell)
            codes_b.append(COUPLES[k])
    return (_frame(geoms_a, codes_a, departement, YEARS[0]),
            _frame(geoms_b, codes_b, departement, YEARS[1]))


def _frame(geoms: list[shapely.Polygon], codes: list[tuple[str, str]], departement: str,
           year: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "id": [f"S{departement}_{year}_{i}" for i in range(len(geoms))],
        "code_cs": [c[0] for c in codes], "code_us": [c[1] for c in codes],
        "millesime": year, "departement": departement}, geometry=geoms, crs=2154)


def build_synthetic_store(path: Path, seed: int = 8, side_m: float = SIDE_M,
                          cell_m: float = CELL_M, centres: dict[str, str] | None = None) -> Path:
    """Write the synthetic store at ``path`` (one square per département of ``centres``)."""
    store = Store.open(path, create=True)
    for departement, centre in (centres or CENTRES).items():
        for gdf in _layers(departement, centre, seed, side_m, cell_m):
            year = int(gdf["millesime"].iloc[0])
            digest = hashlib.sha256(b"".join(shapely.to_wkb(gdf.geometry.to_numpy()))
                                    + repr(gdf["code_cs"].tolist()).encode()).hexdigest()
            store.write_layer(gdf, layer="occupation_sol", departement=departement, millesime=year,
                              source_file=f"synthetic_{departement}_{year}", source_sha256=digest,
                              synthetic=True, note="batch test grid")
    return path
