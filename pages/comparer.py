"""Comparer: a commune against its nearest communes (editable) and communes of similar population.

Thin page: the peer list is a widget (default: the 8 nearest communes), the figures come from one
cached :func:`comparison_table` call. Peers and the similar-population switch live in the URL
(``?voisines=33199,33529&similaires=0``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ocsge_engine.charts.compare import comparison_figure
from ocsge_engine.batch.figures import comparison_table  # national results when fresh
from ocsge_engine.territories import communes_table, nearest_communes
from pages import _shared as shared
from pages._widgets import show_fig, show_table

shared.ensure_frame()

PEERS_PARAM = "voisines"
SIMILAR_PARAM = "similaires"
ROLE_LABELS = {"territoire": "Territoire", "voisine": "Voisine", "population": "Population proche"}
COLUMNS = {  # raw column → French label (units added by ocsge_engine.fmt.french_table)
    "name": "Commune", "code": "Code INSEE", "role": "Rôle", "population": "Population",
    "artif_stock_ha": "Surface artificialisée", "net_ha": "Artificialisation nette",
    "net_m2_per_ha": "Nette par ha de commune", "net_m2_per_inhabitant": "Nette par habitant",
    "artif_m2_per_inhabitant": "Artificialisé par habitant",
}


@st.cache_data(max_entries=64)
def cached_nearest(code: str) -> list[str]:
    """The 8 communes nearest to a commune (centroid distance)."""
    return nearest_communes(code, 8)


@st.cache_data(max_entries=16)
def commune_names(departements: tuple[str, ...]) -> dict[str, str]:
    """``{code: "Nom (code)"}`` of the communes with a polygon in some départements."""
    table = communes_table()
    rows = table[table["departement"].isin(departements) & table["has_geometry"]]
    return {r.code: f"{r.name} ({r.code})" for r in rows.itertuples()}


@st.cache_data(max_entries=64, show_spinner="Calcul des communes comparables (une par une)…")
def cached_comparison(territory_id: str, year_from: int, year_to: int, peers: tuple[str, ...],
                      similar: bool) -> pd.DataFrame:
    """Comparison table of the commune, its peers and (optionally) similar-population communes."""
    return comparison_table(shared.get_store(), shared.cached_territory(territory_id), year_from,
                            year_to, peers=list(peers), similar=similar)


def _controls(code: str, departements: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    names = commune_names(departements)
    if st.session_state.get("comparer_for") != code:
        # first view: peers from the URL; another commune chosen later: its nearest communes
        first = "comparer_for" not in st.session_state
        wanted = st.query_params.get(PEERS_PARAM) if first else None
        default = wanted.split(",") if wanted else cached_nearest(code)
        st.session_state["comparer_peers"] = [c for c in default if c in names and c != code]
        st.session_state["comparer_for"] = code
    if "comparer_similar" not in st.session_state:
        st.session_state["comparer_similar"] = st.query_params.get(SIMILAR_PARAM, "1") != "0"
    peers = st.multiselect("Communes voisines comparées (modifiables)", list(names),
                           format_func=lambda c: names.get(c, c), key="comparer_peers",
                           placeholder="Ajouter une commune…")
    similar = st.toggle("Ajouter les communes de population proche présentes dans la base",
                        key="comparer_similar")
    st.query_params[PEERS_PARAM] = ",".join(peers)
    st.query_params[SIMILAR_PARAM] = "1" if similar else "0"
    return tuple(peers), bool(similar)


def main() -> None:
    """Render the page."""
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    st.title(f"Comparer : {territory.name}" if territory else "Comparer")
    shared.synthetic_banner()
    pair = shared.years()
    if territory is None or pair is None:
        st.warning("Ce territoire n'a pas deux millésimes OCS GE dans la base.")
        return
    if territory.kind != "commune":
        st.warning("La comparaison avec les communes voisines n'est disponible que pour une "
                   "commune : choisissez une commune dans la barre latérale.")
        return
    peers, similar = _controls(territory.code, territory.departements)
    table = shared.run_safely(cached_comparison, territory.id, pair[0], pair[1], peers, similar)
    if table is None:
        return
    shown = table.assign(role=table["role"].map(ROLE_LABELS))
    available = shown[shown["available"].astype(bool)]
    missing = shown.loc[~shown["available"].astype(bool), "name"].tolist()
    stem = f"comparaison_{territory.code}_{pair[0]}-{pair[1]}"
    show_fig(comparison_figure(table), stem, table, key="comparer_fig")
    show_table(available, COLUMNS, key="comparer_table")
    st.caption(f"Millésimes {pair[0]} → {pair[1]}, matrice du décret et seuils ; par habitant : "
               "population municipale INSEE la plus récente.")
    if missing:
        st.info("Communes hors de la base OCS GE (pas de chiffres d'artificialisation) : "
                + ", ".join(missing) + ".")


main()
