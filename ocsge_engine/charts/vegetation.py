"""Charts of the vegetation figures: stocks per class, gains and losses, Sankey, neighbours.

Inputs are :class:`~ocsge_engine.indicators.vegetation.VegetationResult` objects (and the
comparison table of :func:`~ocsge_engine.indicators.vegetation.vegetation_comparison`); every
chart names the synthetic background when the data is the demo's.
"""

from __future__ import annotations

import logging

import pandas as pd
import plotly.graph_objects as go

from ocsge_engine import fmt
from ocsge_engine.charts.style import class_color, class_label, finish_layout, rgba
from ocsge_engine.indicators.vegetation import (
    CLASS_COLORS,
    CLASS_LABELS,
    LEAF_CLASSES,
    URBAN_NATURE,
    VegetationResult,
)

logger = logging.getLogger(__name__)

SYNTHETIC_CHART_NOTE = ("Démonstration : fond synthétique (stocks simulés), "
                        "changements réels OCS GE.")
GAIN_COLOR = "#1A9850"
LOSS_COLOR = "#D73027"


def group_label(code: str) -> str:
    """French label of a Sankey group: a vegetation class, else a CS code's label.

    >>> group_label("tree"), group_label("CS1.1")
    ('Couvert arboré', 'Surfaces anthropisées')
    """
    if code in CLASS_LABELS:
        return fmt_capital(CLASS_LABELS[code])
    return class_label(code)


def group_color(code: str) -> str:
    """Colour of a Sankey group (vegetation classes: their own; CS codes: official)."""
    return CLASS_COLORS.get(code) or class_color(code)


def fmt_capital(text: str) -> str:
    """Capitalise the first letter only.

    >>> fmt_capital("couvert arboré")
    'Couvert arboré'
    """
    return text[:1].upper() + text[1:]


def _titled(title: str, synthetic: bool) -> str:
    """Title with the synthetic note as a subtitle (a note under the axes would hide the ticks)."""
    return f"{title}<br><sup>{SYNTHETIC_CHART_NOTE}</sup>" if synthetic else title


def stock_bars(result: VegetationResult, title: str | None = None) -> go.Figure:
    """Grouped bars: the stock (ha) of each vegetation class at both millésimes.

    The first millésime is drawn lighter; hover gives hectares and the share of the covered area.
    """
    table = result.stocks_table()
    fig = go.Figure()
    years = [y for y in (result.year_from, result.year_to)]
    for k, year in enumerate(years):
        rows = table[table["year"] == year] if year is not None else table.iloc[k::2]
        fig.add_bar(
            name=str(year) if year is not None else ("avant", "après")[k],
            x=[fmt_capital(label) for label in rows["label"]], y=rows["area_ha"].to_numpy(),
            marker={"color": [CLASS_COLORS[c] for c in rows["class"]],
                    "line": {"width": 1, "color": "#333"}},
            opacity=1.0 if k == len(years) - 1 else 0.45,
            customdata=[f"{fmt.hectares(a)} ({fmt.percent(s)} du territoire couvert)"
                        for a, s in zip(rows["area_ha"], rows["share"])],
            hovertemplate=f"{year} · %{{x}}<br>%{{customdata}}<extra></extra>")
    fig.update_layout(barmode="group", yaxis_title="hectares", showlegend=True)
    span = " et ".join(str(y) for y in years if y is not None)
    return finish_layout(fig, _titled(title or f"Surfaces végétalisées par classe, {span}",
                                      result.synthetic), "cs")


def change_bars(result: VegetationResult, title: str | None = None) -> go.Figure:
    """Horizontal bars per class (leaves, all vegetation, nature in town): gains, losses, net."""
    table = result.changes_table()
    labels = [fmt_capital(label) for label in table["label"]]
    fig = go.Figure()
    for column, name, color, sign in (("gain_ha", "Gains", GAIN_COLOR, 1),
                                      ("loss_ha", "Pertes", LOSS_COLOR, -1)):
        values = sign * table[column].to_numpy(dtype=float)
        fig.add_bar(name=name, y=labels, x=values, orientation="h", marker_color=color,
                    customdata=[fmt.hectares(v) for v in table[column]],
                    hovertemplate=f"%{{y}}<br>{name} : %{{customdata}}<extra></extra>")
    fig.add_scatter(name="Solde net", y=labels, x=table["net_ha"], mode="markers",
                    marker={"symbol": "diamond", "size": 11, "color": "#222222"},
                    customdata=[fmt.hectares(v, signed=True) for v in table["net_ha"]],
                    hovertemplate="%{y}<br>Solde net : %{customdata}<extra></extra>")
    fig.update_layout(barmode="relative", yaxis={"autorange": "reversed"})
    span = (f"{result.year_from} → {result.year_to}" if result.year_from
            else "entre les deux millésimes")
    return finish_layout(fig, _titled(title or f"Gains (à droite) et pertes (à gauche) de "
                                      f"végétation, {span}, en hectares", result.synthetic), "cs")


