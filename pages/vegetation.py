"""Végétation: tree and grass cover, what it gained and lost, nature in town, neighbours.

Thin page: one cached engine call (:func:`ocsge_engine.indicators.vegetation.vegetation`, on the
pair's single overlay shared with the other pages, or the national batch's precomputed result for a
commune) feeds the sentence, the figures and the charts; the map
(:func:`~ocsge_engine.maps.vegetation.vegetation_layers`) and the neighbour comparison are cached
apart, and read the batch's stored objects too when they are fresh. Every number shown is a
:class:`~ocsge_engine.portrait.figure.Figure` of the engine, formatted by ``Figure.display``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ocsge_engine import fmt
from ocsge_engine.charts.vegetation import (
    change_bars,
    comparison_bars,
    group_label,
    stock_bars,
    vegetation_sankey,
)
from ocsge_engine.indicators.vegetation import (
    CLASSES,
    URBAN_NATURE,
    URBAN_US,
    VegetationResult,
    vegetation,
    vegetation_comparison,
)
from ocsge_engine.maps.layers import _code_text
from ocsge_engine.maps.vegetation import vegetation_layers, vegetation_map
from ocsge_engine.report.vegetation import (
    SYNTHETIC_SENTENCE,
    changes_table_fr,
    figures_table,
    vegetation_sentence,
)
from pages import _shared as shared
from pages._widgets import lazy_expander, show_fig

shared.ensure_frame()

MAP_HEIGHT = 560
HEADLINE_KEYS: tuple[tuple[str, ...], ...] = (
    ("vegetation.tree.stock_to_ha", "vegetation.tree.loss_ha", "vegetation.tree.gain_ha"),
    ("vegetation.tree.net_ha", "vegetation.tree.loss_to_artificial_ha",
     "vegetation.vegetated.share_to"),
)
URBAN_KEYS: tuple[str, ...] = ("vegetation.urban_nature.stock_to_ha",
                               "vegetation.urban_nature.share_to",
                               "vegetation.urban_nature.net_ha")
COMPARISON_COLUMNS: dict[str, tuple[str, str]] = {  # column → (French title, unit)
    "tree_share_to": ("Couvert arboré (part)", "%"),
    "tree_net_ha": ("Couvert arboré : solde net", "ha"),
    "tree_net_ha_per_100ha": ("Solde net arboré pour 100 ha", "ha"),
    "vegetated_share_to": ("Végétation (part)", "%"),
    "urban_nature_share_to": ("Nature en ville (part des espaces urbains)", "%"),
}


@st.cache_data(max_entries=32, show_spinner="Calcul de la végétation…")
def cached_vegetation(territory_id: str, year_from: int, year_to: int) -> VegetationResult:
    """Vegetation figures of the pair (same call as the CLI's ``indicators`` block)."""
    return vegetation(shared.get_store(), shared.cached_territory(territory_id), year_from,
                      year_to)


@st.cache_data(max_entries=16, show_spinner="Dessin de la carte de la végétation…")
def map_html(territory_id: str, year_from: int, year_to: int) -> tuple[str, int, int]:
    """Map HTML, with the number of vegetated polygons and of change parts drawn."""
    light, changes = vegetation_layers(shared.get_store(), shared.cached_territory(territory_id),
                                       year_from, year_to)
    fmap = vegetation_map(light, year_to, changes if len(changes) else None,
                          (year_from, year_to), height=MAP_HEIGHT)
    return str(fmap.get_root().render()), len(light), len(changes)


@st.cache_data(max_entries=16, show_spinner="Comparaison avec les communes voisines…")
def cached_comparison(territory_id: str, year_from: int, year_to: int) -> pd.DataFrame:
    """The commune and its 5 nearest communes, same figures for each."""
    return vegetation_comparison(shared.get_store(), shared.cached_territory(territory_id),
                                 year_from, year_to)


def _metrics(result: VegetationResult, keys: tuple[str, ...]) -> None:
    for column, key in zip(st.columns(len(keys)), keys):
        fig = result.figure(key)
        value = fig.display(signed=key.endswith("net_ha")).replace("-", "−")
        column.metric(fig.label, value, help=fig.source_line())


def _couples(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Couverture": [_code_text(c) for c in table["code_cs"]],
                         "Usage": [_code_text(u) for u in table["code_us"]],
                         "Surface": [fmt.hectares(a) for a in table["area_ha"]]})


def _where(result: VegetationResult) -> None:
    keys = [*CLASSES, URBAN_NATURE]
    key = st.selectbox("Classe", keys, format_func=lambda k: group_label(k) if k != "vegetated"
                       else "Végétation (toutes classes)", key="vegetation_class",
                       help="D'où viennent les surfaces gagnées par la classe, où sont allées "
                            "celles qu'elle a perdues (couples couverture × usage).")
    change = result.urban_nature if key == URBAN_NATURE else result.classes[key]
    st.markdown(f"**D'où viennent les gains** (état en {result.year_from}) : "
                f"{fmt.hectares(change.gain_ha)}")
    if change.gains_from.empty:
        st.caption("Aucun gain.")
    else:
        st.dataframe(_couples(change.gains_from), hide_index=True, key="vegetation_gains")
    st.markdown(f"**Où sont allées les pertes** (état en {result.year_to}) : "
                f"{fmt.hectares(change.loss_ha)}")
    if change.losses_to.empty:
        st.caption("Aucune perte.")
    else:
        st.dataframe(_couples(change.losses_to), hide_index=True, key="vegetation_losses")


