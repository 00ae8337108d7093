"""Zonage: artificialisation by planning zone (PLU / PLUi, CNIG ``zone_urba``) for the territory.

Thin page: a zoning layer is uploaded here (or imported with ``python -m ocsge_engine
ingest-zonage FILE``); the statistics come from one cached engine call
(:func:`~ocsge_engine.indicators.zonage.zone_artificialisation`), whose zone-type figures add up to
the territory's artificialisation; overlaps and land outside every zone are shown apart.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from ocsge_engine import fmt
from ocsge_engine.charts.zonage import zone_map_figure, zone_share_figure, zone_type_figure
from ocsge_engine.indicators.zonage import (
    OUTSIDE,
    ZONE_TYPE_LABELS,
    ZoneStats,
    describe_overlaps,
    ingest_zonage,
    zone_artificialisation,
)
from pages import _shared as shared
from pages._widgets import show_fig

shared.ensure_frame()

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
COLUMNS = {
    "zone_type": st.column_config.TextColumn("Type"),
    "label": st.column_config.TextColumn("Zone"),
    "libelle": st.column_config.TextColumn("Libellé"),
    "surface_ha": st.column_config.NumberColumn("Surface (ha)", format="%.2f"),
    "stock_from_ha": st.column_config.NumberColumn("Artificialisé début (ha)", format="%.2f"),
    "stock_to_ha": st.column_config.NumberColumn("Artificialisé fin (ha)", format="%.2f"),
    "gain_ha": st.column_config.NumberColumn("Artificialisation (ha)", format="%.2f"),
    "loss_ha": st.column_config.NumberColumn("Désartificialisation (ha)", format="%.2f"),
    "net_ha": st.column_config.NumberColumn("Net (ha)", format="%.2f"),
    "share_from": st.column_config.NumberColumn("Part artificialisée début", format="percent"),
    "share_to": st.column_config.NumberColumn("Part artificialisée fin", format="percent"),
}


@st.cache_data(max_entries=32, show_spinner="Artificialisation par zone…")
def cached_zone_stats(territory_id: str, year_from: int, year_to: int, version: int) -> ZoneStats:
    """Zone statistics of a territory and a pair (``version`` changes after each upload)."""
    return zone_artificialisation(shared.get_store(), shared.cached_territory(territory_id),
                                  year_from, year_to)


def _upload() -> None:
    with st.expander("Importer un zonage (couche zone_urba du Géoportail de l'Urbanisme)"):
        uploaded = st.file_uploader("GeoPackage, shapefile zippé ou GeoJSON",
                                    type=["gpkg", "zip", "geojson", "json"], key="zonage_upload")
        if uploaded is None or st.session_state.get("zonage_done") == uploaded.file_id:
            return
        data = uploaded.getvalue()
        if len(data) > MAX_UPLOAD_BYTES:
            st.error(f"Le fichier dépasse {MAX_UPLOAD_BYTES // (1024 * 1024)} Mo.")
            return
        with tempfile.TemporaryDirectory(prefix="ocsge_zonage_upload_") as tmp:
            path = Path(tmp) / Path(uploaded.name).name
            path.write_bytes(data)
            result = shared.run_safely(ingest_zonage, shared.get_store(), path)
        if result is None:
            return
        st.session_state["zonage_done"] = uploaded.file_id
        st.session_state["zonage_version"] = st.session_state.get("zonage_version", 0) + 1
        st.success(f"{result.source_file} importé : {result.zones} zones ({result.summary()}).")


def _figures(stats: ZoneStats) -> None:
    figures = stats.figures()
    cols = st.columns(len(figures))
    for col, fig in zip(cols, figures):
        col.metric(fig.label, fig.display(), help=fig.source_line())
    st.caption(f"{stats.sentence()[0].upper()}{stats.sentence()[1:]}. Total du territoire : "
               f"{fmt.hectares(stats.territory.gross_gain_ha)} artificialisés ; la somme des "
               "types de zone (hors zonage et zones superposées comprises) lui est égale.")


def _warnings(stats: ZoneStats) -> None:
    if not stats.overlaps.empty:
        st.warning(describe_overlaps(stats.overlaps), icon="⚠️")
    if stats.outside_ha > 0:
        rows = stats.by_type.set_index("zone_type")
        st.info(f"{ZONE_TYPE_LABELS[OUTSIDE]} : {fmt.hectares(rows.loc[OUTSIDE, 'surface_ha'])} "
                "du territoire ne sont couverts par aucune zone (document d'urbanisme partiel ou "
                "commune sans PLU) ; leur artificialisation est comptée à part.", icon="ℹ️")


def main() -> None:
    """Render the page."""
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    st.title(f"Zonage d'urbanisme : {territory.name}" if territory else "Zonage d'urbanisme")
    if territory is None:
        return
    st.caption("Où la terre a-t-elle été artificialisée ? Zones urbaines (U : densification), "
               "à urbaniser (AU : extension prévue), agricoles (A) et naturelles (N).")
    _upload()
    pair = shared.years()
    if pair is None:
        st.info("Il faut deux millésimes OCS GE pour ce territoire.")
        return
    version = int(st.session_state.get("zonage_version", 0))
    stats = shared.run_safely(cached_zone_stats, territory.id, pair[0], pair[1], version)
    if stats is None:
        return
    _figures(stats)
    _warnings(stats)
    code = territory.code
    show_fig(zone_type_figure(stats), f"zonage_types_{code}_{pair[0]}_{pair[1]}", stats.by_type,
             key="zonage_types")
    show_fig(zone_share_figure(stats), f"zonage_parts_{code}_{pair[0]}_{pair[1]}",
             stats.by_type, key="zonage_shares")
    show_fig(zone_map_figure(stats), f"zonage_carte_{code}_{pair[0]}_{pair[1]}",
             stats.by_zone, key="zonage_map")
    st.subheader("Par type de zone")
    st.dataframe(stats.by_type, hide_index=True, key="zonage_by_type", column_config=COLUMNS)
    st.subheader("Par libellé de zone")
    st.dataframe(stats.by_zone, hide_index=True, key="zonage_by_zone", column_config=COLUMNS)


main()
