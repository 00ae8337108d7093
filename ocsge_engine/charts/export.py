"""Static export of figures (PNG, SVG via kaleido + Chromium) and of flow data (CSV, JSON, XLSX).

Every function returns the bytes (or text); given a ``path`` it also writes them atomically
(temporary file, then rename), so a failed export never leaves a half-written file.

Kaleido 1.x drives a headless Chromium: it is found through ``BROWSER_PATH``, which defaults here
to ``/usr/bin/chromium`` when that file exists and the variable is unset.
"""

from __future__ import annotations

import html
import io
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from ocsge_engine.errors import ExportError
from ocsge_engine.flows.matrix import TIDY_COLUMNS, ExchangeMatrix
from ocsge_engine.io.atomic import atomic_write_bytes
from ocsge_engine.io.cells import csv_text

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ocsge_engine.charts.render import ImageJob

logger = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def figure_bytes(fig: go.Figure, fmt: Literal["png", "svg"], width: int = 1100,
                 height: int = 650, scale: float = 2.0, path: Path | str | None = None) -> bytes:
    """Render a figure to PNG or SVG with kaleido (the warm renderer, :mod:`.render`).

    Args:
        fig: the plotly figure.
        fmt: ``"png"`` or ``"svg"``.
        width: width in CSS pixels.
        height: height in CSS pixels.
        scale: pixel density of a PNG (2 = sharp on paper and high-DPI screens).
        path: optional file to write atomically.

    Returns:
        The image bytes.

    Raises:
        ExportError: kaleido or Chromium failed.
    """
    from ocsge_engine.charts.render import ImageJob

    data = figures_bytes([ImageJob(fig, fmt, width, height, scale)])[0]
    if path is not None:
        atomic_write_bytes(path, data)
    return data


def figures_bytes(jobs: Sequence[ImageJob]) -> list[bytes]:
    """Render many images at once (concurrently, one warm Chromium), in the order given.

    One call for all the images of an export: the browser's tabs render them in parallel
    (:func:`ocsge_engine.charts.render.render_images`).

    Raises:
        ValueError: a format other than PNG or SVG.
        ExportError: kaleido or Chromium failed.
    """
    from ocsge_engine.charts.render import render_images

    for job in jobs:
        if job.fmt not in ("png", "svg"):
            raise ValueError(f"fmt must be png or svg, got {job.fmt!r}")
    try:
        return render_images(jobs)
    except Exception as err:  # kaleido raises its own exception family (browser, timeout)
        logger.error("static export of %d image(s) failed: %s", len(jobs), err)
        raise ExportError(f"kaleido could not render the images: {err}") from err


def with_source(fig: go.Figure, source: str | None) -> go.Figure:
    """A copy of ``fig`` with a « Source : … » line under the plot (for exported images).

    >>> import plotly.graph_objects as go
    >>> f = with_source(go.Figure(), "IGN, OCS GE 2015 et 2018")
    >>> f.layout.annotations[-1].text
    'Source : IGN, OCS GE 2015 et 2018'
    """
    import plotly.graph_objects as go  # lazily: the flows CLI must not import plotly

    out = go.Figure(fig)
    if not source:
        return out
    bottom = (out.layout.margin.b or 40) + 30
    out.update_layout(margin={"b": bottom})
    # plotly reads tags (<a href>, <img>…) in texts: a label from outside is shown as typed
    out.add_annotation(text=f"Source : {html.escape(str(source), quote=False)}", showarrow=False, x=0, xref="paper",
                       y=0, yref="paper", yshift=-bottom + 8, xanchor="left", yanchor="bottom",
                       font={"size": 10, "color": "#555555"}, align="left")
    return out


def with_source_column(table: pd.DataFrame, source: str | None) -> pd.DataFrame:
    """The table with a constant ``source`` column (CSV/XLSX exports carry their provenance)."""
    if not source:
        return table
    return table.assign(source=source)


def table_csv(table: pd.DataFrame, path: Path | str | None = None) -> str:
    """CSV text of a table (UTF-8, ``.`` decimal, no index); tidy flows keep the contract columns.

    A tidy flow table is written with exactly ``code_from,code_to,area_ha``.
    """
    if set(TIDY_COLUMNS) <= set(table.columns):
        table = table[list(TIDY_COLUMNS)]
    text = csv_text(table)
    if path is not None:
        atomic_write_bytes(path, text.encode("utf-8"))
    return text


# Columns holding nomenclature codes (CS, US, families): exports add a French label next to them.
CODE_COLUMNS: tuple[str, ...] = ("code", "code_from", "code_to", "code_cs", "code_us",
                                 "code_cs_from", "code_cs_to", "code_us_from", "code_us_to",
                                 "famille", "family_from", "family_to", "from_family",
                                 "to_family")


