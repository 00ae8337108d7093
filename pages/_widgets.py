"""Reusable page widgets: a chart with its downloads (PNG, SVG, CSV, XLSX), a French table.

``show_fig(fig, name, data)`` draws a figure, its notes in a caption and, under it, four download
buttons and a « Graphique interactif » toggle. The figure is drawn first as a static SVG made by
the engine from the same plotly figure (:func:`draw_chart`): a page opens without plotly.js; the
toggle draws the interactive plotly chart (French locale, reduced toolbar). Files are made only
when the user clicks (``st.download_button`` with a callable), through the engine's export
functions (:mod:`ocsge_engine.charts.export`); rendered images are cached per figure.
``show_table`` shows a table formatted by :func:`ocsge_engine.fmt.french_table` (French headers
with units, comma decimals, « — » for missing values).
CSV and XLSX tables are neutralised first (:mod:`ocsge_engine.io.cells`): a text cell or column
name starting with ``=``, ``+``, ``-``, ``@``, tab or CR cannot run as a spreadsheet formula.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from ocsge_engine.charts.export import (
    figure_bytes,
    french_csv,
    french_xlsx,
    table_csv,
    with_source,
    with_source_column,
)
from ocsge_engine.charts.style import PLOTLY_CONFIG, figure_notes, with_notes
from ocsge_engine.charts.svg import figure_img
from ocsge_engine.fmt import french_table, markdown_text
from ocsge_engine.io.cells import neutralise_frame
from pages import _shared as shared

logger = logging.getLogger("ocsge_app")

MIME = {
    "png": "image/png", "svg": "image/svg+xml", "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3", "html": "text/html", "pdf": "application/pdf",
}


def file_stem(text: str) -> str:
    """A safe ASCII file name stem (``"Flux anf 2015-2018"`` → ``"flux_anf_2015-2018"``).

    Accents are dropped, not the letters (``"Lège-Cap-Ferret"`` → ``"lege-cap-ferret"``).
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_text.strip().lower()).strip("_")
    return stem or "export"


def upload_limit(engine_max_bytes: int) -> str:
    """The true upload limit, in French: the lower of the engine's and Streamlit's
    (``server.maxUploadSize``, in MB), e.g. « ≤ 20 Mo ». Streamlit's own English limit line is
    hidden (``app.py``), so this is the one place the user reads it."""
    server_mb = int(st.get_option("server.maxUploadSize"))
    return f"≤ {min(engine_max_bytes // (1024 * 1024), server_mb)} Mo"


def territory_stem(stem: str) -> str:
    """``stem`` naming the selected territory: its name is added unless the stem has it or its code.

    Every downloaded file says which territory it is about (``flux_cs_2015-2018_arcachon``).
    """
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    if territory is None:
        return stem
    name = file_stem(territory.name)
    return stem if name in stem or territory.code in stem else f"{stem}_{name}"


@st.cache_data(max_entries=64, show_spinner="Rendu de l'image…")
def figure_file(fig_json: str, fmt: str) -> bytes:
    """PNG or SVG bytes of a figure given as plotly JSON (cached: a figure renders once)."""
    fig = pio.from_json(fig_json)
    # a figure that sets its own height (a fine-level Sankey) is exported at that height
    height = int(fig.layout.height) if fig.layout.height else 650
    return figure_bytes(with_notes(fig), fmt, height=height)  # type: ignore[arg-type]


