"""The territory map: leafmap (folium backend) map assembling the OCS GE layers, offline-ready."""

from __future__ import annotations

import logging
from typing import Any

import folium
import geopandas as gpd
import leafmap.foliumap as leafmap
from branca.element import MacroElement
from jinja2 import Template

from ocsge_engine.maps.assets import DEFAULT_BASE_URL, use_local_assets
from ocsge_engine.maps.layers import (
    COLOURINGS,
    ColourBy,
    Legend,
    MetricScale,
    PlainBackground,
    changes_layer,
    legend_entries,
    ortho_layer,
    polygons_layer,
)

logger = logging.getLogger(__name__)

_LEAFMAP_ONLY_OPTIONS = ("draw_control", "measure_control", "fullscreen_control", "search_control",
                         "layers_control", "draw_export", "layersControl")


def territory_map(light: gpd.GeoDataFrame, by: ColourBy, *,
                  changes: gpd.GeoDataFrame | None = None,
                  years: tuple[int, int] | None = None,
                  ortho: bool = False, height: int = 620,
                  asset_base_url: str = DEFAULT_BASE_URL,
                  report_url: str | None = None) -> leafmap.Map:
    """Build the map of a territory's polygons.

    Args:
        light: light polygons (:func:`~ocsge_engine.maps.simplify.light_polygons`, EPSG:4326).
        by: colouring (``cs``, ``us``, ``famille``, ``artif``).
        changes: light change polygons (``code_*_from`` / ``code_*_to``), drawn outlined on top.
        years: ``(from, to)`` millésimes of ``changes`` (required with it).
        ortho: show the IGN orthophoto layer when the map opens (it is always in the layer
            control, off by default, so an offline map requests no remote tile).
        height: map height in pixels.
        asset_base_url: where ``static/vendor`` is served (see :func:`use_local_assets`).
        report_url: « Signaler » link of a change's card (clicked change part).

    Returns:
        A ``leafmap.foliumap.Map`` with no remote asset: plain background, polygons, optional
        change layer, orthophoto layer (off unless ``ortho``), legend, layer control, fitted to
        the polygons.
    """
    if changes is not None and years is None:
        raise ValueError("years is required with changes")
    fmap = _base_map(height, asset_base_url, fullscreen=True, ortho=ortho)
    polygons_layer(light, by).add_to(fmap)
    outline = None
    if changes is not None and years is not None and not changes.empty:
        changes_layer(changes, *years, report_url=report_url).add_to(fmap)
        outline = f"Changements {years[0]} → {years[1]} (cliquez pour le détail)"
    Legend(COLOURINGS[by], legend_entries(light, by), outline=outline).add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    if not light.empty:
        minx, miny, maxx, maxy = light.total_bounds
        fmap.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    return fmap


def _base_map(height: int, asset_base_url: str, *, fullscreen: bool, ortho: bool) -> leafmap.Map:
    """Offline map frame: local assets, plain background, orthophoto layer (off unless asked)."""
    use_local_assets(asset_base_url)
    fmap = leafmap.Map(tiles=None, height=height, draw_control=False, measure_control=False,
                       fullscreen_control=fullscreen, scale_control=True, search_control=False,
                       layers_control=False, attribution_control=True)
    # leafmap forwards its own kwargs into Leaflet's map options; leaflet.fullscreen then adds a
    # second button for ``fullscreenControl: true`` next to the explicit control.
    for key in _LEAFMAP_ONLY_OPTIONS:
        fmap.options.pop(key, None)
    fmap.control_scale = False  # folium's scale also shows feet and miles: metric only
    MetricScale().add_to(fmap)
    PlainBackground().add_to(fmap)
    ortho_layer(show=ortho).add_to(fmap)
    return fmap


