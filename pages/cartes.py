"""Cartes: the territory's OCS GE polygons coloured by CS, US, family or artificialised status.

Thin page: widgets, cached engine calls (light polygons per territory and millésime, change layer
per pair, map HTML per territory/millésime/colouring), one map built by
``ocsge_engine.maps.folium_map`` and shown in a static iframe. The map works offline (Leaflet
served from ``static/vendor``); the IGN orthophoto is an optional layer that needs a connection.
"""

from __future__ import annotations

import geopandas as gpd
import streamlit as st

from ocsge_engine.batch.pages import ARTIF_KEYS, stored_light, stored_object
from ocsge_engine.indicators.thresholds import polygons_with_status
from ocsge_engine.maps import (
    COLOURINGS,
    light_polygons,
    stored_changes,
    territory_map,
)
from ocsge_engine.maps.changes import CHANGE_COLUMNS
from pages import _shared as shared

shared.ensure_frame()

MAP_HEIGHT = 620


COUPLE_KEYS = ("code_cs", "code_us")


def layer_keys(by: str) -> tuple[str, ...]:
    """The columns a colouring reads: the artificialisation and family colourings read each
    polygon's official status (decree matrix and thresholds, ``artif``), as the figures do; the
    CS and US colourings need the couple only (fewer, larger merged parts)."""
    return ARTIF_KEYS if by in ("artif", "famille") else COUPLE_KEYS


@st.cache_data(max_entries=32, show_spinner="Préparation de la carte…")
def light_layer(territory_id: str, millesime: int, pair: tuple[int, int] | None = None,
                keys: tuple[str, ...] = COUPLE_KEYS) -> gpd.GeoDataFrame:
    """Dissolved, simplified polygons of one millésime (EPSG:4326), cached per territory/year.

    Read from the national batch when it holds the commune's ``pair`` (fresh), else computed.
    ``keys``: :func:`layer_keys` of the colouring.
    """
    territory = shared.cached_territory(territory_id)
    store = shared.get_store()
    light = stored_light(store, territory, millesime, pair, keys)
    if light is not None:
        return light
    return light_polygons(polygons_with_status(store, territory, millesime, keys), keys=keys)


@st.cache_data(max_entries=32, show_spinner="Calcul des changements…")
def light_changes(territory_id: str, year_from: int, year_to: int) -> gpd.GeoDataFrame:
    """Parts whose CS or US changed: IGN's diff layer when stored, else an overlay."""
    store, territory = shared.get_store(), shared.cached_territory(territory_id)
    light = stored_object(store, territory, year_from, year_to, "light_changes")
    if light is not None:  # precomputed by the batch
        return light
    return light_polygons(stored_changes(store, territory, year_from, year_to),
                          keys=CHANGE_COLUMNS)


@st.cache_data(max_entries=16, show_spinner="Dessin de la carte…")
def map_html(territory_id: str, year: int, by: str, pair: tuple[int, int] | None,
             ortho: bool) -> str:
    """Standalone map HTML (Leaflet from /app/static), cached per territory, year and colouring.

    Rendered once per key: a rerun re-sends the cached string instead of rebuilding the folium
    objects (about 1 s for 3,000 polygons on 2 cores).
    """
    light = light_layer(territory_id, year, shared.years(), layer_keys(by))
    changes = light_changes(territory_id, *pair) if pair else None
    report = f"/signaler?territoire={territory_id}&de={pair[0]}&a={pair[1]}" if pair else None
    fmap = territory_map(light, by, changes=changes, years=pair, ortho=ortho,  # type: ignore[arg-type]
                         height=MAP_HEIGHT, report_url=report)
    return str(fmap.get_root().render())


COLOURING_PARAM, YEAR_PARAM = "couleur", "annee"


