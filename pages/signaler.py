"""Signaler: report a polygon as wrongly classified, with the proposed CS/US and a comment.

The polygon is picked by clicking the map, by selecting a row of the list of polygons (a closed
section, filtered by CS class, built only once opened) or by typing its id. Flags are stored
durably in ``STORE/flags.duckdb`` (:class:`ocsge_engine.flags.FlagStore`), listed, deletable, and
exported as GPKG/CSV for the producers. Draft flags suggested by the engine (Processus, Prédire)
are listed apart, to be accepted (then exported) or rejected.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from ocsge_engine.batch.pages import stored_light
from ocsge_engine.charts.style import class_label
from ocsge_engine.config import get_settings
from ocsge_engine.fmt import french_table
from ocsge_engine.flags import FlagStore, polygon_at, polygon_flag
from ocsge_engine.maps import light_polygons, territory_map
from ocsge_engine.nomenclature import get_nomenclature
from pages import _shared as shared
from pages._widgets import MIME, lazy_expander, show_table

shared.ensure_frame()

MAP_HEIGHT = 480
ALL = "Toutes"
FLAG_TABLE = ["id", "created_at", "territory_id", "millesime", "polygon_id", "code_cs_current",
              "code_us_current", "code_cs_proposed", "code_us_proposed", "comment", "status"]


@st.cache_resource
def flag_store(folder: str) -> FlagStore:
    """One flags database per store folder and process."""
    return FlagStore(folder)


@st.cache_data(max_entries=16, show_spinner="Lecture des polygones…")
def territory_polygons(territory_id: str, millesime: int) -> gpd.GeoDataFrame:
    """The territory's polygons (id, CS, US, surface), EPSG:2154."""
    gdf = shared.get_store().polygons(shared.cached_territory(territory_id), millesime,
                                      columns=["id", "code_cs", "code_us"])
    return gdf.assign(area_ha=gdf.geometry.area / 1e4)


@st.cache_data(max_entries=16, show_spinner="Préparation de la carte…")
def map_layer(territory_id: str, millesime: int,
              pair: tuple[int, int] | None = None) -> gpd.GeoDataFrame:
    """Light polygons for the map (dissolved by couple, simplified, EPSG:4326).

    The layer Cartes draws: read from the national batch when it holds the commune's ``pair``
    (fresh), else dissolved from the polygons read for the table.
    """
    light = stored_light(shared.get_store(), shared.cached_territory(territory_id), millesime,
                         pair)
    if light is not None:
        return light
    return light_polygons(territory_polygons(territory_id, millesime)[["code_cs", "code_us",
                                                                       "geometry"]])


def _store() -> FlagStore:
    return flag_store(str(get_settings().store_dir))


@st.cache_data
def nomenclature_table() -> pd.DataFrame:
    """Leaf CS and US codes with their French labels (the codes a flag may propose)."""
    return pd.DataFrame([(code, class_label(code)) for kind in ("cs", "us")
                         for code in get_nomenclature(kind).leaves],  # type: ignore[arg-type]
                        columns=["Code", "Libellé"])


def _pick(polygons: gpd.GeoDataFrame, territory_id: str, year: int) -> None:
    """Map click and table selection both write the chosen id into the id field."""
    # render=False: st_folium renders the map itself once more anyway (Map.render)
    clicked = st_folium(territory_map(map_layer(territory_id, year, shared.years()), "cs",
                                      height=MAP_HEIGHT),
                        height=MAP_HEIGHT, use_container_width=True, render=False,
                        returned_objects=["last_clicked"], key=f"signal_map_{territory_id}_{year}")
    point = (clicked or {}).get("last_clicked")
    if point and point != st.session_state.get("_signal_last_click"):
        st.session_state["_signal_last_click"] = point
        found = polygon_at(polygons, point["lng"], point["lat"])
        if found:
            st.session_state["signal_polygon_id"] = found
    # The list of every polygon (thousands of rows) is the second way to pick one: closed by
    # default, built and sent only once opened (the map is the first way).
    box = lazy_expander("Choisir dans la liste des polygones", key="signal_table_open")
    if box is None:
        return
    with box:
        classes = [ALL, *sorted(polygons["code_cs"].unique())]
        chosen = st.selectbox("Filtrer par couverture (CS)", classes, key="signal_cs_filter",
                              format_func=lambda c: c if c == ALL else f"{c} – {class_label(c)}")
        shown = polygons if chosen == ALL else polygons[polygons["code_cs"] == chosen]
        table = pd.DataFrame(shown.drop(columns="geometry")).reset_index(drop=True)
        # French cells; the selected row's position indexes ``table`` (same order)
        event = st.dataframe(french_table(table, {"id": "Identifiant", "code_cs": "CS",
                                                  "code_us": "US", "area_ha": "Surface"}),
                             hide_index=True, on_select="rerun", selection_mode="single-row",
                             key="signal_table", height=240)
    rows = list(event.selection.rows) if event is not None else []
    selected = str(table.at[rows[0], "id"]) if rows else None
    if selected and selected != st.session_state.get("_signal_last_row"):
        st.session_state["_signal_last_row"] = selected
        st.session_state["signal_polygon_id"] = selected


