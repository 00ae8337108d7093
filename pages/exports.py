"""Exports: the territory's layers as GeoPackage, and the portrait report (HTML and PDF).

Thin page: the engine builds the files (:mod:`ocsge_engine.io.gpkg`,
:mod:`ocsge_engine.report.portrait_report`); the page shows progress and offers the downloads.
Each chart of the other pages carries its own PNG/SVG/CSV/XLSX buttons (``pages._widgets``).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ocsge_engine.io.gpkg import gpkg_bytes
from ocsge_engine.report.layers import territory_layers
from ocsge_engine.report.portrait_report import DEFAULT_SECTIONS, build_portrait_report, pdf_bytes
from pages import _shared as shared
from pages._widgets import MIME, file_stem

shared.ensure_frame()

REPORT_STATE = "exports_report"
GPKG_STATE = "exports_layers"


@st.cache_data(max_entries=8, show_spinner=False)
def layers_gpkg(territory_id: str, year_from: int | None, year_to: int | None,
                _progress: Callable[[float, str], None] | None = None) -> bytes:
    """GeoPackage of both millésimes and the change layer (cached per territory and pair)."""
    layers = territory_layers(shared.get_store(), shared.cached_territory(territory_id),
                              year_from, year_to, _progress)
    return gpkg_bytes(layers)


def export_stem(territory: object, pair: tuple[int, int] | None) -> str:
    """File name stem naming the territory and the years: ``portrait_arcachon_2015-2018``."""
    name = file_stem(getattr(territory, "name", "territoire"))
    return f"portrait_{name}" + (f"_{pair[0]}-{pair[1]}" if pair else "")


def _progress_bar(status: object) -> Callable[[float, str], None]:
    bar = st.progress(0.0)

    def update(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)
        status.update(label=f"{message}…")  # type: ignore[attr-defined]

    return update


def _layers_section(territory_id: str, stem: str) -> None:
    st.subheader("Couches du territoire (GeoPackage)")
    pair = shared.years()
    st.caption("Polygones OCS GE des deux millésimes, découpés au territoire, et couche des "
               "changements, en Lambert-93 (EPSG:2154). Chaque polygone porte son statut "
               "officiel dans les champs de l'IGN : `artif` (« artif » / « non artif », matrice "
               "du décret et seuils appliqués sur tout le département) et `crit_seuil` (le seuil "
               "qui a décidé) ; la somme des polygones « artif » est le stock artificialisé des "
               "autres pages.")
    if st.button("Préparer le GeoPackage", key="exports_gpkg_prepare"):
        with st.status("Préparation des couches…", expanded=True) as status:
            data = shared.run_safely(layers_gpkg, territory_id, *(pair or (None, None)),
                                     _progress=_progress_bar(status))
            status.update(label="Couches prêtes" if data else "Échec de l'export",
                          state="complete" if data else "error")
        if data:
            st.session_state[GPKG_STATE] = (territory_id, pair, data)
    ready = st.session_state.get(GPKG_STATE)
    if ready and ready[:2] == (territory_id, pair):
        st.download_button("Télécharger le GeoPackage", data=ready[2],
                           file_name=f"couches_{stem}.gpkg", mime=MIME["gpkg"],
                           key="exports_gpkg_download", on_click="ignore", icon=":material/download:")


def _report_section(territory: object, stem: str) -> None:
    st.subheader("Rapport de portrait (HTML, PDF)")
    st.caption("Chiffres clés, phrase de synthèse, graphiques, sources (fichiers OCS GE et leur "
               "empreinte SHA-256, population INSEE) et date. Complétez les textes libres :")
    sections = {title: st.text_area(title, key=f"exports_text_{key}", height=100)
                for key, title in DEFAULT_SECTIONS.items()}
    pair = shared.years()
    if st.button("Générer le rapport", key="exports_report_build", type="primary"):
        st.session_state.pop(REPORT_STATE, None)
        with st.status("Génération du rapport…", expanded=True) as status:
            update = _progress_bar(status)
            document = shared.run_safely(build_portrait_report, shared.get_store(), territory,
                                         pair, sections, update)
            pdf = shared.run_safely(pdf_bytes, document) if document else None
            status.update(label="Rapport prêt" if document else "Échec du rapport",
                          state="complete" if document else "error")
        if document:
            st.session_state[REPORT_STATE] = {"id": (shared.territory_id(), pair),
                                              "html": document, "pdf": pdf}
    report = st.session_state.get(REPORT_STATE)
    if report and report["id"] == (shared.territory_id(), pair):
        cols = st.columns(4)
        cols[0].download_button("Rapport HTML", data=report["html"], file_name=f"{stem}.html",
                                mime=MIME["html"], key="exports_html", on_click="ignore",
                                icon=":material/download:")
        if report["pdf"]:
            cols[1].download_button("Rapport PDF", data=report["pdf"], file_name=f"{stem}.pdf",
                                    mime=MIME["pdf"], key="exports_pdf", on_click="ignore",
                                    icon=":material/download:")
        with st.expander("Aperçu du rapport"):
            st.iframe(report["html"], height=700)


def main() -> None:
    """Render the page."""
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    st.title(f"Exports : {territory.name}" if territory else "Exports")
    shared.synthetic_banner()
    if territory is None:
        return
    pair = shared.years()
    stem = export_stem(territory, pair)
    _layers_section(territory.id, stem.replace("portrait_", "", 1))
    _report_section(territory, stem)
    _bundle_section(territory, pair)


def _bundle_section(territory: object, pair: tuple[int, int] | None) -> None:
    """Reproducible ZIP (ocsge_engine.report.bundle): report, charts, data, changes, metadata."""
    from ocsge_engine.report.bundle import build_bundle

    st.subheader("Archive reproductible (ZIP)")
    st.caption("Rapport HTML et PDF, chaque graphique en PNG, SVG et CSV, couche des changements "
               "(GeoPackage) et metadata.json (millésimes, fichiers sources et SHA-256, "
               "paramètres). Mêmes données → mêmes tableaux, octet pour octet.")
    if pair and st.button("Préparer l'archive", key="exports_bundle_build"):
        with st.status("Préparation de l'archive…", expanded=True) as status:
            data = shared.run_safely(build_bundle, shared.get_store(), territory, *pair,
                                     progress=_progress_bar(status))
            status.update(label="Archive prête" if data else "Échec de l'archive",
                          state="complete" if data else "error")
        if data:
            st.session_state["exports_bundle"] = ((shared.territory_id(), pair), data)
    ready = st.session_state.get("exports_bundle")
    if ready and ready[0] == (shared.territory_id(), pair):
        st.download_button("Télécharger l'archive", data=ready[1],
                           file_name=f"{export_stem(territory, pair)}.zip",
                           mime="application/zip", key="exports_bundle_download",
                           on_click="ignore", icon=":material/download:")


main()
