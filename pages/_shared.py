"""App-side helpers shared by every page: cached engine calls, the territory state, error display.

This is the only app-side module that knows about caching. Cache keys are small hashables
(territory ids, years, level names), never GeoDataFrames.
"""

from __future__ import annotations

import functools
import inspect
import logging
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ocsge_engine import fmt
from ocsge_engine.config import get_settings
from ocsge_engine.errors import OcsgeError
from ocsge_engine.portrait import Figure, PortraitFigures, portrait_figures
from ocsge_engine.store import Store
from ocsge_engine.territories import (
    Territory, get_territory, is_web_territory_id, search_territories,
)

logger = logging.getLogger("ocsge_app")

APP_PATH = Path(__file__).resolve().parent.parent / "app.py"
DEFAULT_TERRITORY = "commune:33529"  # La Teste-de-Buch, largest demo commune
SYNTHETIC_NOTICE = (
    "Données de démonstration : **fond synthétique, changements réels OCS GE** (SYBARVAL "
    "2015 → 2018). Sont réels : les polygones de changement 2015 → 2018 et leurs codes CS/US "
    "publiés par l'IGN. Sont synthétiques : tout le fond inchangé (couverture et usage hors "
    "changements). Tous les chiffres affichés (stocks, artificialisation selon le décret et ses "
    "seuils, ratios par habitant, étalement) sont **calculés** sur ce mélange : ce ne sont pas "
    "les chiffres officiels de ces communes."
)
COVERAGE_PAGES = frozenset({"portrait", "flux", "cartes", "artificialisation", "processus",
                            "comparer", "vegetation", "zonage"})


def ensure_frame() -> None:
    """Run the page inside the ``app.py`` frame (sidebar, navigation, URL parameters).

    Streamlit serves the first session of a fresh server in its legacy multipage mode, because the
    ``pages/`` folder sits next to ``app.py``: a deep link such as ``/cartes`` would then run the
    page script alone. Every page calls this first; when ``app.py`` is not on the call stack, it
    runs ``app.py`` (whose ``st.navigation`` runs this page again, framed) and stops this run.
    """
    if _app_on_stack():
        return
    logger.info("page run outside the app frame; running app.py")
    runpy.run_path(str(APP_PATH), run_name="__main__")
    st.stop()


def _app_on_stack() -> bool:
    """Whether ``app.py`` is running below this call (walks the frames, reads no source).

    ``inspect.stack()`` would read every frame's source lines, about 0.05-0.1 s per page run.
    """
    frame = inspect.currentframe()
    while frame is not None:
        if _is_app_file(frame.f_code.co_filename):
            return True
        frame = frame.f_back
    return False


@functools.lru_cache(maxsize=256)
def _is_app_file(filename: str) -> bool:
    return Path(filename).resolve() == APP_PATH


@st.cache_resource
def get_store() -> Store:
    """One Store per process (it opens a DuckDB connection per query)."""
    return Store.open(get_settings().store_dir)


@st.cache_data(max_entries=64)
def cached_territory(territory_id: str) -> Territory:
    """Territory by id, cached (raises TerritoryNotFoundError).

    ``polygon:FILE`` ids are refused: a URL never makes the server read a file; custom contours
    are named by their opaque ``contour:<id>``.
    """
    return get_territory(territory_id, allow_files=False)


@st.cache_data(max_entries=256)
def cached_search(text: str) -> pd.DataFrame:
    """Territory search results, cached."""
    return search_territories(text, limit=30)


def catalog_stamp() -> tuple[int, ...]:
    """Changes whenever the catalogue changes (an ingest): part of the keys of the caches below."""
    return get_store().stamp()


@st.cache_resource
def _last_stamp() -> dict[str, tuple[int, ...] | None]:
    """The catalogue stamp this server last ran a page with (one holder per process)."""
    return {"stamp": None}


def drop_stale_caches() -> None:
    """Clear every page's data cache when the catalogue changed since the last run.

    Page caches are keyed on the territory and the millésimes, most of them not on the
    catalogue: after an ingest that replaces a partition (a corrected delivery, ``--force``), a
    running server would keep showing the old matrices and maps. A stat of the catalogue per
    run; the caches are rebuilt on demand.
    """
    holder, stamp = _last_stamp(), catalog_stamp()
    if holder["stamp"] is not None and holder["stamp"] != stamp:
        logger.info("store catalogue changed: page caches cleared")
        st.cache_data.clear()
    holder["stamp"] = stamp


