"""Sankey diagram of exchange matrices: one stage per pair of millésimes.

A node is a class at one millésime (« Agricole 2015 »); a link is a flow (ha) between two
consecutive millésimes. Flows under ``min_flow_ha`` are grouped, per source class, into one link
to an « Autres flux » node of the next millésime (their detail stays in its hover), so the first
column keeps its stocks exactly. ``hide_unchanged`` drops the diagonal (land that kept its class).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from ocsge_engine.charts.style import (
    OTHER_FLOWS,
    class_color,
    class_label,
    finish_layout,
    fr_ha,
    fr_percent,
    level_title,
    rgba,
)
from ocsge_engine.flows.levels import class_order
from ocsge_engine.flows.matrix import ExchangeMatrix

logger = logging.getLogger(__name__)

MIN_HEIGHT_PX = 520
NODE_HEIGHT_PX = 26  # vertical room per node of the fullest column: one readable label


@dataclass(frozen=True)
class _Link:
    stage: int
    code_from: str
    code_to: str
    area_ha: float
    detail: str


def grouped_flows(table: pd.DataFrame, min_flow_ha: float = 0.0, hide_unchanged: bool = False
                  ) -> pd.DataFrame:
    """Tidy flows with the small ones grouped into ``autres_flux`` per source class.

    Args:
        table: tidy ``code_from, code_to, area_ha``.
        min_flow_ha: flows strictly below this area (ha) are grouped; the diagonal never is.
        hide_unchanged: drop the diagonal (``code_from == code_to``).

    Returns:
        ``code_from, code_to, area_ha, n_grouped`` (number of flows behind each row).

    >>> t = pd.DataFrame({"code_from": ["a", "a", "a"], "code_to": ["a", "b", "c"],
    ...                   "area_ha": [5.0, 0.2, 0.3]})
    >>> grouped_flows(t, 1.0)[["code_to", "area_ha", "n_grouped"]].values.tolist()
    [['a', 5.0, 1], ['autres_flux', 0.5, 2]]
    """
    flows = table[["code_from", "code_to", "area_ha"]].copy()
    diagonal = flows["code_from"] == flows["code_to"]
    if hide_unchanged:
        flows, diagonal = flows[~diagonal], diagonal[~diagonal]
    small = (flows["area_ha"] < min_flow_ha) & ~diagonal
    kept = flows[~small].assign(n_grouped=1)
    grouped = (flows[small].groupby("code_from", as_index=False, sort=False)
               .agg(area_ha=("area_ha", "sum"), n_grouped=("area_ha", "size"))
               .assign(code_to=OTHER_FLOWS))
    out = pd.concat([kept, grouped[["code_from", "code_to", "area_ha", "n_grouped"]]],
                    ignore_index=True)
    return out[out["area_ha"] > 0].reset_index(drop=True)


def _stage_links(matrix: ExchangeMatrix, stage: int, min_flow_ha: float,
                 hide_unchanged: bool) -> list[_Link]:
    flows = grouped_flows(matrix.table, min_flow_ha, hide_unchanged)
    total = float(matrix.stocks_from.sum()) or 1.0
    small = matrix.table[(matrix.table["area_ha"] < min_flow_ha)
                         & (matrix.table["code_from"] != matrix.table["code_to"])]
    links = []
    for row in flows.itertuples():
        stock = float(matrix.stocks_from.get(row.code_from, 0.0)) or 1.0
        detail = (f"{fr_ha(row.area_ha)}<br>{fr_percent(row.area_ha / stock)} de la classe de "
                  f"départ<br>{fr_percent(row.area_ha / total)} du territoire")
        if row.code_to == OTHER_FLOWS:
            parts = small[small["code_from"] == row.code_from].nlargest(8, "area_ha")
            detail += "<br>" + "<br>".join(f"→ {class_label(r.code_to)} : {fr_ha(r.area_ha)}"
                                           for r in parts.itertuples())
        links.append(_Link(stage, row.code_from, row.code_to, float(row.area_ha), detail))
    return links


def sankey_figure(matrices: ExchangeMatrix | Sequence[ExchangeMatrix], min_flow_ha: float = 0.0,
                  hide_unchanged: bool = False, title: str | None = None) -> go.Figure:
    """Sankey of one exchange matrix, or a multi-stage Sankey of a chain of matrices.

    Args:
        matrices: one matrix, or consecutive matrices (``exchange_chain``) of the same level.
        min_flow_ha: flows below this area (ha) are grouped into « Autres flux ».
        hide_unchanged: hide the diagonal flows (land that kept its class).
        title: figure title (French); a default names the level and the millésimes.

    Returns:
        A plotly figure: official colours, French labels, hectares and percentages in hover;
        for ``by="anf"`` a note says the A/N/F split is an estimate.

    Raises:
        ValueError: no matrix, mixed levels, or matrices that do not chain.
    """
    chain = [matrices] if isinstance(matrices, ExchangeMatrix) else list(matrices)
    _validate_chain(chain)
    by = chain[0].by
    years = [chain[0].year_from] + [m.year_to for m in chain]
    links = [link for k, m in enumerate(chain)
             for link in _stage_links(m, k, min_flow_ha, hide_unchanged)]
    nodes = _nodes(links, by)
    index = {key: i for i, key in enumerate(nodes)}
    node_labels = [f"{class_label(code)} {_year(years, stage)}" for stage, code in nodes]
    values = _node_values(links, nodes)
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": node_labels, "color": [class_color(code) for _, code in nodes],
              "pad": 12, "thickness": 16, "line": {"width": 0.5, "color": "#444444"},
              "hovertemplate": "%{label}<extra></extra>"},
        link={"source": [index[(ln.stage, ln.code_from)] for ln in links],
              "target": [index[(ln.stage + 1, ln.code_to)] for ln in links],
              "value": [ln.area_ha for ln in links],
              "color": [rgba(class_color(ln.code_from), 0.45) for ln in links],
              "customdata": [f"{node_labels[index[(ln.stage, ln.code_from)]]} → "
                             f"{node_labels[index[(ln.stage + 1, ln.code_to)]]}<br>{ln.detail}"
                             for ln in links],
              "hovertemplate": "%{customdata}<extra></extra>"},
        # dark text on its light halo: readable over any class colour
        textfont={"color": "#161616", "size": 12},
    ))
    # each node shows its area without hovering: « Agricole 2015 · 50,0 ha »
    fig.data[0].node.label = [f"{label} · {fr_ha(v)}" for label, v in zip(node_labels, values)]
    span = " → ".join(str(y) for y in years)
    # years first, short: the whole title fits a phone's width (« Flux 2015 → 2018 : familles
    # (estimation) », 40 characters; the former « Flux entre millésimes, … : 2015 » was cut there)
    default = f"Flux {span} : {level_title(by)}"
    note = "Flux inchangés masqués." if hide_unchanged else None
    finish_layout(fig, title or default, by, note)
    # fine levels (CS×US: dozens of nodes a column) get the height their labels need
    per_column = max((sum(1 for s, _ in nodes if s == k) for k in {s for s, _ in nodes}),
                     default=0)
    needed = NODE_HEIGHT_PX * per_column + 120
    if needed > MIN_HEIGHT_PX:
        fig.update_layout(height=needed)
    return fig


def _node_values(links: list[_Link], nodes: list[tuple[int, str]]) -> list[float]:
    """Area (ha) of each node: the larger of what flows in and what flows out (plotly's rule)."""
    inflow: dict[tuple[int, str], float] = {}
    outflow: dict[tuple[int, str], float] = {}
    for ln in links:
        outflow[(ln.stage, ln.code_from)] = outflow.get((ln.stage, ln.code_from), 0.0) + ln.area_ha
        key = (ln.stage + 1, ln.code_to)
        inflow[key] = inflow.get(key, 0.0) + ln.area_ha
    return [max(inflow.get(n, 0.0), outflow.get(n, 0.0)) for n in nodes]


def _validate_chain(chain: list[ExchangeMatrix]) -> None:
    if not chain:
        raise ValueError("at least one exchange matrix is needed")
    if len({m.by for m in chain}) > 1:
        raise ValueError(f"matrices of different levels: {sorted({m.by for m in chain})}")
    for a, b in zip(chain, chain[1:]):
        if a.year_to != b.year_from:
            raise ValueError(f"matrices do not chain: {a.year_from}->{a.year_to} then "
                             f"{b.year_from}->{b.year_to}")


def _nodes(links: list[_Link], by: str) -> list[tuple[int, str]]:
    """Nodes ``(stage, code)`` in canonical class order per column, « Autres flux » last."""
    stages: dict[int, set[str]] = {}
    for ln in links:
        stages.setdefault(ln.stage, set()).add(ln.code_from)
        stages.setdefault(ln.stage + 1, set()).add(ln.code_to)
    nodes = []
    for stage in sorted(stages):
        codes = stages[stage] - {OTHER_FLOWS}
        nodes += [(stage, c) for c in class_order(sorted(codes), by)]  # type: ignore[arg-type]
        if OTHER_FLOWS in stages[stage]:
            nodes.append((stage, OTHER_FLOWS))
    return nodes


def _year(years: list[int | None], stage: int) -> str:
    year = years[stage] if stage < len(years) else None
    return "" if year is None else str(year)
