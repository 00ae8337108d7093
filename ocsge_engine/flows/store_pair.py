"""Fast path of the exact overlay for one pair of millésimes read from the store.

:func:`ocsge_engine.store.Store.polygons` decodes every polygon of both layers (WKB → GEOS), tests
each against the territory, and the overlay then finds that most of them are identical in both
millésimes (IGN only redraws what changed). This module reads both partitions' GeoParquet with
pyarrow and matches identical polygons on their **WKB bytes** before decoding anything:

1. both layers are read (code columns as Arrow dictionaries, the WKB column as bytes; only the
   row groups whose bbox statistics meet the territory's bbox);
2. a WKB value present exactly once in each layer is the same polygon in both millésimes
   (byte-for-byte equal, hence vertex-for-vertex: the identity short-circuit of
   :func:`ocsge_engine.flows.overlay.identical_pairs`, without its hash);
3. for those pairs whose WKB is a single-ring Polygon (most of OCS GE), the area and bounds are
   computed in numpy straight from the WKB buffer (:func:`wkb_polygon_area_bounds`); a pair whose
   bounding box lies properly inside the territory is a whole piece of the overlay (the store's
   clipping keeps such polygons whole): its area is known, nothing is decoded;
4. every other row (changed polygons, polygons crossing the territory's boundary, holes,
   multipolygons) is decoded and clipped exactly as :meth:`Store.polygons` does, and goes
   through :func:`ocsge_engine.flows.overlay.overlay_pieces`.

The transitions are the same as those of ``transitions_from_layers(store.polygons(...), ...)``
up to floating-point rounding of the areas (≤ 1e-12 relative): same pieces, same couples, same
stocks. The fast path applies to a territory whose partitions are all in EPSG:2154 with a
``bbox`` covering column; :func:`transitions_from_store` returns ``None`` otherwise and the caller
uses the general path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from shapely.geometry.base import BaseGeometry

from ocsge_engine.flows.matrix import (
    Transitions,
    couple_stocks_from_areas,
    empty_transitions,
    transitions_from_pieces,
)
from ocsge_engine.flows.overlay import _K1, _K2, _K3, overlay_pieces

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
METROPOLE_EPSG = 2154
_CODES = ("code_cs", "code_us")
_WKB_POLYGON = 3
GRID = 1024
PARSE_CHUNK = 16_384
_HEADER = 13  # byte order (1) + type (4) + number of rings (4) + points of the ring (4)


@dataclass(frozen=True, eq=False)
class RawLayer:
    """One millésime read without decoding: codes (categorical) and WKB (Arrow binary)."""

    code_cs: pd.Categorical
    code_us: pd.Categorical
    wkb: pa.Array
    bbox: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.wkb)


def _bbox_row_groups(path: Path, bounds: tuple[float, float, float, float]) -> list[int] | None:
    """Row groups whose ``bbox`` statistics meet ``bounds`` (``None`` when the file has none)."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(k).path for k in range(meta.num_columns)]
    try:
        cols = [names.index(f"bbox.{c}") for c in ("xmin", "ymin", "xmax", "ymax")]
    except ValueError:
        return None
    minx, miny, maxx, maxy = bounds
    keep = []
    for g in range(meta.num_row_groups):
        stats = [meta.row_group(g).column(c).statistics for c in cols]
        if any(s is None or not s.has_min_max for s in stats):
            keep.append(g)
            continue
        if (stats[0].min <= maxx and stats[2].max >= minx
                and stats[1].min <= maxy and stats[3].max >= miny):
            keep.append(g)
    return keep


def _categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """A dictionary-encoded string column as a ``pd.Categorical`` (no string per row)."""
    if not pa.types.is_dictionary(column.type):
        return pd.Categorical(np.asarray(column.to_pandas(), dtype=object))
    column = column.unify_dictionaries() if column.num_chunks > 1 else column
    if column.num_chunks == 0:
        return pd.Categorical([])
    values = column.chunk(0).dictionary.to_pylist()
    codes = pa.chunked_array([c.indices for c in column.chunks]).combine_chunks() \
        .fill_null(-1).to_numpy(zero_copy_only=False)
    return pd.Categorical.from_codes(codes.astype(np.int32), categories=pd.Index(values,
                                                                                  dtype=object))


