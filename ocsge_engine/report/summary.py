"""Plain-French sentences summarising a portrait (presentation layer)."""

from __future__ import annotations

from ocsge_engine.indicators.portrait import PortraitFigures

_FAMILY_PHRASE = {"agricole": "agricoles", "naturel": "naturels", "forestier": "forestiers"}


def format_ha(value: float) -> str:
    """French formatting of hectares: one decimal under 100 ha, none above.

    >>> format_ha(1234.56), format_ha(36.04), format_ha(0.0)
    ('1 235 ha', '36,0 ha', '0 ha')
    """
    if value == 0:
        return "0 ha"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"
    return text.replace(",", "\u202f").replace(".", ",").replace("\u202f", " ") + " ha"


def change_sentence(fig: PortraitFigures) -> str:
    """One sentence an elected official reads: what became artificialised, from what, and the net.

    Example: « Entre 2015 et 2018, 52,2 ha d'espaces agricoles, naturels et forestiers sont
    devenus artificialisés, dont 40,1 ha forestiers et 12,1 ha naturels ; 8,0 ha ont été
    désartificialisés, soit un solde net de +44,2 ha. »
    """
    gross = fig.artificialised_gross_ha
    head = f"Entre {fig.year_from} et {fig.year_to}, "
    if gross == 0 and fig.desartificialised_ha == 0:
        return head + "aucune surface n'a changé de statut d'artificialisation."
    parts = sorted(((fig.naf_to_artificial_ha(f), f) for f in _FAMILY_PHRASE), reverse=True)
    details = [f"{format_ha(area)} {_FAMILY_PHRASE[f]}" for area, f in parts if area >= 0.05]
    sentence = head + f"{format_ha(gross)} d'espaces agricoles, naturels et forestiers sont devenus artificialisés"
    if details:
        sentence += ", dont " + (", ".join(details[:-1]) + " et " + details[-1] if len(details) > 1
                                 else details[0])
    net = fig.net_artificialisation_ha
    sign = "+" if net >= 0 else "−"
    sentence += (f" ; {format_ha(fig.desartificialised_ha)} ont été désartificialisés, "
                 f"soit un solde net de {sign}{format_ha(abs(net))}.")
    return sentence
