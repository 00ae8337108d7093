"""Trajectoire: ZAN trajectory of any commune, EPCI or département, naming the series used.

Thin page: the consumption series (imported Cerema file, sparte's Lyon table, the SYBARVAL file —
each a labelled source), the trajectory, its figures (:func:`zan_figures`) and the OCS GE
artificialisation of the territory's millésimes come from cached engine calls. The target, the
source and the projection convention live in the URL
(``?reduction=50&objectif_ha=12&source=cerema&projection=sparte``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ocsge_engine import fmt
from ocsge_engine.charts.zan import destinations_figure, handover_figure, zan_figure
from ocsge_engine.errors import OcsgeError
from ocsge_engine.indicators import artificialisation
from ocsge_engine.indicators.zan import (
    PROJECTION_LABELS,
    PROJECTION_METHODS,
    ZanOptions,
    ZanTrajectory,
    available_series,
    consumption_series,
    zan_figures,
    zan_trajectory,
)
from ocsge_engine.portrait.figure import SYNTHETIC_NOTE
from ocsge_engine.store.catalog import synthetic_partitions
from pages import _shared as shared
from pages._widgets import lazy_expander, show_fig, show_table

shared.ensure_frame()

REDUCTION_PARAM = "reduction"
TARGET_PARAM = "objectif_ha"
SOURCE_PARAM = "source"
PROJECTION_PARAM = "projection"
DEFAULT_REDUCTION = 50
TABLE_COLUMNS = ("year", "observed_ha", "observed_cumulative_ha", "projected_cumulative_ha",
                 "target_cumulative_ha")
SOURCE_LABELS = {"cerema": "Cerema (fichier national importé)",
                 "lyon": "sparte, Métropole de Lyon (Cerema)",
                 "sybarval": "SYBARVAL (source non documentée)"}


@st.cache_data(max_entries=64, show_spinner=False)
def cached_sources(territory_id: str) -> dict[str, str]:
    """Key → source line of every consumption series covering the territory (preferred first)."""
    territory = shared.cached_territory(territory_id)
    return {s.key: s.source for s in available_series(territory, shared.get_store())}


@st.cache_data(max_entries=64, show_spinner="Calcul de la trajectoire…")
def cached_trajectory(territory_id: str, source: str | None, reduction_pct: int,
                      custom_target_ha: float | None, projection: str,
                      window: int) -> ZanTrajectory:
    """Trajectory of the territory's consumption series for a target and a projection."""
    options = ZanOptions(reduction=reduction_pct / 100, custom_target_ha=custom_target_ha,
                         projection=projection, projection_window=window)
    territory = shared.cached_territory(territory_id)
    return zan_trajectory(consumption_series(territory, shared.get_store(), source), options)


@st.cache_data(max_entries=32, show_spinner="Artificialisation entre millésimes…")
def cached_artif_periods(territory_id: str) -> tuple[pd.DataFrame, bool]:
    """OCS GE artificialisation between consecutive millésimes, and whether it is synthetic."""
    years = shared.cached_millesimes(territory_id)
    rows = []
    for y1, y2 in zip(years, years[1:]):
        try:
            flux = artificialisation(shared.get_store(), shared.cached_territory(territory_id),
                                     y1, y2)
        except OcsgeError:
            continue
        rows.append({"year_from": y1, "year_to": y2, "gain_ha": flux.gross_gain_ha,
                     "net_ha": flux.net_ha, "method": flux.method})
    territory = shared.cached_territory(territory_id)
    synthetic = synthetic_partitions(shared.cached_catalog(), territory.departements, years)[0]
    return pd.DataFrame(rows, columns=["year_from", "year_to", "gain_ha", "net_ha", "method"]), \
        synthetic


def _initial_state() -> None:
    if "zan_reduction" not in st.session_state:
        try:
            value = int(st.query_params.get(REDUCTION_PARAM, DEFAULT_REDUCTION))
        except ValueError:
            value = DEFAULT_REDUCTION
        st.session_state["zan_reduction"] = min(100, max(0, value))
    if "zan_custom" not in st.session_state:
        try:
            target = float(st.query_params.get(TARGET_PARAM, ""))
        except ValueError:
            target = None
        st.session_state["zan_custom"] = target is not None and target >= 0
        st.session_state["zan_target"] = target if target is not None and target >= 0 else 10.0
    if "zan_projection" not in st.session_state:
        wanted = st.query_params.get(PROJECTION_PARAM, PROJECTION_METHODS[0])
        st.session_state["zan_projection"] = (wanted if wanted in PROJECTION_METHODS
                                              else PROJECTION_METHODS[0])


def _source_choice(sources: dict[str, str]) -> str | None:
    """Selectbox of the series when there are several (kept in the URL)."""
    keys = list(sources)
    if len(keys) <= 1:
        return keys[0] if keys else None
    if "zan_source" not in st.session_state:
        wanted = st.query_params.get(SOURCE_PARAM)
        st.session_state["zan_source"] = wanted if wanted in keys else keys[0]
    choice = st.selectbox("Série de consommation", keys, key="zan_source",
                          format_func=lambda k: SOURCE_LABELS.get(k, k))
    st.query_params[SOURCE_PARAM] = choice
    return str(choice)


