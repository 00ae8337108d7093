"""Plain-French sentences summarising a portrait (presentation layer)."""

from __future__ import annotations

from ocsge_engine.charts.style import fr_ha
from ocsge_engine.indicators.portrait import PortraitFigures

_FAMILY_PHRASE = {"agricole": "agricoles", "naturel": "naturels", "forestier": "forestiers"}


def change_sentence(fig: PortraitFigures) -> str:
    """One sentence an elected official reads: what became artificialised, from what, and the net.

    Example: « Entre 2015 et 2018, 52,2 ha d'espaces agricoles, naturels et forestiers sont
    devenus artificialisés, dont 40,1 ha forestiers et 12,1 ha naturels (répartition estimée) ; 8,0 ha ont été
    désartificialisés, soit un solde net de +44,2 ha. »
    """
    gross = fig.artificialised_gross_ha
    head = f"Entre {fig.year_from} et {fig.year_to}, "
    if gross == 0 and fig.desartificialised_ha == 0:
        return head + "aucune surface n'a changé de statut d'artificialisation."
    parts = sorted(((fig.naf_to_artificial_ha(f), f) for f in _FAMILY_PHRASE), reverse=True)
    details = [f"{fr_ha(area)} {_FAMILY_PHRASE[f]}" for area, f in parts if area >= 0.05]
    sentence = head + f"{fr_ha(gross)} d'espaces agricoles, naturels et forestiers sont devenus artificialisés"
    if details:
        sentence += ", dont " + (", ".join(details[:-1]) + " et " + details[-1] if len(details) > 1
                                 else details[0]) + " (répartition estimée)"
    net = fig.net_artificialisation_ha
    sign = "+" if net >= 0 else "−"
    sentence += (f" ; {fr_ha(fig.desartificialised_ha)} ont été désartificialisés, "
                 f"soit un solde net de {sign}{fr_ha(abs(net))}.")
    return sentence
