"""Portrait (home): identity card, headline figures, families donut, one summary sentence."""

from __future__ import annotations

import streamlit as st

import pandas as pd

from ocsge_engine.charts.stocks import stock_donut
from ocsge_engine.indicators.portrait import PortraitFigures, portrait_figures
from ocsge_engine.charts.indicators import METHOD_LABELS
from ocsge_engine.charts.style import fr_ha, fr_percent
from ocsge_engine.report.summary import change_sentence
from pages import _shared as shared

shared.ensure_frame()


@st.cache_data(max_entries=128, show_spinner="Calcul du portrait…")
def cached_portrait(territory_id: str, year_from: int, year_to: int) -> PortraitFigures:
    """Portrait figures, cached by territory and millésimes."""
    return portrait_figures(shared.get_store(), shared.cached_territory(territory_id),
                            year_from, year_to)


def _identity(fig: PortraitFigures, territory: object) -> None:
    cols = st.columns(4)
    cols[0].metric("Superficie", fr_ha(fig.area_ha))
    latest = fig.latest_population
    cols[1].metric(f"Population ({latest[0]})" if latest else "Population",
                   f"{latest[1]:,}".replace(",", " ") if latest else "—")
    density = fig.density_per_km2
    cols[2].metric("Densité", f"{density:,.0f} hab./km²".replace(",", " ") if density else "—")
    coverage = ", ".join(f"{y} : {'complète' if share >= 0.999 else f'partielle ({share:.0%})'}"
                         for y, share in fig.coverage.items())
    cols[3].metric("Couverture OCS GE", f"{len(fig.coverage)} millésimes", help=coverage)
    st.caption(f"Couverture des données : {coverage}.")


def _headlines(fig: PortraitFigures) -> None:
    cols = st.columns(3)
    cols[0].metric(f"Part artificialisée ({fig.year_to})", fr_percent(fig.artificialised_share))
    cols[1].metric(f"Artificialisation nette {fig.year_from}–{fig.year_to}",
                   ("+" if fig.net_artificialisation_ha >= 0 else "−") + fr_ha(abs(fig.net_artificialisation_ha)))
    per_inhab = fig.net_per_new_inhabitant_m2()
    cols[2].metric("m² artificialisés (nets) par nouvel habitant",
                   f"{per_inhab:,.0f} m²".replace(",", " ") if per_inhab is not None else "—",
                   help="Solde net d'artificialisation rapporté au gain de population de la série INSEE.")


territory = shared.run_safely(shared.cached_territory, shared.territory_id())
st.title(f"Portrait : {territory.name}" if territory else "Portrait de territoire")
shared.synthetic_banner()
pair = shared.years()
if territory is not None and pair is None:
    st.warning("Ce territoire n'a pas deux millésimes OCS GE dans la base : pas de portrait d'évolution.")
elif territory is not None:
    figures = shared.run_safely(cached_portrait, territory.id, pair[0], pair[1])
    if figures is not None:
        _identity(figures, territory)
        st.subheader("En une phrase")
        st.markdown(f"<p data-testid='summary-sentence'>{change_sentence(figures)}</p>",
                    unsafe_allow_html=True)
        _headlines(figures)
        st.caption(f"Méthode de mesure de l'artificialisation : "
                   f"{METHOD_LABELS.get(figures.method, figures.method)}.")
        synthetic = bool(shared.cached_catalog()["synthetic"].any())
        left, right = st.columns(2)
        suffix = " (fond synthétique, changements réels OCS GE)" if synthetic else ""
        for column, stocks, year in ((left, figures.stocks_from, figures.year_from),
                                     (right, figures.stocks_to, figures.year_to)):
            column.plotly_chart(stock_donut(pd.Series(stocks), "anf", year,
                                            title=f"Occupation des sols en {year}{suffix}"),
                                key=f"donut_{year}")
