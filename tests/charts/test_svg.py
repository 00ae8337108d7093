"""Static SVG views of the charts (``ocsge_engine.charts.svg``): drawn to scale from the very
figure the interactive chart and the exports use, French tooltips, hostile text escaped, and
``None`` (the interactive chart) for what it does not draw.

Expected numbers are hand-computed (bars of 10 and 30, a donut of 1 + 3) or read from the
figure itself (the view must show the figure's values, each mark its own).
"""

from __future__ import annotations

import base64
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from ocsge_engine.charts.sankey import sankey_figure
from ocsge_engine.charts.svg import MAX_HEATMAP_CELLS, figure_img, figure_svg, hover_text
from ocsge_engine.flows import exchange_matrix
from ocsge_engine.store import Store

SVG_NS = "{http://www.w3.org/2000/svg}"
NNBSP = "\u202f"


def _svg(fig: go.Figure) -> ET.Element:
    """The view parsed as XML: every view must be well-formed (escaped text included)."""
    document = figure_svg(fig)
    assert document is not None
    svg = ET.fromstring(document)
    assert svg.tag == f"{SVG_NS}svg" and svg.get("class") == "ocsge-chart"
    return svg


def _marks(svg: ET.Element, tag: str, css: str) -> list[ET.Element]:
    return [e for e in svg.iter(f"{SVG_NS}{tag}") if e.get("class") == css]


def _tip(element: ET.Element) -> str:
    title = element.find(f"{SVG_NS}title")
    return title.text or "" if title is not None else ""


def test_bars_are_drawn_to_scale_from_zero() -> None:
    fig = go.Figure(go.Bar(x=["a", "b"], y=[10.0, 30.0], marker={"color": ["#E6004D", "#333"]}))
    bars = _marks(_svg(fig), "rect", "bar")
    assert [float(b.get("data-value")) for b in bars] == [10.0, 30.0]
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] / heights[0] == pytest.approx(3.0, rel=1e-3)  # 30 / 10
    bottoms = [float(b.get("y")) + float(b.get("height")) for b in bars]
    assert bottoms[0] == pytest.approx(bottoms[1], abs=0.02)  # both start at 0
    assert [b.get("fill") for b in bars] == ["#E6004D", "#333"]


def test_relative_bars_put_losses_left_of_zero_and_gains_right() -> None:
    """The layout of ``flux_bars``: gains (+4) and losses (−1) of one class meet at zero."""
    fig = go.Figure()
    fig.add_bar(y=["Zones bâties"], x=[4.0], orientation="h", name="Artificialisation")
    fig.add_bar(y=["Zones bâties"], x=[-1.0], orientation="h", name="Désartificialisation")
    fig.update_layout(barmode="relative")
    gain, loss = _marks(_svg(fig), "rect", "bar")
    assert float(loss.get("x")) + float(loss.get("width")) == pytest.approx(
        float(gain.get("x")), abs=0.02)
    assert float(gain.get("width")) / float(loss.get("width")) == pytest.approx(4.0, rel=1e-3)


def test_donut_slices_and_french_percentages() -> None:
    fig = go.Figure(go.Pie(labels=["Artificialisé", "Naturel"], values=[1.0, 3.0], hole=0.55,
                           sort=False, texttemplate="%{percent:.1%}",
                           hovertemplate="%{label}<br>%{percent}<extra></extra>"))
    svg = _svg(fig)
    slices = [p for p in svg.iter(f"{SVG_NS}path") if p.get("data-label")]
    assert [p.get("data-label") for p in slices] == ["Artificialisé", "Naturel"]
    assert [_tip(p) for p in slices] == [f"Artificialisé\n25,0{NNBSP}%", f"Naturel\n75,0{NNBSP}%"]
    texts = [t.text for t in svg.iter(f"{SVG_NS}text")]
    assert f"25,0{NNBSP}%" in texts and f"75,0{NNBSP}%" in texts  # 1 / 4 and 3 / 4


