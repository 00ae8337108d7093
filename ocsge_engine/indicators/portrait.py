"""Headline figures of a territory portrait: identity, family stocks, net artificialisation.

Everything here is computed from the store with one overlay of the two millésimes
(:func:`~ocsge_engine.indicators.pair.load_pair`): the family stocks come from its A/N/F exchange
matrix, the artificialisation figures from :func:`~ocsge_engine.indicators.artif.artificialisation`
(IGN's fields when ingested, else the decree matrix with the 2,500 m² / 50 m² thresholds), so the
home page shows the same numbers as the Artificialisation page. No French text here.
Families (A/N/F) follow the team heuristic of ``artificialisation_rules.md`` §6: an estimate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ocsge_engine.flows.exchange import resolve_territory
from ocsge_engine.indicators.artif import artificialisation
from ocsge_engine.indicators.pair import load_pair
from ocsge_engine.nomenclature import FAMILIES
from ocsge_engine.territories import Territory, population

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PortraitFigures:
    """Headline numbers of one territory for one millésime pair.

    Attributes:
        territory_id: e.g. ``commune:33529``.
        name: territory name.
        area_ha: territory area.
        population: latest population (year → inhabitants), empty when unknown.
        year_from, year_to: the millésimes compared.
        coverage: millésime → share of the territory covered by OCCUPATION_SOL (0–1).
        stocks_from, stocks_to: family → hectares at each millésime (rows sum to the covered area).
        flows: tidy family exchange table (``code_from``, ``code_to``, ``area_ha``).
        artificialised_gross_ha: surface that became artificialised (counted gains).
        desartificialised_ha: surface that stopped being artificialised (counted losses).
        artificialised_stock_ha: artificialised surface at ``year_to``.
        origin_ha: NAF family → hectares of the counted gains (estimate).
        method: how artificialisation was measured (``ign_artif``, ``decree_matrix_official_thresholds``…).
    """

    territory_id: str
    name: str
    area_ha: float
    population: dict[int, int]
    year_from: int
    year_to: int
    coverage: dict[int, float]
    stocks_from: dict[str, float]
    stocks_to: dict[str, float]
    flows: pd.DataFrame = field(repr=False)
    artificialised_gross_ha: float = 0.0
    desartificialised_ha: float = 0.0
    artificialised_stock_ha: float = 0.0
    origin_ha: dict[str, float] = field(default_factory=dict)
    method: str = ""

    @property
    def latest_population(self) -> tuple[int, int] | None:
        """(year, population) of the latest census figure, if any."""
        if not self.population:
            return None
        year = max(self.population)
        return year, self.population[year]

    @property
    def density_per_km2(self) -> float | None:
        """Inhabitants per km² (latest population)."""
        latest = self.latest_population
        return latest[1] / (self.area_ha / 100) if latest and self.area_ha else None

    @property
    def artificialised_share(self) -> float:
        """Share (0–1) of the covered area artificialised at ``year_to``."""
        total = sum(self.stocks_to.values())
        return self.artificialised_stock_ha / total if total else 0.0

    @property
    def net_artificialisation_ha(self) -> float:
        """Net artificialisation: counted gains minus counted losses."""
        return self.artificialised_gross_ha - self.desartificialised_ha

    def naf_to_artificial_ha(self, family: str | None) -> float:
        """Hectares of one NAF family (or all when ``None``) that became artificialised."""
        if family is None:
            return self.artificialised_gross_ha
        return float(self.origin_ha.get(family, 0.0))

    def net_per_new_inhabitant_m2(self) -> float | None:
        """Net artificialisation (m²) per inhabitant gained over the population series, if any gain."""
        if len(self.population) < 2:
            return None
        years = sorted(self.population)
        gain = self.population[years[-1]] - self.population[years[0]]
        return self.net_artificialisation_ha * 10_000 / gain if gain > 0 else None

    def as_dict(self) -> dict[str, Any]:
        """Plain-types view (for JSON export)."""
        return {
            "territory_id": self.territory_id, "name": self.name, "area_ha": self.area_ha,
            "population": self.population, "year_from": self.year_from, "year_to": self.year_to,
            "coverage": self.coverage, "stocks_from": self.stocks_from, "stocks_to": self.stocks_to,
            "artificialised_share": self.artificialised_share,
            "artificialised_gross_ha": self.artificialised_gross_ha,
            "desartificialised_ha": self.desartificialised_ha,
            "net_artificialisation_ha": self.net_artificialisation_ha,
            "origin_ha": self.origin_ha, "method": self.method,
        }


def portrait_figures(store: Any, territory: Territory | str, year_from: int, year_to: int
                     ) -> PortraitFigures:
    """Compute the headline figures of ``territory`` between two millésimes.

    Args:
        store: an open :class:`~ocsge_engine.store.Store`.
        territory: the territory (any kind) or its id (``"commune:33005"``).
        year_from: first millésime.
        year_to: second millésime (> ``year_from``).

    Returns:
        The figures; family stocks equal the row/column sums of the family exchange matrix.
    """
    territory = resolve_territory(territory)
    pair = load_pair(store, territory, year_from, year_to)
    matrix = pair.matrix("anf")
    flux = artificialisation(store, territory, year_from, year_to, pair=pair)
    coverage = {year: float(store.coverage(territory, year).share) for year in (year_from, year_to)}
    stocks_from = {f: float(matrix.stocks_from.get(f, 0.0)) for f in FAMILIES}
    stocks_to = {f: float(matrix.stocks_to.get(f, 0.0)) for f in FAMILIES}
    try:
        pop = population(territory.id) if territory.kind != "polygon" else {}
    except KeyError:
        logger.info("no population series for %s", territory.id)
        pop = {}
    return PortraitFigures(
        territory_id=territory.id, name=territory.name, area_ha=territory.area_ha, population=pop,
        year_from=year_from, year_to=year_to, coverage=coverage, stocks_from=stocks_from,
        stocks_to=stocks_to, flows=matrix.table,
        artificialised_gross_ha=float(flux.gross_gain_ha), desartificialised_ha=float(flux.gross_loss_ha),
        artificialised_stock_ha=float(flux.stock_to_ha), origin_ha={k: float(v) for k, v in flux.origin.items()},
        method=flux.method,
    )
