"""Map layers: class codes per colouring, French tooltips, legend, map assembly."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from ocsge_engine.maps.layers import (
    IGN_ORTHO_URL,
    ChangeCards,
    FeatureTooltips,
    change_card_fields,
    changes_layer,
    class_codes,
    legend_entries,
    polygons_layer,
)
from ocsge_engine.maps.simplify import light_polygons
from ocsge_engine.maps.folium_map import drawing_map, territory_map

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
    assert [f["properties"]["cs"] for f in features] == ["CS1.1.1.1", "CS2.1.1.1"]
    assert [f["properties"]["us"] for f in features] == ["US5", "US1.2"]
    assert [f["properties"]["surface"] for f in features] == ["300\u202fm²", "100\u202fm²"]  # under 1 ha: m²
    # the tooltip (built in the browser: tests/browser/test_map_cards.py) gets French labels
    (tips,) = [c for c in layer._children.values() if isinstance(c, FeatureTooltips)]
    assert tips.constants["labels"] == {"CS1.1.1.1": "Zones bâties",
                                        "CS2.1.1.1": "Peuplement de feuillus",
                                        "US5": "Usage résidentiel", "US1.2": "Sylviculture"}
    assert [row[0] for row in tips.constants["rows"]] == ["Couverture", "Usage",
                                                          "Surface de la tache"]
    styles = [layer.style_function(f)["fillColor"] for f in features]
    assert styles == ["#FF377A", "#80FF00"]  # official CS colours


def test_legend_entries_ordered_by_area(grid):
    light = light_polygons(grid)
    assert legend_entries(light, "famille") == [("Artificialisé", "#E6004D"),
                                                ("Forestier", "#2E7D32")]
    assert legend_entries(light, "us")[0] == ("Usage résidentiel (US5)", "#BE0961")


def test_territory_map_offline_by_default(grid):
    light = light_polygons(grid)
    html = territory_map(light, "artif").get_root().render()
    for text in ("Artificialisation (décret et seuils officiels)", "Zones bâties",
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
    assert props["cs"] == props["us"] == evil  # data for text nodes (the browser test)
    html_page = territory_map(light, "cs").get_root().render()
    # in the page's script as JSON with < and > escaped: no tag, no "</script>"
    assert evil not in html_page and "\\u003cimg src=x onerror=alert(1)\\u003e" in html_page


def _changes() -> gpd.GeoDataFrame:
    """Three change parts: two of the cell CS2.1.1.1 → CS1.1.1.1 (300 m² + 100 m²), one other."""
    cells = [("CS2.1.1.1", "US1.2", "CS1.1.1.1", "US5", 0.03),
             ("CS2.1.1.1", "US1.2", "CS1.1.1.1", "US5", 0.01),
             ("CS2.2.1", "US6.3", "CS1.1.1.2", "US4.1.1", 2.5)]
    frame = pd.DataFrame(cells, columns=["code_cs_from", "code_us_from", "code_cs_to",
                                         "code_us_to", "area_ha"])
    geoms = [shapely.box(-1.2 + k * 0.01, 44.6, -1.19 + k * 0.01, 44.61) for k in range(3)]
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=4326)


def test_change_card_fields_give_codes_area_and_matrix_cell():
    fields = change_card_fields(_changes())
    assert fields.loc[0, ["cs_from", "cs_to", "us_from", "us_to"]].tolist() == [
        "CS2.1.1.1", "CS1.1.1.1", "US1.2", "US5"]
    # its cell of the CS matrix, summed over the layer: 300 + 100 m² (under 1 ha: m²)
    assert fields["cellule"].tolist() == ["400\u202fm²", "400\u202fm²", "2,50\u202fha"]


def test_change_layer_ships_fields_and_one_card_script_not_a_card_per_part():
    layer = changes_layer(_changes(), 2015, 2018, report_url="/signaler?territoire=commune:33009")
    props = layer.data["features"][0]["properties"]
    assert props["surface"] == "300\u202fm²" and props["cellule"] == "400\u202fm²"
    assert "fiche" not in props and not any("<" in str(v) for v in props.values())
    (cards,) = [c for c in layer._children.values() if isinstance(c, ChangeCards)]
    assert cards.constants["title"] == "Changement 2015 → 2018"
    assert cards.constants["report_url"] == "/signaler?territoire=commune:33009"
    # the card reads the layer's one label table, its tooltips'
    (tips,) = [c for c in layer._children.values() if isinstance(c, FeatureTooltips)]
    assert cards.tooltips is tips
    assert tips.constants["labels"]["CS2.1.1.1"] == "Peuplement de feuillus"
    assert tips.constants["labels"]["US5"] == "Usage résidentiel"
    assert set(tips.constants["labels"]) == {"CS2.1.1.1", "CS1.1.1.1", "CS2.2.1", "CS1.1.1.2",
                                             "US1.2", "US5", "US6.3", "US4.1.1"}
    assert "labels" not in cards.constants
    # the card is drawn in chromium: tests/browser/test_map_cards.py


def test_change_labels_are_shipped_once(grid):
    html = territory_map(light_polygons(grid), "cs", changes=_changes(), years=(2015, 2018)
                         ).get_root().render()
    assert html.count('"US6.3": ') == 1  # US6.3 is only in the change layer


def test_territory_map_legend_lists_change_outlines_labels_first(grid):
    light = light_polygons(grid)
    html = territory_map(light, "cs", changes=_changes(), years=(2015, 2018),
                         report_url="/signaler").get_root().render()
    legend = json.loads(re.search(r'div\.innerHTML = (".*?");', html).group(1))
    assert "Changements 2015 → 2018 (cliquez pour le détail)" in legend
    assert "dashed" in legend  # the swatch is drawn as the change outlines are
    assert 'Zones bâties <small style="color:#666">CS1.1.1.1</small>' in legend  # label first


def test_drawing_map_speaks_french():
    html = drawing_map().get_root().render()
    strings = json.loads(re.search(r"L\.drawLocal = (\{.*?\});", html).group(1))
    assert strings["draw"]["toolbar"]["buttons"]["polygon"] == "Dessiner un polygone"
    assert strings["edit"]["toolbar"]["actions"]["save"]["text"] == "Enregistrer"
    assert html.index("L.drawLocal =") < html.index("L.Control.Draw(")  # set before the control


def _mixed_geometries() -> gpd.GeoDataFrame:
    """A square with a hole, a two-part multipolygon (one part holed), a plain triangle."""
    holed = shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (1, 2), (2, 2), (2, 1)]])
    multi = shapely.MultiPolygon([shapely.box(10, 0, 11, 1), holed])
    triangle = shapely.Polygon([(-1.25, 44.5), (-1.2, 44.5), (-1.2, 44.55)])
    return gpd.GeoDataFrame({"k": [1, 2, 3]}, geometry=[holed, multi, triangle], crs=4326)


def test_feature_collection_geometries_equal_geopandas_writer():
    """The vectorised GeoJSON writer gives geopandas' geometries exactly (types, rings, holes,
    parts, float coordinates), and falls back to geopandas for what it does not handle."""
    from ocsge_engine.maps.layers import _feature_collection, _geojson_geometries

    for gdf in (_mixed_geometries(), _mixed_geometries().iloc[[0, 2]]):  # mixed, polygons only
        expected = [f["geometry"] for f in json.loads(gdf.geometry.to_json())["features"]]
        assert _geojson_geometries(gdf.geometry.to_numpy()) == expected
    got = _geojson_geometries(_mixed_geometries().geometry.to_numpy())
    assert got[1]["type"] == "MultiPolygon" and len(got[1]["coordinates"]) == 2
    assert got[1]["coordinates"][1][1] == [[1.0, 1.0], [1.0, 2.0], [2.0, 2.0], [2.0, 1.0],
                                           [1.0, 1.0]]  # the hole of the second part
    assert got[2]["coordinates"] == [[[-1.25, 44.5], [-1.2, 44.5], [-1.2, 44.55], [-1.25, 44.5]]]
    # an empty geometry or a line: geopandas' own writer, same features
    odd = gpd.GeoDataFrame({"k": [1, 2]}, crs=4326, geometry=[
        shapely.Polygon(), shapely.LineString([(0, 0), (1, 1)])])
    assert _geojson_geometries(odd.geometry.to_numpy()) is None
    fc = _feature_collection(odd, pd.DataFrame({"k": [1, 2]}))
    assert [f["geometry"] for f in fc["features"]] == [
        f["geometry"] for f in json.loads(odd.geometry.to_json())["features"]]
    assert [(f["id"], f["properties"]) for f in fc["features"]] == [(0, {"k": 1}), (1, {"k": 2})]


def test_geojson_layer_renders_the_html_folium_renders(grid, monkeypatch):
    """GeoJsonLayer skips branca's template compile of the data and calls the style functions
    once per class, nothing else: with the same element ids, the map page is byte for byte
    folium.GeoJson's (data, style and highlight maps, tooltips, popup)."""
    import itertools

    import branca.element
    import folium

    from ocsge_engine.maps import layers

    def render(cls) -> str:
        counter = itertools.count()
        monkeypatch.setattr(branca.element.Element, "_generate_id",
                            classmethod(lambda _cls: f"{next(counter):032x}"))
        monkeypatch.setattr(layers, "GeoJsonLayer", cls)
        return territory_map(light_polygons(grid), "artif", changes=_changes(),
                             years=(2015, 2018), report_url="/signaler?a=1&b=2",
                             ).get_root().render()

    class FoliumGeoJson(folium.GeoJson):  # folium's own rendering, style maps and bounds
        def __init__(self, *args, style_key=None, bounds=None, **kwargs):
            super().__init__(*args, **kwargs)

    fast = render(layers.GeoJsonLayer)
    assert fast == render(FoliumGeoJson)
    assert fast.count("L.geoJson(null") == 2 and fast.count(".addData(") == 2
    assert "Peuplement de feuillus" in fast and "bindPopup(" in fast


def test_geojson_layer_bounds_are_folium_bounds():
    """The layers' bounds (streamlit-folium reads them) equal folium's walk over coordinates."""
    import folium

    light = _mixed_geometries().assign(code_cs="CS1.1.1.1", code_us="US5", area_ha=1.0)
    for layer in (polygons_layer(light, "cs"), polygons_layer(light.iloc[:0], "cs")):
        expected = folium.utilities.get_bounds(layer.data, lonlat=True)
        assert layer.get_bounds() == expected
    assert polygons_layer(light, "cs").get_bounds() == [[0.0, -1.25], [44.55, 11.0]]