def test_hover_templates_are_evaluated_in_french() -> None:
    point = {"x": 1234.5, "y": "Bâti", "customdata": ["12,0 ha", "3,0 ha"], "percent": 0.1234,
             "source.label": "Naturel 2015", "target.label": "Artificialisé 2018"}
    assert hover_text("%{y}<br>%{x:,.2f} ha<extra></extra>", point) == f"Bâti\n1{NNBSP}234,50 ha"
    assert hover_text("solde : %{customdata[1]}", point) == "solde : 3,0 ha"
    assert hover_text("%{percent:.1%}", point) == f"12,3{NNBSP}%"
    assert hover_text("%{source.label} → %{target.label}", point) == \
        "Naturel 2015 → Artificialisé 2018"
    assert hover_text("%{x}", {"x": 2018}) == "2018"  # a year has no thousands separator
    assert hover_text("%{missing}", {}) == "—"


def test_year_axis_and_french_value_ticks() -> None:
    fig = go.Figure(go.Bar(x=[2015, 2016, 2017], y=[12_000.0, 12_500.0, 9_000.0]))
    texts = {t.text for t in _svg(fig).iter(f"{SVG_NS}text")}
    assert {"2015", "2016", "2017"} <= texts
    assert f"12{NNBSP}000" in texts or f"12{NNBSP}500" in texts
    assert not any(t and re.fullmatch(r"\d+\.\d+", t) for t in texts)  # no English decimals


def test_sankey_keeps_every_flow_of_the_real_changes(demo_store_dir: Path) -> None:
    """La Teste-de-Buch, 2015 → 2018 (real OCS GE change polygons), CS level 2, changes only:
    each link of the figure is one band, its width proportional to its area, its tooltip the
    figure's own (origin → destination, then the area)."""
    matrix = exchange_matrix(Store.open(demo_store_dir), "commune:33529", 2015, 2018, by="cs2")
    fig = sankey_figure(matrix, hide_unchanged=True)
    link = fig.data[0].link
    svg = _svg(fig)
    bands = _marks(svg, "path", "sankey-link")
    assert len(bands) == len(link.value) > 3
    by_pair = {(int(b.get("data-source")), int(b.get("data-target"))): b for b in bands}
    heights = []
    for s, t, v, custom in zip(link.source, link.target, link.value, link.customdata):
        band = by_pair[(s, t)]
        assert float(band.get("data-value")) == v
        assert _tip(band) == custom.replace("<br>", "\n")
        y = [float(n) for n in re.findall(r"-?\d+\.\d+", band.get("d"))]
        # M xa ya C … xb yb L xb yb+h …: the band's height at its target
        heights.append((y[9] - y[7], v))
    scale = max(heights, key=lambda hv: hv[1])
    for h, v in heights:  # one scale for every band (coordinates written to 0,01 px)
        assert h == pytest.approx(v * scale[0] / scale[1], abs=0.011)
    assert math.fsum(float(b.get("data-value")) for b in bands) == pytest.approx(
        math.fsum(link.value), rel=1e-12)
    labels = [t.text for t in svg.iter(f"{SVG_NS}text") if t.get("class") == "node-label"]
    assert sorted(labels) == sorted(fig.data[0].node.label)


def test_heatmap_cells_with_their_text() -> None:
    fig = go.Figure(go.Heatmap(z=[[1.0, np.nan], [2.0, 4.0]], x=["A", "B"], y=["C", "D"],
                               text=[["1,0 ha", ""], ["2,0 ha", "4,0 ha"]],
                               texttemplate="%{text}", colorscale="YlOrRd", showscale=False))
    svg = _svg(fig)
    cells = _marks(svg, "rect", "cell")
    assert [float(c.get("data-value")) for c in cells] == [1.0, 2.0, 4.0]  # the empty cell: none
    assert cells[0].get("fill") != cells[2].get("fill")  # min and max of the scale
    texts = [t.text for t in svg.iter(f"{SVG_NS}text")]
    assert {"1,0 ha", "2,0 ha", "4,0 ha"} <= set(texts)


def test_hostile_labels_are_text() -> None:
    hostile = '<script>alert(1)</script>" onmouseover="x'
    fig = go.Figure(go.Bar(x=[hostile, "b"], y=[1.0, 2.0], name=hostile,
                           hovertemplate="%{x}<extra></extra>"))
    fig.update_layout(title={"text": hostile})
    document = figure_svg(fig)
    assert document is not None
    assert "<script" not in document and 'onmouseover="' not in document
    svg = _svg(fig)
    # the text survives as text (its tags dropped as plotly's rich text drops them, the rest kept)
    assert any(t.text and 'onmouseover="x' in t.text for t in svg.iter(f"{SVG_NS}text"))


