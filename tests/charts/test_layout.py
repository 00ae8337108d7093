"""Charts that survive layout: no category label cut in an exported PNG, notes out of titles,
a French reduced plotly toolbar."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from PIL import Image

from ocsge_engine.charts.export import figure_bytes
from ocsge_engine.charts.indicators import flux_bars
from ocsge_engine.charts.style import PLOTLY_CONFIG, figure_notes, with_notes
from ocsge_engine.indicators.artif import FluxResult

WIDTH, HEIGHT = 700, 450  # a half-width chart of a 1 440 px screen, as Artificialisation had
# Long CS labels: the 4th is the longest label of the nomenclature (84 characters).
CODES = ["CS1.1.1.1", "CS1.1.1.2", "CS2.2.1", "CS2.1.2"]


def _flux_cs() -> go.Figure:
    """Artificialisation by CS (the chart whose exported PNG showed « aux », « ties »)."""
    by_cs = pd.DataFrame({"code": CODES, "gain_ha": [3.2, 1.1, 0.4, 0.2],
                          "loss_ha": [0.1, 0.0, 0.3, 0.0]})
    by_cs["net_ha"] = by_cs["gain_ha"] - by_cs["loss_ha"]
    result = FluxResult(kind="artif", method="decree_matrix", year_from=2015, year_to=2018,
                        stock_from_ha=100.0, stock_to_ha=104.5, gross_gain_ha=4.9,
                        gross_loss_ha=0.4, raw_gain_ha=4.9, raw_loss_ha=0.4, by_cs=by_cs,
                        by_us=by_cs.iloc[:0], stock_by_cs=pd.Series(dtype=float),
                        stock_by_us=pd.Series(dtype=float))
    return flux_bars(result, "cs")


def _pixels(fig: go.Figure) -> np.ndarray:
    png = figure_bytes(fig, "png", width=WIDTH, height=HEIGHT, scale=1)
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.int16)


def _label_ink(fig: go.Figure) -> tuple[np.ndarray, int]:
    """Pixels drawn by the y tick labels (render with, minus render without them) and their ink.

    The labels are made transparent in the second render: tick label sizes, hence the layout,
    are the same, so the difference is exactly the category labels.
    """
    hidden = go.Figure(fig).update_yaxes(tickfont_color="rgba(0,0,0,0)")
    diff = np.abs(_pixels(fig) - _pixels(hidden)) > 40
    return diff, int(diff.sum())


def test_exported_png_keeps_every_category_label_whole() -> None:
    fig = with_notes(_flux_cs(), WIDTH)  # what a page's PNG button exports
    diff, ink = _label_ink(fig)
    assert ink > 500, "no label drawn"
    rows, cols = np.nonzero(diff)
    # every label pixel lies inside the image, none touches its left or right edge
    assert cols.min() > 2 and cols.max() < WIDTH - 3, (cols.min(), cols.max())
    assert rows.min() > 2 and rows.max() < HEIGHT - 3
    # and no label is cut: the same labels with 600 px of room draw the same ink (± anti-aliasing)
    roomy = go.Figure(fig).update_layout(margin_l=600, width=None)
    _, roomy_ink = _label_ink(roomy)
    assert ink == pytest.approx(roomy_ink, rel=0.03)


def test_notes_are_a_caption_not_part_of_the_title() -> None:
    fig = _flux_cs()
    notes = figure_notes(fig)
    assert any(n.startswith("Méthode : matrice du décret") for n in notes)
    assert "Méthode" not in fig.layout.title.text and not fig.layout.annotations
    exported = with_notes(fig, 1100)
    assert "Méthode : matrice du décret" in exported.layout.title.subtitle.text
    assert exported.layout.margin.t > fig.layout.margin.t  # room for the notes, above the plot
    assert fig.layout.xaxis.exponentformat == "none"  # « 25 000 », never « 25k »
    assert fig.layout.separators == ",\u202f"


def test_plotly_config_is_french_and_reduced() -> None:
    assert PLOTLY_CONFIG["locale"] == "fr" and PLOTLY_CONFIG["displaylogo"] is False
    fr = PLOTLY_CONFIG["locales"]["fr"]
    assert fr["dictionary"]["Autoscale"] == "Échelle automatique"
    assert fr["format"]["decimal"] == ","
    assert "toImage" in PLOTLY_CONFIG["modeBarButtonsToRemove"]  # the page has PNG/SVG buttons
