"""Per-inhabitant figures: which population years serve a millésime pair, and the ratios.

The population series (INSEE population municipale, COG 2026, :func:`territories.population`)
has the years 2019, 2020, 2022 and 2023 only. For a millésime pair ``(year_from, year_to)``:

* the *stock* population is the series year nearest to ``year_to`` (ties: the earlier year);
* the *change* of population uses the series years nearest to ``year_from`` and ``year_to``;
  when both are the same year (e.g. 2015 → 2018: both 2019), the whole series (first → last
  year) serves as a **proxy** of the period's growth rate, flagged ``proxy=True``.

Ratios (m² per inhabitant):

* ``artif_m2_per_inhabitant = stock_to_ha × 10,000 / population(stock year)``;
* ``net_m2_per_new_inhabitant = (net_ha × 10,000 / years of the millésime pair)
  / (Δpopulation / years of the population pair)``: an annualised ratio (both rates per year),
  ``None`` when the population did not grow or when the net artificialisation is not positive
  (a negative « m² artificialisés par nouvel habitant » has no meaning: « — » with the reason).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PopulationBasis:
    """Population years and values used for one millésime pair.

    Attributes:
        stock_year: series year used for the per-inhabitant stock.
        stock_population: population that year.
        change_years: ``(year_a, year_b)`` of the population change.
        change: ``population(year_b) - population(year_a)``.
        proxy: the change years do not match the millésimes (whole series used instead).
    """

    stock_year: int
    stock_population: int
    change_years: tuple[int, int] | None
    change: int | None
    proxy: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain-types view."""
        return asdict(self)


def nearest_year(years: list[int], target: int) -> int:
    """The year of ``years`` closest to ``target`` (ties: the earlier one).

    >>> nearest_year([2019, 2020, 2022, 2023], 2021), nearest_year([2019, 2023], 2015)
    (2020, 2019)
    """
    return min(sorted(years), key=lambda y: (abs(y - target), y))


def population_basis(series: dict[int, int], year_from: int, year_to: int
                     ) -> PopulationBasis | None:
    """Choose the population years for a millésime pair (module docstring).

    Returns:
        ``None`` when the series is empty.

    >>> population_basis({2019: 100, 2023: 120}, 2015, 2018)
    PopulationBasis(stock_year=2019, stock_population=100, change_years=(2019, 2023), change=20, proxy=True)
    """
    if not series:
        return None
    years = sorted(series)
    stock_year = nearest_year(years, year_to)
    year_a, year_b = nearest_year(years, year_from), nearest_year(years, year_to)
    proxy = year_a == year_b
    if proxy:
        year_a, year_b = years[0], years[-1]
    if year_a == year_b:
        return PopulationBasis(stock_year, series[stock_year], None, None, True)
    return PopulationBasis(stock_year, series[stock_year], (year_a, year_b),
                           series[year_b] - series[year_a], proxy)


@dataclass(frozen=True)
class PerInhabitant:
    """Per-inhabitant figures (formulas in the module docstring)."""

    artif_m2_per_inhabitant: float | None
    net_m2_per_new_inhabitant: float | None
    basis: PopulationBasis | None

    def to_dict(self) -> dict[str, Any]:
        """Plain-types view."""
        return {"artif_m2_per_inhabitant": self.artif_m2_per_inhabitant,
                "net_m2_per_new_inhabitant": self.net_m2_per_new_inhabitant,
                "population": None if self.basis is None else self.basis.to_dict()}


def per_inhabitant(stock_to_ha: float, net_ha: float, year_from: int, year_to: int,
                   series: dict[int, int]) -> PerInhabitant:
    """Artificialised m² per inhabitant and net m² per new inhabitant (annualised).

    Args:
        stock_to_ha: artificialised stock at ``year_to``.
        net_ha: net artificialisation between the millésimes.
        year_from: first millésime.
        year_to: second millésime.
        series: population by year (``{2019: …, 2023: …}``).

    >>> r = per_inhabitant(10.0, 3.0, 2017, 2020, {2019: 1000, 2020: 1050, 2022: 1150})
    >>> r.artif_m2_per_inhabitant, r.net_m2_per_new_inhabitant
    (95.23809523809524, 200.0)
    """
    basis = population_basis(series, year_from, year_to)
    if basis is None or basis.stock_population <= 0:
        return PerInhabitant(None, None, basis)
    stock = stock_to_ha * 1e4 / basis.stock_population
    per_new = None
    if (basis.change_years is not None and basis.change is not None and basis.change > 0
            and net_ha > 0):
        span = basis.change_years[1] - basis.change_years[0]
        per_new = (net_ha * 1e4 / (year_to - year_from)) / (basis.change / span)
    return PerInhabitant(stock, per_new, basis)
