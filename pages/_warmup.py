"""Server warm-up: one background thread, started by the first script run of a server process,
imports what the pages import and fills the caches that do not depend on the commune.

A page's first visit on a fresh server otherwise pays the imports of its modules (plotly, folium,
the engine's chart and indicator modules, torch for the model behind Prédire) and the tables shared
by every commune (territory list, process table, indicators of every commune of the store,
population table); after the warm-up it pays only its commune's own figures.

The thread never blocks or fails the app: each step runs on its own, an exception is logged (in
English) and the next step runs; nothing is written to a session. A page that asks for a value
the warm-up is computing waits for it (Streamlit's caches take one lock per entry) instead of
computing it twice.

It starts after the first page of the process: ``app.py`` and that page have imported the
engine's core by then (``pages/_shared.py`` imports ``ocsge_engine.indicators`` and
``ocsge_engine.portrait``, which import each other), so the thread does not race a page on a
circular import.

``OCSGE_WARMUP=0`` turns it off (the tests set it: an AppTest run must not start threads and
Chromium); it is on by default.
"""

from __future__ import annotations

import ast
import gc
import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st

logger = logging.getLogger("ocsge_app.warmup")

ENV = "OCSGE_WARMUP"
THREAD_NAME = "ocsge-warmup"
PAGES_DIR = Path(__file__).resolve().parent
# Never imported by the warm-up thread: the app's own pages, Streamlit, and component packages.
# streamlit_folium declares its component when imported; declared outside a script run, the
# map iframe of Signaler and Contour then waited 60 s before drawing (measured in the browser).
NOT_IMPORTED = frozenset({"pages", "streamlit", "streamlit_folium", "__future__"})
# Imported instead by a thread that carries the first script run's context, so that their
# components are registered (0.2 s: Streamlit walks every loaded module to name a component).
COMPONENT_MODULES = ("streamlit_folium",)
# imported by the pages only inside functions, or heavy and needed at the first use of a feature
EXTRA_MODULES = ("scipy.signal", "scipy.ndimage", "ocsge_engine.inference.fallback")
# heaviest, only needed to run a model: imported when one is installed (available_models)
MODEL_MODULES = ("torch", "ocsge_engine.inference.model")


class _NoContextNotice(logging.Filter):
    """Drop Streamlit's « missing ScriptRunContext » notice for this thread (it has no session on
    purpose: cached functions called from it show no spinner and write nothing to a page)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD_NAME


logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
    _NoContextNotice())


def enabled() -> bool:
    """Whether the warm-up runs (``OCSGE_WARMUP`` unset, or anything but 0/false/no/off)."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def start() -> threading.Thread | None:
    """Start the warm-up once per server process (no-op when disabled); never raises."""
    if not enabled():
        return None
    try:
        return _start_once()
    except Exception as err:  # noqa: BLE001 - the warm-up must never break a page
        logger.warning("warm-up not started: %s: %s", type(err).__name__, err)
        return None


@st.cache_resource(show_spinner=False)
def _start_once() -> threading.Thread:
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    components = threading.Thread(target=_import_components, daemon=True,
                                  name=f"{THREAD_NAME}-components")
    # the context only lets declare_component register; these imports make no Streamlit call
    add_script_run_ctx(components, get_script_run_ctx())
    components.start()
    thread = threading.Thread(target=run, name=THREAD_NAME, daemon=True)
    thread.start()
    return thread


def _import_components() -> None:
    t = time.perf_counter()
    _import_all(COMPONENT_MODULES)
    logger.info("warm-up: components imported in %.1f s (%s)", time.perf_counter() - t,
                ", ".join(m for m in COMPONENT_MODULES if m in sys.modules))


def page_modules() -> list[str]:
    """Modules the pages import at their top level (but those of :data:`NOT_IMPORTED`)."""
    found: dict[str, None] = {}
    for path in sorted(PAGES_DIR.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError) as err:
            logger.warning("warm-up cannot read %s: %s", path.name, err)
            continue
        for node in tree.body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module
                     and not node.level else [])
            for name in names:
                if name.split(".")[0] not in NOT_IMPORTED:
                    found[name] = None
    return list(found)


def steps() -> list[tuple[str, Callable[[], object]]]:
    """The warm-up steps, in order: page scripts and imports, shared tables, torch (when a model
    is installed), Chromium last (its start-up takes seconds of CPU: the thread waits for it)."""
    return [
        ("page scripts", _compile_pages),
        ("page imports", lambda: _import_all([*page_modules(), *EXTRA_MODULES])),
        ("territory list", _territory_list),
        ("process table", _process_table),
        ("population table", _population),
        ("communes indicators", _communes_indicators),
        ("chart types", _chart_types),
        ("model imports", _model_imports),
        ("chart renderer", _chart_renderer),
    ]