def read_raw(files: list[Path], bounds: tuple[float, float, float, float]) -> RawLayer | None:
    """Codes and WKB of the rows of ``files`` whose row groups meet ``bounds``."""
    tables = []
    for path in files:
        groups = _bbox_row_groups(path, bounds)
        if groups is None:
            return None
        pf = pq.ParquetFile(path, read_dictionary=list(_CODES))
        tables.append(pf.read_row_groups(groups, columns=[*_CODES, "geometry", "bbox"]))
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    wkb = table.column("geometry").combine_chunks()
    if isinstance(wkb, pa.ExtensionArray):
        wkb = wkb.storage
    if not pa.types.is_binary(wkb.type):
        wkb = wkb.cast(pa.binary())
    box = table.column("bbox").combine_chunks()
    bbox = np.column_stack([box.field(c).to_numpy(zero_copy_only=False)
                            for c in ("xmin", "ymin", "xmax", "ymax")])
    return RawLayer(_categorical(table.column("code_cs")), _categorical(table.column("code_us")),
                    wkb, bbox)


def wkb_polygon_area_bounds(wkb: pa.Array, rows: npt.NDArray[np.int64]
                            ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64],
                                       npt.NDArray[np.float64]]:
    """Area and bounds of single-ring, little-endian 2D Polygon WKB values, in numpy.

    Args:
        wkb: an Arrow binary array of WKB values.
        rows: positions to read.

    Returns:
        ``(simple, area, bounds)``: whether each value is such a polygon (closed ring of at least
        4 points, nothing after it), its area (shoelace on coordinates shifted to the first
        vertex, as GEOS computes it) and ``(minx, miny, maxx, maxy)``; area and bounds are NaN
        where ``simple`` is false. Rows are read in chunks of :data:`PARSE_CHUNK` (bounded
        temporaries), two at a time.

    >>> arr = pa.array([shapely.box(0, 0, 2, 3).wkb, shapely.Point(1, 1).wkb])
    >>> simple, area, bounds = wkb_polygon_area_bounds(arr, np.array([0, 1]))
    >>> simple.tolist(), float(area[0]), bounds[0].tolist()
    ([True, False], 6.0, [0.0, 0.0, 2.0, 3.0])
    """
    chunks = [rows[k:k + PARSE_CHUNK] for k in range(0, len(rows), PARSE_CHUNK)]
    with ThreadPoolExecutor(max_workers=2) as pool:  # numpy releases the GIL on these arrays
        parts = list(pool.map(lambda chunk: _wkb_polygon_area_bounds(wkb, chunk), chunks))
    if not parts:
        return np.zeros(0, dtype=bool), np.zeros(0), np.zeros((0, 4))
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]))


