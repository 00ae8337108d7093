"""Portrait (home): a mayor's four answers in one minute, the territory on a map, then identity.

Every number comes from the figures layer (:mod:`ocsge_engine.portrait`), read through
``shared.figures``; the neighbour rank and the ZAN status come from
:mod:`ocsge_engine.portrait.answers` (the same engine results as Comparer and Trajectoire).
The headline sentence comes first so that a phone shows it on the first screen.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ocsge_engine import fmt
from ocsge_engine.batch.pages import ARTIF_KEYS, stored_light, stored_object
from ocsge_engine.charts.indicators import METHOD_LABELS
from ocsge_engine.charts.stocks import stock_donut
from ocsge_engine.indicators.thresholds import polygons_with_status
from ocsge_engine.maps import light_polygons, stored_changes, territory_map
from ocsge_engine.maps.changes import CHANGE_COLUMNS
from ocsge_engine.portrait import PortraitFigures
from ocsge_engine.portrait.answers import ZanStatus, neighbour_rank, zan_status
from ocsge_engine.portrait.figure import Figure
from ocsge_engine.report.summary import change_sentence
from pages import _shared as shared
from pages._widgets import draw_chart

shared.ensure_frame()

MAP_HEIGHT = 430
FAMILY_PHRASE = {"agricole": "agricoles", "forestier": "forestiers", "naturel": "naturels"}


@st.cache_data(max_entries=32, show_spinner="Préparation de la carte…")
def home_map_html(territory_id: str, year_from: int, year_to: int) -> str:
    """Map of the territory: artificialised status at ``year_to``, changes outlined on top."""
    territory = shared.cached_territory(territory_id)
    store = shared.get_store()
    light = stored_light(store, territory, year_to, (year_from, year_to), ARTIF_KEYS)
    if light is None:  # not precomputed by the batch (contour, EPCI, stale partition)
        layer = polygons_with_status(store, territory, year_to, ARTIF_KEYS)
        light = light_polygons(layer, keys=ARTIF_KEYS)
    changes = stored_object(store, territory, year_from, year_to, "light_changes")
    if changes is None:
        changes = light_polygons(stored_changes(store, territory, year_from, year_to),
                                 keys=CHANGE_COLUMNS)
    fmap = territory_map(light, "artif", changes=changes, years=(year_from, year_to),
                         height=MAP_HEIGHT)
    return str(fmap.get_root().render())


@st.cache_data(max_entries=128, show_spinner="Comparaison avec les voisines…")
def cached_rank(territory_id: str, year_from: int, year_to: int, source: str,
                synthetic: bool) -> Figure:
    """Rank among neighbours (same table as the Comparer page)."""
    figure, _ = neighbour_rank(shared.get_store(), shared.cached_territory(territory_id),
                               year_from, year_to, source, synthetic)
    return figure


@st.cache_data(max_entries=64, show_spinner=False)
def cached_zoning_sentence(territory_id: str, year_from: int, year_to: int,
                           stamp: tuple[int, ...]) -> str:
    """« x ha artificialisés en zones A et N … » when a zoning is imported, else ``""``."""
    from ocsge_engine.errors import OcsgeError
    from ocsge_engine.indicators.zonage import zone_artificialisation

    try:
        stats = zone_artificialisation(shared.get_store(), shared.cached_territory(territory_id),
                                       year_from, year_to)
    except OcsgeError:  # no zoning imported, or none meets the territory
        return ""
    return stats.sentence()


@st.cache_data(max_entries=128, show_spinner=False)
def cached_zan(territory_id: str) -> ZanStatus:
    """ZAN status (same series and trajectory as the Trajectoire page)."""
    return zan_status(shared.get_store(), shared.cached_territory(territory_id))


def _artif_answer(fig: PortraitFigures) -> None:
    st.markdown("##### 🏗️ Artificialisation")
    shared.metric(st, fig["artificialisation.net_ha"], signed=True)
    parts = [f"{fig[f'artificialisation.origin.{f}_ha'].display()} {FAMILY_PHRASE[f]}"
             for f in ("naturel", "forestier", "agricole")
             if (fig[f"artificialisation.origin.{f}_ha"].value or 0) >= 0.005]
    origin = f", dont {', '.join(parts)} (répartition estimée)" if parts else ""
    st.markdown(f"{fig['artificialisation.gross_gain_ha'].display()} devenus artificialisés"
                f"{origin} ; {fig['artificialisation.gross_loss_ha'].display()} "
                "désartificialisés.")


def _rank_answer(fig: PortraitFigures) -> None:
    st.markdown("##### ⚖️ Par rapport aux voisines")
    rank = cached_rank(fig.territory_id, fig.year_from, fig.year_to, fig.provenance.source,
                       fig.synthetic)
    if rank.available:
        total = rank.extra.get("total", 0)
        text = (f"**{int(rank.value)}{'re' if rank.value == 1 else 'e'} sur {total}** communes "
                "(la commune et ses voisines couvertes), pour l'artificialisation nette "
                f"rapportée à la surface ({fmt.number(rank.extra.get('value_m2_per_ha'), 0)} m² "
                "par hectare de commune).")
        if rank.extra.get("uncovered"):
            text += f" {rank.extra['uncovered']} voisine(s) hors des données chargées."
        st.markdown(text)
    else:
        st.markdown(f"Classement parmi les voisines : — ({rank.missing}).")
    st.page_link("pages/comparer.py", label="Comparer avec les voisines", icon="⚖️")


def _zan_answer(fig: PortraitFigures) -> None:
    st.markdown("##### 🎯 Trajectoire ZAN")
    zan = cached_zan(fig.territory_id)
    if not zan.allowed.available:
        st.markdown(f"Pas de série de consommation d'espaces NAF pour ce territoire "
                    f"({zan.allowed.missing}).")
    else:
        consumed = zan.consumed
        text = f"Enveloppe 2021–2030 : **{zan.allowed.display()}**"
        text += (f" ; consommé : **{consumed.display()}** ({consumed.label.lower()})"
                 if consumed.available else f" ; {consumed.label.lower()} : — ({consumed.missing})")
        if zan.verdict:
            text += (f" ; {zan.projected.label.lower()} : {zan.projected.display()}, "
                     f"**{zan.verdict}**")
        st.markdown(text + ".")
        st.caption(f"Source : {zan.source}.")
    zoning = cached_zoning_sentence(fig.territory_id, fig.year_from, fig.year_to,
                                    shared.catalog_stamp())
    if zoning:
        st.markdown(f"Zonage d'urbanisme : {zoning}.")
        st.page_link("pages/zonage.py", label="Voir par zone du PLU", icon="🗂️")
    st.page_link("pages/trajectoire.py", label="Voir la trajectoire", icon="🎯")


def _per_inhabitant_answer(fig: PortraitFigures) -> None:
    st.markdown("##### 👥 Par nouvel habitant")
    shared.metric(st, fig["per_inhabitant.net_m2_per_new_inhabitant"],
                  label="m² artificialisés (nets) par nouvel habitant")


def _identity(fig: PortraitFigures) -> None:
    st.subheader("Carte d'identité")
    cols = st.columns(4)
    shared.metric(cols[0], fig["identity.area_ha"], label="Superficie")
    shared.metric(cols[1], fig["identity.population"])
    shared.metric(cols[2], fig["identity.density"], label="Densité")
    shared.metric(cols[3], fig["coverage.share"], label="Couverture OCS GE")
    cols = st.columns(4)
    for column, family in zip(cols, ("artificialise", "agricole", "forestier", "naturel")):
        shared.metric(column, fig[f"stocks.{family}.share_to"])


def main() -> None:
    """Render the home page."""
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    pair = shared.years()
    if territory is None or pair is None:
        st.title("Portrait de territoire")
        st.warning("Ce territoire n'a pas deux millésimes OCS GE dans les données chargées : "
                   "pas de portrait d'évolution.")
        return
    fig = shared.figures(territory.id, pair[0], pair[1])
    if fig is None:
        return
    st.title(f"{territory.name} : {pair[0]} → {pair[1]}")
    if fig.synthetic:
        st.caption("🧪 Démonstration : fond synthétique, changements réels OCS GE — les chiffres "
                   "ne sont pas officiels (détail ci-dessous).")
    st.markdown(f"<p data-testid='summary-sentence' style='font-size:1.15rem'>"
                f"{change_sentence(fig)}</p>", unsafe_allow_html=True)
    left, right = st.columns([2, 3])
    with left:
        _artif_answer(fig)
        _rank_answer(fig)
        _zan_answer(fig)
        _per_inhabitant_answer(fig)
    with right:
        html = shared.run_safely(home_map_html, territory.id, pair[0], pair[1])
        if html is not None:
            st.iframe(html, height=MAP_HEIGHT + 10)
            st.caption(f"Statut d'artificialisation en {pair[1]} ; contours : changements "
                       f"{pair[0]} → {pair[1]}.")
    st.caption(f"Méthode : {METHOD_LABELS.get(fig.method, fig.method)}. Source : "
               f"{fig.provenance.source}.")
    _identity(fig)
    st.subheader("Occupation des sols par grande famille")
    left, right = st.columns(2)
    for column, stocks, year in ((left, fig.stocks_from, fig.year_from),
                                 (right, fig.stocks_to, fig.year_to)):
        draw_chart(stock_donut(pd.Series(stocks), "anf", year,
                               title=f"Occupation des sols en {year}"), f"donut_{year}", column)
    st.caption(f"Familles agricole / forestière / naturelle : estimation d'après l'usage. "
               f"Source : {fig.provenance.source}.")
    shared.synthetic_banner()


main()
