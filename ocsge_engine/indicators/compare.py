"""Comparison of a commune with its peers: nearest communes, communes of similar population.

Peers:

* **neighbours**: the ``n`` (8) communes whose centroids are nearest to the commune's centroid
  (:func:`ocsge_engine.territories.nearest_communes`); the list is editable (``peers=`` argument);
* **similar population**: among the communes *in the store* (complete OCCUPATION_SOL coverage of
  both millésimes), the ``n`` whose population (latest year of the series) is closest on a log
  scale, ``|ln(p / p0)|`` — a town twice as large is as far as one half as large.

Each row of the comparison table holds the same figures for every commune, computed by the same
functions as the territory's own indicators (:func:`flux_from_pair`, :func:`per_inhabitant`):
artificialised stock, gross and net artificialisation, net per hectare of the commune
(``net_m2_per_ha = net_ha × 10,000 / area_ha``) and per inhabitant. Communes not covered by the
store keep their row with ``available = False``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ocsge_engine.errors import MillesimeError, TerritoryNotFoundError
from ocsge_engine.territories import resolve_territory
from ocsge_engine.indicators.artif import Rule, Thresholds, flux_from_pair
from ocsge_engine.indicators.pair import load_pair
from ocsge_engine.indicators.population import per_inhabitant
from ocsge_engine.territories import POPULATION_YEARS, communes_table, nearest_communes, population

logger = logging.getLogger(__name__)

COMPARISON_COLUMNS: tuple[str, ...] = (
    "code", "name", "role", "available", "area_ha", "population", "population_year",
    "artif_stock_ha", "gross_gain_ha", "net_ha", "net_m2_per_ha", "artif_m2_per_inhabitant",
    "net_m2_per_inhabitant")
MAX_COVERAGE_CHECKS = 60


def rank_by_distance(code: str, xy: pd.DataFrame, n: int = 8) -> list[str]:
    """Codes of the ``n`` rows of ``xy`` (index code, columns ``x``, ``y``) nearest to ``code``.

    >>> xy = pd.DataFrame({"x": [0, 1, 5, 2], "y": [0, 0, 0, 0]}, index=["a", "b", "c", "d"])
    >>> rank_by_distance("a", xy, 2)
    ['b', 'd']
    """
    origin = xy.loc[code]
    dist = np.hypot(xy["x"] - origin["x"], xy["y"] - origin["y"]).drop(code)
    return list(dist.sort_values(kind="stable").index[:n])


def rank_by_population(code: str, populations: pd.Series, n: int = 8) -> list[str]:
    """Codes whose population is closest to ``code``'s on a log scale (``|ln(p / p0)|``).

    >>> rank_by_population("a", pd.Series({"a": 1000, "b": 2000, "c": 400, "d": 1100}), 2)
    ['d', 'b']
    """
    p0 = float(populations[code])
    others = populations.drop(code)
    others = others[others > 0]
    gap = others.map(lambda p: abs(math.log(float(p) / p0)))
    return list(gap.sort_values(kind="stable").index[:n])


def _latest_population(codes: Sequence[str]) -> pd.Series:
    table = communes_table().set_index("code")
    year = max(POPULATION_YEARS)
    return table.loc[[c for c in codes if c in table.index], f"pop_{year}"].dropna().astype(int)


def similar_population_communes(store: Any, code: str, year_from: int, year_to: int,
                                n: int = 8, candidates: Sequence[str] | None = None,
                                covered: Callable[[str], bool] | None = None) -> list[str]:
    """The ``n`` communes of similar population among those covered by the store.

    Args:
        store: an open store.
        code: INSEE code of the commune.
        year_from: first millésime (coverage is checked for both).
        year_to: second millésime.
        n: number of peers.
        candidates: communes to choose from; default, the communes of the store's
            départements, checked for coverage in order of population closeness (at most
            :data:`MAX_COVERAGE_CHECKS` checks).
        covered: ``covered(code)`` says whether the store covers a candidate for both
            millésimes; default :func:`commune_covered` (a clip per candidate). The national
            results answer the same question without reading the store
            (:mod:`ocsge_engine.batch.figures`).
    """
    table = communes_table()
    if candidates is None:
        deps = set(store.catalog().query("layer == 'occupation_sol'")["departement"])
        pool = table[table["departement"].isin(deps) & table["has_geometry"]]["code"].tolist()
    else:
        pool = list(candidates)
    pops = _latest_population(list(dict.fromkeys([code, *pool])))
    if code not in pops.index:
        return []
    ranked = rank_by_population(code, pops, len(pops))
    chosen: list[str] = []
    for checks, other in enumerate(ranked):
        if len(chosen) >= n or (candidates is None and checks >= MAX_COVERAGE_CHECKS):
            break
        if candidates is not None or (covered(other) if covered is not None
                                      else commune_covered(store, other, year_from, year_to)):
            chosen.append(other)
    return chosen


def commune_covered(store: Any, code: str, year_from: int, year_to: int) -> bool:
    """Whether both millésimes of the store cover the commune completely (``Coverage.complete``).

    ``False`` for a commune without polygon or a millésime absent from its département.
    """
    try:
        territory = resolve_territory(f"commune:{code}")
        return all(store.coverage(territory, y).complete for y in (year_from, year_to))
    except (MillesimeError, TerritoryNotFoundError):
        return False


def population_series(code: str) -> dict[int, int]:
    """A commune's population series (year → inhabitants), empty when unknown."""
    try:
        return population(code)
    except TerritoryNotFoundError:
        return {}


