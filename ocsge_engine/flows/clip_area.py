"""Exact intersection areas of polygon pairs, without building the intersection polygons.

The exchange matrix needs the *area* of each overlay piece, not its geometry. For a pair where
one polygon is convex, that area is computed with a vectorised Sutherland–Hodgman clip in numpy
(many pairs at once, no GEOS call); the other pairs go through a containment test (prepared
``covers``) and, when neither covers the other, :func:`shapely.intersection`.

Why the clip is exact for areas. Clipping a closed ring by a half-plane with Sutherland–Hodgman
keeps the ring's winding number inside the half-plane and sets it to 0 outside (the excursions
outside are replaced by segments of the line). The shoelace area of a ring is the integral of
its winding number, so after the half-planes of a convex polygon ``C`` the clipped ring's signed
area is exactly ``area(ring ∩ C)``, whatever the ring's shape (non-convex, holes as rings of
opposite orientation, several parts) and whatever the degeneracies (shared vertices, collinear
or shared edges give zero-width spikes, which have no area). The only error is floating point
rounding: coordinates are shifted to the clipping polygon's first vertex (an exact subtraction
at metric scales) so rounding stays near 1e-16 of the polygon's size.

A convex polygon here is a valid Polygon without holes whose exterior ring turns left at every
vertex (after orientation to counter-clockwise), with a relative tolerance of
:data:`CONVEX_SIN_TOL` on the sine of each turn: a vertex that deviates by that little from a
straight line changes the clipped area by at most ``CONVEX_SIN_TOL × diameter²``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

logger = logging.getLogger(__name__)

__all__ = ["CONVEX_SIN_TOL", "NOISE_RTOL", "RingSet", "clip_areas", "convex_clippers",
           "pair_areas", "ring_set"]

CONVEX_SIN_TOL = 1e-12
NOISE_RTOL = 1e-12   # a clipped area below this share of the larger polygon is rounding noise
MAX_CLIP_VERTICES = 64
CHUNK_RINGS = 4_096  # ring × clipper pairs clipped together (bounds the temporary arrays)
CHUNK_VERTICES = 65_536  # padded subject vertices of one chunk
GEOS_CHUNK = 10_000
MAX_THREADS = 2


@dataclass(frozen=True, eq=False)
class RingSet:
    """Rings of a polygon array, oriented so that signed areas sum to each polygon's area.

    Attributes:
        coords: vertices of all rings, the closing vertex dropped (``(n, 2)``).
        start: offset of each ring in ``coords``.
        length: number of vertices of each ring.
        owner: position in the polygon array of the polygon each ring belongs to.
        first: index of each polygon's first ring (``len(start)`` for polygons without rings).
        count: number of rings of each polygon.
    """

    coords: npt.NDArray[np.float64]
    start: npt.NDArray[np.int64]
    length: npt.NDArray[np.int64]
    owner: npt.NDArray[np.int64]
    first: npt.NDArray[np.int64]
    count: npt.NDArray[np.int64]


def ring_set(geoms: np.ndarray) -> RingSet:
    """Rings of every (multi)polygon: exteriors counter-clockwise, holes clockwise.

    >>> rs = ring_set(np.array([shapely.box(0, 0, 2, 2).difference(shapely.box(0.5, 0.5, 1, 1))]))
    >>> rs.length.tolist(), rs.count.tolist()
    ([4, 4], [2])
    """
    coords, sizes, owner, exterior = _ragged_rings(geoms)
    n_rings = len(sizes)
    vertex_ring = np.repeat(np.arange(n_rings), sizes)
    ends = np.cumsum(sizes)
    keep = np.ones(len(coords), dtype=bool)
    keep[ends[sizes > 0] - 1] = False  # drop each ring's closing vertex
    coords, vertex_ring = coords[keep], vertex_ring[keep]
    length = np.maximum(sizes - 1, 0)
    start = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
    # Orientation in numpy (cheaper than GEOS): exteriors (first ring of each part) must turn
    # counter-clockwise, holes clockwise; reversing a ring's vertex order flips it.
    local = np.arange(len(coords)) - start[vertex_ring]
    nxt = np.where(local + 1 < length[vertex_ring], np.arange(len(coords)) + 1,
                   start[vertex_ring])
    rel = coords - coords[start[vertex_ring]] if len(coords) else coords
    twice_area = np.bincount(vertex_ring, minlength=n_rings,
                             weights=rel[:, 0] * rel[nxt, 1] - rel[nxt, 0] * rel[:, 1])
    flip = np.where(exterior, twice_area < 0, twice_area > 0)
    if flip.any():
        flipped = flip[vertex_ring]
        order = np.arange(len(coords))
        order[flipped] = (start[vertex_ring] + length[vertex_ring] - 1 - local)[flipped]
        coords = coords[order]
    count = np.bincount(owner, minlength=len(geoms)).astype(np.int64)
    first = np.full(len(geoms), n_rings, dtype=np.int64)
    if n_rings:
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        first[owner[starts]] = starts
    return RingSet(np.ascontiguousarray(coords), start, length, owner, first, count)


def _ragged_rings(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of all rings (closing vertex included), ring sizes, owning geometry of each
    ring, and whether it is an exterior; rings of one geometry are contiguous.

    Polygons without holes (most of OCS GE) are read with one :func:`shapely.get_coordinates`
    call, without cloning any geometry; the others go through their parts and rings.
    """
    simple = ((shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0)
              & ~shapely.is_empty(geoms))
    simple_at, other_at = np.flatnonzero(simple), np.flatnonzero(~simple)
    coords, vertex_owner = shapely.get_coordinates(geoms[simple_at], return_index=True)
    sizes = np.bincount(vertex_owner, minlength=len(simple_at)).astype(np.int64)
    if len(other_at) == 0:
        return coords, sizes, simple_at.astype(np.int64), np.ones(len(sizes), dtype=bool)
    o_coords, o_sizes, o_owner, o_exterior = _ragged_rings_slow(geoms[other_at])
    return (np.concatenate([coords, o_coords]), np.concatenate([sizes, o_sizes]),
            np.concatenate([simple_at, other_at[o_owner]]).astype(np.int64),
            np.concatenate([np.ones(len(sizes), dtype=bool), o_exterior]))