@st.cache_data(max_entries=4)
def cached_territory_options() -> dict[str, str]:
    """``{id: label}`` of the communes with a contour, their EPCI and départements, for the
    sidebar's searchable list (a label holds the name and the code: « Arcachon · 33009 »)."""
    from ocsge_engine.territories import communes_table

    communes = communes_table()
    communes = communes[communes["has_geometry"]].sort_values("name")
    options = {f"commune:{r.code}": f"{r.name} · {r.code}" for r in communes.itertuples()}
    epci = communes.dropna(subset=["siren_epci"]).drop_duplicates("siren_epci")
    options |= {f"epci:{r.siren_epci}": f"{r.nom_epci} · EPCI {r.siren_epci}"
                for r in epci.sort_values("nom_epci").itertuples()}
    for code in sorted(communes["departement"].unique()):
        found = search_territories(code, limit=5)
        row = found[(found["kind"] == "departement") & (found["code"] == code)]
        name = row["name"].iloc[0] if len(row) else code
        options[f"departement:{code}"] = f"{name} · département {code}"
    return options


def cached_catalog() -> pd.DataFrame:
    """The store catalogue (a new ingest is seen on the next rerun)."""
    return _catalog(catalog_stamp())


@st.cache_data(max_entries=8)
def _catalog(stamp: tuple[int, ...]) -> pd.DataFrame:
    return get_store().catalog()


def cached_millesimes(territory_id: str) -> list[int]:
    """Millésimes of OCCUPATION_SOL available for a territory (fresh after an ingest)."""
    return _millesimes(territory_id, catalog_stamp())


@st.cache_data(max_entries=128)
def _millesimes(territory_id: str, stamp: tuple[int, ...]) -> list[int]:
    return [int(y) for y in get_store().millesimes(cached_territory(territory_id))]


