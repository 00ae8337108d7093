"""Shared presentation helpers of the flow charts: French labels, colours, number format, notes.

Everything a user reads is French. Numbers use the French format (``1 234,5 ha``); figures set
``layout.separators = ", "`` so that plotly's own formatting follows it.
"""

from __future__ import annotations

import logging

import plotly.graph_objects as go

from ocsge_engine import nomenclature as nom

logger = logging.getLogger(__name__)

SEPARATORS = ", "  # plotly: decimal comma, thin space for thousands
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


def fr_number(value: float, decimals: int = 1) -> str:
    """French number format: decimal comma, narrow no-break space between thousands.

    >>> fr_number(12345.678)
    '12\u202f345,7'
    """
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def fr_ha(value: float) -> str:
    """Hectares in French format, two decimals under 10 ha.

    >>> fr_ha(0.256), fr_ha(1234.5)
    ('0,26 ha', '1\u202f234,5 ha')
    """
    return f"{fr_number(value, 2 if abs(value) < 10 else 1)} ha"


def fr_percent(share: float) -> str:
    """A share (0..1) as a French percentage.

    >>> fr_percent(0.1234)
    '12,3\u202f%'
    """
    return f"{fr_number(100 * share, 1)}\u202f%"


def level_title(by: str) -> str:
    """French name of a level, for titles."""
    return LEVEL_TITLES.get(by, by)


def finish_layout(fig: go.Figure, title: str, by: str, note: str | None = None) -> go.Figure:
    """Apply the common layout: title, French separators, font, and the A/N/F estimate note."""
    notes = [n for n in (note, ESTIMATE_NOTE if by == "anf" else None) if n]
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"}, separators=SEPARATORS, font=FONT,
        margin={"t": 60, "b": 40 + 18 * len(notes), "l": 20, "r": 20}, paper_bgcolor="white",
    )
    for k, text in enumerate(notes):
        fig.add_annotation(text=text, showarrow=False, x=0, y=-0.04 - 0.06 * k, xref="paper",
                           yref="paper", xanchor="left", yanchor="top",
                           font={"size": 10, "color": "#555555"})
    return fig