def run() -> dict[str, float]:
    """Run every step (errors logged and skipped); return the seconds of the steps that ran."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    for name, step in steps():
        t = time.perf_counter()
        try:
            step()
        except Exception as err:  # noqa: BLE001 - a failed step is skipped, the app is unaffected
            logger.warning("warm-up step %r failed: %s: %s", name, type(err).__name__, err)
            continue
        timings[name] = time.perf_counter() - t
    freeze_heap()
    logger.info("warm-up done in %.1f s (%s)", time.perf_counter() - t0,
                ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return timings


def freeze_heap() -> None:
    """Move every object alive now (modules, tables, caches) out of the garbage collector's reach.

    Streamlit's collection after each run is off (``runner.postScriptGC``); Python's own full
    collections then walk only the objects made since, not the millions the imports left
    (0.1-0.3 s a pause on this machine). Frozen objects are still freed by reference counting.
    """
    gc.collect()
    gc.freeze()


def _import_all(modules: list[str] | tuple[str, ...]) -> None:
    """Import each module; a package that imports its names on first use (PEP 562
    ``__getattr__``, e.g. :mod:`ocsge_engine.maps`) gets every name of its ``__all__`` resolved,
    so that the warm-up still loads what the pages will take from it (folium, leafmap)."""
    for name in modules:
        try:
            module = importlib.import_module(name)
            if "__getattr__" in vars(module):
                for attr in getattr(module, "__all__", ()):
                    getattr(module, attr)
        except Exception as err:  # noqa: BLE001 - an optional module (torch) may be absent
            logger.info("warm-up: import %s failed: %s: %s", name, type(err).__name__, err)


def _compile_pages() -> None:
    """Compile the page scripts into the server's script cache (Streamlit compiles a page at its
    first visit, after rewriting it for « magic »: 0.1-0.3 s a page)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    # private attribute: a Streamlit without it skips the step (AppTest has its own caches)
    cache = getattr(Runtime.instance(), "_script_cache", None) if Runtime.exists() else None
    if not isinstance(cache, ScriptCache):
        return
    for path in sorted(PAGES_DIR.glob("*.py")):
        if not path.name.startswith("_"):
            cache.get_bytecode(str(path))


def _model_imports() -> None:
    """Import torch when a trained model is installed (Prédire can run it): the first prediction
    then starts at once. Without weights, torch would only cost memory (≈ 0.4 GB) and double the
    objects the garbage collector walks on every full collection."""
    from ocsge_engine.inference.ondemand import available_models

    if available_models():
        _import_all(MODEL_MODULES)
    else:
        logger.info("warm-up: no trained model installed, torch not imported")


def _default_pair() -> tuple[str, tuple[int, int] | None]:
    from pages import _shared as shared

    years = shared.cached_millesimes(shared.DEFAULT_TERRITORY)
    return shared.DEFAULT_TERRITORY, (years[0], years[-1]) if len(years) >= 2 else None


def _territory_list() -> None:
    from pages import _shared as shared

    shared.cached_territory_options()
    shared.cached_catalog()
    _default_pair()


def _process_table() -> None:
    from ocsge_engine.flows.processes import default_process_table

    default_process_table()


def _population() -> None:
    from ocsge_engine.indicators.local_data import population_table
    from pages import _shared as shared

    population_table(shared.cached_territory(shared.DEFAULT_TERRITORY))


def _communes_indicators() -> None:
    from pages import _shared as shared

    _, pair = _default_pair()
    if pair is not None:
        shared.cached_communes_indicators(*pair)


def _chart_types() -> None:
    """Build and serialise one figure of each trace type the pages draw (plotly's validators
    and templates are loaded on first use)."""
    import plotly.graph_objects as go

    for trace in (go.Bar(x=[1], y=[1]), go.Scatter(x=[1], y=[1]), go.Heatmap(z=[[1]]),
                  go.Sankey(node={"label": ["a", "b"]}, link={"source": [0], "target": [1],
                                                              "value": [1]}),
                  go.Pie(values=[1]), go.Treemap(labels=["a"], parents=[""])):
        go.Figure(trace).to_json()


def _chart_renderer() -> None:
    """Start the warm Chromium of the chart exports and wait until it is ready (a missing or
    broken browser is logged here; the exports then say why at their first image)."""
    from ocsge_engine.charts import render

    if not hasattr(render, "prewarm"):
        return
    render.prewarm()  # starts Chromium in the renderer's own thread, never raises
    ready = getattr(render.renderer(), "ready", None)
    if ready is not None:
        ready.result(timeout=getattr(render, "START_TIMEOUT_S", 120.0))
