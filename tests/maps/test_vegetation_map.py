"""Vegetation map on 10 m squares: vegetated polygons only, losses and gains layers, offline."""

from __future__ import annotations

import json

import pytest
from conftest import squares

from ocsge_engine.indicators import pair_from_layers
from ocsge_engine.indicators.vegetation import change_pieces
from ocsge_engine.maps import light_polygons, remote_asset_urls
from ocsge_engine.maps.vegetation import (
    CHANGE_KEYS,
    GAIN_COLOR,
    LOSS_COLOR,
    vegetated,
    vegetation_map,
)


def _js(text: str) -> str:
    return json.dumps(text)[1:-1].replace("&", "\\u0026")


def test_vegetation_map_layers_and_offline() -> None:
    """2015: two pine squares and a built one; 2018: one pine square built, the built one a lawn."""
    before = squares([(0, 0, "CS2.1.1.2", "US1.2"), (1, 0, "CS2.1.1.2", "US1.2"),
                      (2, 0, "CS1.1.1.1", "US5")])
    after = squares([(0, 0, "CS2.1.1.2", "US1.2"), (1, 0, "CS1.1.1.1", "US5"),
                     (2, 0, "CS2.2.1", "US5")])
    kept = vegetated(after)
    assert sorted(kept["code_cs"]) == ["CS2.1.1.2", "CS2.2.1"]
    pieces = change_pieces(pair_from_layers(before, after, 2015, 2018), "vegetated")
    assert sorted(pieces["change"]) == ["gain", "loss"]
    assert pieces["area_ha"].sum() == pytest.approx(0.02)  # two 100 m² squares
    changes = light_polygons(pieces, keys=CHANGE_KEYS)
    html = vegetation_map(light_polygons(kept), 2018, changes, (2015, 2018)).get_root().render()
    for text in ("Pertes de végétation 2015 → 2018", "Gains de végétation 2015 → 2018",
                 "Végétation 2018 (couverture)", "Peuplement de conifères", LOSS_COLOR, GAIN_COLOR):
        assert text in html or _js(text) in html, text
    assert remote_asset_urls(html) == []


def test_vegetation_map_needs_years_with_changes() -> None:
    light = light_polygons(squares([(0, 0, "CS2.2.1", "US1.1")]))
    with pytest.raises(ValueError, match="years"):
        vegetation_map(light, 2018, light)


def test_vegetation_layers_of_a_pair() -> None:
    """The vegetated polygons of the second millésime and the vegetation changes, light."""
    from ocsge_engine.maps.vegetation import vegetation_changes, vegetation_layers

    before = squares([(0, 0, "CS2.1.1.2", "US1.2"), (1, 0, "CS2.1.1.2", "US1.2"),
                      (2, 0, "CS1.1.1.1", "US5")])
    after = squares([(0, 0, "CS2.1.1.2", "US1.2"), (1, 0, "CS1.1.1.1", "US5"),
                     (2, 0, "CS1.1.1.1", "US5")])
    pair = pair_from_layers(before, after, 2015, 2018)
    light, changes = vegetation_layers(None, None, 2015, 2018, pair=pair)
    assert light["code_cs"].tolist() == ["CS2.1.1.2"]
    assert light["area_ha"].tolist() == [0.01]  # the one pine square left, 100 m²
    assert changes["change"].tolist() == ["loss"] and changes["area_ha"].tolist() == [0.01]
    assert (changes["code_cs_to"].tolist(), changes.crs.to_epsg()) == (["CS1.1.1.1"], 4326)
    # nothing vegetated changed (a use change of a built square): an empty layer, drawn as none
    same = pair_from_layers(after, after.assign(code_us=["US1.2", "US2", "US2"]), 2015, 2018)
    empty = vegetation_changes(same)
    assert empty.empty and list(empty.columns) == [*CHANGE_KEYS, "area_ha", "geometry"]