def _comparison_fr(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison rows as French text (numbers formatted by ``fmt``)."""
    out = pd.DataFrame({"Commune": table["name"], "Code INSEE": table["code"]})
    for column, (title, unit) in COMPARISON_COLUMNS.items():
        values = table[column]
        out[title] = [fmt.percent(v) if unit == "%" else
                      fmt.with_unit(v, "ha", 3 if "100" in column else 2, signed=True)
                      .replace("-", "−") for v in values]
    return out.reset_index(drop=True)


def _comparison(territory_id: str, kind: str, pair: tuple[int, int]) -> None:
    st.header("Comparaison avec les communes voisines")
    if kind != "commune":
        st.info("La comparaison avec les communes voisines n'est disponible que pour une commune.")
        return
    table = shared.run_safely(cached_comparison, territory_id, *pair)
    if table is None:
        return
    missing = table[~table["available"]]
    show_fig(comparison_bars(table, pair[1], bool(table["synthetic"].fillna(False).any())),
             f"vegetation_voisines_{pair[1]}", table, key="vegetation_compare")
    box = lazy_expander("Tableau des communes voisines", key="vegetation_compare_open")
    if box is not None:
        with box:
            st.dataframe(_comparison_fr(table[table["available"]]), hide_index=True,
                         key="vegetation_compare_table")
    if len(missing):
        st.caption("Hors des données chargées : " + ", ".join(missing["name"]) + ".")


def main() -> None:
    """Render the page."""
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    st.title(f"Végétation : {territory.name}" if territory else "Végétation")
    shared.synthetic_banner()
    pair = shared.years()
    if territory is None or pair is None:
        st.warning("Ce territoire n'a pas deux millésimes OCS GE dans la base.")
        return
    result = shared.run_safely(cached_vegetation, territory.id, pair[0], pair[1])
    if result is None:
        return
    if result.synthetic:
        st.caption(SYNTHETIC_SENTENCE)
    st.markdown(vegetation_sentence(result, territory.kind))
    for keys in HEADLINE_KEYS:
        _metrics(result, keys)
    st.caption("Couvert arboré : couverture CS2.1.1 (feuillus, conifères, peuplements mixtes). "
               "Parts rapportées à la surface du territoire couverte par l'OCS GE. Une perte "
               "« artificialisée » arrive sur un couple couverture × usage artificialisé selon "
               "la matrice du décret n° 2023-1096.")
    stem = f"{pair[0]}-{pair[1]}"
    st.header("Surfaces par classe")
    show_fig(stock_bars(result), f"vegetation_stocks_{stem}", result.stocks_table(),
             key="vegetation_stocks")
    st.header(f"Gains et pertes {pair[0]} → {pair[1]}")
    show_fig(change_bars(result), f"vegetation_gains_pertes_{stem}", changes_table_fr(result),
             key="vegetation_changes")
    flows = result.flows.assign(de=[group_label(c) for c in result.flows["code_from"]],
                                vers=[group_label(c) for c in result.flows["code_to"]])
    show_fig(vegetation_sankey(result), f"vegetation_sankey_{stem}", flows,
             key="vegetation_sankey")
    # the detail by couple and the neighbours' table are closed sections, sent once opened: a
    # table costs a page opened by a link more than a chart (0.3-0.45 s for these three,
    # docs/benchmarks.md)
    box = lazy_expander("D'où viennent les gains, où sont allées les pertes (par couple "
                        "couverture × usage)", key="vegetation_where_open")
    if box is not None:
        with box:
            _where(result)
    st.header("Carte de la végétation")
    drawn = shared.run_safely(map_html, territory.id, pair[0], pair[1])
    if drawn is not None:
        html, n_polygons, n_changes = drawn
        st.iframe(html, height=MAP_HEIGHT + 10)
        st.caption(f"Végétation {pair[1]} colorée par classe de couverture ({n_polygons} polygones "
                   f"fusionnés et simplifiés) ; en rouge les pertes, en vert les gains "
                   f"{pair[0]} → {pair[1]} ({n_changes} zones).")
    st.header("Nature en ville")
    st.caption("Végétation (CS2) dont l'usage est résidentiel, économique, de transport ou de "
               f"services ({', '.join(URBAN_US)} et leurs sous-codes) ; sa part est rapportée "
               "aux espaces urbains, c'est-à-dire à l'ensemble des espaces ayant ces usages, "
               "quelle que soit leur couverture.")
    _metrics(result, URBAN_KEYS)
    _comparison(territory.id, territory.kind, pair)
    box = lazy_expander("Tous les chiffres de la végétation, avec leur source",
                        key="vegetation_all_open")
    if box is not None:
        with box:
            st.dataframe(figures_table(result, [f.key for f in result.figures()]),
                         hide_index=True, key="vegetation_all")


main()
