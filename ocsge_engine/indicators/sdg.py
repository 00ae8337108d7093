"""SDG indicator 11.3.1: ratio of land consumption rate to population growth rate.

UN-Habitat metadata of indicator 11.3.1 (UN Statistics Division, SDG indicators metadata
repository, « Ratio of land consumption rate to population growth rate »), for a period of
``y`` years between ``t`` and ``t + n``::

    LCR    = ln(Urb_{t+n} / Urb_t) / y        land consumption rate (per year)
    PGR    = ln(Pop_{t+n} / Pop_t) / y        population growth rate (per year)
    LCRPGR = LCR / PGR

where ``Urb`` is, **here**, the artificialised area of the official artificialisation figures
(:func:`ocsge_engine.indicators.artif.artificialisation`: IGN's layers or the decree matrix with
the official thresholds), **not** UN-Habitat's built-up urban extent (urban + suburban built-up
area with fringe and captured open space). The figure is therefore named « inspiré de l'ODD
11.3.1 » wherever it is shown, and ``extent`` says what was measured. ``Pop`` is the population. ``LCRPGR > 1`` means land is consumed faster than the population
grows. The companion figure is the net artificialised area per new inhabitant
(:func:`ocsge_engine.indicators.population.per_inhabitant`).

On OCS GE the millésimes (e.g. 2015 → 2018) and the INSEE population years (2019, 2020, 2022,
2023) do not coincide: each rate is computed over its own years and annualised, and the result
says so (``population_years``, ``proxy``). Compute only; formulas cited in docs/processes.md.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any

from ocsge_engine.indicators.population import per_inhabitant, population_basis

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sdg1131:
    """SDG 11.3.1 figures of one territory and period.

    Attributes:
        urban_from_ha: artificialised area at the first millésime.
        urban_to_ha: at the second millésime.
        years: ``(year_from, year_to)`` of the land figures.
        population_years: ``(year_a, year_b)`` of the population figures, or ``None``.
        population_from: population at ``year_a``.
        population_to: population at ``year_b``.
        lcr: land consumption rate (per year), ``None`` when a stock is 0.
        pgr: population growth rate (per year), ``None`` without two population figures.
        ratio: ``lcr / pgr``, ``None`` when either is missing or ``pgr == 0``.
        m2_per_new_inhabitant: annualised net artificialised m² per new inhabitant, ``None``
            when the population did not grow.
        proxy: the population years are a proxy of the millésime period.
    """

    urban_from_ha: float
    urban_to_ha: float
    years: tuple[int, int]
    population_years: tuple[int, int] | None
    population_from: int | None
    population_to: int | None
    lcr: float | None
    pgr: float | None
    ratio: float | None
    m2_per_new_inhabitant: float | None
    proxy: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain-types view."""
        return asdict(self)


def growth_rate(value_from: float, value_to: float, years: float) -> float | None:
    """Annual logarithmic growth rate ``ln(to / from) / years`` (``None`` if undefined).

    >>> round(growth_rate(100.0, 110.0, 2), 6)
    0.047655
    """
    if value_from <= 0 or value_to <= 0 or years <= 0:
        return None
    return math.log(value_to / value_from) / years


def sdg_11_3_1(urban_from_ha: float, urban_to_ha: float, year_from: int, year_to: int,
               population: dict[int, int]) -> Sdg1131:
    """LCR, PGR, LCR/PGR and m² per new inhabitant from stocks and a population series.

    Args:
        urban_from_ha: artificialised area at ``year_from``.
        urban_to_ha: artificialised area at ``year_to``.
        year_from: first millésime.
        year_to: second millésime (> ``year_from``).
        population: population by year; the years nearest to the millésimes are used
            (:func:`ocsge_engine.indicators.population.population_basis`).

    Returns:
        The :class:`Sdg1131`.

    Raises:
        ValueError: ``year_to <= year_from``.

    >>> r = sdg_11_3_1(100.0, 110.0, 2016, 2018, {2016: 1000, 2018: 1050})
    >>> round(r.lcr, 5), round(r.pgr, 5), round(r.ratio, 4), round(r.m2_per_new_inhabitant, 1)
    (0.04766, 0.0244, 1.9535, 2000.0)
    """
    if year_to <= year_from:
        raise ValueError(f"year_to {year_to} must follow year_from {year_from}")
    lcr = growth_rate(urban_from_ha, urban_to_ha, year_to - year_from)
    basis = population_basis(population, year_from, year_to)
    pgr = pop_a = pop_b = None
    pop_years = None
    if basis is not None and basis.change_years is not None:
        pop_years = basis.change_years
        pop_a, pop_b = population[pop_years[0]], population[pop_years[1]]
        pgr = growth_rate(pop_a, pop_b, pop_years[1] - pop_years[0])
    ratio = lcr / pgr if lcr is not None and pgr else None
    per_new = per_inhabitant(urban_to_ha, urban_to_ha - urban_from_ha, year_from, year_to,
                             population).net_m2_per_new_inhabitant
    return Sdg1131(urban_from_ha, urban_to_ha, (year_from, year_to), pop_years, pop_a, pop_b, lcr,
                   pgr, ratio, per_new, bool(basis.proxy) if basis else False)


def territory_sdg(store: Any, territory: Any, year_from: int, year_to: int,
                  population: dict[int, int] | None = None) -> Sdg1131:
    """SDG 11.3.1-like ratio of a territory (official artificialised stocks, module docstring).

    Args:
        store: an open :class:`~ocsge_engine.store.Store`.
        territory: a ``Territory`` or its id.
        year_from: first millésime.
        year_to: second millésime.
        population: population series; default: the INSEE series of the territory's communes
            (:func:`ocsge_engine.territories.population`).

    Raises:
        MillesimeError: a millésime absent for the territory.
    """
    from ocsge_engine.territories import resolve_territory
    from ocsge_engine.indicators.artif import artificialisation
    from ocsge_engine.territories import population as insee_population

    resolved = resolve_territory(territory)
    # a commune precomputed by the national batch: artificialisation() serves its stored result
    flux = artificialisation(store, resolved, year_from, year_to)
    if population is None:
        population = insee_population(resolved.code) if resolved.kind != "polygon" else {}
    return sdg_11_3_1(flux.stock_from_ha, flux.stock_to_ha, year_from, year_to, population)
