"""Change layer: from IGN's diff layer, or by overlay of two millésimes."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from ocsge_engine.errors import SchemaError
from ocsge_engine.maps.changes import CHANGE_COLUMNS, changes_from_diff, changes_from_overlay
from tests.maps.conftest import squares


def test_overlay_keeps_only_changed_pieces():
    before = squares([(0, 0, "CS2.2.1", "US1.1"), (1, 0, "CS2.1.1.1", "US1.2")])
    # after: left square built, right unchanged, and the split falls at x = 5 m of the left one
    after = squares([(0, 0, "CS2.2.1", "US1.1"), (1, 0, "CS2.1.1.1", "US1.2")])
    after = pd_concat_half(after)
    out = changes_from_overlay(before, after)
    assert list(out.columns) == [*CHANGE_COLUMNS, "geometry"]
    assert len(out) == 1
    row = out.iloc[0]
    assert (row.code_cs_from, row.code_us_from, row.code_cs_to, row.code_us_to) == (
        "CS2.2.1", "US1.1", "CS1.1.1.1", "US5")
    assert row.geometry.area == pytest.approx(50.0)


def pd_concat_half(after: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cut the first square of ``after`` in two: the left half becomes built/residential."""
    first = after.geometry.iloc[0]
    minx, miny, maxx, maxy = first.bounds
    left = shapely.box(minx, miny, minx + 5, maxy)
    right = shapely.box(minx + 5, miny, maxx, maxy)
    rows = after.iloc[[0, 0, 1]].copy()
    rows.loc[:, "code_cs"] = ["CS1.1.1.1", "CS2.2.1", "CS2.1.1.1"]
    rows.loc[:, "code_us"] = ["US5", "US1.1", "US1.2"]
    return rows.set_geometry([left, right, after.geometry.iloc[1]], crs=after.crs)


def test_overlay_empty_side_and_missing_columns():
    before = squares([(0, 0, "CS2.2.1", "US1.1")])
    assert changes_from_overlay(before, before.iloc[:0]).empty
    with pytest.raises(SchemaError):
        changes_from_overlay(before.drop(columns="code_cs"), before)


def test_changes_from_diff_filters_unchanged_rows():
    base = squares([(0, 0, "CS2.2.1", "US1.1"), (1, 0, "CS2.2.1", "US1.1"),
                    (2, 0, "CS2.2.1", "US1.1")])
    diff = gpd.GeoDataFrame({
        "code_cs_from": ["CS2.2.1", "CS2.2.1", "CS2.2.1"],
        "code_us_from": ["US1.1", "US1.1", "US1.1"],
        "code_cs_to": ["CS2.2.1", "CS1.1.1.1", "CS2.2.1"],
        "code_us_to": ["US1.1", "US5", "US5"],
    }, geometry=base.geometry.to_numpy(), crs=base.crs)
    out = changes_from_diff(diff)
    assert out["code_cs_to"].tolist() == ["CS1.1.1.1", "CS2.2.1"]
    assert out["code_us_to"].tolist() == ["US5", "US5"]
    with pytest.raises(SchemaError):
        changes_from_diff(diff.drop(columns="code_us_to"))


def test_overlay_identical_geometry_with_new_codes_is_a_whole_change():
    before = squares([(0, 0, "CS2.2.1", "US1.1"), (1, 0, "CS2.2.1", "US1.1"),
                      (2, 0, "CS2.1.1.1", "US1.2")])
    after = before.copy()
    after.loc[1, ["code_cs", "code_us"]] = ["CS1.1.1.1", "US5"]  # same shape, new codes
    out = changes_from_overlay(before, after)
    assert len(out) == 1
    assert out.iloc[0].geometry.equals(before.geometry.iloc[1])
    assert (out.iloc[0].code_cs_from, out.iloc[0].code_cs_to) == ("CS2.2.1", "CS1.1.1.1")
