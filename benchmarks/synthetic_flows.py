"""Seeded synthetic OCS GE-like layers for the flow benchmarks (jittered lattices of quads).

Two millésimes tile the same rectangle with ``nx × ny`` quadrilaterals whose corners lie on a
jittered lattice (cell size 50 m). The second millésime re-draws the jitter of some lattice
points: every cell touching a moved point changes geometry, the others stay byte-identical, as
successive OCS GE vintages do. Codes are drawn from realistic CS×US couples.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
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


def merge_and_split(gdf: gpd.GeoDataFrame, ny: int, merged: float = 0.02, split: float = 0.02,
                    seed: int = 1) -> gpd.GeoDataFrame:
    """Merge some pairs of x-neighbouring cells into one polygon and split some cells in two.

    ``gdf`` is one millésime of :func:`layer_pair` (cell ``(i, j)`` at row ``i * ny + j``). A
    merged pair ``(i, j) + (i + 1, j)`` (``i`` even, about ``merged`` of the cells) becomes the
    union of both quads (they share an edge exactly), with the codes of the first; a split cell
    (about ``split`` of the cells left) becomes its two triangles along the diagonal from its
    first to its third corner, the second triangle recoded to the next couple of
    :data:`COUPLES`. Rows keep the lattice order, a merged pair at its first cell's place.
    """
    rng = np.random.default_rng(seed)
    n = len(gdf)
    nx = n // ny
    i, j = np.divmod(np.arange(n), ny)
    first = (i % 2 == 0) & (i + 1 < nx) & (rng.random(n) < merged)
    second = np.zeros(n, dtype=bool)
    second[np.flatnonzero(first) + ny] = True
    geoms = gdf.geometry.to_numpy().copy()
    heads = np.flatnonzero(first)
    geoms[heads] = shapely.union(geoms[heads], geoms[heads + ny])
    cut = ~first & ~second & (rng.random(n) < split)
    rows = np.flatnonzero(cut)
    coords = shapely.get_coordinates(geoms[rows]).reshape(len(rows), 5, 2)
    tri_a = shapely.polygons(coords[:, [0, 1, 2, 0]])
    tri_b = shapely.polygons(coords[:, [0, 2, 3, 0]])
    index = {couple: k for k, couple in enumerate(COUPLES)}
    now = zip(gdf["code_cs"].to_numpy()[rows], gdf["code_us"].to_numpy()[rows])
    recoded = np.array([COUPLES[(index[c] + 1) % len(COUPLES)] for c in now],
                       dtype=object).reshape(-1, 2)
    geoms[rows] = tri_a
    out = gdf.assign(geometry=geoms)
    extra = gpd.GeoDataFrame({"code_cs": recoded[:, 0], "code_us": recoded[:, 1]},
                             geometry=tri_b, crs=gdf.crs, index=rows + 0.5)
    out = pd.concat([out[~second], extra]).sort_index(kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=gdf.crs)
