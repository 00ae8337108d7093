"""Shared presentation helpers of the flow charts: French labels, colours, number format, notes.

Everything a user reads is French. Numbers use the French format (``1 234,5 ha``); figures set
``layout.separators = ", "`` so that plotly's own formatting follows it.
"""

from __future__ import annotations

import logging
from typing import Any

import plotly.graph_objects as go

from ocsge_engine import fmt
from ocsge_engine import nomenclature as nom

logger = logging.getLogger(__name__)

SEPARATORS = ",\u202f"  # plotly: decimal comma, narrow no-break space for thousands
OTHER_FLOWS = "autres_flux"
OTHER_FLOWS_LABEL = "Autres flux"
OTHER_FLOWS_COLOR = "#B0B0B0"
ESTIMATE_NOTE = ("Familles agricole / forestier / naturel : estimation d'après l'usage OCS GE, "
                 "non réglementaire.")
LEVEL_TITLES: dict[str, str] = {
    "anf": "familles (estimation)", "artif": "artificialisation (matrice du décret)",
    "imper": "imperméabilisation", "cs1": "couverture (niveau 1)", "cs2": "couverture (niveau 2)",
    "cs3": "couverture (niveau 3)", "cs4": "couverture (niveau 4)", "us1": "usage (niveau 1)",
    "us2": "usage (niveau 2)", "us3": "usage (niveau 3)", "cs_us": "couples couverture × usage",
}
FONT = {"family": "Marianne, Arial, sans-serif", "size": 12}
# Plotly.js locale given inline in the chart config (no locale file to register): French
# tooltips of the remaining mode-bar buttons, French number and date formats.
FRENCH_LOCALE: dict[str, Any] = {
    "moduleType": "locale", "name": "fr",
    "dictionary": {
        "Autoscale": "Échelle automatique", "Box Select": "Sélection rectangulaire",
        "Click to enter Colorscale title": "Cliquez pour saisir le titre de l'échelle",
        "Click to enter Component A title": "Cliquez pour saisir le titre du composant A",
        "Click to enter X axis title": "Cliquez pour saisir le titre de l'axe X",
        "Click to enter Y axis title": "Cliquez pour saisir le titre de l'axe Y",
        "Click to enter Plot title": "Cliquez pour saisir le titre du graphique",
        "Double-click to zoom back out": "Double-cliquez pour dézoomer",
        "Download plot": "Télécharger le graphique",
        "Download plot as a PNG": "Télécharger le graphique en PNG",
        "Lasso Select": "Sélection lasso", "Pan": "Déplacer",
        "Produced with Plotly.js": "Réalisé avec Plotly.js", "Reset": "Réinitialiser",
        "Reset axes": "Réinitialiser les axes", "Reset view": "Réinitialiser la vue",
        "Reset camera to default": "Réinitialiser la caméra",
        "Show closest data on hover": "Afficher la donnée la plus proche au survol",
        "Compare data on hover": "Comparer les données au survol",
        "Toggle Spike Lines": "Afficher les lignes de repère", "Zoom": "Zoomer",
        "Zoom in": "Zoom avant", "Zoom out": "Zoom arrière",
        "Toggle show closest data on hover": "Afficher la donnée la plus proche au survol",
        "trace": "série", "Trace": "Série", "new text": "nouveau texte",
        "max": "max.", "min": "min.", "median": "médiane", "mean": "moyenne",
        "upper fence": "borne supérieure", "lower fence": "borne inférieure",
        "q1": "q1", "q3": "q3", "kde:": "kde :", "incoming flow count:": "flux entrants :",
        "outgoing flow count:": "flux sortants :",
    },
    "format": {
        "days": ["Dimanche", "Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi"],
        "shortDays": ["Dim", "Lun", "Mar", "Mer", "Jeu", "Ven", "Sam"],
        "months": ["Janvier", "Février", "Mars", "Avril", "Mai", "Juin", "Juillet", "Août",
                   "Septembre", "Octobre", "Novembre", "Décembre"],
        "shortMonths": ["Janv", "Févr", "Mars", "Avr", "Mai", "Juin", "Juil", "Août", "Sept",
                        "Oct", "Nov", "Déc"],
        "date": "%d/%m/%Y", "decimal": ",", "thousands": "\u202f",
    },
}
# Chart config of the dashboard: French locale, reduced mode bar (zoom, pan, reset; the
# page's own PNG/SVG/CSV/XLSX buttons replace plotly's English "Download plot as a PNG").
PLOTLY_CONFIG: dict[str, Any] = {
    "locale": "fr", "locales": {"fr": FRENCH_LOCALE}, "displaylogo": False,
    "modeBarButtonsToRemove": ["toImage", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d",
                               "autoScale2d", "toggleSpikelines", "hoverClosestCartesian",
                               "hoverCompareCartesian", "sendDataToCloud"],
}


def class_label(code: str) -> str:
    """French label of a class code (family, binary class, CS/US code or CS×US couple).

    >>> class_label("artificialise"), class_label(OTHER_FLOWS)
    ('Artificialisé', 'Autres flux')
    """
    if code == OTHER_FLOWS:
        return OTHER_FLOWS_LABEL
    try:
        return nom.label(code)
    except KeyError:
        logger.debug("no label for class %s", code)
        return code


