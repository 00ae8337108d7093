"""Sankey, heat map, stock and net-flux charts: values, labels, colours, grouping."""

from __future__ import annotations

import pytest

from ocsge_engine.charts import (
    grouped_flows,
    matrix_heatmap,
    net_flux_bars,
    sankey_figure,
    stock_bars,
    stock_donut,
)
from ocsge_engine.charts.style import figure_notes, fr_ha
from ocsge_engine.nomenclature import FAMILY_COLORS


def links(fig):
    sk = fig.data[0]
    labels = [label.split(" · ")[0] for label in sk.node.label]  # « Agricole 2015 · 52,0 ha »
    return {(labels[s], labels[t]): v for s, t, v in zip(sk.link.source, sk.link.target, sk.link.value)}


def test_sankey_single_stage(matrix_anf):
    fig = sankey_figure(matrix_anf)
    got = links(fig)
    assert got[("Agricole 2015", "Artificialisé 2018")] == pytest.approx(2.0)
    assert got[("Agricole 2015", "Agricole 2018")] == pytest.approx(50.0)
    assert got[("Naturel 2015", "Artificialisé 2018")] == pytest.approx(0.2)
    assert sum(got.values()) == pytest.approx(100.0)
    sk = fig.data[0]
    # each node shows its area without hovering (sum of its outgoing links at the start)
    agricole = sum(v for (src, _), v in got.items() if src == "Agricole 2015")
    assert f"Agricole 2015 · {fr_ha(agricole)}" in sk.node.label
    colours = dict(zip((lb.split(" · ")[0] for lb in sk.node.label), sk.node.color))
    assert colours["Agricole 2015"] == FAMILY_COLORS["agricole"]
    assert colours["Artificialisé 2018"] == FAMILY_COLORS["artificialise"]
    # Hover: hectares in French format and shares of the class and of the territory.
    detail = sk.link.customdata[list(sk.link.value).index(2.0)]
    assert "2,00\u202fha" in detail and "3,8\u202f% de la classe de départ" in detail
    assert "2,0\u202f% du territoire" in detail
    notes = " ".join(figure_notes(fig))  # shown in a caption / under the title of exports
    assert "estimation" in notes
    # years first, one short line: a 390 px phone shows it whole (it used to end « … : 2015 »)
    assert fig.layout.title.text == "Flux 2015 → 2018 : familles (estimation)"


def test_sankey_groups_small_flows(matrix_anf):
    fig = sankey_figure(matrix_anf, min_flow_ha=0.5)
    got = links(fig)
    assert got[("Forestier 2015", "Autres flux 2018")] == pytest.approx(0.3)
    assert got[("Naturel 2015", "Autres flux 2018")] == pytest.approx(0.2)
    assert ("Naturel 2015", "Artificialisé 2018") not in got
    assert got[("Agricole 2015", "Artificialisé 2018")] == pytest.approx(2.0)  # above threshold
    assert sum(got.values()) == pytest.approx(100.0)
    detail = [d for d in fig.data[0].link.customdata
              if d.startswith("Naturel 2015 → Autres flux 2018") and "→ Artificialisé" in d]
    assert detail and "0,20\u202fha" in detail[0]


def test_grouped_flows_never_groups_the_diagonal(matrix_anf):
    flows = grouped_flows(matrix_anf.table, min_flow_ha=1000.0)
    diagonal = flows[flows["code_from"] == flows["code_to"]]
    assert diagonal["area_ha"].sum() == pytest.approx(97.5)
    assert flows.loc[flows["code_to"] == "autres_flux", "n_grouped"].sum() == 3


def test_sankey_hides_unchanged(matrix_anf):
    fig = sankey_figure(matrix_anf, hide_unchanged=True)
    got = links(fig)
    assert sum(got.values()) == pytest.approx(2.5)
    assert all(a.split()[0] != b.split()[0] for a, b in got)
    assert any("inchangés masqués" in n for n in figure_notes(fig))


def test_multi_stage_sankey(chain_anf):
    fig = sankey_figure(chain_anf)
    got = links(fig)
    assert got[("Agricole 2015", "Artificialisé 2018")] == pytest.approx(2.0)
    assert got[("Agricole 2018", "Artificialisé 2021")] == pytest.approx(4.0)
    assert got[("Artificialisé 2018", "Agricole 2021")] == pytest.approx(1.0)
    assert sum(got.values()) == pytest.approx(200.0)
    assert "2015 → 2018 → 2021" in fig.layout.title.text
    with pytest.raises(ValueError, match="do not chain"):
        sankey_figure([chain_anf[1], chain_anf[0]])


def test_heatmap_cells(matrix_anf):
    fig = matrix_heatmap(matrix_anf)
    hm = fig.data[0]
    assert list(hm.y) == ["Artificialisé", "Agricole", "Forestier", "Naturel"]
    assert list(hm.x) == list(hm.y)
    assert hm.text[1][0] == "2,00\u202fha"  # agricole -> artificialise
    assert hm.text[1][1] == "50,0\u202fha"
    assert hm.text[0][1] == ""  # no flow
    hidden = matrix_heatmap(matrix_anf, hide_unchanged=True).data[0]
    assert hidden.text[1][1] == "" and hidden.text[1][0] == "2,00\u202fha"


def test_stock_and_net_charts(chain_anf):
    first, second = chain_anf
    bars = stock_bars({2015: first.stocks_from, 2018: first.stocks_to, 2021: second.stocks_to}, "anf")
    assert [t.name for t in bars.data] == ["2015", "2018", "2021"]
    assert list(bars.data[0].y) == pytest.approx([10.0, 52.0, 30.3, 7.7])
    assert list(bars.data[2].y) == pytest.approx([15.2, 47.3, 30.0, 7.5])
    donut = stock_donut(first.stocks_to, "anf", 2018)
    assert dict(zip(donut.data[0].labels, donut.data[0].values)) == pytest.approx(
        {"Artificialisé": 12.2, "Agricole": 50.3, "Forestier": 30.0, "Naturel": 7.5})
    net = net_flux_bars(first)
    assert dict(zip(net.data[0].y, net.data[0].x)) == pytest.approx(
        {"Artificialisé": 2.2, "Agricole": -1.7, "Forestier": -0.3, "Naturel": -0.2})
    assert first.net().to_dict() == pytest.approx((first.stocks_to - first.stocks_from).to_dict())
