"""ZAN charts: the trajectory (yearly consumption, cumulative target, observed and projection),
consumption by destination, and one chart across the 2031 hand-over from consumption (Cerema) to
artificialisation (OCS GE), the two series side by side and never added."""

from __future__ import annotations

import logging

import plotly.graph_objects as go

import pandas as pd

from ocsge_engine.charts.style import finish_layout, fr_ha
from ocsge_engine.indicators.zan import PROJECTION_LABELS, ZanTrajectory

logger = logging.getLogger(__name__)

OBSERVED_COLOR = "#000091"  # bleu France
TARGET_COLOR = "#18753C"
PROJECTION_COLOR = "#CE0500"
REFERENCE_COLOR = "#A0A0C8"


def zan_figure(trajectory: ZanTrajectory, title: str | None = None) -> go.Figure:
    """Bars of the yearly consumption and cumulative lines over the target period.

    Bars: yearly consumption observed (reference period highlighted). Lines, cumulated from the
    start of the target period: the allowed trajectory (target spread evenly), the observed
    consumption, and the projection (dashed). The source of the series is in the note.
    """
    table = trajectory.table
    ref_a, ref_b = trajectory.options.reference
    per_a, per_b = trajectory.options.period
    observed = table[table["observed_ha"].notna()]
    in_ref = observed["year"].between(ref_a, ref_b)
    fig = go.Figure()
    fig.add_bar(x=observed["year"], y=observed["observed_ha"], name="Consommation annuelle",
                marker={"color": [REFERENCE_COLOR if r else OBSERVED_COLOR for r in in_ref]},
                customdata=[fr_ha(v) for v in observed["observed_ha"]],
                hovertemplate="%{x} : %{customdata}<extra></extra>")
    period = table[table["year"] >= per_a]
    fig.add_scatter(x=period["year"], y=period["target_cumulative_ha"], mode="lines",
                    name=f"Objectif cumulé ({fr_ha(trajectory.allowed_ha)} sur {per_a}–{per_b})",
                    line={"color": TARGET_COLOR, "width": 3})
    if period["projected_cumulative_ha"].notna().any():
        fig.add_scatter(x=period["year"], y=period["projected_cumulative_ha"], mode="lines",
                        name="Projection cumulée", line={"color": PROJECTION_COLOR, "dash": "dash"})
    seen = period[period["observed_cumulative_ha"].notna()]
    if len(seen):
        fig.add_scatter(x=seen["year"], y=seen["observed_cumulative_ha"], mode="lines+markers",
                        name="Consommation cumulée observée", line={"color": OBSERVED_COLOR})
    fig.add_vrect(x0=ref_a - 0.5, x1=ref_b + 0.5, fillcolor=REFERENCE_COLOR, opacity=0.12,
                  line_width=0, annotation_text=f"Référence {ref_a}–{ref_b} : "
                  f"{fr_ha(trajectory.reference_ha)}", annotation_position="top left")
    fig.update_layout(yaxis_title="hectares", xaxis={"dtick": 1}, legend={"orientation": "h"})
    years = ", ".join(str(y) for y in trajectory.reference_years)
    note = f"Source : {trajectory.source}."
    if not trajectory.reference_complete:
        note += f" Référence estimée (moyenne des années {years} × 10)."
    if trajectory.missing_after is not None:
        note += f" Pas de données après {trajectory.missing_after}."
    else:
        note += f" Projection : {PROJECTION_LABELS[trajectory.options.projection]}."
    reduction = round(100 * trajectory.options.reduction)
    default = f"Trajectoire ZAN : objectif −{reduction} % de consommation d'espaces"
    return finish_layout(fig, title or default, "zan", note)


DESTINATION_LABELS: dict[str, str] = {
    "habitat": "Habitat", "activite": "Activité", "mixte": "Mixte", "route": "Route",
    "ferroviaire": "Ferroviaire", "inconnu": "Inconnu"}
DESTINATION_COLORS: dict[str, str] = {
    "habitat": "#E4794A", "activite": "#6A6AF4", "mixte": "#C3992A", "route": "#666666",
    "ferroviaire": "#A558A0", "inconnu": "#C9C9C9"}
ARTIF_COLOR = "#CE0500"
SWITCH_YEAR = 2031


def destinations_figure(trajectory: ZanTrajectory, title: str | None = None) -> go.Figure:
    """Stacked yearly consumption by destination (habitat, activité…), when the source has them.

    Raises:
        ValueError: the series has no destinations.
    """
    table = trajectory.destinations
    if table is None or table.empty:
        raise ValueError("series without destinations")
    fig = go.Figure()
    for dest, label in DESTINATION_LABELS.items():
        if dest in table:
            fig.add_bar(x=table["year"], y=table[dest], name=label,
                        marker={"color": DESTINATION_COLORS[dest]},
                        customdata=[fr_ha(v) for v in table[dest]],
                        hovertemplate=f"{label} %{{x}} : %{{customdata}}<extra></extra>")
    fig.update_layout(barmode="relative", yaxis_title="hectares par an", xaxis={"dtick": 1},
                      legend={"orientation": "h"})
    return finish_layout(fig, title or "Consommation d'espaces NAF par destination", "zan",
                         f"Source : {trajectory.source}.")