TICK_WIDTH = 28  # characters per line of a category tick label


def class_tick(code: str, width: int = TICK_WIDTH) -> str:
    """:func:`class_label` wrapped for an axis: a long label on several lines is never cut.

    Plotly's automargin gives tick labels at most about half the figure: the longest CS label
    (84 characters) would still be cut on a narrow chart or in a PNG.

    >>> class_tick("CS2.1.2")
    'Formations arbustives et<br>sous-arbrisseaux (landes<br>basses, formations<br>arbustives organisées…)'
    >>> class_tick("artificialise")
    'Artificialisé'
    """
    return wrap_text(class_label(code), width)


def class_color(code: str) -> str:
    """Official colour (hex) of a class code, grey for unknown codes and « Autres flux »."""
    if code == OTHER_FLOWS:
        return OTHER_FLOWS_COLOR
    try:
        return nom.color(code)
    except KeyError:
        return OTHER_FLOWS_COLOR


def rgba(hex_color: str, alpha: float) -> str:
    """``#RRGGBB`` → ``rgba(r, g, b, alpha)``.

    >>> rgba("#E6004D", 0.5)
    'rgba(230, 0, 77, 0.5)'
    """
    value = hex_color.lstrip("#")
    r, g, b = (int(value[k:k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def fr_number(value: float | None, decimals: int = 1) -> str:
    """French number format (:func:`ocsge_engine.fmt.number`; « — » when missing).

    >>> fr_number(12345.678)
    '12\u202f345,7'
    """
    return fmt.number(value, decimals)


def fr_ha(value: float | None) -> str:
    """Hectares in French format, two decimals under 10 ha (:func:`ocsge_engine.fmt.hectares`).

    >>> fr_ha(0.256), fr_ha(1234.5)
    ('0,26\u202fha', '1\u202f234,5\u202fha')
    """
    return fmt.hectares(value)


def fr_area(value_ha: float | None) -> str:
    """An area in m² under 1 ha (« 350 m² », not « 0,04 ha »), else hectares.

    >>> fr_area(0.0042), fr_area(12.5)
    ('42\u202fm²', '12,5\u202fha')
    """
    if fmt.is_missing(value_ha):
        return fmt.MISSING
    if abs(float(value_ha)) < 1:  # type: ignore[arg-type]
        return fmt.with_unit(float(value_ha) * 1e4, "m²", 0)  # type: ignore[arg-type]
    return fmt.hectares(value_ha)


def fr_percent(share: float | None) -> str:
    """A share (0..1) as a French percentage.

    >>> fr_percent(0.1234)
    '12,3\u202f%'
    """
    return fmt.percent(share)


def level_title(by: str) -> str:
    """French name of a level, for titles."""
    return LEVEL_TITLES.get(by, by)


def finish_layout(fig: go.Figure, title: str, by: str, note: str | None = None) -> go.Figure:
    """Apply the common layout: title, French separators and ticks, font, automargins, notes.

    The notes (``note`` and, for ``by="anf"``, the A/N/F estimate note) are kept in
    ``layout.meta["notes"]``, not drawn: the page shows them in a caption under the chart
    (:func:`figure_notes`) and static exports draw them under the title (:func:`with_notes`),
    so they never overlap axis numbers and titles stay short.
    """
    notes = [n for n in (note, ESTIMATE_NOTE if by == "anf" else None) if n]
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"}, separators=SEPARATORS, font=FONT,
        margin={"t": 60, "b": 40, "l": 20, "r": 20}, paper_bgcolor="white",
        meta={**meta, "notes": [*meta.get("notes", []), *notes]},
    )
    # automargin: tick labels push the plot area instead of being cut (page and PNG/SVG);
    # no "25k": full numbers with French thousands separators.
    axes = {"automargin": True, "exponentformat": "none", "separatethousands": True}
    fig.update_xaxes(**axes)
    fig.update_yaxes(**axes)
    return fig


def figure_notes(fig: go.Figure) -> list[str]:
    """The notes of a figure made by :func:`finish_layout` (method, estimate, source…)."""
    meta = fig.layout.meta
    return [str(n) for n in meta.get("notes", [])] if isinstance(meta, dict) else []


def wrap_text(text: str, width: int = 95) -> str:
    """Break a long line at spaces with ``<br>`` (plotly does not wrap text).

    >>> wrap_text("un deux trois quatre", 9)
    'un deux<br>trois<br>quatre'
    """
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def with_notes(fig: go.Figure, width_px: int = 1100) -> go.Figure:
    """A copy of ``fig`` with its notes drawn under the title, for static exports (PNG/SVG/PDF).

    The notes go in ``title.subtitle``, above the plot area, so that they never collide with
    axis numbers; the top margin grows by one line per wrapped line.
    """
    notes = figure_notes(fig)
    if not notes:
        return fig
    out = go.Figure(fig)
    chars = max(40, int(width_px / 6.2))  # ~6 px per character at the notes' 10 px size
    text = "<br>".join(wrap_text(n, chars) for n in notes)
    lines = text.count("<br>") + 1
    top = (out.layout.margin.t if out.layout.margin.t is not None else 60) + 14 * lines + 6
    out.update_layout(title_subtitle={"text": text, "font": {"size": 10, "color": "#555555"}},
                      margin_t=top)
    return out
