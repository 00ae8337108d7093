"""Chart of the territory beside its surroundings: flows per 100 ha of covered area.

Grouped bars, one group per flow (« Naturel → Artificialisé »), one bar per area (territory,
ring, EPCI, département). An area the store covers only in part says so in its legend entry
(« couverture partielle (14,1 %) »): its figures are those of the covered part.
"""

from __future__ import annotations

import logging

import pandas as pd
import plotly.graph_objects as go

from ocsge_engine.charts.style import class_label, finish_layout, fr_percent, level_title
from ocsge_engine.indicators.surroundings import SurroundingsFlows

logger = logging.getLogger(__name__)

UNIT_LABEL = "ha pour 100 ha couverts"
DEFAULT_TOP_FLOWS = 8
ROLE_COLORS: dict[str, str] = {"territoire": "#000091", "couronne": "#6A6AF4",
                               "epci": "#E1000F", "departement": "#929292"}


def area_label(row: pd.Series) -> str:
    """Legend label of an area: its name, and « couverture partielle (x %) » when partial.

    >>> area_label(pd.Series({"name": "Gironde", "complete": False, "coverage_share": 0.1413}))
    'Gironde – couverture partielle (14,1\u202f%)'
    """
    if bool(row["complete"]):
        return str(row["name"])
    if float(row["coverage_share"]) <= 0:
        return f"{row['name']} – non couvert"
    return f"{row['name']} – couverture partielle ({fr_percent(float(row['coverage_share']))})"


def flow_label(code_from: str, code_to: str) -> str:
    """« Naturel → Artificialisé »."""
    return f"{class_label(code_from)} → {class_label(code_to)}"


def top_flows(result: SurroundingsFlows, top: int = DEFAULT_TOP_FLOWS) -> list[tuple[str, str]]:
    """The ``top`` flows with the largest value (ha per 100 ha) in any area, largest first."""
    if result.flows.empty:
        return []
    best = result.flows.groupby(["code_from", "code_to"])["ha_per_100ha"].max()
    ranked = best.reset_index().sort_values(["ha_per_100ha", "code_from", "code_to"],
                                            ascending=[False, True, True], kind="stable")
    return list(zip(ranked["code_from"].head(top), ranked["code_to"].head(top)))


def surroundings_bars(result: SurroundingsFlows, top: int = DEFAULT_TOP_FLOWS,
                      title: str | None = None) -> go.Figure:
    """Grouped bars of the largest flows per 100 ha covered, one bar per area.

    Args:
        result: :func:`ocsge_engine.indicators.surroundings.surroundings_flows` output.
        top: number of flows shown (the largest in any area).
        title: chart title (default: French title with the millésimes).

    Returns:
        A plotly figure: one trace per area (areas order), x = flows, y = ha per 100 ha covered.
    """
    flows = top_flows(result, top)
    labels = [flow_label(a, b) for a, b in flows]
    fig = go.Figure()
    for _, area in result.areas.iterrows():
        mine = result.flows[result.flows["role"] == area["role"]].set_index(
            ["code_from", "code_to"])["ha_per_100ha"]
        values = [float(mine.get(pair, 0.0)) for pair in flows]
        fig.add_bar(x=labels, y=values, name=area_label(area),
                    marker_color=ROLE_COLORS.get(str(area["role"]), "#555555"),
                    hovertemplate="%{x}<br>%{y:.3f} " + UNIT_LABEL + "<extra>%{fullData.name}"
                                  "</extra>")
    fig.update_layout(barmode="group", yaxis_title=UNIT_LABEL.capitalize(),
                      legend={"orientation": "h", "y": -0.25})
    partial = result.areas[~result.areas["complete"].astype(bool)]
    note = ("Couverture partielle : valeurs calculées sur la seule partie couverte par l'OCS GE "
            "de la base." if len(partial) else None)
    return finish_layout(fig, title or f"Flux pour 100 ha couverts, {result.year_from} → "
                                       f"{result.year_to} ({level_title(result.by)})",
                         result.by, note)


def surroundings_table(result: SurroundingsFlows) -> pd.DataFrame:
    """The table behind :func:`surroundings_bars`, with French class labels (for CSV/XLSX)."""
    table = result.table()
    return table.assign(libelle_from=[class_label(c) for c in table["code_from"]],
                        libelle_to=[class_label(c) for c in table["code_to"]])[
        ["role", "territory_id", "name", "code_from", "libelle_from", "code_to", "libelle_to",
         "area_ha", "covered_ha", "territory_ha", "coverage_share", "ha_per_100ha"]]