def _wkb_polygon_area_bounds(wkb: pa.Array, rows: npt.NDArray[np.int64]
                             ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64],
                                        npt.NDArray[np.float64]]:
    """One chunk of :func:`wkb_polygon_area_bounds`."""
    n = len(rows)
    area = np.full(n, np.nan)
    bounds = np.full((n, 4), np.nan)
    simple = np.zeros(n, dtype=bool)
    if n == 0:
        return simple, area, bounds
    offsets_buf, data_buf = wkb.buffers()[1], wkb.buffers()[2]
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[wkb.offset:wkb.offset + len(wkb) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None \
        else np.zeros(0, dtype=np.uint8)
    start = offsets[rows].astype(np.int64)
    size = offsets[rows + 1].astype(np.int64) - start
    ok = size >= _HEADER
    if wkb.null_count:
        ok &= np.asarray(wkb.is_valid().to_numpy(zero_copy_only=False))[rows]

    def uint32_at(pos: np.ndarray) -> np.ndarray:
        b = data[pos[:, None] + np.arange(4)].astype(np.uint32)
        return b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16) | (b[:, 3] << 24)

    at = np.flatnonzero(ok)
    s = start[at]
    good = (data[s] == 1) & (uint32_at(s + 1) == _WKB_POLYGON) & (uint32_at(s + 5) == 1)
    at, s = at[good], s[good]
    npts = uint32_at(s + 9).astype(np.int64)
    good = (npts >= 4) & (size[at] == _HEADER + 16 * npts)
    at, s, npts = at[good], s[good], npts[good]
    if len(at) == 0:
        return simple, area, bounds
    # Doubles start at s + 13, not aligned: read each polygon's doubles through the view of the
    # buffer shifted by the same amount modulo 8 (eight views cover every alignment).
    first = s + _HEADER
    n_doubles = 2 * npts
    starts = np.cumsum(n_doubles) - n_doubles
    total = int(n_doubles.sum())
    values = np.empty(total)
    shift = first % 8
    for k in np.unique(shift):
        group = np.flatnonzero(shift == k)
        counts = n_doubles[group]
        local = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        src = np.repeat((first[group] - k) // 8, counts) + local
        dst = np.repeat(starts[group], counts) + local
        view = data[k:k + 8 * ((len(data) - k) // 8)].view("<f8")
        values[dst] = view[src]
    ring_of = np.repeat(np.arange(len(at)), npts)
    xy = values.reshape(-1, 2)
    vertex_ring = ring_of
    ring_start = np.cumsum(npts) - npts
    closed = ((xy[ring_start] == xy[ring_start + npts - 1]).all(axis=1)
              & np.isfinite(xy).all(axis=1)[ring_start])
    x0, y0 = xy[ring_start, 0][vertex_ring], xy[ring_start, 1][vertex_ring]
    x, y = xy[:, 0] - x0, xy[:, 1] - y0
    last = np.zeros(len(xy), dtype=bool)
    last[ring_start + npts - 1] = True
    nxt = np.minimum(np.arange(len(xy)) + 1, len(xy) - 1)
    cross = np.where(last, 0.0, x * y[nxt] - x[nxt] * y)
    twice = np.add.reduceat(cross, ring_start)
    box = np.column_stack([np.minimum.reduceat(xy[:, 0], ring_start),
                           np.minimum.reduceat(xy[:, 1], ring_start),
                           np.maximum.reduceat(xy[:, 0], ring_start),
                           np.maximum.reduceat(xy[:, 1], ring_start)])
    at = at[closed]
    simple[at] = True
    area[at] = np.abs(twice[closed]) / 2.0
    bounds[at] = box[closed]
    return simple, area, bounds


def boxes_properly_inside(geometry: BaseGeometry, boxes: npt.NDArray[np.float64],
                          grid: int = GRID) -> npt.NDArray[np.bool_]:
    """Which boxes ``(minx, miny, maxx, maxy)`` lie in the interior of ``geometry`` (conservative:
    a box reported inside is inside; a few inside boxes near the boundary are reported outside).

    The boundary is cut into pieces shorter than half a cell of a ``grid`` × ``grid`` raster of
    the geometry's bounds, and the cells holding a piece (grown by one cell) are flagged. A box
    that meets no flagged cell (one lookup in a summed-area table) does not meet the boundary,
    so it is inside exactly when one of its corners is (:func:`shapely.contains_xy`). No box
    geometry is built.

    >>> ring = shapely.Polygon([(0, 0), (100, 0), (100, 100), (0, 100)])
    >>> boxes_properly_inside(ring, np.array([[10., 10, 20, 20], [-5, 10, 5, 20],
    ...                                       [99.5, 50, 99.9, 51]]), grid=64).tolist()
    [True, False, False]
    """
    out = np.zeros(len(boxes), dtype=bool)
    if len(boxes) == 0 or geometry.is_empty:
        return out
    minx, miny, maxx, maxy = geometry.bounds
    w, h = (maxx - minx) / grid, (maxy - miny) / grid
    if not (w > 0 and h > 0):
        return out
    lines = shapely.get_parts(shapely.boundary(geometry))
    coords, part = shapely.get_coordinates(shapely.segmentize(lines, min(w, h) / 2),
                                           return_index=True)
    same = part[1:] == part[:-1]
    p, q = coords[:-1][same], coords[1:][same]
    flag = np.zeros((grid + 2, grid + 2), dtype=bool)  # one cell of margin on each side
    ix = np.clip(np.floor((np.stack([p[:, 0], q[:, 0]]) - minx) / w).astype(np.int64) + 1,
                 0, grid + 1)
    iy = np.clip(np.floor((np.stack([p[:, 1], q[:, 1]]) - miny) / h).astype(np.int64) + 1,
                 0, grid + 1)
    for dx in (-1, 0, 1):  # grown by one cell: rounding of the cell indices cannot matter
        for dy in (-1, 0, 1):
            for a in (0, 1):
                for b in (0, 1):
                    flag[np.clip(ix[a] + dx, 0, grid + 1), np.clip(iy[b] + dy, 0, grid + 1)] = True
    table = np.zeros((grid + 3, grid + 3), dtype=np.int32)
    table[1:, 1:] = flag.cumsum(axis=0, dtype=np.int32).cumsum(axis=1, dtype=np.int32)
    within = ((boxes[:, 0] > minx) & (boxes[:, 2] < maxx) & (boxes[:, 1] > miny)
              & (boxes[:, 3] < maxy) & np.isfinite(boxes).all(axis=1))
    at = np.flatnonzero(within)
    b = boxes[at]
    x0 = np.clip(np.floor((b[:, 0] - minx) / w).astype(np.int64) + 1, 0, grid + 1)
    x1 = np.clip(np.floor((b[:, 2] - minx) / w).astype(np.int64) + 1, 0, grid + 1)
    y0 = np.clip(np.floor((b[:, 1] - miny) / h).astype(np.int64) + 1, 0, grid + 1)
    y1 = np.clip(np.floor((b[:, 3] - miny) / h).astype(np.int64) + 1, 0, grid + 1)
    x0, y0 = np.maximum(x0 - 1, 0), np.maximum(y0 - 1, 0)  # one more cell of margin
    x1, y1 = np.minimum(x1 + 1, grid + 1), np.minimum(y1 + 1, grid + 1)
    hits = (table[x1 + 1, y1 + 1] - table[x0, y1 + 1] - table[x1 + 1, y0] + table[x0, y0])
    clear = hits == 0
    at, b = at[clear], b[clear]
    out[at] = shapely.contains_xy(geometry, b[:, 0], b[:, 1])
    return out


def _keys(raw: RawLayer) -> npt.NDArray[np.uint64]:
    """Hash of each row's bbox and WKB length (equal for byte-equal WKB values)."""
    bits = np.ascontiguousarray(raw.bbox).view(np.uint64)
    lengths = np.diff(np.frombuffer(raw.wkb.buffers()[1], dtype=np.int32)[
        raw.wkb.offset:raw.wkb.offset + len(raw.wkb) + 1]).astype(np.uint64)
    with np.errstate(over="ignore"):
        return ((bits[:, 0] * _K1) ^ (bits[:, 1] * _K2) ^ (bits[:, 2] * _K3)
                ^ ((bits[:, 3] ^ lengths) * _K1 * _K2))


def _unique_matches(raw_from: RawLayer, raw_to: RawLayer
                    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pairs ``(i, j)`` of byte-equal WKB values, each present exactly once in its layer.

    Candidates share a key (bbox and WKB length) that is unique in each layer; each candidate
    is then compared byte for byte, so a key collision never pairs different polygons.
    """
    key_from, key_to = pd.Series(_keys(raw_from)), pd.Series(_keys(raw_to))
    uniq_from = np.flatnonzero(~key_from.duplicated(keep=False).to_numpy())
    uniq_to = np.flatnonzero(~key_to.duplicated(keep=False).to_numpy())
    found = pd.Index(key_to.to_numpy()[uniq_to]).get_indexer(key_from.to_numpy()[uniq_from])
    hit = found >= 0
    i, j = uniq_from[hit].astype(np.int64), uniq_to[found[hit]].astype(np.int64)
    if len(i) == 0:
        return i, j
    import pyarrow.compute as pc

    same = pc.equal(raw_from.wkb.take(pa.array(i)), raw_to.wkb.take(pa.array(j)))
    same = same.fill_null(False).to_numpy(zero_copy_only=False)
    return i[same], j[same]


def _decode_clip(wkb: pa.Array, rows: np.ndarray, territory: BaseGeometry
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``rows`` and clip them as :meth:`Store.polygons` does: ``(kept rows, geoms)``."""
    from ocsge_engine.store.parquet import polygonal_parts

    geoms = shapely.from_wkb(np.asarray(wkb.take(pa.array(rows, type=pa.int64()))
                                        .to_numpy(zero_copy_only=False), dtype=object))
    shapely.prepare(territory)
    inside = shapely.contains_properly(territory, geoms)
    keep = inside.copy()
    keep[~inside] = shapely.intersects(territory, geoms[~inside])
    rows, geoms, inside = rows[keep], geoms[keep], inside[keep]
    cut = geoms.copy()
    cut[~inside] = polygonal_parts(shapely.intersection(geoms[~inside], territory))
    nonempty = ~shapely.is_empty(cut)
    return rows[nonempty], cut[nonempty]


def _copy(geometry: BaseGeometry) -> BaseGeometry:
    """An unprepared copy (GEOS prepares in place; each thread gets its own)."""
    return shapely.from_wkb(shapely.to_wkb(geometry))


def _partition_files(store: Any, territory: Any, year: int) -> list[Path] | None:
    import pyproj

    files = []
    for path, crs in store.partition_files(territory, year):
        if pyproj.CRS.from_user_input(crs).to_epsg() != METROPOLE_EPSG:
            return None
        files.append(Path(path))
    return files


def transitions_from_store(store: Any, territory: Any, year_from: int, year_to: int,
                           progress: Progress | None = None) -> Transitions | None:
    """Couple-level transitions of ``territory`` by exact overlay, WKB-identical polygons
    short-circuited before decoding (see the module docstring).

    Returns:
        The transitions, or ``None`` when the fast path does not apply (a store without
        ``partition_files``, a partition outside EPSG:2154 or without a bbox column).

    Raises:
        MillesimeError: a millésime is absent for the territory.
    """
    if not hasattr(store, "partition_files"):
        return None
    files = [_partition_files(store, territory, y) for y in (year_from, year_to)]
    if files[0] is None or files[1] is None:
        return None
    bounds = tuple(territory.geometry.bounds)
    with ThreadPoolExecutor(max_workers=2) as pool:
        raw_from, raw_to = pool.map(lambda f: read_raw(f, bounds), files)
    if raw_from is None or raw_to is None:
        return None
    if progress:
        progress(0.1, "couches lues")
    # 2. WKB present once in each layer (keyed on the bbox column, confirmed byte for byte).
    i_same, j_same = _unique_matches(raw_from, raw_to)
    # 3. Single-ring polygons whose box is properly inside the territory: whole pieces.
    simple, area, box = wkb_polygon_area_bounds(raw_from.wkb, i_same)
    geometry = _copy(territory.geometry)
    shapely.prepare(geometry)
    inside = simple.copy()
    inside[simple] = boxes_properly_inside(geometry, box[simple])
    i_same, j_same, area_same = i_same[inside], j_same[inside], area[inside]
    logger.debug("store pair: %d + %d rows, %d whole identical pieces", len(raw_from),
                 len(raw_to), len(i_same))
    # 4. Everything else: decoded and clipped, then overlaid.
    rest = []
    for raw, same in ((raw_from, i_same), (raw_to, j_same)):
        mask = np.ones(len(raw), dtype=bool)
        mask[same] = False
        rest.append(np.flatnonzero(mask))
    copies = [_copy(territory.geometry) for _ in rest]
    with ThreadPoolExecutor(max_workers=2) as pool:
        (rows_from, geoms_from), (rows_to, geoms_to) = pool.map(
            lambda args: _decode_clip(*args), zip((raw_from.wkb, raw_to.wkb), rest, copies))
    if progress:
        progress(0.2, f"{len(i_same)} géométries identiques")
    n_same = len(i_same)
    order_from = np.concatenate([i_same, rows_from])
    order_to = np.concatenate([j_same, rows_to])
    codes_from = pd.DataFrame({"code_cs": raw_from.code_cs[order_from],
                               "code_us": raw_from.code_us[order_from]})
    codes_to = pd.DataFrame({"code_cs": raw_to.code_cs[order_to],
                             "code_us": raw_to.code_us[order_to]})
    del raw_from, raw_to
    if len(codes_from) == 0 and len(codes_to) == 0:
        return empty_transitions("overlay")
    area_from = np.concatenate([area_same, shapely.area(geoms_from)])
    area_to = np.concatenate([area_same, shapely.area(geoms_to)])

    def report(fraction: float, message: str) -> None:
        if progress:
            progress(0.2 + 0.8 * fraction, message)

    pieces = overlay_pieces(geoms_from, geoms_to, report if progress else None)
    index_same = np.arange(n_same, dtype=np.int64)
    table = transitions_from_pieces(
        codes_from, codes_to, np.concatenate([index_same, n_same + pieces.index_from]),
        np.concatenate([index_same, n_same + pieces.index_to]),
        np.concatenate([area_same, pieces.area_m2]))
    return Transitions(table, couple_stocks_from_areas(codes_from, area_from),
                       couple_stocks_from_areas(codes_to, area_to), "overlay")