def handover_figure(trajectory: ZanTrajectory | None, artif: pd.DataFrame | None,
                    artif_source: str = "OCS GE (IGN)", title: str | None = None) -> go.Figure:
    """One time axis across the 2031 hand-over: consumption until 2030, artificialisation after.

    Args:
        trajectory: the consumption trajectory (bars 2011–2030, reference period shaded, the
            envelope as its mean yearly rhythm over 2021–2030), or ``None``.
        artif: OCS GE artificialisation between millésimes, columns ``year_from, year_to,
            gain_ha, net_ha``, drawn as the mean yearly net flux over each interval, or ``None``.
        artif_source: source line of the OCS GE series (say « données synthétiques » when so).
        title: chart title.

    Returns:
        The figure; the two series keep their own legend entries and sources and are never
        summed: consumption of NAF land (Cerema) is the law's measure until 2030, OCS GE
        artificialisation from 2031.
    """
    fig = go.Figure()
    notes = []
    x_min, x_max = 2011, SWITCH_YEAR + 2
    if trajectory is not None:
        ref_a, ref_b = trajectory.options.reference
        per_a, per_b = trajectory.options.period
        table = trajectory.table
        bars = table[table["observed_ha"].notna() & table["year"].between(ref_a, per_b)]
        in_ref = bars["year"] <= ref_b
        fig.add_bar(x=bars["year"], y=bars["observed_ha"], name="Consommation d'espaces NAF",
                    marker={"color": [REFERENCE_COLOR if r else OBSERVED_COLOR for r in in_ref]},
                    customdata=[fr_ha(v) for v in bars["observed_ha"]],
                    hovertemplate="Consommation %{x} : %{customdata}<extra></extra>")
        fig.add_vrect(x0=ref_a - 0.5, x1=ref_b + 0.5, fillcolor=REFERENCE_COLOR, opacity=0.12,
                      line_width=0, annotation_text=f"Référence {ref_a}–{ref_b} : "
                      f"{fr_ha(trajectory.reference_ha)}", annotation_position="top left")
        rhythm = trajectory.allowed_ha / (per_b - per_a + 1)
        fig.add_scatter(x=[per_a - 0.5, per_b + 0.5], y=[rhythm, rhythm], mode="lines",
                        name=f"Enveloppe {per_a}–{per_b} : {fr_ha(trajectory.allowed_ha)} "
                        f"({fr_ha(rhythm)} par an)", line={"color": TARGET_COLOR, "width": 3})
        notes.append(f"Consommation : {trajectory.source}")
        if not trajectory.reference_complete:
            notes.append("Référence estimée (moyenne des années "
                         f"{', '.join(map(str, trajectory.reference_years))} × 10)")
        if trajectory.missing_after is not None:
            notes.append(f"Consommation : pas de données après {trajectory.missing_after}")
        x_min = min(x_min, ref_a)
    if artif is not None and not artif.empty:
        first = True
        for row in artif.itertuples():
            span = int(row.year_to) - int(row.year_from)
            rate = float(row.net_ha) / span if span > 0 else float("nan")
            fig.add_scatter(
                x=[row.year_from, row.year_to], y=[rate, rate], mode="lines+markers",
                name="Artificialisation nette OCS GE (moyenne annuelle entre millésimes)",
                legendgroup="artif", showlegend=first,
                line={"color": ARTIF_COLOR, "width": 3, "dash": "dot"},
                hovertemplate=(f"Artificialisation nette {row.year_from}→{row.year_to} : "
                               f"{fr_ha(row.net_ha)}, soit {fr_ha(rate)} par an<extra></extra>"))
            first = False
        notes.append(f"Artificialisation : {artif_source}")
        x_max = max(x_max, int(artif["year_to"].max()) + 1)
        x_min = min(x_min, int(artif["year_from"].min()))
    fig.add_vline(x=SWITCH_YEAR - 0.5, line={"color": "#161616", "dash": "dash"},
                  annotation_text=f"{SWITCH_YEAR} : la loi passe de la consommation à "
                  "l'artificialisation", annotation_position="top left")
    fig.update_layout(yaxis_title="hectares par an", legend={"orientation": "h"},
                      xaxis={"dtick": 1, "range": [x_min - 0.5, x_max + 0.5]})
    note = ". ".join(notes) + ". Deux mesures distinctes, jamais additionnées." if notes else None
    return finish_layout(fig, title or "Avant et après 2031 : consommation puis artificialisation",
                         "zan", note)