def test_page_view_is_one_line_image_of_the_svg() -> None:
    """The page's fragment: an <img> whose data: URI decodes to the SVG, one line of HTML (a
    markdown block ends at a blank line) with no data text outside the base64."""
    hostile = "<b>Zones</b>\n\n<script>x</script>"
    fig = go.Figure(go.Bar(x=[hostile], y=[1.0]))
    fig.update_layout(title={"text": "Surfaces"})
    fragment = figure_img(fig)
    assert fragment is not None and "\n" not in fragment and "<script" not in fragment
    root = ET.fromstring(fragment)
    img = root.find("img")
    assert img is not None and img.get("alt") == "Surfaces" and img.get("data-kind") == "xy"
    prefix = "data:image/svg+xml;base64,"
    assert img.get("src", "").startswith(prefix)
    assert base64.b64decode(img.get("src")[len(prefix):]).decode() == figure_svg(fig)


def test_panels_side_by_side_and_a_second_axis() -> None:
    """Comparer's two panels (make_subplots, one row) and Croiser's population bars with the
    density on a second axis: each value on its own axis."""
    panels = make_subplots(rows=1, cols=2, subplot_titles=["par ha", "par habitant"])
    panels.add_bar(row=1, col=1, orientation="h", y=["A", "B"], x=[10.0, 20.0])
    panels.add_bar(row=1, col=2, orientation="h", y=["A", "B"], x=[300.0, 100.0])
    svg = _svg(panels)
    bars = _marks(svg, "rect", "bar")
    assert [float(b.get("data-value")) for b in bars] == [10.0, 20.0, 300.0, 100.0]
    # each panel has its own scale: 20 is twice 10, 300 three times 100
    widths = [float(b.get("width")) for b in bars]
    assert widths[1] / widths[0] == pytest.approx(2.0, rel=1e-3)
    assert widths[2] / widths[3] == pytest.approx(3.0, rel=1e-3)
    assert float(bars[2].get("x")) > float(bars[0].get("x")) + float(bars[0].get("width"))
    texts = [t.text for t in svg.iter(f"{SVG_NS}text")]
    assert "par ha" in texts and "par habitant" in texts

    two_axes = make_subplots(specs=[[{"secondary_y": True}]])
    two_axes.add_bar(x=["2019", "2020"], y=[10_000.0, 12_000.0], name="Population")
    two_axes.add_scatter(x=["2019", "2020"], y=[1.5, 1.0], name="Densité", secondary_y=True)
    svg = _svg(two_axes)
    points = _marks(svg, "circle", "point")
    assert [float(p.get("data-value")) for p in points] == [1.5, 1.0]
    # on its own axis: the density 1,5 is drawn above 1,0, though far below the bars' scale
    assert float(points[0].get("cy")) < float(points[1].get("cy"))
    bars = _marks(svg, "rect", "bar")
    assert float(bars[1].get("height")) / float(bars[0].get("height")) == pytest.approx(
        1.2, rel=1e-3)  # 12 000 / 10 000, from zero


def test_what_it_does_not_draw_stays_interactive() -> None:
    two_rows = make_subplots(rows=2, cols=1)
    two_rows.add_bar(row=1, col=1, x=["a"], y=[1.0])
    two_rows.add_bar(row=2, col=1, x=["a"], y=[2.0])
    bars_on_second_axis = make_subplots(specs=[[{"secondary_y": True}]])
    bars_on_second_axis.add_bar(x=["a"], y=[1.0])
    bars_on_second_axis.add_bar(x=["a"], y=[2.0], secondary_y=True)
    area = go.Figure(go.Scatter(x=[0, 1, 0], y=[0, 0, 1], fill="toself"))
    side = int(math.isqrt(MAX_HEATMAP_CELLS)) + 1
    raster = go.Figure(go.Heatmap(z=np.ones((side, side))))
    treemap = go.Figure(go.Treemap(labels=["a"], parents=[""], values=[1]))
    empty_pie = go.Figure(go.Pie(labels=["a"], values=[0.0]))
    for fig in (two_rows, bars_on_second_axis, area, raster, treemap, empty_pie, go.Figure()):
        assert figure_svg(fig) is None and figure_img(fig) is None