def _ragged_rings_slow(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rings through parts (collections flattened, non-polygonal parts dropped) and rings."""
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    parts, inner = shapely.get_parts(parts, return_index=True)  # collections of multipolygons
    part_owner = part_owner[inner]
    polygonal = shapely.get_type_id(parts) == 3
    parts, part_owner = parts[polygonal], part_owner[polygonal]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, vertex_ring = shapely.get_coordinates(rings, return_index=True)
    sizes = np.bincount(vertex_ring, minlength=len(rings)).astype(np.int64)
    exterior = np.r_[True, ring_part[1:] != ring_part[:-1]] if len(rings) else np.zeros(0, bool)
    return coords, sizes, np.asarray(part_owner, dtype=np.int64)[ring_part], exterior


def convex_clippers(geoms: np.ndarray, rings: RingSet) -> npt.NDArray[np.bool_]:
    """Which polygons can clip: single-part Polygon, no hole, left turns only, few vertices.

    Args:
        geoms: valid polygons.
        rings: their :func:`ring_set` (exterior counter-clockwise).

    >>> g = np.array([shapely.box(0, 0, 1, 1),
    ...               shapely.Polygon([(0, 0), (2, 0), (1, 1), (2, 2), (0, 2)])])
    >>> convex_clippers(g, ring_set(g)).tolist()
    [True, False]
    """
    convex = (shapely.get_type_id(geoms) == 3) & (rings.count == 1)
    first = np.where(convex, rings.first, 0)
    length = np.where(convex, rings.length[np.minimum(first, len(rings.length) - 1)]
                      if len(rings.length) else 0, 0)
    convex &= (length >= 3) & (length <= MAX_CLIP_VERTICES)
    candidates = np.flatnonzero(convex)
    if len(candidates) == 0:
        return convex
    ring = first[candidates]
    lengths = rings.length[ring]
    offsets = np.repeat(rings.start[ring], lengths)
    local = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    nxt = np.where(local + 1 < np.repeat(lengths, lengths), local + 1, 0)
    nxt2 = np.where(nxt + 1 < np.repeat(lengths, lengths), nxt + 1, 0)
    p0 = rings.coords[offsets + local]
    p1 = rings.coords[offsets + nxt]
    p2 = rings.coords[offsets + nxt2]
    e1, e2 = p1 - p0, p2 - p1
    cross = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    scale = np.hypot(e1[:, 0], e1[:, 1]) * np.hypot(e2[:, 0], e2[:, 1])
    right_turn = cross < -CONVEX_SIN_TOL * scale
    bad = np.bincount(np.repeat(np.arange(len(candidates)), lengths), weights=right_turn,
                      minlength=len(candidates)) > 0
    convex[candidates[bad]] = False
    return convex


def _gather_rings(rings: RingSet, ring_ids: np.ndarray, width: int) -> npt.NDArray[np.float64]:
    """``(k, width, 2)`` vertices of the rings, padded by repeating each ring's last vertex."""
    lengths = rings.length[ring_ids]
    pos = np.minimum(np.arange(width)[None, :], (lengths - 1)[:, None])
    return rings.coords[rings.start[ring_ids][:, None] + pos]


def clip_areas(subject: npt.NDArray[np.float64], clipper: npt.NDArray[np.float64]
               ) -> npt.NDArray[np.float64]:
    """Signed area of each subject ring clipped by its convex counter-clockwise clipper.

    Args:
        subject: ``(k, w, 2)`` ring vertices (padded by repetition, closing vertex dropped).
        clipper: ``(k, m, 2)`` convex ring vertices, counter-clockwise, padded the same way.

    Returns:
        ``(k,)`` signed areas (the subject's orientation decides the sign).

    >>> sq = np.array([[[0., 0.], [2., 0.], [2., 2.], [0., 2.]]])
    >>> clip_areas(sq + 1.0, sq).tolist()
    [1.0]
    """
    ox, oy = clipper[:, :1, 0], clipper[:, :1, 1]
    px, py = subject[..., 0] - ox, subject[..., 1] - oy
    cx, cy = clipper[..., 0] - ox, clipper[..., 1] - oy
    k, m = cx.shape
    row_base = np.arange(k)[:, None]
    for j in range(m):
        ax, ay = cx[:, j:j + 1], cy[:, j:j + 1]
        ex, ey = cx[:, (j + 1) % m][:, None] - ax, cy[:, (j + 1) % m][:, None] - ay
        d = ex * (py - ay) - ey * (px - ax)
        inside = d >= 0.0
        if inside.all():
            continue
        nx, ny, d_next = _next(px), _next(py), _next(d)
        in_next = d_next >= 0.0
        crossing = inside != in_next
        t = np.where(crossing, d / np.where(crossing, d - d_next, 1.0), 0.0)
        width = px.shape[1]
        out_x, out_y = np.empty((k, 2 * width)), np.empty((k, 2 * width))
        keep = np.empty((k, 2 * width), dtype=bool)
        out_x[:, 0::2], out_x[:, 1::2] = px + t * (nx - px), nx
        out_y[:, 0::2], out_y[:, 1::2] = py + t * (ny - py), ny
        keep[:, 0::2], keep[:, 1::2] = crossing, in_next
        slot = np.cumsum(keep, axis=1)
        counts = slot[:, -1]
        new_width = max(int(counts.max()), 1)
        flat = keep.ravel()
        dest = (row_base * new_width + slot - 1).ravel()[flat]
        compact_x, compact_y = np.zeros(k * new_width), np.zeros(k * new_width)
        compact_x[dest], compact_y[dest] = out_x.ravel()[flat], out_y.ravel()[flat]
        pad = (np.minimum(np.arange(new_width)[None, :], np.maximum(counts - 1, 0)[:, None])
               + row_base * new_width)
        px, py = compact_x[pad], compact_y[pad]
    return 0.5 * (px * _next(py) - _next(px) * py).sum(axis=1)


def _next(values: np.ndarray) -> np.ndarray:
    """Each row shifted by one to the left, cyclically (the next vertex of each ring)."""
    return np.concatenate([values[:, 1:], values[:, :1]], axis=1)


def _clip_pairs(subject_rings: RingSet, clip_rings: RingSet, subject: np.ndarray,
                clipper: np.ndarray) -> npt.NDArray[np.float64]:
    """Area of ``subject[p] ∩ clipper[p]`` for each pair (clippers convex)."""
    n_rings = subject_rings.count[subject]
    pair_of_ring = np.repeat(np.arange(len(subject)), n_rings)
    ring_ids = (np.repeat(subject_rings.first[subject], n_rings)
                + np.arange(n_rings.sum()) - np.repeat(np.cumsum(n_rings) - n_rings, n_rings))
    clip_ring = clip_rings.first[clipper][pair_of_ring]
    order = np.lexsort((clip_rings.length[clip_ring], subject_rings.length[ring_ids]))
    areas = np.zeros(len(subject))
    lengths = subject_rings.length[ring_ids[order]]  # ascending
    start = 0
    while start < len(order):
        # At most CHUNK_RINGS rings and CHUNK_VERTICES padded vertices: long rings (forests,
        # rivers) go in small chunks, so the temporaries stay bounded.
        stop = min(start + CHUNK_RINGS, len(order))
        while stop - start > 1 and (stop - start) * int(lengths[stop - 1]) > CHUNK_VERTICES:
            stop = start + max(1, CHUNK_VERTICES // int(lengths[stop - 1]))
        sel = order[start:stop]
        start = stop
        width = int(subject_rings.length[ring_ids[sel]].max())
        m = int(clip_rings.length[clip_ring[sel]].max())
        ring_area = clip_areas(_gather_rings(subject_rings, ring_ids[sel], width),
                               _gather_rings(clip_rings, clip_ring[sel], m))
        areas += np.bincount(pair_of_ring[sel], weights=ring_area, minlength=len(areas))
    return areas


def _prepared_copies(geoms: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``geoms[index]`` as prepared copies: callers' geometries may be shared with other
    threads (cached layers of the dashboard), and GEOS prepares a geometry in place."""
    used, inverse = np.unique(index, return_inverse=True)
    copies = shapely.from_wkb(shapely.to_wkb(geoms[used]))
    shapely.prepare(copies)
    return copies[inverse]


def pair_areas(geoms_from: np.ndarray, geoms_to: np.ndarray, i: np.ndarray, j: np.ndarray,
               progress: Callable[[float], None] | None = None
               ) -> tuple[npt.NDArray[np.float64], dict[str, int]]:
    """Exact ``area(geoms_from[i] ∩ geoms_to[j])`` for candidate pairs (valid polygons).

    Pairs with a convex side are clipped in numpy; for the others a prepared ``covers`` test
    gives the covered polygon's own area; the rest goes through :func:`shapely.intersection`.
    Chunks run in up to :data:`MAX_THREADS` threads (numpy and GEOS release the GIL).

    Args:
        geoms_from: valid polygons of the first layer.
        geoms_to: valid polygons of the second layer.
        i: first-layer position of each pair.
        j: second-layer position of each pair.
        progress: optional callback with the fraction of chunks done.

    Returns:
        ``(areas, counts)``: areas in the units of the coordinates (clipped areas below
        :data:`NOISE_RTOL` of the larger polygon set to 0); ``counts`` of pairs per method
        (``clipped``, ``covered``, ``intersected``).
    """
    areas = np.zeros(len(i))
    if len(i) == 0:
        return areas, {"clipped": 0, "covered": 0, "intersected": 0}
    used_from, inv_i = np.unique(i, return_inverse=True)
    used_to, inv_j = np.unique(j, return_inverse=True)
    sub_from, sub_to = geoms_from[used_from], geoms_to[used_to]
    rings_from, rings_to = ring_set(sub_from), ring_set(sub_to)
    convex_from = convex_clippers(sub_from, rings_from)
    convex_to = convex_clippers(sub_to, rings_to)
    by_to = convex_to[inv_j]                     # clip the first layer's polygon by B
    by_from = ~by_to & convex_from[inv_i]        # else clip B's polygon by A
    other = np.flatnonzero(~by_to & ~by_from)
    tasks: list[Callable[[], None]] = []

    def clip_task(sel: np.ndarray, flip: bool) -> Callable[[], None]:
        def run() -> None:
            if flip:
                areas[sel] = _clip_pairs(rings_to, rings_from, inv_j[sel], inv_i[sel])
            else:
                areas[sel] = _clip_pairs(rings_from, rings_to, inv_i[sel], inv_j[sel])
        return run

    step = CHUNK_RINGS * 4
    for flip, mask in ((False, by_to), (True, by_from)):
        sel_all = np.flatnonzero(mask)
        tasks += [clip_task(sel_all[s:s + step], flip) for s in range(0, len(sel_all), step)]
    n_covered = 0
    if len(other):
        a, b = _prepared_copies(sub_from, inv_i[other]), _prepared_copies(sub_to, inv_j[other])
        a_covers_b = shapely.covers(a, b)
        b_covers_a = ~a_covers_b & shapely.covers(b, a)
        areas[other[a_covers_b]] = shapely.area(b[a_covers_b])
        areas[other[b_covers_a]] = shapely.area(a[b_covers_a])
        n_covered = int(a_covers_b.sum() + b_covers_a.sum())
        rest = other[~a_covers_b & ~b_covers_a]

        def geos_task(sel: np.ndarray) -> Callable[[], None]:
            def run() -> None:
                areas[sel] = shapely.area(shapely.intersection(sub_from[inv_i[sel]],
                                                               sub_to[inv_j[sel]]))
            return run

        tasks += [geos_task(rest[s:s + GEOS_CHUNK]) for s in range(0, len(rest), GEOS_CHUNK)]
    else:
        rest = other
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_THREADS, len(tasks)))) as pool:
        futures = [pool.submit(task) for task in tasks]
        for done, future in enumerate(futures, start=1):
            future.result()
            if progress:
                progress(done / len(futures))
    clipped = by_to | by_from
    larger = np.maximum(shapely.area(sub_from)[inv_i], shapely.area(sub_to)[inv_j])
    areas[clipped & (areas <= NOISE_RTOL * larger)] = 0.0
    return areas, {"clipped": int(clipped.sum()), "covered": n_covered,
                   "intersected": int(len(rest))}