def vegetation_sankey(result: VegetationResult, title: str | None = None) -> go.Figure:
    """Sankey of the changed land with a vegetated side: class at the first → at the second millésime.

    Nodes are the four vegetation classes and, for the non-vegetated side, the CS level-2 groups
    (surfaces anthropisées, surfaces naturelles); unchanged land is left out.
    """
    flows = result.flows[result.flows["area_ha"] > 0]
    y1 = str(result.year_from) if result.year_from else "avant"
    y2 = str(result.year_to) if result.year_to else "après"
    order = [*LEAF_CLASSES, "CS1.1", "CS1.2"]

    def ranked(codes: pd.Series) -> list[str]:
        present = set(codes)
        return [c for c in order if c in present] + sorted(present - set(order))

    left, right = ranked(flows["code_from"]), ranked(flows["code_to"])
    nodes = [("from", c) for c in left] + [("to", c) for c in right]
    index = {node: i for i, node in enumerate(nodes)}
    total = float(flows["area_ha"].sum()) or 1.0
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": [f"{group_label(c)} {y1 if side == 'from' else y2}" for side, c in nodes],
              "color": [group_color(c) for _, c in nodes], "pad": 12, "thickness": 16,
              "line": {"width": 0.5, "color": "#444444"},
              "hovertemplate": "%{label}<br>%{value:,.2f} ha<extra></extra>"},
        link={"source": [index[("from", r.code_from)] for r in flows.itertuples()],
              "target": [index[("to", r.code_to)] for r in flows.itertuples()],
              "value": flows["area_ha"].tolist(),
              "color": [rgba(group_color(r.code_from), 0.45) for r in flows.itertuples()],
              "customdata": [f"{fmt.hectares(r.area_ha)} ({fmt.percent(r.area_ha / total)} des "
                             "changements)" for r in flows.itertuples()],
              "hovertemplate": "%{source.label} → %{target.label}<br>%{customdata}"
                               "<extra></extra>"}))
    note = "Surfaces inchangées masquées."
    if result.synthetic:
        note += " " + SYNTHETIC_CHART_NOTE
    return finish_layout(fig, title or f"D'où vient et où va la végétation, {y1} → {y2}", "cs",
                         note)


def comparison_bars(table: pd.DataFrame, year_to: int, synthetic: bool = False,
                    title: str | None = None) -> go.Figure:
    """Tree-cover and vegetation shares of the territory and its neighbours (second millésime).

    Args:
        table: :func:`~ocsge_engine.indicators.vegetation.vegetation_comparison` output.
        year_to: the millésime of the shares (title).
        synthetic: the shares come from the demo's synthetic background.
        title: French title.
    """
    rows = table[table["available"]]
    names = [f"{r.name} ★" if r.role == "territoire" else str(r.name) for r in rows.itertuples()]
    fig = go.Figure()
    for column, name, color in (("tree_share_to", "Couvert arboré", CLASS_COLORS["tree"]),
                                ("vegetated_share_to", "Toute la végétation",
                                 CLASS_COLORS["vegetated"]),
                                ("urban_nature_share_to", "Nature en ville (part des espaces "
                                 "urbains)", CLASS_COLORS[URBAN_NATURE])):
        values = rows[column].astype(float)
        fig.add_bar(name=name, x=names, y=100 * values, marker_color=color,
                    customdata=[fmt.percent(v) for v in values],
                    hovertemplate=f"%{{x}}<br>{name} : %{{customdata}}<extra></extra>")
    fig.update_layout(barmode="group", yaxis_title=f"% en {year_to}")
    return finish_layout(fig, _titled(title or f"Végétation des communes voisines, {year_to}",
                                      synthetic), "cs")


__all__ = ["GAIN_COLOR", "LOSS_COLOR", "SYNTHETIC_CHART_NOTE", "change_bars", "comparison_bars",
           "group_color", "group_label", "stock_bars", "vegetation_sankey"]
