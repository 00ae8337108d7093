"""Areas without intersection polygons: hand-computed clips, exact rationals, GEOS, geopandas.

Expected values come from three independent sources: hand geometry (squares, an L, a ring with
a hole), exact rational arithmetic (:mod:`fractions`, no rounding at all), and
``shapely.intersection`` / ``geopandas.overlay`` on seeded synthetic vintages that are fully
re-digitised, merged, split, holed and cut by a non-convex territory.
"""

from __future__ import annotations

from fractions import Fraction

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ocsge_engine.flows import exchange_matrix_from_layers, overlay_pieces
from ocsge_engine.flows.clip_area import clip_areas, convex_clippers, pair_areas, ring_set
from ocsge_engine.store.parquet import clip_polygons

X0, Y0 = 380_000.0, 6_400_000.0  # Lambert-93 magnitudes: the precision problem is real there


def _areas(a: list[shapely.Polygon], b: list[shapely.Polygon]) -> np.ndarray:
    areas, _ = pair_areas(np.array(a, dtype=object), np.array(b, dtype=object),
                          np.arange(len(a)), np.arange(len(b)))
    return areas


def test_clip_areas_hand_computed():
    square = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]])
    ell = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 1.0], [1.0, 1.0], [1.0, 3.0], [0.0, 3.0]])
    clipper = np.stack([square + 0.5, square + 0.5])
    subject = np.stack([np.vstack([ell, ell[-1:]]), np.vstack([square] + [square[-1:]] * 3)])
    # L (area 5) ∩ [0.5, 2.5]²: the L's foot [0.5,2.5]×[0.5,1] + its leg [0.5,1]×[1,2.5] = 1 + 0.75.
    # Padded rings (last vertex repeated) must not change anything.
    assert clip_areas(subject, clipper).tolist() == [1.75, 2.25]
    # A clockwise ring (a hole) gives a negative area.
    assert clip_areas(square[None, ::-1], square[None] + 1.0).tolist() == [-1.0]


@pytest.mark.parametrize(("a", "b", "expected"), [
    (shapely.box(0, 0, 100, 100), shapely.box(0, 0, 100, 100), 10_000.0),      # identical
    (shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100), 0.0),         # shared edge
    (shapely.box(0, 0, 100, 100), shapely.box(100, 100, 200, 200), 0.0),       # shared corner
    (shapely.box(0, 0, 100, 100), shapely.box(0, 0, 50, 100), 5_000.0),       # shared 3 edges
    (shapely.box(0, 0, 100, 100), shapely.box(25, 25, 75, 75), 2_500.0),      # inside
    (shapely.box(0, 0, 100, 100), shapely.box(50, -50, 150, 50), 2_500.0),    # crossing
    # A square with a hole [40, 60]² against a box over the hole's right half.
    (shapely.box(0, 0, 100, 100).difference(shapely.box(40, 40, 60, 60)),
     shapely.box(50, 0, 100, 100), 5_000.0 - 200.0),
    # Two non-convex shapes (L's): the GEOS path; overlap [0,10]×[0,100] ∪ [10,100]×[0,10].
    (shapely.Polygon([(0, 0), (100, 0), (100, 10), (10, 10), (10, 100), (0, 100)]),
     shapely.Polygon([(0, 0), (100, 0), (100, 20), (20, 20), (20, 100), (0, 100)]), 1_900.0),
    # A multipolygon against a convex box.
    (shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)]),
     shapely.box(5, 0, 25, 10), 100.0),
])
def test_pair_areas_hand_computed(a, b, expected):
    a, b = shapely.affinity.translate(a, X0, Y0), shapely.affinity.translate(b, X0, Y0)
    assert _areas([a], [b])[0] == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert _areas([b], [a])[0] == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_convex_detection():
    geoms = np.array([shapely.box(0, 0, 1, 1),
                      shapely.Polygon([(0, 0), (2, 0), (1, 1), (2, 2), (0, 2)]),       # reflex
                      shapely.Polygon([(0, 0), (1, 0), (2, 0), (2, 2), (0, 2)]),       # collinear
                      shapely.box(0, 0, 4, 4).difference(shapely.box(1, 1, 2, 2)),     # hole
                      shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
                      shapely.box(0, 0, 1, 1).reverse()])                              # clockwise
    assert convex_clippers(geoms, ring_set(geoms)).tolist() == [True, False, True, False, False,
                                                                True]


