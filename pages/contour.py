"""Contour: choose a custom territory by uploading a file or drawing a polygon on the map.

The contour is validated and kept by the engine (``ocsge_engine.io.uploads``); the app then
switches to it (its opaque ``contour:…`` id goes in the URL, so the view can be shared; no
server path is ever shown).
"""

from __future__ import annotations

import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

from ocsge_engine.config import get_settings
from ocsge_engine.io.uploads import MAX_UPLOAD_BYTES, save_drawn_territory, save_uploaded_territory
from ocsge_engine.maps import drawing_map
from ocsge_engine.territories import Territory
from pages import _shared as shared
from pages._widgets import upload_limit

shared.ensure_frame()


def _custom_folder() -> object:
    return get_settings().store_dir / "territoires"


def _switch_to(territory: Territory | None) -> None:
    if territory is None:
        return
    st.session_state["territory_id"] = territory.id
    st.session_state.pop("years", None)
    st.success(f"Territoire « {territory.name} » ({territory.area_ha:,.1f} ha) sélectionné."
               .replace(",", " ").replace(".", ","))
    st.switch_page("pages/portrait.py")


st.title("Contour personnalisé")
st.markdown("Définissez votre propre territoire (projet, quartier, bassin versant…) : importez un "
            "fichier de contour ou dessinez-le sur la carte. Les indicateurs sont calculés sur la "
            "partie couverte par les données OCS GE de la base.")

upload_tab, draw_tab = st.tabs(["Importer un fichier", "Dessiner sur la carte"])
with upload_tab:
    uploaded = st.file_uploader(
        f"GeoJSON, GeoPackage ou shapefile zippé ({upload_limit(MAX_UPLOAD_BYTES)})",
        type=["geojson", "json", "gpkg", "zip"], key="contour_upload",
        max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024))
    if uploaded is not None and st.button("Utiliser ce contour", key="contour_upload_apply"):
        _switch_to(shared.run_safely(save_uploaded_territory, uploaded.getvalue(), uploaded.name,
                                     _custom_folder()))

with draw_tab:
    current = shared.run_safely(shared.cached_territory, shared.territory_id())
    outline = (gpd.GeoDataFrame(geometry=[current.geometry], crs=2154).to_crs(4326)
               if current is not None else None)
    st.caption("Utilisez l'outil polygone ou rectangle (en haut à gauche de la carte), "
               "puis validez.")
    drawn = st_folium(drawing_map(outline), height=520, use_container_width=True,
                      returned_objects=["last_active_drawing"], key="contour_map")
    name = st.text_input("Nom du contour", value="Contour dessiné", key="contour_name")
    if st.button("Utiliser le contour dessiné", key="contour_draw_apply"):
        _switch_to(shared.run_safely(save_drawn_territory,
                                     (drawn or {}).get("last_active_drawing") or {}, name,
                                     _custom_folder()))
