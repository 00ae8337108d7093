"""All indicators of one territory for one millésime pair, as one structured, JSON-ready result.

:func:`territory_indicators` reads and overlays the two millésimes once (:func:`load_pair`) and
derives from that single overlay: stocks by family and by class, artificialisation,
imperméabilisation, sprawl and per-inhabitant figures; the ZAN trajectory comes from a
consumption series when one covers the territory, the peer comparison on request. Every block
names its method and source.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ocsge_engine.territories import resolve_territory
from ocsge_engine.indicators.artif import (
    FluxResult,
    Rule,
    SourceChoice,
    Thresholds,
    artificialisation,
)
from ocsge_engine.indicators.compare import comparison_table
from ocsge_engine.indicators.pair import Pair, load_pair
from ocsge_engine.indicators.population import PerInhabitant
from ocsge_engine.indicators.sprawl import SprawlOptions, SprawlResult, sprawl_from_pair
from ocsge_engine.indicators.vegetation import VegetationResult, vegetation
from ocsge_engine.indicators.zan import (
    ConsumptionNotFoundError,
    ZanOptions,
    ZanTrajectory,
    consumption_series,
    zan_trajectory,
)

if TYPE_CHECKING:
    from ocsge_engine.portrait.figures import PortraitFigures

logger = logging.getLogger(__name__)

STOCK_LEVELS: tuple[str, ...] = ("anf", "cs1", "cs2", "us1")
POPULATION_SOURCE = "INSEE population municipale (COG 2026), années 2019, 2020, 2022, 2023"
ZAN_SOURCE = "Cerema, consommation d'espaces NAF (fichiers fonciers), via la série chargée"


@dataclass(frozen=True)
class IndicatorOptions:
    """Options of :func:`territory_indicators` (hashable: usable in cache keys).

    Attributes:
        source: artificialisation source (``"auto"``: IGN layers when ingested, else matrix).
        rule: matrix rule (``"decree"`` or ``"cs1.1"``).
        thresholds: decree thresholds.
        sprawl: sprawl distances.
        zan: ZAN trajectory parameters.
        compare: also build the peer comparison (costly: one overlay per peer).
        peers: neighbour codes replacing the 8 nearest (editable list).
    """

    source: SourceChoice = "auto"
    rule: Rule = "decree"
    thresholds: Thresholds = Thresholds()
    sprawl: SprawlOptions = SprawlOptions()
    zan: ZanOptions = ZanOptions()
    compare: bool = False
    peers: tuple[str, ...] | None = None


@dataclass(frozen=True, eq=False)
class TerritoryIndicators:
    """Structured indicators of one territory (see :meth:`to_dict` for the JSON layout)."""

    territory_id: str
    name: str
    area_ha: float
    year_from: int
    year_to: int
    stocks: dict[str, dict[str, dict[str, float]]]
    artif: FluxResult
    imper: FluxResult
    sprawl: SprawlResult
    per_inhabitant: PerInhabitant
    zan: ZanTrajectory | None
    zan_missing: str | None
    comparison: pd.DataFrame | None = field(default=None, repr=False)
    portrait: PortraitFigures | None = field(default=None, repr=False)

    @property
    def synthetic(self) -> bool:
        """The figures depend on synthetic data (demo background)."""
        return bool(self.portrait is not None and self.portrait.synthetic)
    vegetation: VegetationResult | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain types (JSON-ready); every block carries its method/source."""
        portrait = self.portrait
        source = portrait.provenance.source if portrait is not None else ""
        coverage = ({str(k): v for k, v in portrait.coverage.items()} if portrait is not None
                    else None)
        per_inhabitant = {"source": POPULATION_SOURCE, **self.per_inhabitant.to_dict()}
        if portrait is not None:  # the figures layer decides what is shown (partial coverage…)
            for key in ("artif_m2_per_inhabitant", "net_m2_per_new_inhabitant"):
                fig = portrait[f"per_inhabitant.{key}"]
                per_inhabitant[key] = fig.value
                per_inhabitant[f"{key}_missing"] = fig.missing
        return {
            "territory": {"id": self.territory_id, "name": self.name, "area_ha": self.area_ha},
            "year_from": self.year_from, "year_to": self.year_to,
            "synthetic": self.synthetic, "source": source, "coverage": coverage,
            "partial_coverage": bool(portrait is not None and portrait.partial),
            "figures": ({k: f.to_dict() for k, f in portrait.figures.items()}
                        if portrait is not None else {}),
            "stocks": {"method": "exact overlay of OCCUPATION_SOL; families = team estimate",
                       "source": source, "synthetic": self.synthetic, "levels": self.stocks},
            "artificialisation": {**self.artif.to_dict(), "source": source,
                                  "synthetic": self.synthetic},
            "impermeabilisation": {**self.imper.to_dict(), "source": source,
                                   "synthetic": self.synthetic},
            "sprawl": {"method": "docs/indicators.md", "source": source,
                       "synthetic": self.synthetic, **self.sprawl.to_dict()},
            "per_inhabitant": per_inhabitant,
            "zan": ({"source": ZAN_SOURCE, **self.zan.to_dict()} if self.zan is not None
                    else {"missing": self.zan_missing}),
            "comparison": (None if self.comparison is None
                           else self.comparison.to_dict(orient="records")),
            "vegetation": None if self.vegetation is None else self.vegetation.to_dict(),
        }

    def to_flat(self) -> pd.DataFrame:
        """Flat ``key, value`` table (dotted keys) of :meth:`to_dict`, lists of records excepted."""
        rows: list[tuple[str, Any]] = []
        _flatten(self.to_dict(), "", rows)
        return pd.DataFrame(rows, columns=["key", "value"])