# leaflet.draw's strings (``L.drawLocal``) in French; set before the Draw control is built.
DRAW_LOCAL_FR: dict[str, Any] = {
    "draw": {
        "toolbar": {
            "actions": {"title": "Annuler le dessin", "text": "Annuler"},
            "finish": {"title": "Terminer le dessin", "text": "Terminer"},
            "undo": {"title": "Supprimer le dernier point", "text": "Supprimer le dernier point"},
            "buttons": {"polyline": "Tracer une ligne", "polygon": "Dessiner un polygone",
                        "rectangle": "Dessiner un rectangle", "circle": "Dessiner un cercle",
                        "marker": "Placer un marqueur", "circlemarker": "Placer un point"},
        },
        "handlers": {
            "circle": {"tooltip": {"start": "Cliquez et faites glisser pour tracer un cercle."},
                       "radius": "Rayon"},
            "circlemarker": {"tooltip": {"start": "Cliquez sur la carte pour placer un point."}},
            "marker": {"tooltip": {"start": "Cliquez sur la carte pour placer un marqueur."}},
            "polygon": {"tooltip": {
                "start": "Cliquez pour commencer le polygone.",
                "cont": "Cliquez pour continuer le polygone.",
                "end": "Cliquez sur le premier point pour fermer le polygone."}},
            "polyline": {"error": "<strong>Erreur :</strong> les côtés ne peuvent pas se "
                                  "croiser.",
                         "tooltip": {"start": "Cliquez pour commencer la ligne.",
                                     "cont": "Cliquez pour continuer la ligne.",
                                     "end": "Cliquez sur le dernier point pour terminer."}},
            "rectangle": {"tooltip": {"start": "Cliquez et faites glisser pour tracer un "
                                               "rectangle."}},
            "simpleshape": {"tooltip": {"end": "Relâchez la souris pour terminer."}},
        },
    },
    "edit": {
        "toolbar": {
            "actions": {
                "save": {"title": "Enregistrer les modifications", "text": "Enregistrer"},
                "cancel": {"title": "Annuler les modifications", "text": "Annuler"},
                "clearAll": {"title": "Tout effacer", "text": "Tout effacer"},
            },
            "buttons": {"edit": "Modifier le contour", "editDisabled": "Aucun contour à modifier",
                        "remove": "Supprimer le contour",
                        "removeDisabled": "Aucun contour à supprimer"},
        },
        "handlers": {
            "edit": {"tooltip": {"text": "Déplacez les poignées ou les sommets pour modifier.",
                                 "subtext": "Cliquez sur Annuler pour revenir en arrière."}},
            "remove": {"tooltip": {"text": "Cliquez sur un contour pour le supprimer."}},
        },
    },
}


class FrenchDraw(MacroElement):  # type: ignore[misc]
    """Sets leaflet.draw's ``L.drawLocal`` to :data:`DRAW_LOCAL_FR` (add it before ``Draw``)."""

    _template = Template("""
{% macro script(this, kwargs) %}
if (typeof L !== "undefined" && L.drawLocal) { L.drawLocal = {{ this.strings|tojson }}; }
{% endmacro %}
""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "FrenchDraw"
        self.strings = DRAW_LOCAL_FR


def drawing_map(outline: gpd.GeoDataFrame | None = None, height: int = 520,
                asset_base_url: str = DEFAULT_BASE_URL) -> leafmap.Map:
    """Map on which the user draws a polygon or a rectangle (leaflet.draw, served locally).

    Args:
        outline: optional reference outline (EPSG:4326), drawn unfilled and fitted to.
        height: map height in pixels.
        asset_base_url: where ``static/vendor`` is served (see :func:`use_local_assets`).

    Returns:
        A ``leafmap.foliumap.Map`` whose drawings ``streamlit_folium.st_folium`` returns.
    """
    from folium.plugins import Draw

    fmap = _base_map(height, asset_base_url, fullscreen=False, ortho=False)
    FrenchDraw().add_to(fmap)
    Draw(export=False, draw_options={"polyline": False, "circle": False, "marker": False,
                                     "circlemarker": False, "polygon": True, "rectangle": True},
         edit_options={"edit": True, "remove": True}).add_to(fmap)
    if outline is not None and not outline.empty:
        folium.GeoJson(outline.__geo_interface__, name="Territoire actuel",
                       style_function=lambda _: {"color": "#333", "weight": 2, "fill": False},
                       ).add_to(fmap)
        minx, miny, maxx, maxy = outline.total_bounds
        fmap.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    folium.LayerControl(collapsed=True, position="topright").add_to(fmap)
    return fmap
