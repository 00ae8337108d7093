"""Vegetation in plain French: the headline sentence, the figures table, the report section.

Shared by the Végétation page, the portrait report and the bundle, so that all three say the same
thing from the same :class:`~ocsge_engine.indicators.vegetation.VegetationResult`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from ocsge_engine import fmt
from ocsge_engine.charts.vegetation import change_bars, stock_bars, vegetation_sankey
from ocsge_engine.indicators.vegetation import VegetationResult

SUBJECTS: dict[str, str] = {"commune": "la commune", "epci": "l'intercommunalité",
                            "departement": "le département", "polygon": "le territoire"}
SYNTHETIC_SENTENCE = ("Démonstration : les surfaces de végétation viennent du fond synthétique "
                      "(stocks simulés) ; les pertes et gains viennent des changements réels "
                      "OCS GE.")
# figure keys of the report table and the page's « chiffres clés », in order
TABLE_KEYS: tuple[str, ...] = (
    "vegetation.tree.stock_from_ha", "vegetation.tree.stock_to_ha", "vegetation.tree.share_to",
    "vegetation.tree.loss_ha", "vegetation.tree.loss_to_artificial_ha", "vegetation.tree.gain_ha",
    "vegetation.tree.net_ha", "vegetation.vegetated.stock_to_ha", "vegetation.vegetated.share_to",
    "vegetation.vegetated.net_ha", "vegetation.urban_nature.stock_to_ha",
    "vegetation.urban_nature.share_to", "vegetation.urban_nature.net_ha",
)


def vegetation_sentence(result: VegetationResult, kind: str | None = None) -> str:
    """One plain-French paragraph: tree cover lost (and how much became artificialised), gained,
    net; the vegetated share; nature in town.

    Example: « Entre 2015 et 2018, la commune a perdu 1,78 ha de couvert arboré, dont 1,78 ha
    devenus artificialisés, et en a gagné 0,64 ha : solde net −1,14 ha. … »
    """
    tree = result.classes["tree"]
    subject = SUBJECTS.get(kind or "", "le territoire")
    head = (f"Entre {result.year_from} et {result.year_to}, " if result.year_from
            else "Entre les deux millésimes, ")
    if tree.loss_ha == 0 and tree.gain_ha == 0:
        text = head + f"{subject} n'a ni perdu ni gagné de couvert arboré."
    else:
        if tree.loss_ha > 0:
            text = head + f"{subject} a perdu {fmt.hectares(tree.loss_ha)} de couvert arboré"
            if tree.loss_to_artificial_ha > 0:
                text += (f", dont {fmt.hectares(tree.loss_to_artificial_ha)} "
                         "devenus artificialisés")
            text += (f", et en a gagné {fmt.hectares(tree.gain_ha)}" if tree.gain_ha > 0
                     else ", sans en gagner ailleurs")
        else:
            text = head + (f"{subject} n'a pas perdu de couvert arboré et en a gagné "
                           f"{fmt.hectares(tree.gain_ha)}")
        text += f" : solde net {_signed(tree.net_ha)}."
    veg = result.classes["vegetated"]
    share = result.share("vegetated", "to")
    if share is not None:
        text += (f" La végétation couvre {fmt.percent(share)} du territoire en {result.year_to} "
                 f"({fmt.hectares(veg.stock_to_ha)}, solde net {_signed(veg.net_ha)}).")
    urban = result.urban_share("to")
    if urban is not None:
        text += (f" La nature en ville représente {fmt.hectares(result.urban_nature.stock_to_ha)},"
                 f" soit {fmt.percent(urban)} des espaces à usage résidentiel, économique, "
                 f"de transport ou de services.")
    return text


def _signed(value: float) -> str:
    """Hectares with an explicit sign, a true minus sign for losses.

    >>> _signed(-1.137), _signed(2.5)
    ('−1,14\u202fha', '+2,50\u202fha')
    """
    return fmt.hectares(value, signed=True).replace("-", "−")


def figures_table(result: VegetationResult, keys: Sequence[str] = TABLE_KEYS) -> pd.DataFrame:
    """French table ``Indicateur, Valeur, Source`` of the chosen figures (displayed values)."""
    rows = []
    for key in keys:
        fig = result.figure(key)
        value = fig.display(signed=key.endswith("net_ha")).replace("-", "−")
        rows.append({"Indicateur": fig.label, "Valeur": value, "Source": fig.source_line()})
    return pd.DataFrame(rows, columns=["Indicateur", "Valeur", "Source"])


def changes_table_fr(result: VegetationResult) -> pd.DataFrame:
    """The per-class table with French column names (page and bundle)."""
    table = result.changes_table()
    y1, y2 = result.year_from, result.year_to
    return pd.DataFrame({
        "Classe": [label[:1].upper() + label[1:] for label in table["label"]],
        f"Surface {y1} (ha)": table["stock_from_ha"].round(4),
        f"Surface {y2} (ha)": table["stock_to_ha"].round(4),
        "Gains (ha)": table["gain_ha"].round(4), "Pertes (ha)": table["loss_ha"].round(4),
        "Solde net (ha)": table["net_ha"].round(4),
        "Pertes artificialisées (ha)": table["loss_to_artificial_ha"].round(4),
    })


def vegetation_charts(result: VegetationResult) -> list[tuple[str, str, go.Figure, pd.DataFrame]]:
    """``(file stem, French title, figure, data)`` of the vegetation charts (report, bundle)."""
    stocks = result.stocks_table()
    changes = result.changes_table()
    return [
        ("vegetation_stocks", "Surfaces végétalisées par classe", stock_bars(result), stocks),
        ("vegetation_gains_pertes", "Gains et pertes de végétation", change_bars(result), changes),
        ("vegetation_sankey", "D'où vient et où va la végétation", vegetation_sankey(result),
         result.flows),
    ]


def section_html(result: VegetationResult, kind: str | None, images: Sequence[str] = ()) -> str:
    """The report's « Végétation » section: sentence, figures table, chart images (HTML).

    Args:
        result: the vegetation figures.
        kind: territory kind (subject of the sentence).
        images: ready ``<figure>`` HTML snippets of the charts.
    """
    esc = html.escape
    rows = "".join(f"<tr><th>{esc(r.Indicateur)}</th><td class='num'>{esc(r.Valeur)}</td></tr>"
                   for r in figures_table(result).itertuples())
    note = f"<p class='synthetic'>{esc(SYNTHETIC_SENTENCE)}</p>" if result.synthetic else ""
    method = ("<p class='method'>Couvert arboré : couverture CS2.1.1 (feuillus, conifères, "
              "mixte) ; nature en ville : végétation (CS2) à usage résidentiel, économique, de "
              "transport ou de services (US2, US3, US5, US235, US4).</p>")
    charts = "".join(images)
    return (f"<section class='vegetation'><h2>Végétation</h2>{note}"
            f"<p class='sentence'>{esc(vegetation_sentence(result, kind))}</p>"
            f"<table class='figures'>{rows}</table>{method}"
            f"<div class='charts'>{charts}</div></section>")


__all__ = ["SYNTHETIC_SENTENCE", "TABLE_KEYS", "changes_table_fr",
           "figures_table", "section_html", "vegetation_charts", "vegetation_sentence"]