def _flatten(value: Any, prefix: str, rows: list[tuple[str, Any]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), rows)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for record in value:
            key = record.get("code", len(rows))
            _flatten({k: v for k, v in record.items() if k != "code"}, f"{prefix}.{key}", rows)
    elif isinstance(value, list):
        rows.append((prefix, " ".join(str(v) for v in value)))
    else:
        rows.append((prefix, value))


def territory_indicators(store: Any, territory: Any, year_from: int, year_to: int,
                         options: IndicatorOptions = IndicatorOptions(), *,
                         pair: Pair | None = None) -> TerritoryIndicators:
    """Compute every indicator of a territory between two millésimes.

    Args:
        store: an open :class:`~ocsge_engine.store.Store`.
        territory: a ``Territory`` or its id (``"commune:33005"``…).
        year_from: first millésime.
        year_to: second millésime, strictly later.
        options: methods and parameters.
        pair: the territory's already loaded pair (the national batch passes its overlay).

    Returns:
        The :class:`TerritoryIndicators`.

    Raises:
        TerritoryNotFoundError: unknown territory.
        MillesimeError: inverted years or a millésime absent from the store.
    """
    resolved = resolve_territory(territory)
    if pair is None and options == IndicatorOptions():
        from ocsge_engine.batch.pages import stored_object

        stored = stored_object(store, resolved, year_from, year_to, "indicators")
        if stored is not None:
            return stored
    pair = pair if pair is not None else load_pair(store, resolved, year_from, year_to)
    stocks = {}
    for by in STOCK_LEVELS:
        matrix = pair.matrix(by)  # type: ignore[arg-type]
        stocks[by] = {"from": {str(k): float(v) for k, v in matrix.stocks_from.items()},
                      "to": {str(k): float(v) for k, v in matrix.stocks_to.items()}}
    artif = artificialisation(store, resolved, pair.year_from, pair.year_to,  # type: ignore[arg-type]
                              options.source, options.rule, options.thresholds, pair=pair)
    # Sprawl needs the gains over the occupation layers: use the matrix result when IGN's
    # polygons were the source (its gain geometries are IGN's own, equally valid).
    sprawl = sprawl_from_pair(pair, artif, options.sprawl, options.rule)
    from ocsge_engine.portrait.figures import portrait_figures  # figures layer imports indicators

    portrait = portrait_figures(store, resolved, int(year_from), int(year_to), pair=pair,
                                artif=artif)
    ratios = portrait.ratios
    zan, missing = None, None
    try:
        zan = zan_trajectory(consumption_series(resolved, store), options.zan)
    except (ConsumptionNotFoundError, ValueError) as err:
        missing = str(err)
        logger.info("no ZAN trajectory for %s: %s", resolved.id, err)
    comparison = None
    if options.compare:
        comparison = comparison_table(store, resolved, pair.year_from, pair.year_to,  # type: ignore[arg-type]
                                      options.peers, rule=options.rule,
                                      thresholds=options.thresholds)
    return TerritoryIndicators(
        territory_id=resolved.id, name=resolved.name, area_ha=resolved.area_ha,
        year_from=int(year_from), year_to=int(year_to), stocks=stocks, artif=artif,
        imper=portrait.imper, sprawl=sprawl, per_inhabitant=ratios, zan=zan,
        zan_missing=missing, comparison=comparison, portrait=portrait,
        vegetation=vegetation(pair, store=store))