def _exact_area(subject: shapely.Polygon, clipper: shapely.Polygon) -> Fraction:
    """Area of subject ∩ convex clipper in exact rational arithmetic (Sutherland–Hodgman)."""
    def ring(g: shapely.Polygon) -> list[tuple[Fraction, Fraction]]:
        g = shapely.orient_polygons(g, exterior_cw=False)
        return [(Fraction(x), Fraction(y)) for x, y in list(g.exterior.coords)[:-1]]

    out, clip = ring(subject), ring(clipper)
    for k in range(len(clip)):
        a, b = clip[k], clip[(k + 1) % len(clip)]
        points, out = out, []

        def side(p: tuple[Fraction, Fraction]) -> Fraction:
            return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])  # noqa: B023

        for n, p in enumerate(points):
            q = points[(n + 1) % len(points)]
            sp, sq = side(p), side(q)
            if (sp >= 0) != (sq >= 0):
                t = sp / (sp - sq)
                out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
            if sq >= 0:
                out.append(q)
    return sum((out[n][0] * out[(n + 1) % len(out)][1] - out[(n + 1) % len(out)][0] * out[n][1]
                for n in range(len(out))), Fraction(0)) / 2


def _lattice(rng: np.random.Generator, n: int, cell: float, jitter: float) -> np.ndarray:
    xs, ys = np.meshgrid(X0 + np.arange(n + 1) * cell, Y0 + np.arange(n + 1) * cell, indexing="ij")
    noise = rng.uniform(-jitter, jitter, size=(2, n + 1, n + 1))
    noise[:, [0, -1], :] = 0.0
    noise[:, :, [0, -1]] = 0.0
    px, py = xs + noise[0], ys + noise[1]
    quads = [shapely.Polygon([(px[i, j], py[i, j]), (px[i + 1, j], py[i + 1, j]),
                              (px[i + 1, j + 1], py[i + 1, j + 1]), (px[i, j + 1], py[i, j + 1])])
             for i in range(n) for j in range(n)]
    return np.array(quads, dtype=object)


def test_areas_are_exact_to_rounding_where_geos_is_not():
    rng = np.random.default_rng(7)
    a, b = _lattice(rng, 8, 50.0, 12.0), _lattice(rng, 8, 50.0, 12.0)
    i, j = shapely.STRtree(b).query(a, predicate="intersects")
    ours, counts = pair_areas(a, b, i, j)
    assert counts["clipped"] == len(i)
    exact = np.array([float(_exact_area(a[p], b[q])) for p, q in zip(i, j)])
    assert np.abs(ours - exact).max() < 1e-9  # m², on pieces up to ~4,000 m²
    geos = shapely.area(shapely.intersection(a[i], b[j]))
    assert np.abs(geos - exact).max() < 1e-6  # GEOS rounds at 6.4e6 m coordinates