def latest_population(series: dict[int, int]) -> dict[str, int]:
    """``{"population_year": y, "population": n}`` of the latest year of a series, or ``{}``."""
    if not series:
        return {}
    year = max(series)
    return {"population_year": year, "population": series[year]}


def commune_row(store: Any, code: str, year_from: int, year_to: int, role: str,
                rule: Rule = "decree", thresholds: Thresholds = Thresholds()) -> dict[str, Any]:
    """One row of the comparison table (``available=False`` when the store lacks the commune)."""
    territory = resolve_territory(f"commune:{code}")
    row: dict[str, Any] = dict.fromkeys(COMPARISON_COLUMNS)
    series = population_series(code)
    row.update(code=code, name=territory.name, role=role, area_ha=territory.area_ha,
               available=False, **latest_population(series))
    if not commune_covered(store, code, year_from, year_to):
        return row
    flux = flux_from_pair(load_pair(store, territory, year_from, year_to), "artif", rule,
                          thresholds)
    ratios = per_inhabitant(flux.stock_to_ha, flux.net_ha, year_from, year_to, series)
    row.update(available=True, artif_stock_ha=flux.stock_to_ha, gross_gain_ha=flux.gross_gain_ha,
               net_ha=flux.net_ha, net_m2_per_ha=flux.net_ha * 1e4 / territory.area_ha,
               artif_m2_per_inhabitant=ratios.artif_m2_per_inhabitant,
               net_m2_per_inhabitant=(flux.net_ha * 1e4 / ratios.basis.stock_population
                                      if ratios.basis else None))
    return row


def comparison_table(store: Any, territory: Any, year_from: int, year_to: int,
                     peers: Sequence[str] | None = None, n: int = 8,
                     similar: bool = True, rule: Rule = "decree",
                     thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """The commune and its peers, with the same figures for each (module docstring).

    Args:
        store: an open store.
        territory: a commune ``Territory`` or id.
        year_from: first millésime.
        year_to: second millésime.
        peers: neighbour codes (editable list); default the ``n`` nearest by centroid.
        n: number of neighbours and of similar-population communes.
        similar: also add the communes of similar population (role ``"population"``).
        rule: artificialisation rule.
        thresholds: decree thresholds.

    Returns:
        Columns :data:`COMPARISON_COLUMNS`; ``role`` is ``"territoire"``, ``"voisine"`` or
        ``"population"`` (a commune in both lists is listed once, as ``"voisine"``).

    Raises:
        TerritoryNotFoundError: the territory is not a known commune.
    """
    resolved = resolve_territory(territory)
    if resolved.kind != "commune":
        raise TerritoryNotFoundError(
            f"comparison needs a commune, got {resolved.id}",
            "La comparaison avec les communes voisines n'est disponible que pour une commune.")
    code = resolved.code
    neighbours = list(peers) if peers is not None else nearest_communes(code, n)
    roles = {code: "territoire", **{c: "voisine" for c in neighbours if c != code}}
    if similar:
        for other in similar_population_communes(store, code, year_from, year_to, n):
            roles.setdefault(other, "population")
    rows = [commune_row(store, c, year_from, year_to, role, rule, thresholds)
            for c, role in roles.items()]
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