def table_xlsx(data: pd.DataFrame) -> bytes:
    """One-sheet Excel workbook of a table (sheet ``donnees``), formulas neutralised."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        neutralise_frame(data).to_excel(writer, sheet_name="donnees", index=False)
    return buffer.getvalue()


def show_table(table: pd.DataFrame, columns: Sequence[str] | Mapping[str, str] | None = None, *,
               key: str, height: int | Literal["auto"] = "auto") -> None:
    """Show a table in French: headers with units, comma decimals, « — » for missing values.

    Args:
        table: raw table (``gross_gain_ha``, ``rule``…).
        columns: raw columns to show, in order, or ``{raw: French label}`` (units are added).
        key: widget key.
        height: table height in pixels.
    """
    st.dataframe(french_table(table, columns), hide_index=True, key=key, height=height)


def current_source() -> str | None:
    """Provenance line of the selected territory and millésimes (figures layer), if any."""
    pair = shared.years()
    if pair is None:
        return None
    try:
        figures = shared.cached_figures(shared.territory_id(), pair[0], pair[1],
                                        shared.catalog_stamp())
    except Exception as err:  # noqa: BLE001 - a missing source never hides the chart
        logger.info("no provenance for the chart: %s", err)
        return None
    return figures.provenance.source


def table_csv_safe(data: pd.DataFrame) -> str:
    """CSV text of a table (:func:`table_csv`), formulas neutralised."""
    return table_csv(neutralise_frame(data))


def lazy_expander(label: str, key: str) -> st.delta_generator.DeltaGenerator | None:
    """A collapsed expander whose content is built and sent only once the user opens it.

    Returns the expander to fill (``with box:``) while it is open, else ``None``: a closed
    section costs neither the server's run nor the browser's drawing (a reference table on a
    page full of charts), and opening it reruns the page with it open.
    """
    box = st.expander(label, key=key, on_change="rerun")
    return box if box.open else None


INTERACTIVE_ALL = "charts_interactive"  # session key: every chart drawn interactive at once


def interactive_key(key: str) -> str:
    """Session key of the « Graphique interactif » toggle of the chart ``key``."""
    return f"{key}_interactive"


def draw_chart(fig: go.Figure, key: str, where: st.delta_generator.DeltaGenerator | None = None
               ) -> bool:
    """Draw ``fig``: its static SVG view first (:mod:`ocsge_engine.charts.svg`), the interactive
    plotly chart once asked (the chart's toggle, or :data:`INTERACTIVE_ALL` for the session).

    The static view is what makes a page open fast: the browser draws one image, without
    evaluating plotly.js and laying the chart out with it. It is drawn from the same figure, so
    numbers, labels and colours are the interactive chart's; hover and zoom are the toggle's.
    Returns whether the static view can be drawn (the page then offers the toggle); a figure it
    does not support is always interactive.
    """
    target = where if where is not None else st
    wanted = bool(st.session_state.get(INTERACTIVE_ALL)
                  or st.session_state.get(interactive_key(key)))
    img = figure_img(fig)
    if img is None or wanted:
        target.plotly_chart(fig, key=f"{key}_chart", config=PLOTLY_CONFIG)
    else:
        # an <img> of the SVG (data: URI, base64): st.html's sanitiser drops SVG and data:
        # images; markdown keeps this one line of HTML, in which no data text is left
        target.markdown(img, unsafe_allow_html=True)
    return img is not None


def show_fig(fig: go.Figure, name: str, data: pd.DataFrame | None = None, *,
             xlsx: Callable[[], bytes] | None = None, key: str | None = None,
             source: str | None = "auto") -> None:
    """Draw a figure with download buttons: PNG and SVG images, its data as CSV and XLSX.

    Args:
        fig: the plotly figure.
        name: file name stem (made ASCII-safe) and default widget key.
        data: the table behind the figure, offered as CSV/XLSX (omitted when ``None``).
        xlsx: builds a richer workbook than the one-sheet default (e.g.
            :func:`ocsge_engine.charts.export.matrix_xlsx`).
        key: widget key prefix (default: the file stem); make it unique on the page.
        source: provenance line shown under the chart and carried by every export (image
            annotation, ``source`` column); ``"auto"``: the selected territory's OCS GE source.
    """
    key = key or file_stem(name)
    stem = territory_stem(file_stem(name))
    source = current_source() if source == "auto" else source
    static = draw_chart(fig, key)
    notes = figure_notes(fig)
    if notes:
        st.caption(" ".join(notes))
    if source:
        st.caption(f"Source : {markdown_text(source)}")
    # the exports are built when a button is clicked (deferred downloads), not on every run:
    # copying the figure with its source line costs 0.05-0.1 s per chart
    fig_json = functools.cache(lambda: with_source(fig, source).to_json())
    buttons: list[tuple[str, str, Callable[[], bytes | str]]] = [
        ("PNG", "png", lambda: figure_file(fig_json(), "png")),
        ("SVG", "svg", lambda: figure_file(fig_json(), "svg")),
    ]
    if data is not None:
        table = functools.cache(lambda: neutralise_frame(with_source_column(data, source)))
        buttons.append(("CSV", "csv", lambda: french_csv(table())))
        buttons.append(("XLSX", "xlsx", xlsx or (lambda: french_xlsx(table()))))
    # a wrapping row of content-width buttons: labels never shrink to "P…" in a narrow column
    row = st.container(horizontal=True, wrap=True, gap="small")
    for label, ext, make in buttons:
        row.download_button(label, data=make, file_name=f"{stem}.{ext}", mime=MIME[ext],
                            key=f"{key}_{ext}", on_click="ignore", icon=":material/download:")
    if static and not st.session_state.get(INTERACTIVE_ALL):
        row.toggle("Graphique interactif", key=interactive_key(key),
                   help="Survol détaillé, zoom et déplacement dans le graphique.")
