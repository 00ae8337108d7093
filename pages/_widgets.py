"""Reusable page widgets: a chart with its downloads (PNG, SVG, CSV, XLSX).

``show_fig(fig, name, data)`` draws a plotly figure and, under it, four download buttons. Files are
made only when the user clicks (``st.download_button`` with a callable), through the engine's
export functions (:mod:`ocsge_engine.charts.export`); rendered images are cached per figure.
CSV and XLSX tables are neutralised first (:mod:`ocsge_engine.io.cells`): a text cell or column
name starting with ``=``, ``+``, ``-``, ``@``, tab or CR cannot run as a spreadsheet formula.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from ocsge_engine.charts.export import figure_bytes, table_csv, with_source, with_source_column
from ocsge_engine.io.cells import neutralise_frame

logger = logging.getLogger("ocsge_app")

MIME = {
    "png": "image/png", "svg": "image/svg+xml", "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3", "html": "text/html", "pdf": "application/pdf",
}


def file_stem(text: str) -> str:
    """A safe ASCII file name stem (``"Flux anf 2015-2018"`` → ``"flux_anf_2015-2018"``)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", text.strip().lower()).strip("_")
    return stem or "export"


@st.cache_data(max_entries=64, show_spinner="Rendu de l'image…")
def figure_file(fig_json: str, fmt: str) -> bytes:
    """PNG or SVG bytes of a figure given as plotly JSON (cached: a figure renders once)."""
    return figure_bytes(pio.from_json(fig_json), fmt)  # type: ignore[arg-type]


def table_xlsx(data: pd.DataFrame) -> bytes:
    """One-sheet Excel workbook of a table (sheet ``donnees``), formulas neutralised."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        neutralise_frame(data).to_excel(writer, sheet_name="donnees", index=False)
    return buffer.getvalue()


def current_source() -> str | None:
    """Provenance line of the selected territory and millésimes (figures layer), if any."""
    from pages import _shared as shared  # _shared does not import this module

    pair = shared.years()
    if pair is None:
        return None
    try:
        figures = shared.cached_figures(shared.territory_id(), pair[0], pair[1],
                                        shared._catalog_stamp())
    except Exception as err:  # noqa: BLE001 - a missing source never hides the chart
        logger.info("no provenance for the chart: %s", err)
        return None
    return figures.provenance.source


def table_csv_safe(data: pd.DataFrame) -> str:
    """CSV text of a table (:func:`table_csv`), formulas neutralised."""
    return table_csv(neutralise_frame(data))


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
    stem = file_stem(name)
    key = key or stem
    source = current_source() if source == "auto" else source
    st.plotly_chart(fig, key=f"{key}_chart")
    if source:
        st.caption(f"Source : {source}")
    fig_json = with_source(fig, source).to_json()
    if data is not None:
        data = with_source_column(data, source)
    buttons: list[tuple[str, str, Callable[[], bytes | str]]] = [
        ("PNG", "png", lambda: figure_file(fig_json, "png")),
        ("SVG", "svg", lambda: figure_file(fig_json, "svg")),
    ]
    if data is not None:
        buttons.append(("CSV", "csv", lambda: table_csv_safe(data)))
        buttons.append(("XLSX", "xlsx", xlsx or (lambda: table_xlsx(data))))
    for column, (label, ext, make) in zip(st.columns(len(buttons) + 2), buttons):
        column.download_button(label, data=make, file_name=f"{stem}.{ext}", mime=MIME[ext],
                               key=f"{key}_{ext}", on_click="ignore", icon=":material/download:")
