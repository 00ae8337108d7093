"""Seeded synthetic OCS GE-like layers for the flow benchmarks (jittered lattices of quads).

Two millésimes tile the same rectangle with ``nx × ny`` quadrilaterals whose corners lie on a
jittered lattice (cell size 50 m). The second millésime re-draws the jitter of some lattice
points: every cell touching a moved point changes geometry, the others stay byte-identical, as
successive OCS GE vintages do. Codes are drawn from realistic CS×US couples.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

CELL_M = 50.0
COUPLES = [("CS2.2.1", "US1.1"), ("CS2.1.1.2", "US1.2"), ("CS2.1.1.1", "US1.2"),
           ("CS1.1.1.1", "US5"), ("CS1.1.1.2", "US4.1.1"), ("CS2.2.1", "US5"),
           ("CS1.2.2", "US6.3"), ("CS2.1.2", "US6.3"), ("CS1.1.2.1", "US6.1"),
           ("CS2.2.1", "US6.3"), ("CS1.1.1.1", "US3"), ("CS1.2.1", "US6.3")]
WEIGHTS = np.array([30, 20, 8, 10, 6, 5, 4, 5, 2, 6, 2, 2], dtype=float)
ORIGIN = (380_000.0, 6_380_000.0)


def _quads(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    nx, ny = px.shape[0] - 1, px.shape[1] - 1
    corners = [(slice(0, nx), slice(0, ny)), (slice(1, None), slice(0, ny)),
               (slice(1, None), slice(1, None)), (slice(0, nx), slice(1, None))]
    xs = np.stack([px[c] for c in corners] + [px[corners[0]]], axis=-1).reshape(-1, 5)
    ys = np.stack([py[c] for c in corners] + [py[corners[0]]], axis=-1).reshape(-1, 5)
    return shapely.polygons(np.stack([xs, ys], axis=-1))


def layer_pair(nx: int, ny: int, changed_share: float, seed: int = 0
               ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Two millésimes of ``nx × ny`` cells; about ``changed_share`` of cells change geometry.

    ``changed_share = 1`` re-draws every interior lattice point (every cell changes).
    """
    rng = np.random.default_rng(seed)
    xs, ys = np.meshgrid(ORIGIN[0] + np.arange(nx + 1) * CELL_M,
                         ORIGIN[1] + np.arange(ny + 1) * CELL_M, indexing="ij")
    jitter = rng.uniform(-0.2, 0.2, size=(2, nx + 1, ny + 1)) * CELL_M
    jitter[:, [0, -1], :] = 0.0
    jitter[:, :, [0, -1]] = 0.0
    moved = np.zeros((nx + 1, ny + 1), dtype=bool)
    if changed_share >= 1.0:
        moved[1:-1, 1:-1] = True
    else:  # a moved (even, even) point changes its 4 cells: share of cells ≈ share of points
        moved[2:-1:2, 2:-1:2] = rng.random(moved[2:-1:2, 2:-1:2].shape) < changed_share
    jitter2 = jitter.copy()
    jitter2[:, moved] = rng.uniform(-0.2, 0.2, size=(2, int(moved.sum()))) * CELL_M
    geoms_from = _quads(xs + jitter[0], ys + jitter[1])
    geoms_to = _quads(xs + jitter2[0], ys + jitter2[1])
    n = nx * ny
    p = WEIGHTS / WEIGHTS.sum()
    pick_from = rng.choice(len(COUPLES), size=n, p=p)
    changed = ~shapely.equals_exact(geoms_from, geoms_to, tolerance=0.0)
    recode = np.where(changed, rng.random(n) < 0.5, rng.random(n) < 0.02)
    pick_to = np.where(recode, rng.choice(len(COUPLES), size=n, p=p), pick_from)
    codes = np.array(COUPLES, dtype=object)
    gdf_from = gpd.GeoDataFrame({"code_cs": codes[pick_from, 0], "code_us": codes[pick_from, 1]},
                                geometry=geoms_from, crs="EPSG:2154")
    gdf_to = gpd.GeoDataFrame({"code_cs": codes[pick_to, 0], "code_us": codes[pick_to, 1]},
                              geometry=geoms_to, crs="EPSG:2154")
    return gdf_from, gdf_to
