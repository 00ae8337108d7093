"""Indicators of a territory: stocks, artificialisation, imperméabilisation, sprawl, ZAN, peers.

Formulas and sources: docs/indicators.md. Compute only (no French text, no figures); charts live
in :mod:`ocsge_engine.charts`. Public functions take ``(store, territory, year_from, year_to,
options)`` with hashable options, so that pages can cache them.
"""

from ocsge_engine.indicators.artif import (
    CHECK_TOLERANCE_HA,
    NO_THRESHOLDS,
    FluxResult,
    Thresholds,
    artificialisation,
    flux_from_ign,
    flux_from_pair,
    impermeabilisation,
    patch_labels,
    status,
    threshold_mask,
)
from ocsge_engine.indicators.compare import (
    COMPARISON_COLUMNS,
    comparison_table,
    rank_by_distance,
    rank_by_population,
    similar_population_communes,
)
from ocsge_engine.indicators.pair import Pair, load_pair, pair_from_layers
from ocsge_engine.indicators.population import (
    PerInhabitant,
    PopulationBasis,
    per_inhabitant,
    population_basis,
)
from ocsge_engine.indicators.sprawl import SprawlOptions, SprawlResult, sprawl_from_pair
from ocsge_engine.indicators.summary import (
    IndicatorOptions,
    TerritoryIndicators,
    territory_indicators,
)
from ocsge_engine.indicators.zan import (
    ConsumptionNotFoundError,
    ConsumptionSeries,
    ZanOptions,
    ZanTrajectory,
    consumption_series,
    lyon_consumption,
    sybarval_consumption,
    zan_trajectory,
)

__all__ = [
    "CHECK_TOLERANCE_HA", "COMPARISON_COLUMNS", "NO_THRESHOLDS", "ConsumptionNotFoundError",
    "ConsumptionSeries", "FluxResult", "IndicatorOptions", "Pair", "PerInhabitant",
    "PopulationBasis", "SprawlOptions", "SprawlResult", "TerritoryIndicators", "Thresholds",
    "ZanOptions", "ZanTrajectory", "artificialisation", "comparison_table", "consumption_series",
    "flux_from_ign", "flux_from_pair", "impermeabilisation", "load_pair", "lyon_consumption",
    "pair_from_layers", "patch_labels", "per_inhabitant", "population_basis", "rank_by_distance",
    "rank_by_population", "similar_population_communes", "sprawl_from_pair", "status",
    "sybarval_consumption", "territory_indicators", "threshold_mask", "zan_trajectory",
]
