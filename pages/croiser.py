"""Croiser: population and density against artificialisation, and local data uploaded as CSV.

Thin page: the population series and the indicators of every commune of the store come from cached
engine calls; an uploaded CSV is validated by :func:`read_local_csv` (French error, nothing kept
when it fails) and joined on the INSEE code. The axes live in the URL (``?x=…&y=…``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ocsge_engine.charts.cross import INDICATOR_LABELS, axis_label, cross_scatter, population_figure
from ocsge_engine.charts.style import fr_number
from ocsge_engine.indicators.local_data import (
    MAX_CSV_BYTES,
    LocalTable,
    join_local,
    population_table,
    read_local_csv,
)
from pages import _shared as shared
from pages._widgets import show_fig, show_table, upload_limit

shared.ensure_frame()

LOCAL_KEY = "croiser_local"
DEFAULT_X, DEFAULT_Y = "density_per_km2", "artif_m2_per_inhabitant"


@st.cache_data(max_entries=64)
def cached_population(territory_id: str) -> pd.DataFrame:
    """Population series and density of the territory."""
    return population_table(shared.cached_territory(territory_id))


@st.cache_data(max_entries=16, show_spinner="Lecture du fichier…")
def cached_csv(data: bytes, name: str) -> LocalTable:
    """Validated local CSV (cached on its bytes)."""
    return read_local_csv(data, name)


def _population(territory_id: str, name: str) -> None:
    table = shared.run_safely(cached_population, territory_id)
    if table is None or table.empty:
        st.info("Pas de série de population pour ce territoire.")
        return
    year = int(table["year"].iloc[-1])
    cols = st.columns(2)
    cols[0].metric(f"Population ({year})", fr_number(table["population"].iloc[-1], 0))
    cols[1].metric(f"Densité ({year})",
                   f"{fr_number(table['density_per_km2'].iloc[-1], 1)} hab./km²")
    show_fig(population_figure(table, name), f"population_{territory_id.replace(':', '_')}", table,
             key="croiser_population")


def _upload() -> LocalTable | None:
    uploaded = st.file_uploader("Données locales (CSV avec une colonne de code INSEE, "
                                f"{upload_limit(MAX_CSV_BYTES)})",
                                type=["csv", "txt"], key="croiser_upload",
                                help="Une ligne par commune : code INSEE (5 caractères) et des "
                                     "colonnes de nombres. Séparateur « ; », « , » ou tabulation ; "
                                     "UTF-8 ou Windows-1252.")
    if uploaded is None:
        st.session_state.pop(LOCAL_KEY, None)
        return None
    local = shared.run_safely(cached_csv, uploaded.getvalue(), uploaded.name)
    if local is None:
        st.session_state.pop(LOCAL_KEY, None)
        return None
    st.session_state[LOCAL_KEY] = local
    note = f" ; {local.dropped_rows} ligne(s) sans code INSEE valide ignorée(s)" if local.dropped_rows else ""
    st.caption(f"{len(local.table)} communes, colonne de code « {local.code_column} », "
               f"{len(local.numeric_columns)} colonne(s) numérique(s){note}.")
    return local


def _axis(label: str, options: list[str], default: str, param: str) -> str:
    key = f"croiser_{param}"
    if key not in st.session_state or st.session_state[key] not in options:
        wanted = st.query_params.get(param, default)
        st.session_state[key] = wanted if wanted in options else default
    value = st.selectbox(label, options, format_func=axis_label, key=key)
    st.query_params[param] = value
    return str(value)


def main() -> None:
    """Render the page."""
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    st.title(f"Croiser : {territory.name}" if territory else "Croiser")
    shared.synthetic_banner()
    if territory is None:
        return
    st.header("Population et densité")
    _population(territory.id, territory.name)
    pair = shared.years()
    if pair is None:
        st.warning("Ce territoire n'a pas deux millésimes OCS GE dans la base.")
        return
    st.header(f"Croiser avec l'artificialisation {pair[0]} → {pair[1]}")
    local = _upload()
    communes = shared.run_safely(shared.cached_communes_indicators, pair[0], pair[1])
    if communes is None:
        return
    table, local_columns = communes, []
    if local is not None:
        joined = shared.run_safely(join_local, communes, local)
        if joined is None:
            st.session_state.pop(LOCAL_KEY, None)
        else:
            table, local_columns = joined.table, joined.local_columns
            if joined.unmatched:
                st.caption(f"Codes du fichier hors de la base : {', '.join(joined.unmatched[:10])}"
                           + ("…" if len(joined.unmatched) > 10 else "") + ".")
    options = [*INDICATOR_LABELS, *local_columns]
    cols = st.columns(2)
    with cols[0]:
        x = _axis("Axe horizontal", options, DEFAULT_X, "x")
    with cols[1]:
        y = _axis("Axe vertical", options, DEFAULT_Y, "y")
    code = territory.code if territory.kind == "commune" else None
    show_fig(cross_scatter(table, x, y, code), f"croiser_{x}_{y}_{pair[0]}-{pair[1]}",
             table[list(dict.fromkeys(["code", "name", x, y]))], key="croiser_scatter")
    shown = [c for c in table.columns if c not in ("role", "available")]
    show_table(table, {c: INDICATOR_LABELS[c].split(" (")[0] if c in INDICATOR_LABELS else None
                       for c in shown},
               key="croiser_table")
    scope = "présentes dans le fichier et la base" if local_columns else "couvertes par la base"
    st.caption(f"{len(table)} communes {scope} OCS GE ; artificialisation selon la matrice du "
               "décret et ses seuils.")


main()
