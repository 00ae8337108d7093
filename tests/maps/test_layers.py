"""Map layers: class codes per colouring, French tooltips, legend, map assembly."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from ocsge_engine.maps.layers import (
    IGN_ORTHO_URL,
    class_codes,
    legend_entries,
    polygons_layer,
)
from ocsge_engine.maps.simplify import light_polygons
from ocsge_engine.maps.territory_map import territory_map

COUPLES = pd.DataFrame({
    "code_cs": ["CS1.1.1.1", "CS2.2.1", "CS2.2.1", "CS2.1.1.1", "CS1.1.2.1"],
    "code_us": ["US1.1", "US5", "US1.1", "US1.2", "US1.3"],
})


@pytest.mark.parametrize(("by", "expected"), [
    ("cs", ["CS1.1.1.1", "CS2.2.1", "CS2.2.1", "CS2.1.1.1", "CS1.1.2.1"]),
    ("us", ["US1.1", "US5", "US1.1", "US1.2", "US1.3"]),
    # decree matrix: built always artificial; herbaceous + residential artificial; quarry not
    ("artif", ["artificialise", "artificialise", "non_artificialise", "non_artificialise",
               "non_artificialise"]),
    ("famille", ["artificialise", "artificialise", "agricole", "forestier", "naturel"]),
])
def test_class_codes(by, expected):
    assert class_codes(COUPLES, by).tolist() == expected


def test_class_codes_rejects_unknown_colouring():
    with pytest.raises(ValueError, match="unknown colouring"):
        class_codes(COUPLES, "imper")  # type: ignore[arg-type]


def test_polygons_layer_french_properties_and_colours(grid):
    light = light_polygons(grid)
    layer = polygons_layer(light, "cs")
    features = layer.data["features"]
    assert [f["properties"]["couverture"] for f in features] == [
        "CS1.1.1.1 · Zones bâties", "CS2.1.1.1 · Peuplement de feuillus"]
    assert [f["properties"]["usage"] for f in features] == [
        "US5 · Usage résidentiel", "US1.2 · Sylviculture"]
    assert [f["properties"]["surface"] for f in features] == ["0,03 ha", "0,01 ha"]
    styles = [layer.style_function(f)["fillColor"] for f in features]
    assert styles == ["#FF377A", "#80FF00"]  # official CS colours


def test_legend_entries_ordered_by_area(grid):
    light = light_polygons(grid)
    assert legend_entries(light, "famille") == [("Artificialisé", "#E6004D"),
                                                ("Forestier", "#2E7D32")]
    assert legend_entries(light, "us")[0] == ("US5 · Usage résidentiel", "#BE0961")


def test_territory_map_offline_by_default(grid):
    light = light_polygons(grid)
    html = territory_map(light, "artif").get_root().render()
    for text in ("Artificialisation (matrice du décret)", "Zones bâties",
                 "Orthophoto IGN (en ligne)", IGN_ORTHO_URL):
        assert text in html or _as_js(text) in html, text
    # offered in the layer control but off at load, so an offline map requests no tile
    (tile_var,) = re.findall(r"var (tile_layer_\w+) = L\.tileLayer\(", html)
    assert f"{tile_var}.addTo(" not in html
    shown = territory_map(light, "artif", ortho=True).get_root().render()
    (tile_var,) = re.findall(r"var (tile_layer_\w+) = L\.tileLayer\(", shown)
    assert f"{tile_var}.addTo(" in shown


def _as_js(text: str) -> str:
    """``text`` as folium writes it inside a JSON/JS string (non-ASCII and & escaped)."""
    return json.dumps(text)[1:-1].replace("&", "\\u0026")


def test_territory_map_with_changes_needs_years(grid):
    light = light_polygons(grid)
    with pytest.raises(ValueError, match="years"):
        territory_map(light, "cs", changes=light)


def test_territory_map_single_fullscreen_button_and_legend(grid):
    html = territory_map(light_polygons(grid), "us").get_root().render()
    assert html.count("L.control.fullscreen(") == 1
    assert '"fullscreenControl"' not in html  # would make leaflet.fullscreen add a second one
    assert html.count("L.control({position:") == 1  # the legend


def test_territory_map_of_empty_layer_renders(grid):
    empty = light_polygons(grid.iloc[:0])
    html = territory_map(empty, "cs").get_root().render()
    assert "L.geoJson" in html or "L.geoJSON" in html
    assert legend_entries(empty, "cs") == []


def test_markup_in_codes_is_escaped_in_tooltips_popups_and_legend(grid):
    """A code kept with --allow-unknown cannot inject HTML into the map frame."""
    evil = "<img src=x onerror=alert(1)>"  # also tried: a </script> breaking out of the data
    light = light_polygons(grid)
    light["code_cs"] = [evil, light["code_cs"].iloc[1]]
    light["code_us"] = [evil, light["code_us"].iloc[1]]
    layer = polygons_layer(light, "cs")
    props = layer.data["features"][0]["properties"]
    assert props["couverture"] == props["usage"] == "&lt;img src=x onerror=alert(1)&gt;"
    html_page = territory_map(light, "cs").get_root().render()
    # the tooltip text is still there, escaped (&lt;img…), never as a tag
    assert evil not in html_page and "lt;img src=x onerror=alert(1)" in html_page
