"""Duck-typed contracts of the store: what readers need from a store and from a territory.

Modules that only read the store (flows, indicators, maps, report) type their ``store`` and
``territory`` parameters with these protocols, so they never depend on DuckDB details.
"""

from __future__ import annotations

from typing import Any, Protocol

import geopandas as gpd
from shapely.geometry.base import BaseGeometry


class TerritoryLike(Protocol):
    """What the store needs from a territory (duck-typed ``territories.Territory``)."""

    @property
    def geometry(self) -> BaseGeometry: ...  # noqa: D102

    @property
    def departements(self) -> tuple[str, ...]: ...  # noqa: D102


class StoreLike(Protocol):
    """What readers need from :class:`ocsge_engine.store.Store`."""

    def millesimes(self, territory: Any, layer: str = ...) -> list[Any]: ...  # noqa: D102

    def polygons(self, territory: Any, millesime: Any, layer: str = ...,  # noqa: D102
                 clip: bool = ..., columns: list[str] | None = ...) -> gpd.GeoDataFrame: ...