def _vintages(seed: int, n: int = 14) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Two partitions of the same square: the second is re-digitised everywhere, with merges
    (non-convex unions of neighbours), splits, and a cell holed by an enclosed polygon."""
    rng = np.random.default_rng(seed)
    first = _lattice(rng, n, 50.0, 12.0)
    second = list(_lattice(rng, n, 50.0, 12.0))
    merged = []
    for k in range(0, n * n - n - 1, 9):  # merge a cell with its right and upper neighbours
        if k in merged or k + 1 in merged or k + n in merged or (k + 1) % n == 0:
            continue
        second[k] = shapely.union_all([second[k], second[k + 1], second[k + n]])
        second[k + 1] = second[k + n] = None
        merged += [k, k + 1, k + n]
    out = []
    for k, geom in enumerate(second):
        if geom is None:
            continue
        if k % 7 == 3 and k not in merged:  # split along the diagonal
            x0, y0, x1, y1 = geom.bounds
            cut = shapely.Polygon([(x0 - 1, y0 - 1), (x1 + 1, y0 - 1), (x1 + 1, y1 + 1)])
            out += [geom.intersection(cut), geom.difference(cut)]
        elif k % 11 == 5 and k not in merged:  # a hole and the polygon that fills it
            inner = shapely.buffer(geom.centroid, 6.0, quad_segs=3)
            out += [geom.difference(inner), inner]
        else:
            out.append(geom)
    codes = [("CS2.2.1", "US1.1"), ("CS1.1.1.1", "US5"), ("CS2.1.1.1", "US1.2"),
             ("CS1.2.2", "US6.3"), ("CS1.1.1.2", "US4.1.1")]

    def frame(geoms: list) -> gpd.GeoDataFrame:  # type: ignore[type-arg]
        pick = rng.integers(0, len(codes), len(geoms))
        return gpd.GeoDataFrame({"code_cs": [codes[p][0] for p in pick],
                                 "code_us": [codes[p][1] for p in pick]},
                                geometry=list(geoms), crs="EPSG:2154")

    return frame(list(first)), frame(out)


def _oracle(gdf_from: gpd.GeoDataFrame, gdf_to: gpd.GeoDataFrame) -> pd.Series:
    oracle = gpd.overlay(gdf_from, gdf_to, how="intersection", keep_geom_type=True)
    return (oracle.assign(area_ha=oracle.geometry.area / 1e4,
                          code_from=oracle["code_cs_1"] + "_" + oracle["code_us_1"],
                          code_to=oracle["code_cs_2"] + "_" + oracle["code_us_2"])
            .groupby(["code_from", "code_to"])["area_ha"].sum())


# A non-convex territory (a notched pentagon) cutting cells obliquely: clipped cells become
# non-convex or multi-part.
TERRITORY = shapely.Polygon([(X0 + 60, Y0 + 30), (X0 + 640, Y0 + 75), (X0 + 610, Y0 + 650),
                             (X0 + 340, Y0 + 300), (X0 + 45, Y0 + 630)])


@pytest.mark.parametrize(("seed", "cut"), [(1, False), (2, True), (3, True)])
def test_matrix_agrees_with_geopandas_overlay(seed, cut):
    gdf_from, gdf_to = _vintages(seed)
    if cut:
        gdf_from, gdf_to = clip_polygons(gdf_from, TERRITORY), clip_polygons(gdf_to, TERRITORY)
        assert (gdf_to.geom_type == "MultiPolygon").any() or cut is False
    matrix = exchange_matrix_from_layers(gdf_from, gdf_to, "cs_us")
    got = matrix.table.set_index(["code_from", "code_to"])["area_ha"]
    joined = pd.concat([got, _oracle(gdf_from, gdf_to)], axis=1, keys=["ours", "oracle"])
    assert not joined.isna().any().any()  # same cells
    np.testing.assert_allclose(joined["ours"], joined["oracle"], rtol=1e-9)
    pieces = overlay_pieces(gdf_from.geometry.to_numpy(), gdf_to.geometry.to_numpy())
    total = gdf_from.geometry.area.sum()
    assert pieces.area_m2.sum() == pytest.approx(total, rel=1e-12)


def test_every_method_is_used_and_agrees_with_geos():
    gdf_from, gdf_to = _vintages(4)
    a = clip_polygons(gdf_from, TERRITORY).geometry.to_numpy()
    b = clip_polygons(gdf_to, TERRITORY).geometry.to_numpy()
    i, j = shapely.STRtree(b).query(a, predicate="intersects")
    ours, counts = pair_areas(a, b, i, j)
    assert counts["clipped"] > 0 and counts["intersected"] > 0
    geos = shapely.area(shapely.intersection(a[i], b[j]))
    np.testing.assert_allclose(ours, geos, rtol=1e-9, atol=1e-6)


def test_covered_pairs_skip_the_intersection():
    # Non-convex both sides: an L covered by a bigger L, and the converse.
    small = shapely.Polygon([(0, 0), (10, 0), (10, 2), (2, 2), (2, 10), (0, 10)])
    big = shapely.Polygon([(0, 0), (20, 0), (20, 5), (5, 5), (5, 20), (0, 20)])
    areas, counts = pair_areas(np.array([small, big]), np.array([big, small]),
                               np.array([0, 1]), np.array([0, 1]))
    assert counts == {"clipped": 0, "covered": 2, "intersected": 0}
    assert areas.tolist() == [small.area, small.area]


def test_collections_from_repairs_are_clipped_by_their_polygons():
    # make_valid can return a collection of a multipolygon and a line: only polygons count.
    collection = shapely.GeometryCollection([
        shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)]),
        shapely.LineString([(0, 0), (5, 5)])])
    geoms = np.array([shapely.box(0, 0, 4, 4), collection, shapely.Polygon()], dtype=object)
    assert ring_set(geoms).count.tolist() == [1, 2, 0]
    areas, _ = pair_areas(geoms, np.array([shapely.box(0.5, 0, 2.5, 1)]), np.arange(3),
                          np.zeros(3, dtype=np.int64))
    assert areas.tolist() == [2.0, 1.0, 0.0]


def test_long_rings_are_clipped_in_bounded_chunks(monkeypatch):
    # A 2,000-vertex circle against small convex boxes: chunks must split on padded vertices.
    import ocsge_engine.flows.clip_area as clip_area

    monkeypatch.setattr(clip_area, "CHUNK_VERTICES", 4_000)
    circle = shapely.buffer(shapely.Point(X0, Y0), 100.0, quad_segs=500)
    boxes = [shapely.box(X0 - 100 + 20 * k, Y0 - 10, X0 - 80 + 20 * k, Y0 + 10) for k in range(10)]
    geoms_from = np.array([circle] * 10, dtype=object)
    areas, counts = pair_areas(geoms_from, np.array(boxes, dtype=object), np.arange(10),
                               np.arange(10))
    assert counts["clipped"] == 10
    expected = shapely.area(shapely.intersection(geoms_from, np.array(boxes, dtype=object)))
    np.testing.assert_allclose(areas, expected, rtol=1e-9)
