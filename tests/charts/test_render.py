"""The warm renderer: a batch gives the images that one render at a time gives, in order."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import plotly.graph_objects as go
import pytest

from ocsge_engine.charts import sankey_figure, stock_donut
from ocsge_engine.charts.export import PNG_SIGNATURE, figure_bytes, figures_bytes
from ocsge_engine.charts.render import ImageJob

def _svg_tree(data: bytes) -> tuple:
    """The SVG as a comparable tree: plotly's random figure uid (in ids) replaced by ``UID``,
    attributes as sorted pairs (plotly writes the same attributes in either order, depending
    on whether an element was measured before)."""
    text = data.decode("utf-8")
    uid = re.search(r'id="defs-([0-9a-f]+)"', text)
    assert uid, "plotly SVG without its defs id"

    def tree(node: ET.Element) -> tuple:
        return (node.tag, tuple(sorted(node.attrib.items())), (node.text or "").strip(),
                tuple(tree(child) for child in node))

    return tree(ET.fromstring(text.replace(uid.group(1), "UID")))


def _figures(matrix_anf) -> list[go.Figure]:
    bars = go.Figure(go.Bar(x=["Agricole", "Forestier"], y=[52.0, 30.3]))
    return [sankey_figure(matrix_anf), stock_donut(matrix_anf.stocks_from, "anf", 2015), bars]


def test_a_batch_equals_single_renders(matrix_anf):
    figures = _figures(matrix_anf)
    jobs = [ImageJob(fig, fmt, 700, 400, 1.0) for fig in figures for fmt in ("png", "svg")]
    batch = figures_bytes(jobs)
    assert len(batch) == len(jobs)
    for job, data in zip(jobs, batch):
        single = figure_bytes(job.fig, job.fmt, job.width, job.height, job.scale)
        if job.fmt == "png":
            assert data.startswith(PNG_SIGNATURE)
            assert data == single  # PNG rendering is deterministic: same pixels, same bytes
        else:
            assert _svg_tree(data) == _svg_tree(single)


def test_batch_order_and_sizes(matrix_anf):
    """Each image answers its own job: PNG width/height are the job's CSS size x scale."""
    figures = _figures(matrix_anf)
    sizes = [(300, 200, 1.0), (640, 480, 2.0), (500, 250, 1.5)]
    jobs = [ImageJob(fig, "png", w, h, s) for fig, (w, h, s) in zip(figures, sizes)]
    for (w, h, s), data in zip(sizes, figures_bytes(jobs)):
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (int(w * s), int(h * s))


def test_empty_batch_starts_nothing():
    assert figures_bytes([]) == []


def test_unknown_format_is_refused(matrix_anf):
    with pytest.raises(ValueError, match="png or svg"):
        figures_bytes([ImageJob(sankey_figure(matrix_anf), "jpeg")])  # type: ignore[arg-type]