def labelled_codes(table: pd.DataFrame) -> pd.DataFrame:
    """Insert a ``libelle…`` column of French labels after each code column lacking one.

    Codes stay in their own column (for analysts); the label sits next to it.

    >>> labelled_codes(pd.DataFrame({"code": ["CS1.1.1.1"], "area_ha": [1.0]})).columns.tolist()
    ['code', 'libelle', 'area_ha']
    """
    from ocsge_engine.charts.style import class_label

    out = table.copy()
    for name in [c for c in table.columns if c in CODE_COLUMNS]:
        label = "libelle" + name[len("code"):] if name.startswith("code") else f"libelle_{name}"
        if label in out.columns or not out[name].map(lambda v: isinstance(v, str)).any():
            continue
        out.insert(out.columns.get_loc(name) + 1, label,
                   [class_label(v) if isinstance(v, str) else None for v in out[name]])
    return out


def french_csv(table: pd.DataFrame, path: Path | str | None = None) -> bytes:
    """CSV of a table for a spreadsheet user: French headers with units, codes and labels.

    Separator ``;``, decimal comma, UTF-8 with a byte-order mark (what French Excel and
    LibreOffice open without an import dialog); numbers rounded per unit
    (:func:`ocsge_engine.fmt.export_table`). The CLI's machine CSV stays :func:`table_csv`.

    >>> text = french_csv(pd.DataFrame({"code": ["CS1.1.1.1"], "area_ha": [1.234567]}))
    >>> text.decode("utf-8-sig").splitlines()
    ['Code;Libellé;Surface (ha)', 'CS1.1.1.1;Zones bâties;1,2346']
    """
    from ocsge_engine.fmt import export_table

    frame = export_table(labelled_codes(table))
    data = frame.to_csv(index=False, sep=";", decimal=",", lineterminator="\n").encode("utf-8-sig")
    if path is not None:
        atomic_write_bytes(path, data)
    return data


def french_xlsx(table: pd.DataFrame, path: Path | str | None = None) -> bytes:
    """One-sheet Excel workbook (``donnees``) of :func:`french_csv`'s table, numbers as numbers."""
    from ocsge_engine.fmt import export_table

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        export_table(labelled_codes(table)).to_excel(writer, sheet_name="donnees", index=False)
    data = buffer.getvalue()
    if path is not None:
        atomic_write_bytes(path, data)
    return data


def matrix_record(matrix: ExchangeMatrix, territory: str | None = None) -> dict[str, Any]:
    """JSON-ready description of a matrix: metadata, tidy flows, stocks, disagreement.

    Returns:
        ``{"territory", "year_from", "year_to", "by", "source", "flows": [{code_from, code_to,
        area_ha}…], "stocks_from": {class: ha}, "stocks_to": {…}, "max_disagreement_ha"}``.
    """
    return {
        "territory": territory, "year_from": matrix.year_from, "year_to": matrix.year_to,
        "by": matrix.by, "source": matrix.source,
        "flows": [{"code_from": r.code_from, "code_to": r.code_to, "area_ha": float(r.area_ha)}
                  for r in matrix.table.itertuples()],
        "stocks_from": {str(k): float(v) for k, v in matrix.stocks_from.items()},
        "stocks_to": {str(k): float(v) for k, v in matrix.stocks_to.items()},
        "max_disagreement_ha": matrix.max_disagreement_ha(),
    }


def matrix_json(matrix: ExchangeMatrix, territory: str | None = None,
                path: Path | str | None = None) -> str:
    """:func:`matrix_record` as indented JSON text (optionally written atomically)."""
    text = json.dumps(matrix_record(matrix, territory), ensure_ascii=False, indent=2)
    if path is not None:
        atomic_write_bytes(path, text.encode("utf-8"))
    return text


def matrix_xlsx(matrix: ExchangeMatrix, path: Path | str | None = None) -> bytes:
    """Excel workbook: sheets ``flux`` (tidy), ``matrice`` (pivot, ha), ``stocks``, ``desaccord``.

    Codes stay as codes (a ``libelle`` column gives the French label) so that the file reads
    back into the same tidy table.
    """
    from ocsge_engine.charts.style import class_label

    stocks = pd.DataFrame({"stock_from_ha": matrix.stocks_from,
                           "stock_to_ha": matrix.stocks_to}).fillna(0.0)
    stocks.index.name = "code"
    stocks.insert(0, "libelle", [class_label(c) for c in stocks.index])
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        matrix.table[list(TIDY_COLUMNS)].to_excel(writer, sheet_name="flux", index=False)
        matrix.pivot().to_excel(writer, sheet_name="matrice")
        stocks.to_excel(writer, sheet_name="stocks")
        if matrix.disagreement is not None:
            matrix.disagreement.to_excel(writer, sheet_name="desaccord", index=False)
    data = buffer.getvalue()
    if path is not None:
        atomic_write_bytes(path, data)
    return data


def read_flows_xlsx(source: Path | str | bytes) -> pd.DataFrame:
    """Read back the tidy ``flux`` sheet written by :func:`matrix_xlsx`."""
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    table = pd.read_excel(handle, sheet_name="flux", dtype={"code_from": str, "code_to": str})
    return table.astype({"code_from": object, "code_to": object, "area_ha": float})
