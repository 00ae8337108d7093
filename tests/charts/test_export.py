"""Static export (PNG/SVG via kaleido + Chromium) and data round trips (CSV, JSON, XLSX)."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from ocsge_engine.charts import (
    ExportError,
    figure_bytes,
    matrix_json,
    matrix_xlsx,
    read_flows_xlsx,
    sankey_figure,
    table_csv,
)
from ocsge_engine.charts.export import PNG_SIGNATURE


def test_png_and_svg_export(matrix_anf, tmp_path):
    fig = sankey_figure(matrix_anf)
    png = figure_bytes(fig, "png", width=800, height=500, scale=1, path=tmp_path / "s.png")
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000
    assert (tmp_path / "s.png").read_bytes() == png
    svg = figure_bytes(fig, "svg", width=800, height=500)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "Agricole 2015" in svg.decode("utf-8")


def test_failed_render_raises_and_writes_nothing(matrix_anf, tmp_path, monkeypatch):
    fig = sankey_figure(matrix_anf)

    def broken(*args, **kwargs):
        raise RuntimeError("no browser")

    monkeypatch.setattr("ocsge_engine.charts.render.render_images", broken)
    with pytest.raises(ExportError, match="no browser") as info:
        figure_bytes(fig, "png", path=tmp_path / "x.png")
    assert "Chromium" in info.value.user_message
    assert list(tmp_path.iterdir()) == []


def test_csv_round_trip(matrix_anf, tmp_path):
    text = table_csv(matrix_anf.table, tmp_path / "flows.csv")
    assert text.splitlines()[0] == "code_from,code_to,area_ha"
    back = pd.read_csv(tmp_path / "flows.csv", dtype={"code_from": object, "code_to": object})
    pd.testing.assert_frame_equal(back, matrix_anf.table, check_exact=False, rtol=1e-12)


def test_xlsx_round_trip(matrix_anf, tmp_path):
    data = matrix_xlsx(matrix_anf, tmp_path / "flows.xlsx")
    pd.testing.assert_frame_equal(read_flows_xlsx(data), matrix_anf.table, check_exact=False,
                                  rtol=1e-12)
    pivot = pd.read_excel(io.BytesIO(data), sheet_name="matrice", index_col=0)
    assert pivot.loc["agricole", "artificialise"] == pytest.approx(2.0)
    stocks = pd.read_excel(tmp_path / "flows.xlsx", sheet_name="stocks", index_col=0)
    assert stocks.loc["forestier", "libelle"] == "Forestier"
    assert stocks.loc["forestier", "stock_from_ha"] == pytest.approx(30.3)


def test_json_record(matrix_anf):
    record = json.loads(matrix_json(matrix_anf, territory="commune:33005"))
    assert (record["year_from"], record["year_to"], record["by"]) == (2015, 2018, "anf")
    flows = pd.DataFrame(record["flows"])
    pd.testing.assert_frame_equal(flows, matrix_anf.table, check_dtype=False)
    assert record["stocks_from"]["agricole"] == pytest.approx(52.0)


def test_source_line_from_outside_is_shown_as_typed() -> None:
    # A source label given to `ingest-conso --source` reaches chart annotations: plotly would
    # render <a>/<img> tags in it, so the text is escaped and reads back literally.
    import plotly.graph_objects as go

    from ocsge_engine.charts.export import with_source

    hostile = '<a href="https://evil.invalid">clic</a> & co'
    text = with_source(go.Figure(), hostile).layout.annotations[-1].text
    assert "<a" not in text and text == ('Source : &lt;a href="https://evil.invalid"&gt;clic'
                                         '&lt;/a&gt; &amp; co')
