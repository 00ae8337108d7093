"""The home page's answers beyond the territory itself: rank among neighbours, ZAN status.

Both are :class:`~ocsge_engine.portrait.figure.Figure` objects built from engine results that
other pages show in full (Comparer: :func:`ocsge_engine.batch.figures.comparison_table`;
Trajectoire: :func:`ocsge_engine.indicators.zan.zan_trajectory`), so the home page and those
pages agree. No Streamlit here.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ocsge_engine.errors import OcsgeError
from ocsge_engine.territories import resolve_territory
from ocsge_engine.portrait.figure import Figure

logger = logging.getLogger(__name__)

RANK_METRIC = "net_m2_per_ha"
RANK_KEY = "compare.rank_net_per_ha"


def rank_figure(table: pd.DataFrame, code: str, year_from: int, year_to: int,
                source: str, synthetic: bool) -> Figure:
    """Rank of the commune among itself and its available neighbours by net m² per ha.

    Rank 1 = the highest net artificialisation relative to the commune's area. ``extra`` holds
    ``total`` (communes ranked) and ``uncovered`` (neighbours without data).

    >>> t = pd.DataFrame({"code": ["a", "b", "c"], "role": ["territoire", "voisine", "voisine"],
    ...                   "available": [True, True, False], "net_m2_per_ha": [5.0, 9.0, None]})
    >>> f = rank_figure(t, "a", 2015, 2018, "s", False)
    >>> f.value, f.extra["total"], f.extra["uncovered"]
    (2.0, 2, 1)
    """
    scope = table[table["role"].isin(["territoire", "voisine"])]
    ranked = scope[scope["available"].astype(bool)].copy()
    uncovered = int(len(scope) - len(ranked))
    label = f"Rang parmi les communes voisines (artificialisation nette par hectare, {year_from}–{year_to})"
    method = "rank (1 = highest) of net artificialisation m2 per ha of commune area among the " \
             "commune and its nearest neighbours covered by the store"
    if code not in set(ranked["code"]):
        return Figure(RANK_KEY, None, "", label, method, source, (year_from, year_to),
                      synthetic=synthetic, missing="commune non couverte",
                      extra={"total": int(len(ranked)), "uncovered": uncovered})
    if len(ranked) < 2:
        return Figure(RANK_KEY, None, "", label, method, source, (year_from, year_to),
                      synthetic=synthetic,
                      missing="aucune commune voisine couverte par l'OCS GE chargée",
                      extra={"total": int(len(ranked)), "uncovered": uncovered})
    values = pd.to_numeric(ranked[RANK_METRIC], errors="coerce").fillna(-math.inf)
    own = float(values[ranked["code"] == code].iloc[0])
    rank = 1 + int((values > own).sum())
    return Figure(RANK_KEY, float(rank), "", label, method, source, (year_from, year_to),
                  synthetic=synthetic, decimals=0,
                  extra={"total": int(len(ranked)), "uncovered": uncovered,
                         "value_m2_per_ha": own})


def neighbour_rank(store: Any, territory: Any, year_from: int, year_to: int, source: str,
                   synthetic: bool) -> tuple[Figure, pd.DataFrame | None]:
    """:func:`rank_figure` on the Comparer table (national rows first), neighbours only."""
    from ocsge_engine.batch.figures import comparison_table

    resolved = resolve_territory(territory)
    label = "Rang parmi les communes voisines"
    if resolved.kind != "commune":
        return (Figure(RANK_KEY, None, "", label, "", source, (year_from, year_to),
                       synthetic=synthetic,
                       missing="comparaison disponible pour une commune seulement"), None)
    try:
        table = comparison_table(store, resolved, year_from, year_to, similar=False)
    except OcsgeError as err:
        logger.info("no neighbour comparison for %s: %s", resolved.id, err)
        return (Figure(RANK_KEY, None, "", label, "", source, (year_from, year_to),
                       synthetic=synthetic, missing=err.user_message), None)
    return rank_figure(table, resolved.code, year_from, year_to, source, synthetic), table


@dataclass(frozen=True)
class ZanStatus:
    """ZAN figures of the home page.

    Attributes:
        allowed: envelope 2021–2030 (ha).
        consumed: consumed since 2021 (ha), missing with « pas de données après AAAA ».
        projected: projected consumption at the end of the period (ha).
        verdict: ``"dans la trajectoire"``, ``"au-delà"`` or ``None``.
        source: the series' source.
    """

    allowed: Figure
    consumed: Figure
    projected: Figure
    verdict: str | None
    source: str

    def figures(self) -> list[Figure]:
        """The three figures."""
        return [self.allowed, self.consumed, self.projected]


def zan_status(store: Any, territory: Any) -> ZanStatus:
    """ZAN envelope, consumption since 2021 and projection, from the territory's series.

    Without a series every figure is missing with « pas de série de consommation … »; with a
    series that stops before 2021, consumption is missing with « pas de données après AAAA »
    (never a confident 0 ha).
    """
    from ocsge_engine.indicators.zan import consumption_series, zan_figures, zan_trajectory

    resolved = resolve_territory(territory)
    method = "ZAN: 50 % of 2011-2020 NAF consumption over 2021-2030 (docs/indicators.md)"
    try:
        trajectory = zan_trajectory(consumption_series(resolved, store))
    except (OcsgeError, ValueError) as err:
        reason = "pas de série de consommation d'espaces pour ce territoire"
        logger.info("no ZAN series for %s: %s", resolved.id, err)
        return ZanStatus(*(Figure(key, None, "ha", label, method, "", missing=reason)
                           for key, label in (("zan.allowed_ha", "Enveloppe 2021–2030"),
                                              ("zan.consumed_ha", "Consommé depuis 2021"),
                                              ("zan.projected_ha", "Projection"))), None, "")
    figures = {f.key: f for f in zan_figures(trajectory)}
    projected, allowed = figures["zan.projected_ha"], figures["zan.allowed_ha"]
    verdict = None
    if projected.available and allowed.available and allowed.value > 0:
        verdict = ("dans la trajectoire" if projected.value <= allowed.value
                   else "au-delà de l'enveloppe")
    return ZanStatus(allowed, figures["zan.consumed_ha"], projected, verdict, trajectory.source)
