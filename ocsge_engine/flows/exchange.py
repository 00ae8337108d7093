"""Exchange matrices of a territory read from the store (one pair, or a chain of millésimes).

Source selection (``source="auto"``):

* both OCCUPATION_SOL layers present → exact **overlay** (the primary result); when IGN's DIFF
  layer of the pair is also in the store, the DIFF matrix is computed too and its per-cell
  disagreement attached (``ExchangeMatrix.disagreement``, warning above 0.5 ha, sparte's threshold);
* else DIFF layer + first OCCUPATION_SOL layer → **diff**;
* else :class:`~ocsge_engine.errors.MillesimeError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any, Literal

import geopandas as gpd
import shapely

from ocsge_engine.errors import MillesimeError
from ocsge_engine.flows.diff import DIFF_COLUMNS, transitions_from_diff
from ocsge_engine.flows.levels import By, validate_by
from ocsge_engine.flows.matrix import ExchangeMatrix, Transitions, build_matrix, couple_stocks
from ocsge_engine.flows.overlay import transitions_from_layers
from ocsge_engine.flows.store_pair import transitions_from_store
from ocsge_engine.store.protocols import StoreLike
from ocsge_engine.territories import resolve_territory  # noqa: F401 (re-exported)

logger = logging.getLogger(__name__)

SourceChoice = Literal["auto", "overlay", "diff"]
Progress = Callable[[float, str], None]
DISAGREEMENT_WARN_HA = 0.5
_OCS_COLUMNS = ["code_cs", "code_us"]


class _Layers:
    """Reads each layer of one territory once (a chain reuses the middle millésimes)."""

    def __init__(self, store: StoreLike, territory: Any, fast: bool = False) -> None:
        self.store, self.territory, self.fast = store, territory, fast
        self.years = set(store.millesimes(territory))
        self.periods = {str(p) for p in store.millesimes(territory, layer="diff")}
        self._cache: dict[Any, gpd.GeoDataFrame] = {}

    def ocs(self, year: int) -> gpd.GeoDataFrame:
        if year not in self._cache:
            self._cache[year] = self.store.polygons(self.territory, year, columns=_OCS_COLUMNS)
        return self._cache[year]

    def ocs_pair(self, year_from: int, year_to: int
                 ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """Both layers, the missing ones read in parallel (parquet decoding and clipping
        release the GIL, so two reads take about the time of one on two cores)."""
        missing = [y for y in (year_from, year_to) if y not in self._cache]
        if len(missing) == 2:
            # Each thread gets its own copy of the territory geometry: GEOS prepares it (and
            # builds its lazy indexes) in place, which is not thread-safe on a shared object.
            copies = [SimpleNamespace(geometry=shapely.from_wkb(shapely.to_wkb(
                self.territory.geometry)), departements=self.territory.departements)
                for _ in missing]
            with ThreadPoolExecutor(max_workers=2) as pool:
                frames = list(pool.map(lambda args: self.store.polygons(
                    args[0], args[1], columns=_OCS_COLUMNS), zip(copies, missing)))
            self._cache.update(zip(missing, frames))
        return self.ocs(year_from), self.ocs(year_to)

    def diff(self, year_from: int, year_to: int) -> gpd.GeoDataFrame:
        return self.store.polygons(self.territory, (year_from, year_to), layer="diff",
                                   columns=list(DIFF_COLUMNS))

    def has_diff(self, year_from: int, year_to: int) -> bool:
        return f"{year_from}_{year_to}" in self.periods


def _check_years(layers: _Layers, year_from: int, year_to: int, source: SourceChoice) -> str:
    """Validate the pair and return the primary source (``"overlay"`` or ``"diff"``)."""
    if year_from >= year_to:
        raise MillesimeError(
            f"inverted or equal millesimes {year_from} -> {year_to}",
            f"Le premier millésime ({year_from}) doit précéder le second ({year_to}).")
    available = sorted(layers.years)
    listing = ", ".join(str(y) for y in available) or "aucun"
    if year_from not in layers.years:
        raise MillesimeError(f"millesime {year_from} absent (available: {available})",
                             f"Millésime {year_from} indisponible pour ce territoire "
                             f"(disponibles : {listing}).")
    has_to, has_diff = year_to in layers.years, layers.has_diff(year_from, year_to)
    if source == "diff" or (source == "auto" and not has_to):
        if not has_diff:
            raise MillesimeError(
                f"no diff layer {year_from}_{year_to} and occupation_sol {year_to} "
                f"{'present' if has_to else 'absent'}",
                f"Ni la couche des différences {year_from}-{year_to} ni le millésime {year_to} "
                f"ne sont disponibles pour ce territoire (disponibles : {listing})."
                if not has_to else
                f"La couche des différences {year_from}-{year_to} n'est pas disponible.")
        return "diff"
    if not has_to:
        raise MillesimeError(f"millesime {year_to} absent (available: {available})",
                             f"Millésime {year_to} indisponible pour ce territoire "
                             f"(disponibles : {listing}).")
    return "overlay"


def _pair(layers: _Layers, year_from: int, year_to: int, by: By, source: SourceChoice,
          progress: Progress | None) -> ExchangeMatrix:
    primary = _check_years(layers, year_from, year_to, source)
    if primary == "overlay":
        transitions = None
        if layers.fast:  # one pair: identical polygons matched on their WKB, not decoded
            transitions = transitions_from_store(layers.store, layers.territory, year_from,
                                                 year_to, progress)
        if transitions is None:
            transitions = transitions_from_layers(*layers.ocs_pair(year_from, year_to),
                                                  progress)
        matrix = build_matrix(transitions, by, year_from, year_to)
        if source == "auto" and layers.has_diff(year_from, year_to):
            matrix = _with_diff_disagreement(matrix, layers, transitions)
        return matrix
    stocks_to = couple_stocks(layers.ocs(year_to)) if year_to in layers.years else None
    transitions = transitions_from_diff(layers.diff(year_from, year_to),
                                        couple_stocks(layers.ocs(year_from)), stocks_to)
    return build_matrix(transitions, by, year_from, year_to)


def _with_diff_disagreement(matrix: ExchangeMatrix, layers: _Layers,
                            overlay: Transitions) -> ExchangeMatrix:
    """Attach the per-cell disagreement with the DIFF path (same stocks, unchecked)."""
    assert matrix.year_from is not None and matrix.year_to is not None
    diff = transitions_from_diff(layers.diff(matrix.year_from, matrix.year_to),
                                 overlay.stocks_from, overlay.stocks_to)
    other = build_matrix(diff, matrix.by, matrix.year_from, matrix.year_to, check=False)
    matrix = matrix.with_disagreement(other)
    worst = matrix.max_disagreement_ha() or 0.0
    log = logger.warning if worst > DISAGREEMENT_WARN_HA else logger.info
    log("overlay vs diff %d->%d by=%s: largest cell disagreement %.3f ha", matrix.year_from,
        matrix.year_to, matrix.by, worst)
    return matrix


def exchange_matrix(store: StoreLike, territory: Any, year_from: int, year_to: int,
                    by: By = "anf", source: SourceChoice = "auto",
                    progress: Progress | None = None, fast: bool = False) -> ExchangeMatrix:
    """Exchange matrix of a territory between two millésimes of the store.

    Args:
        store: an open :class:`ocsge_engine.store.Store`.
        territory: a ``Territory`` or its id (``"commune:33005"``, ``"epci:…"``,
            ``"departement:33"``, ``"polygon:FILE"``).
        year_from: first millésime.
        year_to: second millésime, strictly later.
        by: level of the classes (see :mod:`ocsge_engine.flows.levels`).
        source: ``"overlay"``, ``"diff"`` or ``"auto"`` (see the module docstring).
        progress: optional callback ``(fraction, message)``.
        fast: overlay through :mod:`ocsge_engine.flows.store_pair` (polygons byte-identical in
            both millésimes and inside the territory are never decoded): the same transitions
            up to ~1e-12 relative, but not bit for bit (areas summed in another order), so the
            dashboard and the batch, whose figures must agree exactly, keep the default; the
            ``flows`` command uses it.

    Returns:
        A checked :class:`ExchangeMatrix`: rows sum to the ``year_from`` class stocks in the
        territory, columns to the ``year_to`` stocks (relative error ≤ 1e-6).

    Raises:
        MillesimeError: inverted years, or a needed layer/millésime absent from the store.
        TerritoryNotFoundError: unknown territory id.
        FlowCheckError: the layers are inconsistent (self-check failed).
    """
    validate_by(by)
    resolved = resolve_territory(territory)
    return _pair(_Layers(store, resolved, fast=fast), int(year_from), int(year_to), by, source, progress)


def exchange_chain(store: StoreLike, territory: Any, years: list[int], by: By = "anf",
                   source: SourceChoice = "auto") -> list[ExchangeMatrix]:
    """Consecutive exchange matrices of a chain of millésimes (``[2016, 2019, 2022]`` → 2).

    Each millésime layer is read once. The columns of matrix *k* and the rows of matrix *k+1*
    both sum to the stock of the shared millésime.

    Raises:
        MillesimeError: fewer than two years, years not strictly increasing, or one absent.
    """
    validate_by(by)
    years = [int(y) for y in years]
    if len(years) < 2 or any(a >= b for a, b in zip(years, years[1:])):
        raise MillesimeError(f"a chain needs at least 2 increasing years, got {years}",
                             "Choisissez au moins deux millésimes, du plus ancien au plus récent.")
    layers = _Layers(store, resolve_territory(territory))
    return [_pair(layers, a, b, by, source, None) for a, b in zip(years, years[1:])]
