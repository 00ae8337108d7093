"""Sprawl typology on synthetic rasters whose classes are known by construction."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from ocsge_engine.indicators.typology import (
    CAPTURED,
    FRINGE,
    NODATA,
    RURAL,
    RURAL_OPEN,
    SUBURBAN,
    URBAN,
    Typology,
    TypologyOptions,
    built_share,
    classify_typology,
    disc_kernel,
    near_mask,
    rasterize_built,
    typology_change,
)

# 100 m pixels keep the rasters tiny: the 564 m disc has 97 pixels (radius 5.6 px)
OPT = TypologyOptions(resolution_m=100.0)


def scene() -> np.ndarray:
    """60 x 60 px (6 km): a 2 km solid block with a 300 m hole, a lone building far away."""
    built = np.zeros((60, 60), dtype=bool)
    built[10:30, 10:30] = True           # 2 km x 2 km block
    built[18:21, 18:21] = False          # 9 ha hole in the middle
    built[50, 50] = True                 # isolated building
    return built


def test_disc_has_one_square_kilometre():
    kernel = disc_kernel(OPT.radius_m, 10.0)
    assert kernel.sum() * 100 == pytest.approx(1e6, rel=0.01)


def test_share_of_a_full_and_an_empty_neighbourhood():
    full = built_share(np.ones((30, 30), dtype=bool), OPT.radius_m, OPT.resolution_m)
    assert full[15, 15] == pytest.approx(1.0)
    assert full[0, 0] == pytest.approx(0.25, abs=0.06)              # corner: a quarter disc
    share = built_share(scene(), OPT.radius_m, OPT.resolution_m)
    # (15, 15): the 3 x 3 hole (rows/cols 18-20) lies entirely inside its 97-pixel disc
    assert share[15, 15] == pytest.approx(94 / 97)
    assert share[50, 50] == pytest.approx(1 / disc_kernel(OPT.radius_m, 100.0).sum())
    assert share[45, 5] == 0.0


def test_known_classes():
    classes = classify_typology(scene(), options=OPT)
    assert classes[15, 15] == URBAN                  # block interior
    assert classes[10, 10] == SUBURBAN               # block corner: ~ a quarter of the disc built
    assert classes[50, 50] == RURAL                  # lone building
    assert classes[19, 19] == CAPTURED               # hole inside the block
    assert classes[9, 20] == FRINGE                  # 100 m from the block's edge
    assert classes[7, 20] == RURAL_OPEN              # 300 m away
    assert classes[49, 50] == RURAL_OPEN             # next to a rural building: not fringe
    # every built pixel is urban/suburban/rural, every open one fringe/captured/rural open
    built = scene()
    assert np.isin(classes[built], [URBAN, SUBURBAN, RURAL]).all()
    assert np.isin(classes[~built], [FRINGE, CAPTURED, RURAL_OPEN]).all()


def test_hole_larger_than_200_ha_is_not_captured():
    built = np.zeros((80, 80), dtype=bool)
    built[5:75, 5:75] = True
    built[20:60, 20:60] = False                       # 40 x 40 px = 1,600 ha hole
    classes = classify_typology(built, options=OPT)
    assert classes[40, 40] == RURAL_OPEN
    assert classes[20, 40] == FRINGE                  # 100 m from the built ring
    assert classes[21, 40] == RURAL_OPEN              # 200 m


def test_outside_is_nodata_and_areas():
    inside = np.zeros((60, 60), dtype=bool)
    inside[:, :40] = True
    classes = classify_typology(scene(), inside, OPT)
    assert (classes[:, 40:] == NODATA).all()
    typology = Typology(classes, None, OPT)  # type: ignore[arg-type]
    areas = typology.areas()
    assert areas.sum() == pytest.approx(60 * 40 * 1.0)  # 1 ha per 100 m pixel
    assert areas["rural"] == 0.0                        # the lone building is outside


def test_rasterize_built_and_change():
    opt = TypologyOptions(resolution_m=10.0)
    polys = gpd.GeoDataFrame({"code_cs": ["CS1.1.1.1", "CS1.1.1.2", "CS2.2.1"]},
                             geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100),
                                       shapely.box(0, 100, 200, 200)], crs=2154)
    built, inside, transform = rasterize_built(polys, (0, 0, 200, 200), opt)
    assert built.shape == (20, 20) and built.sum() == 100 and inside.all()
    assert transform.c == 0 and transform.f == 200
    a = Typology(classify_typology(built, inside, opt), transform, opt)
    b = Typology(classify_typology(np.zeros_like(built), inside, opt), transform, opt)
    change = typology_change(a, b).set_index(["code_from", "code_to"])["area_ha"]
    assert change.sum() == pytest.approx(4.0)
    assert change[("rural", "ouvert_rural")] == pytest.approx(1.0)


@pytest.mark.parametrize(("shape", "share", "radius_m", "resolution_m"), [
    ((120, 90), 0.01, 100.0, 10.0),   # the fringe at 10 m: a 21 x 21 disc
    ((157, 311), 0.2, 55.0, 10.0),    # a radius between pixel rings
    ((50, 60), 0.05, 30.0, 20.0),     # coarse pixels
    ((64, 64), 0.001, 7.5, 2.5),      # r² / res² = 9: a disc with its four tips
])
def test_near_mask_is_the_disc_dilation(shape, share, radius_m, resolution_m):
    """The distance-transform fringe is pixel for pixel scipy's dilation by the disc kernel."""
    from scipy import ndimage

    mask = np.random.default_rng(7).random(shape) < share
    expected = ndimage.binary_dilation(mask, structure=disc_kernel(radius_m, resolution_m) > 0)
    assert mask.any()
    np.testing.assert_array_equal(near_mask(mask, radius_m, resolution_m), expected)


def test_near_mask_by_hand():
    """One pixel, radius 2 px: the 13 pixels with x² + y² <= 4 (a cross of 5, plus 8)."""
    mask = np.zeros((7, 7), dtype=bool)
    mask[3, 3] = True
    near = near_mask(mask, 20.0, 10.0)
    assert int(near.sum()) == 13
    assert near[3, 1] and near[1, 3] and near[2, 2] and not near[1, 2]
    assert not near_mask(np.zeros((3, 3), dtype=bool), 20.0, 10.0).any()
