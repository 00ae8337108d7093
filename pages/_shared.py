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

from ocsge_engine.config import get_settings
from ocsge_engine.errors import OcsgeError
from ocsge_engine.store import Store
from ocsge_engine.territories import Territory, get_territory, search_territories

logger = logging.getLogger("ocsge_app")

APP_PATH = Path(__file__).resolve().parent.parent / "app.py"
DEFAULT_TERRITORY = "commune:33529"  # La Teste-de-Buch, largest demo commune
SYNTHETIC_NOTICE = (
    "Données de démonstration : **fond synthétique, changements réels OCS GE** "
    "(SYBARVAL 2015 → 2018). Les stocks sont simulés, les flux d'artificialisation sont réels."
)


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
    """Territory by id, cached (raises TerritoryNotFoundError)."""
    return get_territory(territory_id)


@st.cache_data(max_entries=256)
def cached_search(text: str) -> pd.DataFrame:
    """Territory search results, cached."""
    return search_territories(text, limit=30)


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


@st.cache_data(max_entries=64)
def cached_catalog() -> pd.DataFrame:
    """The store catalogue."""
    return get_store().catalog()


@st.cache_data(max_entries=128)
def cached_millesimes(territory_id: str) -> list[int]:
    """Millésimes of OCCUPATION_SOL available for a territory."""
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
    """The selected territory id (kept in the URL query parameters)."""
    return str(st.session_state.get("territory_id", DEFAULT_TERRITORY))


def years() -> tuple[int, int] | None:
    """The selected (from, to) millésimes, or None when fewer than two exist."""
    pair = st.session_state.get("years")
    return tuple(pair) if pair else None  # type: ignore[return-value]


def synthetic_banner() -> None:
    """Say, on every view of the demo, that its background is synthetic."""
    catalog = cached_catalog()
    if not catalog.empty and bool(catalog["synthetic"].any()):
        st.info(SYNTHETIC_NOTICE, icon="🧪")
