"""Trajectoire: ZAN trajectory with a custom target and the projection, naming the series used.

Thin page: the consumption series (SYBARVAL file or Lyon ``landconso`` table) and the trajectory
come from one cached engine call. The target lives in the URL (``?reduction=50&objectif_ha=12``).
"""

from __future__ import annotations

import streamlit as st

from ocsge_engine.charts.style import fr_ha, fr_number
from ocsge_engine.charts.zan import zan_figure
from ocsge_engine.indicators import ZanOptions, ZanTrajectory, consumption_series, zan_trajectory
from pages import _shared as shared
from pages._widgets import show_fig, show_table

shared.ensure_frame()

REDUCTION_PARAM = "reduction"
TARGET_PARAM = "objectif_ha"
DEFAULT_REDUCTION = 50


@st.cache_data(max_entries=64, show_spinner="Calcul de la trajectoire…")
def cached_trajectory(territory_id: str, reduction_pct: int, custom_target_ha: float | None,
                      window: int) -> ZanTrajectory:
    """Trajectory of the territory's consumption series for a target."""
    options = ZanOptions(reduction=reduction_pct / 100, custom_target_ha=custom_target_ha,
                         projection_window=window)
    territory = shared.cached_territory(territory_id)
    return zan_trajectory(consumption_series(territory, shared.get_store()), options)


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


def _controls() -> tuple[int, float | None, int]:
    _initial_state()
    cols = st.columns(3)
    reduction = cols[0].slider("Réduction visée par rapport à 2011–2020 (%)", 0, 100, step=5,
                               key="zan_reduction")
    custom = cols[1].toggle("Fixer l'enveloppe en hectares", key="zan_custom")
    target = cols[1].number_input("Enveloppe 2021–2030 (ha)", min_value=0.0, step=1.0,
                                  key="zan_target", disabled=not custom,
                                  format="%.0f")  # whole hectares: no English « 10.00 »
    window = cols[2].number_input("Projection : moyenne des dernières années", min_value=1,
                                  max_value=10, value=3, step=1, key="zan_window")
    st.query_params[REDUCTION_PARAM] = str(reduction)
    if custom:
        st.query_params[TARGET_PARAM] = f"{target:g}"
    else:
        st.query_params.pop(TARGET_PARAM, None)
    return int(reduction), float(target) if custom else None, int(window)


def _figures(zan: ZanTrajectory) -> None:
    ref_a, ref_b = zan.options.reference
    per_a, per_b = zan.options.period
    cols = st.columns(4)
    cols[0].metric(f"Consommation de référence {ref_a}–{ref_b}", fr_ha(zan.reference_ha))
    cols[1].metric(f"Enveloppe {per_a}–{per_b}", fr_ha(zan.allowed_ha),
                   help="Plancher communal de 1 ha appliqué." if zan.floor_applied else None)
    cols[2].metric(f"Consommé depuis {per_a}", fr_ha(zan.consumed_ha),
                   f"{fr_number(zan.percent_use, 0)} % de l'enveloppe" if zan.percent_use is not None
                   else None, delta_color="off")
    projected = zan.projected_ha
    cols[3].metric(f"Projection {per_b}", fr_ha(projected) if projected is not None else "—",
                   f"{fr_number(zan.projected_percent_use, 0)} % de l'enveloppe"
                   if zan.projected_percent_use is not None else None, delta_color="off")


def _sources(zan: ZanTrajectory) -> None:
    years = zan.projection_years
    text = (f"**Données utilisées :** {zan.source}. Années observées : "
            f"{min(zan.table.dropna(subset=['observed_ha'])['year'])}–"
            f"{max(zan.table.dropna(subset=['observed_ha'])['year'])}. ")
    if not zan.reference_complete:
        text += (f"Référence incomplète : moyenne des années "
                 f"{', '.join(map(str, zan.reference_years))} multipliée par 10. ")
    if not zan.observed_years:
        text += f"Aucune année observée dans la période {zan.options.period[0]}–{zan.options.period[1]}. "
    if zan.annual_projection_ha is not None and years:
        text += (f"Projection : {fr_ha(zan.annual_projection_ha)} par an (moyenne "
                 f"{years[0]}–{years[-1]}) prolongée jusqu'en {zan.options.period[1]}.")
    st.info(text, icon="ℹ️")


def main() -> None:
    """Render the page."""
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    st.title(f"Trajectoire ZAN : {territory.name}" if territory else "Trajectoire ZAN")
    if territory is None:
        return
    st.caption("Loi Climat et résilience : diviser par deux la consommation d'espaces naturels, "
               "agricoles et forestiers en 2021–2030 par rapport à 2011–2020.")
    reduction, target, window = _controls()
    zan = shared.run_safely(cached_trajectory, territory.id, reduction, target, window)
    if zan is None:
        return
    _figures(zan)
    _sources(zan)
    show_fig(zan_figure(zan), f"trajectoire_zan_{territory.code}_{reduction}", zan.table,
             key="zan_fig")
    show_table(zan.table, ["year", "observed_ha", "observed_cumulative_ha",
                           "projected_cumulative_ha", "target_cumulative_ha"], key="zan_table")


main()
