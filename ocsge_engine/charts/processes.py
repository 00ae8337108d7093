"""Charts of land-take processes: a Sankey family → process → family, and bars by process.

Inputs are the tables of :mod:`ocsge_engine.flows.processes` (``process_flows``,
``process_totals``). Areas flagged as likely artefacts (:mod:`ocsge_engine.indicators.pseudo_change`)
are drawn apart, hatched, as « changements à vérifier ».
"""

from __future__ import annotations

import logging

import pandas as pd
import plotly.graph_objects as go

from ocsge_engine import nomenclature as nom
from ocsge_engine.charts.style import class_color, class_label, finish_layout, fr_ha, rgba
from ocsge_engine.flows.processes import ProcessTable, default_process_table

logger = logging.getLogger(__name__)

STABLE = "stable"
TO_CHECK_LABEL = "Changements à vérifier"


def process_sankey(flows: pd.DataFrame, table: ProcessTable | None = None,
                   hide_stable: bool = True, title: str | None = None,
                   year_from: int | None = None, year_to: int | None = None) -> go.Figure:
    """Three-column Sankey: family at the first millésime → process → family at the second.

    Args:
        flows: :func:`ocsge_engine.flows.processes.process_flows` output.
        table: the process table (labels, colours, order); default table if ``None``.
        hide_stable: leave out the ``stable`` process (unchanged land).
        title: French title; a default names the millésimes.
        year_from: first millésime (node labels).
        year_to: second millésime.

    Returns:
        The figure; link values are hectares and sum, per process, to its total.
    """
    table = table or default_process_table()
    data = flows[flows["process"] != STABLE] if hide_stable else flows
    left = data.groupby(["family_from", "process"], as_index=False)["area_ha"].sum()
    right = data.groupby(["process", "family_to"], as_index=False)["area_ha"].sum()
    left, right = left[left["area_ha"] > 0], right[right["area_ha"] > 0]
    suffix_from = f" {year_from}" if year_from else " (avant)"
    suffix_to = f" {year_to}" if year_to else " (après)"
    fams_from = [f for f in nom.FAMILIES if f in set(left["family_from"])]
    procs = [p for p in table.codes if p in set(left["process"])]
    fams_to = [f for f in nom.FAMILIES if f in set(right["family_to"])]
    nodes = ([("from", f) for f in fams_from] + [("proc", p) for p in procs]
             + [("to", f) for f in fams_to])
    index = {node: i for i, node in enumerate(nodes)}
    labels = ([class_label(f) + suffix_from for f in fams_from] + [table.labels[p] for p in procs]
              + [class_label(f) + suffix_to for f in fams_to])
    colors = ([class_color(f) for f in fams_from] + [table.colors[p] for p in procs]
              + [class_color(f) for f in fams_to])
    source = [index[("from", r.family_from)] for r in left.itertuples()]
    source += [index[("proc", r.process)] for r in right.itertuples()]
    target = [index[("proc", r.process)] for r in left.itertuples()]
    target += [index[("to", r.family_to)] for r in right.itertuples()]
    values = list(left["area_ha"]) + list(right["area_ha"])
    link_colors = ([rgba(table.colors[r.process], 0.45) for r in left.itertuples()]
                   + [rgba(table.colors[r.process], 0.45) for r in right.itertuples()])
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": labels, "color": colors, "pad": 12, "thickness": 16,
              "line": {"width": 0.5, "color": "#444444"},
              "hovertemplate": "%{label}<br>%{value:,.2f} ha<extra></extra>"},
        link={"source": source, "target": target, "value": values, "color": link_colors,
              "hovertemplate": "%{source.label} → %{target.label}<br>%{value:,.2f} ha"
                               "<extra></extra>"},
        textfont={"color": "#161616", "size": 12}))  # dark labels: readable contrast
    span = f"{year_from} → {year_to}" if year_from and year_to else "entre les deux millésimes"
    note = "Surfaces inchangées masquées." if hide_stable else None
    return finish_layout(fig, title or f"Processus d'évolution des sols, {span}", "anf", note)


def process_bars(totals: pd.DataFrame, to_check: pd.Series | None = None,
                 table: ProcessTable | None = None, hide_stable: bool = True,
                 title: str | None = None) -> go.Figure:
    """Horizontal bars: area (ha) of each process, with the area « à vérifier » drawn apart.

    Args:
        totals: :func:`ocsge_engine.flows.processes.process_totals` output.
        to_check: area (ha) per process code flagged as a likely artefact (part of the total).
        table: the process table (colours).
        hide_stable: leave out the ``stable`` process.
        title: French title.

    Returns:
        The figure: for each process a solid bar (checked area) and a hatched grey bar
        (area to check); both together make the process total.
    """
    table = table or default_process_table()
    data = totals[totals["process"] != STABLE] if hide_stable else totals
    data = data.iloc[::-1]  # first process of the table on top
    check = (to_check if to_check is not None else pd.Series(dtype=float)).reindex(
        data["process"], fill_value=0.0).to_numpy(dtype=float)
    check = check.clip(0.0, data["area_ha"].to_numpy(dtype=float))
    solid = data["area_ha"].to_numpy(dtype=float) - check
    fig = go.Figure()
    fig.add_bar(y=data["label_fr"], x=solid, orientation="h", name="Changements",
                marker_color=[table.colors.get(p, "#8C8C8C") for p in data["process"]],
                customdata=[fr_ha(v) for v in data["area_ha"]],
                hovertemplate="%{y}<br>%{x:,.2f} ha (total %{customdata})<extra></extra>")
    if check.sum() > 0:
        fig.add_bar(y=data["label_fr"], x=check, orientation="h", name=TO_CHECK_LABEL,
                    marker={"color": "#BDBDBD", "pattern": {"shape": "/"}},
                    hovertemplate="%{y}<br>à vérifier : %{x:,.2f} ha<extra></extra>")
    fig.update_layout(barmode="stack", xaxis_title="Surface (ha)", showlegend=True,
                      legend={"orientation": "h", "y": 1.08, "x": 0})
    return finish_layout(fig, title or "Surface par processus", "process")