def run_safely(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any | None:
    """Call ``func``; on :class:`OcsgeError` show its French message, log it, return ``None``."""
    try:
        return func(*args, **kwargs)
    except OcsgeError as err:
        logger.warning("user error in %s: %s", getattr(func, "__name__", func), err)
        st.error(err.user_message)
        return None


def territory_id() -> str:
    """The selected territory id (kept in the URL query parameters); never a file path."""
    chosen = str(st.session_state.get("territory_id", DEFAULT_TERRITORY))
    return chosen if is_web_territory_id(chosen) else DEFAULT_TERRITORY


def years() -> tuple[int, int] | None:
    """The selected (from, to) millésimes, or None when fewer than two exist."""
    pair = st.session_state.get("years")
    return tuple(pair) if pair else None  # type: ignore[return-value]


def synthetic_banner() -> None:
    """Say, on every view of the demo, that its background is synthetic."""
    catalog = cached_catalog()
    if not catalog.empty and bool(catalog["synthetic"].any()):
        st.info(SYNTHETIC_NOTICE, icon="🧪")


@st.cache_data(max_entries=256, show_spinner=False)
def cached_coverage(territory_id: str, year_from: int, year_to: int,
                    stamp: tuple[int, ...] = ()) -> float:
    """Lowest share of the territory covered by OCCUPATION_SOL at the two millésimes (0..1).

    A commune precomputed by the national batch (or an EPCI made of such communes) answers from
    its precomputed figures (the figures layer's ``coverage``: same definition, covered area /
    territory area capped at 1, on the same clipped polygons) instead of clipping both
    millésimes again.
    """
    from ocsge_engine.batch.pages import precomputed_figures

    territory = cached_territory(territory_id)
    store = get_store()
    stored = precomputed_figures(store, territory, year_from, year_to)
    if stored is not None:
        return float(min(stored.coverage.values()))
    try:
        return min(float(store.coverage(territory, y).share) for y in (year_from, year_to))
    except OcsgeError as err:  # a millésime absent for the territory: not covered
        logger.info("coverage of %s: %s", territory_id, err)
        return 0.0


def coverage_guard(url_path: str) -> None:
    """No data, no figure: stop a territory page for a territory the store does not cover.

    A partially covered territory gets one prominent warning with the share; its pages then
    show figures on the covered part only (the figures layer withholds per-inhabitant ratios).
    """
    if url_path not in COVERAGE_PAGES:
        return
    territory = run_safely(cached_territory, territory_id())
    if territory is None:
        st.stop()
    pair = years()
    if pair is None:
        st.title(territory.name)
        st.warning(f"**Territoire non couvert** : {territory.name} n'a pas deux millésimes "
                   "OCS GE dans les données chargées. Aucun chiffre n'est affiché.", icon="🚫")
        st.stop()
    share = cached_coverage(territory.id, pair[0], pair[1], catalog_stamp())
    if share <= 0.0005:
        st.title(territory.name)
        st.warning(f"**Territoire non couvert** : {territory.name} n'est pas couvert par "
                   f"l'OCS GE chargée pour {pair[0]} et {pair[1]}. Aucun chiffre n'est affiché "
                   "(ce n'est pas un zéro). Choisissez un territoire couvert dans la barre "
                   "latérale.", icon="🚫")
        st.stop()
    if share < 0.999:
        st.warning(f"**Couverture partielle** : l'OCS GE chargée ne couvre que "
                   f"{fmt.percent(share)} de {territory.name}. Les chiffres portent sur la "
                   "partie couverte seulement ; les ratios par habitant ne sont pas calculés.",
                   icon="⚠️")


@st.cache_resource(max_entries=128, show_spinner="Calcul des chiffres du territoire…")
def cached_figures(territory_id: str, year_from: int, year_to: int,
                   stamp: tuple[int, ...] = ()) -> PortraitFigures:
    """The figures layer of a territory and a pair (every page reads its headline figures here).

    A shared, read-only object (``cache_resource``): ``cache_data`` would unpickle it, with its
    flux geometries, on every call (0.05-0.1 s each, six times on a page of charts).
    """
    return portrait_figures(get_store(), cached_territory(territory_id), year_from, year_to)


@st.cache_data(max_entries=32, show_spinner="Calcul des flux…")
def cached_couple_matrix(territory_id: str, year_from: int, year_to: int) -> Any:
    """CS×US exchange matrix of a pair (the finest level; Flux regroups it to every level,
    Processus aggregates it into processes), one cache for both pages.

    Read from the national batch when it is fresh (a commune's row, an EPCI's sum of its
    communes'), else computed: :func:`ocsge_engine.batch.pages.couple_matrix`.
    """
    from ocsge_engine.batch.pages import couple_matrix

    return couple_matrix(get_store(), cached_territory(territory_id), year_from, year_to)


def figures(territory_id: str, year_from: int, year_to: int) -> PortraitFigures | None:
    """:func:`cached_figures` keyed on the catalogue stamp; French error shown on failure."""
    return run_safely(cached_figures, territory_id, year_from, year_to, catalog_stamp())


def metric(column: Any, figure: Figure, signed: bool = False, label: str | None = None) -> None:
    """A Streamlit metric from a figure: French value with unit, reason as help when missing."""
    help_text = figure.source_line()
    if not figure.available and figure.missing:
        help_text = f"{figure.missing}. {help_text}"
    column.metric(label or figure.label, figure.display(signed), help=help_text)
    if not figure.available and figure.missing:
        column.caption(f"— {figure.missing}")


def cached_communes_indicators(year_from: int, year_to: int) -> pd.DataFrame:
    """Indicators of every commune fully covered by the store (Croiser), computed once for all
    sessions per catalogue stamp (renewed after an ingest); the server warm-up fills it."""
    return _communes_indicators(year_from, year_to, catalog_stamp())


@st.cache_data(max_entries=8, show_spinner="Calcul des indicateurs de chaque commune de la base…")
def _communes_indicators(year_from: int, year_to: int, stamp: tuple[int, ...]) -> pd.DataFrame:
    from ocsge_engine.batch.figures import communes_indicators  # national results when fresh

    return communes_indicators(get_store(), year_from, year_to)