def _form(polygons: gpd.GeoDataFrame, territory_id: str, year: int) -> None:
    polygon_id = st.text_input("Identifiant du polygone", key="signal_polygon_id",
                               help="Cliquez sur la carte, choisissez une ligne de la liste "
                                    "des polygones ou saisissez l'identifiant.")
    current = polygons[polygons["id"] == polygon_id.strip()]
    if len(current):
        row = current.iloc[0]
        st.caption(f"Classification actuelle ({year}) : {row.code_cs} – {class_label(row.code_cs)}"
                   f" · {row.code_us} – {class_label(row.code_us)}")
    with st.form("signal_form", clear_on_submit=False):
        cols = st.columns(2)
        cs = cols[0].text_input("Couverture proposée (code CS)", key="signal_cs",
                                placeholder="ex. CS2.2.1", help="Code de la nomenclature OCS GE "
                                "(voir la liste ci-dessous) ; « 2.2.1 » est accepté.")
        us = cols[1].text_input("Usage proposé (code US)", key="signal_us",
                                placeholder="ex. US1.1", help="Code de la nomenclature OCS GE.")
        comment = st.text_area("Commentaire", key="signal_comment", max_chars=2000)
        submitted = st.form_submit_button("Enregistrer le signalement", type="primary")
    box = lazy_expander("Nomenclature OCS GE (codes CS et US)", key="signal_nomenclature_open")
    if box is not None:
        with box:
            st.dataframe(nomenclature_table(), hide_index=True, key="signal_nomenclature")
    if submitted:
        flag = shared.run_safely(polygon_flag, polygons, territory_id, year, polygon_id, cs, us,
                                 comment)
        if flag is not None and shared.run_safely(_store().add, flag) is not None:
            st.success(f"Signalement enregistré pour le polygone {flag.polygon_id} : "
                       f"{flag.code_cs_proposed} / {flag.code_us_proposed}.")


def _drafts(territory_id: str) -> None:
    """Drafts of the territory (suggested by the engine), listed apart, accepted or rejected."""
    drafts = _store().drafts(territory_id)
    if drafts.empty:
        return
    st.subheader("Brouillons à valider")
    st.caption("Signalements suggérés (changements à vérifier, désaccords avec une prédiction) : "
               "ils ne sont exportés qu'une fois validés ; un brouillon rejeté n'est plus proposé.")
    show_table(drafts, FLAG_TABLE, key="signal_drafts")
    labels = {f.id: f"{f.polygon_id} ({f.millesime}) : {f.code_cs_current}/{f.code_us_current} "
              f"→ {f.code_cs_proposed}/{f.code_us_proposed}" for f in drafts.itertuples()}
    chosen = st.multiselect("Brouillons à traiter", list(labels), format_func=labels.get,
                            key="signal_drafts_choice", placeholder="Choisir des brouillons…")
    cols = st.columns(4)
    for column, label, action in ((cols[0], "Valider", _store().accept_draft),
                                  (cols[1], "Rejeter", _store().reject_draft)):
        if column.button(label, key=f"signal_drafts_{label.lower()}", disabled=not chosen):
            for flag_id in chosen:
                shared.run_safely(action, flag_id)
            st.session_state.pop("signal_drafts_choice", None)
            st.rerun()


def _listing(territory_id: str) -> None:
    st.subheader("Signalements")
    everywhere = st.toggle("Tous les territoires", value=False, key="signal_all")
    scope = None if everywhere else territory_id
    flags = _store().list(scope)
    if flags.empty:
        st.info("Aucun signalement pour l'instant.")
        return
    show_table(flags, FLAG_TABLE, key="signal_flags")
    labels = {f.id: f"{f.polygon_id} ({f.millesime}) → {f.code_cs_proposed}/{f.code_us_proposed}"
              f" · {f.created_at:%d/%m/%Y %H:%M}" for f in flags.itertuples()}
    cols = st.columns([3, 1])
    doomed = cols[0].selectbox("Signalement à supprimer", list(labels), format_func=labels.get,
                               key="signal_delete_choice")
    if cols[1].button("Supprimer", key="signal_delete"):
        shared.run_safely(_store().delete, doomed)
        st.rerun()
    stem = "signalements" + ("" if everywhere else "_" + territory_id.replace(":", "_"))
    cols = st.columns(4)
    cols[0].download_button("GPKG", data=lambda: _store().gpkg_bytes(scope),
                            file_name=f"{stem}.gpkg", mime=MIME["gpkg"], key="signal_gpkg",
                            on_click="ignore", icon=":material/download:")
    cols[1].download_button("CSV", data=lambda: _store().export_csv(territory_id=scope),
                            file_name=f"{stem}.csv", mime=MIME["csv"], key="signal_csv",
                            on_click="ignore", icon=":material/download:")


def main() -> None:
    """Render the page."""
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    st.title(f"Signaler : {territory.name}" if territory else "Signaler")
    shared.synthetic_banner()
    available = shared.run_safely(shared.cached_millesimes, shared.territory_id()) or []
    if territory is None or not available:
        st.warning("Aucun millésime OCS GE n'est disponible pour ce territoire.")
        return
    st.markdown("Un polygone vous semble mal classé ? Choisissez-le, indiquez la couverture et "
                "l'usage corrects : les signalements sont conservés et exportables pour les "
                "producteurs de l'OCS GE.")
    pair = shared.years()
    default = pair[1] if pair else available[-1]
    year = st.selectbox("Millésime", available, index=available.index(default), key="signal_year")
    polygons = shared.run_safely(territory_polygons, territory.id, year)
    if polygons is None:
        return
    _pick(polygons, territory.id, year)
    _form(polygons, territory.id, year)
    _drafts(territory.id)
    _listing(territory.id)


main()
