"""Charts of the artificialisation indicators: fluxes by CS/US, A/N/F origin of new land."""

from __future__ import annotations

import logging

import plotly.graph_objects as go

from ocsge_engine.charts.style import class_color, class_label, class_tick, finish_layout, fr_ha
from ocsge_engine.indicators.artif import FluxResult

logger = logging.getLogger(__name__)

METHOD_LABELS: dict[str, str] = {
    "ign_artif": "données ARTIFICIALISATION de l'IGN (mesure officielle)",
    "decree_matrix_official_thresholds": "matrice du décret et seuils 2 500 m² / 50 m² appliqués "
                                         "au stock de chaque millésime (reconstitution du "
                                         "traitement IGN)",
    "decree_matrix": "matrice du décret, sans seuils",
    "cs1.1": "règle CS1.1 (surfaces anthropisées)",
    "impermeable_cs": "couverture CS1.1.1.1 / CS1.1.1.2",
}
KIND_LABELS = {"artif": ("Artificialisation", "Désartificialisation"),
               "imper": ("Imperméabilisation", "Désimperméabilisation")}
ORIGIN_NOTE = "Origine agricole / forestière / naturelle : estimation d'après l'usage OCS GE."


def method_note(result: FluxResult) -> str:
    """French sentence naming the method and the self-check of a result."""
    text = f"Méthode : {METHOD_LABELS.get(result.method, result.method)}."
    if not result.check_ok:
        text += (f" Écart flux net / variation du stock : {fr_ha(result.check_delta_ha)} "
                 "(> 0,5 ha).")
    return text


def flux_bars(result: FluxResult, level: str = "cs", title: str | None = None) -> go.Figure:
    """Gains and losses (ha) by CS or US code, with the net balance in the hover."""
    table = result.by_cs if level == "cs" else result.by_us
    labels = [class_tick(c) for c in table["code"]]
    gain_name, loss_name = KIND_LABELS[result.kind]
    fig = go.Figure()
    fig.add_bar(name=gain_name, y=labels, x=table["gain_ha"], orientation="h",
                marker={"color": [class_color(c) for c in table["code"]]},
                customdata=[[fr_ha(g), fr_ha(n)] for g, n in zip(table["gain_ha"], table["net_ha"])],
                hovertemplate="%{y}<br>" + gain_name.lower() +
                " : %{customdata[0]}<br>solde : %{customdata[1]}<extra></extra>")
    fig.add_bar(name=loss_name, y=labels, x=-table["loss_ha"], orientation="h",
                marker={"color": "#B0B0B0"},
                customdata=[fr_ha(v) for v in table["loss_ha"]],
                hovertemplate="%{y}<br>" + loss_name.lower() + " : %{customdata}<extra></extra>")
    fig.update_layout(barmode="relative")
    fig.update_xaxes(title="hectares", zeroline=True, zerolinewidth=2, zerolinecolor="#333")
    what = "couverture" if level == "cs" else "usage"
    default = f"{gain_name} {result.year_from} → {result.year_to} par {what}"
    return finish_layout(fig, title or default, level, method_note(result))


def origin_donut(result: FluxResult, title: str | None = None) -> go.Figure:
    """Donut of the family (agricole / forestier / naturel) of newly artificialised land."""
    codes = [c for c, v in result.origin.items() if v > 0]
    values = [result.origin[c] for c in codes]
    fig = go.Figure(go.Pie(labels=[class_label(c) for c in codes], values=values, hole=0.55,
                           sort=False, marker={"colors": [class_color(c) for c in codes]},
                           customdata=[fr_ha(v) for v in values],
                           hovertemplate="%{label}<br>%{customdata}<br>%{percent}<extra></extra>"))
    default = f"Origine des surfaces artificialisées {result.year_from} → {result.year_to}"
    return finish_layout(fig, title or default, "origin", ORIGIN_NOTE + " " + method_note(result))