def _initial_view(available: list[int]) -> None:
    """Take the colouring and the displayed millésime from the URL on the page's first render."""
    if "cartes_by" not in st.session_state:
        wanted = st.query_params.get(COLOURING_PARAM, "cs")
        st.session_state["cartes_by"] = wanted if wanted in COLOURINGS else "cs"
    if "cartes_year" not in st.session_state and YEAR_PARAM in st.query_params:
        year = st.query_params[YEAR_PARAM]
        if year.isdigit() and int(year) in available:
            st.session_state["cartes_year"] = int(year)


def _controls(available: list[int]) -> tuple[str, int, bool, bool]:
    pair = shared.years()
    _initial_view(available)
    if st.session_state.get("cartes_year") not in available:
        st.session_state.pop("cartes_year", None)
    cols = st.columns([2, 1, 1, 1])
    by = cols[0].selectbox("Colorer par", list(COLOURINGS), format_func=COLOURINGS.get,
                           key="cartes_by")
    default_year = pair[1] if pair else available[-1]
    st.session_state.setdefault("cartes_year", default_year)
    year = cols[1].selectbox("Millésime affiché", available, key="cartes_year")
    show_changes = cols[2].toggle("Changements", value=pair is not None, disabled=pair is None,
                                  key="cartes_changes",
                                  help="Polygones dont la couverture ou l'usage a changé "
                                       "entre les deux millésimes choisis.")
    ortho = cols[3].toggle("Orthophoto IGN", value=False, key="cartes_ortho",
                           help="Fond de plan IGN en ligne : nécessite une connexion internet. "
                                "Hors ligne, la carte garde un fond uni.")
    st.query_params[COLOURING_PARAM], st.query_params[YEAR_PARAM] = by, str(year)
    return by, year, show_changes and pair is not None, ortho


def _side_by_side(territory_id: str, by: str, pair: tuple[int, int], ortho: bool) -> None:
    """The two millésimes of the pair, one map each, side by side (stacked on a phone)."""
    for column, year in zip(st.columns(2), pair):
        with column:
            st.markdown(f"**Millésime {year}**")
            html = shared.run_safely(map_html, territory_id, year, by, None, ortho)
            if html is not None:
                st.iframe(html, height=MAP_HEIGHT + 10)


def main() -> None:
    """Render the page."""
    st.title("Cartes")
    shared.synthetic_banner()
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    available = shared.run_safely(shared.cached_millesimes, shared.territory_id()) or []
    if territory is None or not available:
        st.warning("Aucun millésime OCS GE n'est disponible pour ce territoire.")
        return
    by, year, show_changes, ortho = _controls(available)
    both = shared.years()
    if both and st.toggle("Les deux millésimes côte à côte", value=False, key="cartes_side",
                          help="Même coloration, même emprise : comparez les deux dates."):
        _side_by_side(territory.id, by, both, ortho)
        return
    pair = shared.years() if show_changes else None
    light = shared.run_safely(light_layer, territory.id, year, shared.years(), layer_keys(by))
    changes = shared.run_safely(light_changes, territory.id, *pair) if pair else None
    if light is None:
        return
    if light.empty:
        st.warning(f"Aucun polygone OCS GE pour {territory.name} en {year} : le territoire est "
                   "hors de l'emprise des données chargées.")
        return
    if by == "famille":
        st.caption("Les familles agricole / naturel / forestier sont une **estimation** "
                   "(règle d'équipe, non réglementaire) ; l'artificialisation suit le décret "
                   "n° 2023-1096 (matrice et seuils de 2\u202f500 m² / 50 m²), comme les "
                   "chiffres des autres pages.")
    html = shared.run_safely(map_html, territory.id, year, by,
                             pair if changes is not None else None, ortho)
    if html is None:
        return
    # a static iframe (no values come back from the map), so the HTML is cached as a string
    st.iframe(html, height=MAP_HEIGHT + 10)
    summary = f"{territory.name} · millésime {year} · {len(light)} polygones fusionnés et " \
              "simplifiés pour l'affichage"
    if changes is not None and pair:
        summary += f" · {len(changes)} zones de changement {pair[0]} → {pair[1]}"
    st.caption(summary)


main()
