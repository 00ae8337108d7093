"""Flux: Sankey diagram and exchange matrix of the territory at the level the user picks.

Thin page: widgets, cached engine calls (one couple-level matrix per territory and pair, regrouped
per level without touching geometry), charts from ``ocsge_engine.charts`` drawn with their
downloads. The level lives in the URL (``?niveau=cs2``) next to the territory and millésimes.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ocsge_engine.charts import matrix_heatmap, matrix_xlsx, sankey_figure
from ocsge_engine.charts.style import class_label, fr_ha, fr_percent, level_title
from ocsge_engine.charts.surroundings import surroundings_bars, surroundings_table
from ocsge_engine.fmt import with_unit
from ocsge_engine.flows import BY_VALUES, ExchangeMatrix, exchange_chain
from ocsge_engine.indicators.surroundings import (
    DEFAULT_RING_KM,
    AreaMatrix,
    per_hectare,
    surroundings_matrices,
)
from ocsge_engine.portrait.matrices import OFFICIAL_LEVELS, official_matrix
from pages import _shared as shared
from pages._widgets import lazy_expander, show_fig, show_table

shared.ensure_frame()

LEVEL_PARAM = "niveau"
DEFAULT_LEVEL = "anf"
DEFAULT_MIN_FLOW_HA = 0.5
MIN_FLOW_CHOICES_HA = (0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0)
RING_CHOICES_KM = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 20.0, 30.0, 50.0)
ZONE_LABELS = {"territoire": "Territoire", "couronne": "Couronne", "epci": "EPCI",
               "departement": "Département"}


@st.cache_data(max_entries=128, show_spinner="Calcul des flux…")
def level_matrix(territory_id: str, year_from: int, year_to: int, by: str) -> ExchangeMatrix:
    """Exchange matrix of a pair at level ``by`` (regrouped from the couple-level matrix,
    :func:`pages._shared.cached_couple_matrix`)."""
    return shared.cached_couple_matrix(territory_id, year_from, year_to).regroup(by)  # type: ignore[arg-type]


@st.cache_data(max_entries=32, show_spinner="Calcul de la chaîne de millésimes…")
def chain_matrices(territory_id: str, years: tuple[int, ...], by: str) -> list[ExchangeMatrix]:
    """Consecutive exchange matrices of a chain of 3+ millésimes."""
    return exchange_chain(shared.get_store(), shared.cached_territory(territory_id), list(years),
                          by=by)  # type: ignore[arg-type]


@st.cache_data(max_entries=16, show_spinner="Calcul des flux des alentours (couronne, EPCI, "
                                               "département)…")
def surroundings_result(territory_id: str, year_from: int, year_to: int,
                        ring_km: float) -> list[AreaMatrix]:
    """CS×US matrices of the territory, its ring, EPCI and département (regrouped per level)."""
    return surroundings_matrices(shared.get_store(), shared.cached_territory(territory_id),
                                 year_from, year_to, ring_km)


def _surroundings(territory_id: str, pair: tuple[int, int], by: str) -> None:
    """Optional section: flows per 100 ha covered beside the ring, the EPCI and the département."""
    if not st.toggle("Comparer avec les alentours", value=False, key="flux_alentours"):
        return
    st.subheader("Comparaison avec les alentours")
    ring_km = st.select_slider("Largeur de la couronne", RING_CHOICES_KM, value=DEFAULT_RING_KM,
                               format_func=lambda km: with_unit(km, "km", 0 if km >= 1 else 1),
                               key="flux_alentours_km")
    matrices = shared.run_safely(surroundings_result, territory_id, pair[0], pair[1],
                                 float(ring_km))
    if matrices is None:
        return
    result = per_hectare(matrices, by)  # type: ignore[arg-type]
    for area in result.areas.itertuples():
        if not area.complete:
            st.warning(f"{area.name} : couverture partielle ({fr_percent(area.coverage_share)}) "
                       "— les valeurs portent sur la seule partie couverte par l'OCS GE.")
    show_fig(surroundings_bars(result), f"alentours_{territory_id}_{by}_{pair[0]}-{pair[1]}",
             surroundings_table(result), key="flux_alentours_fig")
    areas = result.areas.assign(role=result.areas["role"].map(ZONE_LABELS).fillna(result.areas["role"]))
    show_table(areas, {"role": "Zone", "territory_id": "Identifiant", "name": "Nom",
                       "territory_ha": "Surface", "covered_ha": "Surface couverte",
                       "coverage_share": "Couverture", "complete": "Couverture complète"},
               key="flux_alentours_zones")
    st.caption("Flux en hectares pour 100 ha couverts par l'OCS GE dans chaque zone ; couronne "
               "= zone tampon autour du territoire, territoire exclu.")


def flows_table(matrix: ExchangeMatrix) -> pd.DataFrame:
    """Tidy flows with French labels next to the codes (the table shown and exported)."""
    table = matrix.table.reset_index(drop=True)
    return table.assign(libelle_from=[class_label(c) for c in table["code_from"]],
                        libelle_to=[class_label(c) for c in table["code_to"]])[
        ["code_from", "libelle_from", "code_to", "libelle_to", "area_ha"]]


def _initial_level() -> None:
    """Take the level from the URL on the first render of the page."""
    if "flux_by" not in st.session_state:
        wanted = st.query_params.get(LEVEL_PARAM, DEFAULT_LEVEL)
        st.session_state["flux_by"] = wanted if wanted in BY_VALUES else DEFAULT_LEVEL


def _controls(available: list[int]) -> tuple[str, float, bool, tuple[int, ...] | None]:
    _initial_level()
    cols = st.columns([2, 1, 1])
    by = cols[0].selectbox("Niveau de détail", BY_VALUES, key="flux_by",
                           format_func=lambda b: level_title(b).capitalize())
    # a French-formatted choice (a number input would show « 0.50 »)
    min_flow = cols[1].select_slider("Regrouper les flux inférieurs à", MIN_FLOW_CHOICES_HA,
                                     value=DEFAULT_MIN_FLOW_HA, key="flux_min_ha",
                                     format_func=lambda ha: with_unit(ha, "ha", 0 if ha >= 1 or
                                                                      ha == 0 else 2))
    hide = cols[2].toggle("Masquer les surfaces inchangées", value=True, key="flux_hide")
    chain = None
    if len(available) >= 3:
        picked = st.multiselect("Chaîne de millésimes (3 ou plus pour un Sankey en étapes)",
                                available, default=available, key="flux_chain",
                                placeholder="Choisir des millésimes…")
        chain = tuple(sorted(picked)) if len(picked) >= 3 else None
    st.query_params[LEVEL_PARAM] = by
    return by, float(min_flow), bool(hide), chain


def main() -> None:
    """Render the page."""
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    st.title(f"Flux : {territory.name}" if territory else "Flux")
    shared.synthetic_banner()
    pair = shared.years()
    if territory is None or pair is None:
        st.warning("Ce territoire n'a pas deux millésimes OCS GE dans la base : pas de flux.")
        return
    available = shared.run_safely(shared.cached_millesimes, territory.id) or []
    by, min_flow, hide, chain = _controls(available)
    if chain:
        matrices = shared.run_safely(chain_matrices, territory.id, chain, by)
        if matrices is None:
            return
        span = " → ".join(str(y) for y in chain)
        show_fig(sankey_figure(matrices, min_flow, hide), f"sankey_{by}_{'-'.join(map(str, chain))}",
                 pd.concat([flows_table(m).assign(year_from=m.year_from, year_to=m.year_to)
                            for m in matrices], ignore_index=True), key="flux_sankey_chain")
        st.caption(f"Chaîne {span} ; les matrices ci-dessous portent sur {pair[0]} → {pair[1]}.")
    if by in OFFICIAL_LEVELS:  # the official status (matrix + thresholds): Portrait's hectares
        figures = shared.figures(territory.id, pair[0], pair[1])
        matrix = official_matrix(figures, by) if figures is not None else None
    else:
        matrix = shared.run_safely(level_matrix, territory.id, pair[0], pair[1], by)
    if matrix is None:
        return
    table = flows_table(matrix)
    stem = f"flux_{territory.code}_{by}_{pair[0]}-{pair[1]}"
    if not chain:
        show_fig(sankey_figure(matrix, min_flow, hide), f"sankey_{stem}", table,
                 xlsx=lambda: matrix_xlsx(matrix), key="flux_sankey")
    st.caption(f"{len(matrix.classes)} classes · {fr_ha(float(matrix.losses().sum()))} ont "
               f"changé de classe ({level_title(by)}) entre {pair[0]} et {pair[1]}.")
    if by in OFFICIAL_LEVELS:
        st.caption("« Artificialisé » suit la mesure officielle : matrice du décret et seuils de "
                   "2 500 m² / 50 m² appliqués au stock de chaque millésime — les mêmes hectares "
                   "que le Portrait et la page Artificialisation.")
        if chain:
            st.caption("La chaîne de millésimes ci-dessus suit la matrice du décret **sans ses "
                       "seuils** (statut non calculé millésime par millésime) : elle peut "
                       "différer de quelques hectares.")
    st.subheader("Matrice des échanges")
    show_fig(matrix_heatmap(matrix, hide_unchanged=hide), f"matrice_{stem}", table,
             xlsx=lambda: matrix_xlsx(matrix), key="flux_matrix")
    # the charts' data (also in their CSV/XLSX downloads): sent once the section is opened
    box = lazy_expander("Tableau des flux", key="flux_table_open")
    if box is not None:
        with box:
            show_table(table, {"code_from": f"Code {pair[0]}", "libelle_from": f"Classe {pair[0]}",
                               "code_to": f"Code {pair[1]}", "libelle_to": f"Classe {pair[1]}",
                               "area_ha": "Surface"}, key="flux_table")
    _surroundings(territory.id, pair, by)


main()
