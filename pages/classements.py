"""Classements: national rankings of communes, read from the national batch results.

Thin page: the ranking is one cached :func:`ocsge_engine.batch.rankings` call (nothing is
recomputed); the current commune is highlighted. Without national results the page gives the
command, and a button running the batch on the store's départements (one in-process Dask worker:
it writes only ``STORE/national/``, never the catalogue the app reads). The view lives in the URL
(``?metrique=…&paire=2015_2018&deps=33&popmin=2000&n=20&ordre=asc``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ocsge_engine.batch import RANKING_METRICS, national_status, rankings, run_flows
from ocsge_engine.batch.cluster import dask_client
from ocsge_engine.batch.figures import partition_freshness
from ocsge_engine.charts.rankings import metric_label, ranking_figure
from pages import _shared as shared
from pages._widgets import show_fig, show_table

shared.ensure_frame()

ALL_ROWS = 1_000_000
COLUMNS = {"rank": "Rang", "name": "Commune", "commune": "Code INSEE",
           "departement": "Département", "value": "Valeur", "pop_stock": "Population",
           "artif_net_ha": "Artificialisation nette (ha)", "coverage_share": "Couverture"}


@st.cache_data(max_entries=64, show_spinner="Lecture des résultats nationaux…")
def cached_rankings(store_dir: str, metric: str, pair: str, departements: tuple[str, ...],
                    min_population: int, ascending: bool, stamp: tuple[str, ...]) -> pd.DataFrame:
    """The whole ranking (``stamp``: finish times of the partitions, so a new run is read)."""
    return rankings(store_dir, metric, pair=pair, departements=list(departements) or None,
                    n=ALL_ROWS, ascending=ascending, min_population=min_population)


def _param(key: str, default: str) -> str:
    return str(st.query_params.get(key, default))


def _init(key: str, value: object) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def _run_batch(store_dir: str) -> None:
    """Run the national batch for every département of the store, with a progress bar."""
    bar = st.progress(0.0, text="Calcul des résultats nationaux…")
    with dask_client(n_workers=1, processes=False, dashboard_address=None) as client:
        report = shared.run_safely(run_flows, store_dir, None, client=client,
                                   progress=lambda f, msg: bar.progress(f, text=f"Calcul… {msg}"))
    if report is None:
        return
    for failed in report.by_status("failed"):
        st.error(f"Échec du département {failed.key.departement} ({failed.key.pair}) : "
                 f"{failed.reason}")
    cached_rankings.clear()
    st.rerun()


def _no_results(store_dir: str) -> None:
    st.warning("Aucun résultat national dans la base : les classements se lisent dans les "
               "résultats du calcul national (toutes les communes, une fois pour toutes). "
               "Lancez-le en ligne de commande :")
    st.code(f"python -m ocsge_engine batch flows --store {store_dir}", language="bash")
    if st.button("Calculer maintenant pour les départements de la base", key="classements_run"):
        _run_batch(store_dir)


def _controls(pairs: list[str], departements: list[str]) -> tuple[str, str, tuple[str, ...], int, int, bool]:
    metric_param = _param("metrique", RANKING_METRICS[0])
    _init("classements_metric", metric_param if metric_param in RANKING_METRICS else RANKING_METRICS[0])
    years = shared.years()
    default_pair = f"{years[0]}_{years[1]}" if years and f"{years[0]}_{years[1]}" in pairs else pairs[-1]
    _init("classements_pair", _param("paire", default_pair) if _param("paire", "") in pairs else default_pair)
    if "deps" in st.query_params:
        wanted = [d for d in _param("deps", "").split(",") if d in departements]
    else:  # a useful default: the current territory's département(s)
        territory = shared.run_safely(shared.cached_territory, shared.territory_id())
        wanted = [d for d in (territory.departements if territory else ()) if d in departements]
    _init("classements_deps", wanted)
    popmin = _param("popmin", "0")
    _init("classements_popmin", int(popmin) if popmin.isdigit() else 0)
    top = _param("n", "20")
    _init("classements_n", min(100, max(5, int(top))) if top.isdigit() else 20)
    _init("classements_asc", _param("ordre", "desc") == "asc")
    cols = st.columns([3, 1, 2])
    metric = cols[0].selectbox("Indicateur", list(RANKING_METRICS), format_func=metric_label,
                               key="classements_metric")
    pair = cols[1].selectbox("Période", pairs, format_func=lambda p: p.replace("_", " → "),
                             key="classements_pair")
    deps = cols[2].multiselect("Départements", departements, key="classements_deps",
                               placeholder="Tous les départements",
                               format_func=lambda d: f"Département {d}")
    cols = st.columns([2, 2, 1])
    min_pop = cols[0].number_input("Population minimale", min_value=0, step=500,
                                   key="classements_popmin")
    n = cols[1].slider("Nombre de communes affichées", 5, 100, key="classements_n")
    ascending = cols[2].toggle("Plus faibles d'abord", key="classements_asc")
    st.query_params.update({"metrique": metric, "paire": pair, "deps": ",".join(deps),
                            "popmin": str(int(min_pop)), "n": str(n),
                            "ordre": "asc" if ascending else "desc"})
    return metric, pair, tuple(deps), int(min_pop), int(n), bool(ascending)


def main() -> None:
    """Render the page."""
    st.title("Classements nationaux")
    shared.synthetic_banner()
    store = shared.get_store()
    store_dir = str(store.path)
    status = national_status(store_dir)
    ok = status[status["ok"]] if not status.empty else status
    if ok.empty:
        _no_results(store_dir)
        return
    stale = partition_freshness(store)
    stale = stale[stale["state"] != "ok"]
    if not stale.empty:
        st.warning("Résultats nationaux anciens pour "
                   + ", ".join(f"D{r.departement} {r.pair.replace('_', '-')}" for r in stale.itertuples())
                   + f" (la base a changé) : relancez « python -m ocsge_engine batch flows --store "
                   f"{store_dir} ».")
    metric, pair, deps, min_pop, n, ascending = _controls(
        sorted(set(ok["pair"])), sorted(set(ok["departement"])))
    stamp = tuple(str(v) for v in ok["finished_at"])
    full = shared.run_safely(cached_rankings, store_dir, metric, pair, deps, min_pop, ascending, stamp)
    if full is None:
        return
    if full.empty:
        st.info("Aucune commune ne répond à ces critères (indicateur non défini, population ou "
                "couverture insuffisante).")
        return
    shown = full.head(n)
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    code = territory.code if territory is not None and territory.kind == "commune" else None
    if code is not None and code in set(full["commune"]):
        rank = int(full.loc[full["commune"] == code, "rank"].iloc[0])
        st.markdown(f"**{territory.name}** est au rang **{rank}** sur {len(full)} communes classées.")
    elif code is not None:
        st.caption(f"{territory.name} n'est pas classée ici : valeur non définie (par exemple "
                   "population en baisse) ou critères non remplis.")
    show_fig(ranking_figure(shown, metric, code), f"classement_{metric}_{pair}", shown,
             key="classements_fig")
    columns = [c for c in COLUMNS if c != metric]  # the value column already holds it
    # the value column takes the metric's name, so that its unit (ha, m²/hab, %) is known
    show_table(shown.drop(columns=[metric], errors="ignore").rename(columns={"value": metric}),
               {c: COLUMNS[c].split(" (")[0] for c in columns if c != "value"}
               | {metric: metric_label(metric).split(" (")[0]}, key="classements_table")
    st.caption(f"{len(full)} communes classées, millésimes {pair.replace('_', ' → ')} ; "
               "communes couvertes à 99,9 % au moins par les données, valeurs non définies "
               "(pas de croissance démographique…) exclues. Calcul national du "
               f"{max(stamp)[:10]}.")


main()