def _controls() -> tuple[int, float | None, str, int]:
    _initial_state()
    cols = st.columns(3)
    reduction = cols[0].slider("Réduction visée par rapport à 2011–2020 (%)", 0, 100, step=5,
                               key="zan_reduction")
    custom = cols[1].toggle("Fixer l'enveloppe en hectares", key="zan_custom")
    target = cols[1].number_input("Enveloppe 2021–2030 (ha)", min_value=0.0, step=1.0,
                                   key="zan_target", disabled=not custom,
                                   format="%.0f")  # whole hectares: no English « 10.00 »
    projection = cols[2].radio("Projection", PROJECTION_METHODS, key="zan_projection",
                               format_func=PROJECTION_LABELS.get)
    window = cols[2].number_input("Moyenne des dernières années", min_value=1, max_value=10,
                                  value=3, step=1, key="zan_window",
                                  disabled=projection == "sparte")
    st.query_params[REDUCTION_PARAM] = str(reduction)
    st.query_params[PROJECTION_PARAM] = str(projection)
    if custom:
        st.query_params[TARGET_PARAM] = f"{target:g}"
    else:
        st.query_params.pop(TARGET_PARAM, None)
    return int(reduction), float(target) if custom else None, str(projection), int(window)


def _figures(zan: ZanTrajectory) -> None:
    figures = {f.key: f for f in zan_figures(zan)}
    cols = st.columns(4)
    for col, key in zip(cols, ("zan.reference_ha", "zan.allowed_ha", "zan.consumed_ha",
                               "zan.projected_ha")):
        fig = figures[key]
        value = fig.display() if fig.available else (fig.missing or "—").capitalize()
        delta = None
        if key == "zan.consumed_ha" and figures["zan.percent_use"].available:
            delta = f"{figures['zan.percent_use'].display()} de l'enveloppe"
        if key == "zan.projected_ha" and zan.projected_percent_use is not None:
            delta = f"{round(zan.projected_percent_use):d}\u202f% de l'enveloppe"
        helps = {"zan.allowed_ha": "Plancher communal de 1 ha appliqué." if zan.floor_applied
                 else None, "zan.projected_ha": PROJECTION_LABELS[zan.options.projection]}
        col.metric(fig.label, value, delta, delta_color="off", help=helps.get(key))
    if zan.missing_after is not None:
        st.warning(f"Pas de données après {zan.missing_after} : la consommation depuis "
                   f"{zan.options.period[0]} n'est pas connue avec cette série (elle n'est pas "
                   "nulle pour autant).", icon="⚠️")
    elif zan.respects_by_end is not None:
        verdict = "respecte" if zan.respects_by_end else "dépasse"
        st.caption(f"À ce rythme, le territoire {verdict} son enveloppe "
                   f"({PROJECTION_LABELS[zan.options.projection].lower()}).")


def _sources(zan: ZanTrajectory) -> None:
    years = zan.projection_years
    observed = zan.table.dropna(subset=["observed_ha"])["year"]
    text = (f"**Données utilisées :** {fmt.markdown_text(zan.source)}. Années observées : "
            f"{int(observed.min())}–{int(observed.max())}. ")
    if not zan.reference_complete:
        text += (f"Référence incomplète : moyenne des années "
                 f"{', '.join(map(str, zan.reference_years))} multipliée par 10. ")
    if zan.annual_projection_ha is not None and years:
        text += (f"Projection : {fmt.hectares(zan.annual_projection_ha)} par an (moyenne "
                 f"{years[0]}–{years[-1]}), {PROJECTION_LABELS[zan.options.projection].lower()}.")
    st.info(text, icon="ℹ️")


def _handover(territory_id: str, code: str, zan: ZanTrajectory | None) -> None:
    periods = shared.run_safely(cached_artif_periods, territory_id)
    artif, synthetic = periods if periods is not None else (None, False)
    if zan is None and (artif is None or artif.empty):
        return
    st.subheader("Avant et après 2031")
    source = "OCS GE (IGN), artificialisation entre millésimes"
    if synthetic:
        source += f" ({SYNTHETIC_NOTE})"
    data = artif if artif is not None else pd.DataFrame()
    both = source if zan is None else f"{zan.source} ; {source}"
    show_fig(handover_figure(zan, artif, source), f"zan_bascule_2031_{code}", data,
             key="zan_handover", source=both)


def main() -> None:
    """Render the page."""
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    st.title(f"Trajectoire ZAN : {territory.name}" if territory else "Trajectoire ZAN")
    if territory is None:
        return
    st.caption("Loi Climat et résilience : diviser par deux la consommation d'espaces naturels, "
               "agricoles et forestiers en 2021–2030 par rapport à 2011–2020 ; à partir de 2031, "
               "l'objectif se mesure en artificialisation (OCS GE).")
    sources = shared.run_safely(cached_sources, territory.id) or {}
    source = _source_choice(sources)
    reduction, target, projection, window = _controls()
    zan = shared.run_safely(cached_trajectory, territory.id, source, reduction, target,
                            projection, window)
    if zan is not None:
        _figures(zan)
        _sources(zan)
        show_fig(zan_figure(zan), f"trajectoire_zan_{territory.code}_{reduction}", zan.table,
                 key="zan_fig", source=zan.source)
    _handover(territory.id, territory.code, zan)
    if zan is None:
        return
    if zan.destinations is not None:
        show_fig(destinations_figure(zan), f"consommation_destinations_{territory.code}",
                 zan.destinations, key="zan_destinations", source=zan.source)
    # the chart's data year by year (also its CSV/XLSX downloads): built once opened
    box = lazy_expander("Valeurs année par année", key="zan_table_open")
    if box is not None:
        with box:
            show_table(zan.table, list(TABLE_COLUMNS), key="zan_table")


main()
