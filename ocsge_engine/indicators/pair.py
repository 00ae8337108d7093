"""A territory's two millésimes and the overlay pieces between them, computed once.

Every indicator of a pair (stocks, artificialisation, imperméabilisation, sprawl) derives from
the same exact overlay of the two OCCUPATION_SOL layers
(:func:`ocsge_engine.flows.overlay.overlay_pieces`, identical geometries short-circuited). A
:class:`Pair` holds both layers and the pieces, so the overlay runs once per
``(territory, year_from, year_to)`` and the exchange matrix is rebuilt from the pieces with the
flows engine (:func:`ocsge_engine.flows.matrix.build_matrix`, row/column self-check included).

Layers read from the store carry each polygon's official artificialisation status (``artif``,
``crit_seuil``), computed on the whole département layer before clipping
(:mod:`ocsge_engine.indicators.thresholds`); :meth:`Pair.official_status` reads it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from ocsge_engine.errors import MillesimeError, NotCoveredError
from ocsge_engine.territories import resolve_territory
from ocsge_engine.flows.levels import By
from ocsge_engine.flows.matrix import (
    ExchangeMatrix,
    Transitions,
    build_matrix,
    couple_stocks,
    transitions_from_pieces,
)
from ocsge_engine.flows.overlay import OverlayPieces, overlay_pieces
from ocsge_engine.indicators.thresholds import (
    OFFICIAL_THRESHOLDS,
    STATUS_COLUMNS,
    Thresholds,
    ensure_status,
    official_status,
)

logger = logging.getLogger(__name__)

_COLUMNS = ["code_cs", "code_us", *STATUS_COLUMNS]


@dataclass(frozen=True, eq=False)
class Pair:
    """Two OCCUPATION_SOL layers of one territory and their overlay pieces.

    Attributes:
        layer_from: first millésime (``code_cs``, ``code_us``, geometry; ``artif`` and
            ``crit_seuil`` when read from the store), clipped to the territory.
        layer_to: second millésime, same columns and CRS.
        pieces: overlay pieces (positions in both layers, area in m²).
        year_from: first millésime (``None`` for in-memory computations).
        year_to: second millésime.
        territory: the territory object (``None`` for in-memory computations).
    """

    layer_from: gpd.GeoDataFrame
    layer_to: gpd.GeoDataFrame
    pieces: OverlayPieces = field(repr=False)
    year_from: int | None = None
    year_to: int | None = None
    territory: Any = field(default=None, repr=False)
    _status: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict, repr=False,
                                                       compare=False)
    _derived: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False, compare=False)

    def derived(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """The result ``compute()`` derived from this (read-only) pair, computed once per ``key``.

        Matrices, fluxes and sprawl of one pair are asked for by several figures (the batch, the
        indicators, the portrait): each is computed on the first request and shared afterwards.
        Treat the result as read-only, like the pair.
        """
        try:
            return self._derived[key]
        except KeyError:
            value = self._derived[key] = compute()
            return value

    @cached_property
    def transitions(self) -> Transitions:
        """Couple-level transitions of the pair (source ``overlay``)."""
        table = transitions_from_pieces(self.layer_from, self.layer_to, self.pieces.index_from,
                                        self.pieces.index_to, self.pieces.area_m2)
        return Transitions(table, couple_stocks(self.layer_from), couple_stocks(self.layer_to),
                           "overlay")

    def coverage(self, side: str = "both") -> float:
        """Share (0..1) of the territory covered by the data (``"from"``, ``"to"`` or the lower).

        ``1.0`` for in-memory pairs without a territory.
        """
        geometry = getattr(self.territory, "geometry", None)
        if geometry is None or geometry.area <= 0:
            return 1.0
        shares = {"from": float(self.layer_from.geometry.area.sum() / geometry.area),
                  "to": float(self.layer_to.geometry.area.sum() / geometry.area)}
        value = min(shares.values()) if side == "both" else shares[side]
        return min(1.0, value)

    def matrix(self, by: By) -> ExchangeMatrix:
        """Checked exchange matrix at level ``by`` (rows/columns sum to the stocks); once per level."""
        return self.derived(("matrix", by), lambda: build_matrix(self.transitions, by,
                                                                  self.year_from, self.year_to))

    def codes(self, side: str) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
        """``(code_cs, code_us)`` of every piece on side ``"from"`` or ``"to"``."""
        layer, index = ((self.layer_from, self.pieces.index_from) if side == "from"
                        else (self.layer_to, self.pieces.index_to))
        return (np.asarray(layer["code_cs"], dtype=object)[index],
                np.asarray(layer["code_us"], dtype=object)[index])

    def official_status(self, side: str, thresholds: Thresholds = OFFICIAL_THRESHOLDS
                        ) -> npt.NDArray[np.bool_]:
        """Thresholded artificialisation status of every polygon of side ``"from"`` or ``"to"``.

        With the official thresholds, the layer's stored ``artif`` column (computed on the whole
        département layer, before clipping) when it has one. Otherwise (in-memory layers, other
        threshold values) :func:`official_status` runs on this layer as if it were the whole
        layer: exact for a département-sized or hand-made layer, territory-scale otherwise.
        """
        layer = self.layer_from if side == "from" else self.layer_to
        if thresholds.is_official and "artif" in layer.columns and layer["artif"].notna().all():
            return np.asarray(layer["artif"], dtype=bool)
        key = f"{side}:{thresholds}"
        if key not in self._status:
            self._status[key] = official_status(layer, thresholds)["artif"].to_numpy(dtype=bool)
        return self._status[key]

    def piece_geometries(self, which: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
        """Geometry of the selected pieces (intersections recomputed for those only)."""
        geoms_from = self.layer_from.geometry.to_numpy()[self.pieces.index_from[which]]
        geoms_to = self.layer_to.geometry.to_numpy()[self.pieces.index_to[which]]
        same = shapely.equals_exact(geoms_from, geoms_to, tolerance=0.0)
        out = geoms_from.copy()
        if (~same).any():
            out[~same] = shapely.intersection(shapely.make_valid(geoms_from[~same]),
                                              shapely.make_valid(geoms_to[~same]))
        return np.asarray(out, dtype=object)


def pair_from_layers(layer_from: gpd.GeoDataFrame, layer_to: gpd.GeoDataFrame,
                     year_from: int | None = None, year_to: int | None = None,
                     territory: Any = None) -> Pair:
    """Overlay two in-memory OCCUPATION_SOL layers (pure compute, no store).

    Args:
        layer_from: first millésime, columns ``code_cs``, ``code_us``, polygons in metres.
        layer_to: second millésime, same CRS.
        year_from: first millésime, kept on the result.
        year_to: second millésime.
        territory: optional territory object, kept on the result.

    Returns:
        The :class:`Pair`.
    """
    layer_from = layer_from.reset_index(drop=True)
    layer_to = layer_to.reset_index(drop=True)
    pieces = overlay_pieces(layer_from.geometry.to_numpy(), layer_to.geometry.to_numpy())
    return Pair(layer_from, layer_to, pieces, year_from, year_to, territory)


def check_years(available: list[int], year_from: int, year_to: int) -> None:
    """Validate a millésime pair against the years present in the store.

    Raises:
        MillesimeError: inverted or equal years, or a year absent (French message lists the
            available millésimes).
    """
    if year_from >= year_to:
        raise MillesimeError(
            f"inverted or equal millesimes {year_from} -> {year_to}",
            f"Le premier millésime ({year_from}) doit précéder le second ({year_to}).")
    if not available:
        raise NotCoveredError("OCCUPATION_SOL millesimes absent from the store for the territory",
                              "Ce territoire n'est pas couvert par l'OCS GE chargée : aucun "
                              "millésime disponible, donc aucun chiffre.")
    listing = ", ".join(str(y) for y in available) or "aucun"
    for year in (year_from, year_to):
        if year not in available:
            raise MillesimeError(f"millesime {year} absent (available: {available})",
                                 f"Millésime {year} indisponible pour ce territoire "
                                 f"(disponibles : {listing}).")


_PAIR_CACHE_SIZE = 16
_pair_cache: OrderedDict[tuple[object, ...], Pair] = OrderedDict()
_pair_lock = threading.Lock()


def load_pair(store: Any, territory: Any, year_from: int, year_to: int) -> Pair:
    """Read both OCCUPATION_SOL layers of a territory from the store and overlay them.

    The last pairs are kept in memory (bounded LRU, keyed by the store folder, the catalogue's
    modification time, the territory and the years), so the pages of one territory share one
    overlay; a store written since invalidates its entries. Treat the result as read-only.

    Args:
        store: an open :class:`ocsge_engine.store.Store`.
        territory: a ``Territory`` or its id (``"commune:33005"``…).
        year_from: first millésime.
        year_to: second millésime, strictly later.

    Returns:
        The :class:`Pair`.

    Raises:
        TerritoryNotFoundError: unknown territory id.
        MillesimeError: inverted years or a millésime absent from the store.
    """
    resolved = resolve_territory(territory)
    year_from, year_to = int(year_from), int(year_to)
    check_years(list(store.millesimes(resolved)), year_from, year_to)
    for year in (year_from, year_to):
        ensure_status(store, resolved.departements, year)
    key = _cache_key(store, resolved, year_from, year_to)
    with _pair_lock:
        if key is not None and key in _pair_cache:
            _pair_cache.move_to_end(key)
            return _pair_cache[key]
    pair = _read_pair(store, resolved, year_from, year_to)
    if key is not None:
        with _pair_lock:
            _pair_cache[key] = pair
            while len(_pair_cache) > _PAIR_CACHE_SIZE:
                _pair_cache.popitem(last=False)
    return pair


def _cache_key(store: Any, territory: Any, year_from: int, year_to: int) -> tuple[object, ...] | None:
    """Key of a pair in the cache, or ``None`` for stores/territories that cannot be keyed."""
    path = getattr(store, "path", None)
    territory_id = getattr(territory, "id", None)
    if path is None or territory_id is None:
        return None
    catalogue = Path(path) / "catalog.duckdb"
    version = catalogue.stat().st_mtime_ns if catalogue.exists() else 0
    geometry_key = shapely.to_wkb(territory.geometry) if territory_id.startswith("polygon:") else b""
    return (str(Path(path).resolve()), version, territory_id, geometry_key, year_from, year_to)


def _read_pair(store: Any, resolved: Any, year_from: int, year_to: int) -> Pair:
    """Read and overlay (no cache)."""
    layers = [store.polygons(resolved, y, columns=_COLUMNS) for y in (year_from, year_to)]
    for year, layer in zip((year_from, year_to), layers):
        if len(layer) == 0:
            name = getattr(resolved, "name", str(resolved))
            raise NotCoveredError(
                f"territory {getattr(resolved, 'id', resolved)} has no OCCUPATION_SOL polygon in {year}",
                f"« {name} » n'est pas couvert par l'OCS GE chargée pour le millésime {year} : "
                "aucun chiffre n'est calculé pour ce territoire.")
    logger.debug("pair %s %d->%d: %d and %d polygons", getattr(resolved, "id", resolved),
                 year_from, year_to, len(layers[0]), len(layers[1]))
    return pair_from_layers(layers[0], layers[1], year_from, year_to, resolved)
