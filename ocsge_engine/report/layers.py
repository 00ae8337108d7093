"""Export of a territory's layers: OCCUPATION_SOL at both millésimes and the change layer.

Composes the store (:mod:`ocsge_engine.store`), the change layer (:mod:`ocsge_engine.maps.changes`)
and the GeoPackage writer (:mod:`ocsge_engine.io.gpkg`, a leaf module that knows none of them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd

from ocsge_engine.errors import MillesimeError
from ocsge_engine.indicators.thresholds import STATUS_COLUMNS, polygons_with_status
from ocsge_engine.io.gpkg import OCS_COLUMNS, write_gpkg
from ocsge_engine.maps.changes import stored_changes

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


def territory_layers(store: Any, territory: Any, year_from: int | None, year_to: int | None,
                     progress: Progress | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The territory's OCCUPATION_SOL polygons at both millésimes and its change layer.

    The change layer is IGN's ``diff`` layer when the store holds it, else the overlay of the
    two millésimes (:func:`ocsge_engine.maps.changes.stored_changes`).

    Args:
        store: an open :class:`~ocsge_engine.store.Store`.
        territory: a ``Territory``.
        year_from: first millésime.
        year_to: second millésime (> ``year_from``).
        progress: optional callback ``(fraction, message)``.

    Returns:
        ``{"occupation_sol_<y1>", "occupation_sol_<y2>", "changements_<y1>_<y2>"}``, polygons
        clipped to the territory, EPSG:2154. The millésimes' layers carry ``id``, ``code_cs``,
        ``code_us`` and the official status (:func:`_with_ign_status`).

    Raises:
        MillesimeError: no pair, an inverted pair, or a millésime absent for the territory.
    """
    if year_from is None or year_to is None:
        raise MillesimeError("no millesime pair for the layer export",
                             "Choisissez deux millésimes pour exporter les couches.")
    if year_from >= year_to:
        raise MillesimeError(f"inverted millesimes {year_from} -> {year_to}",
                             f"Le premier millésime ({year_from}) doit précéder le second "
                             f"({year_to}).")
    report = progress or (lambda fraction, message: None)
    layers: dict[str, gpd.GeoDataFrame] = {}
    for k, year in enumerate((year_from, year_to)):
        report(k / 3, f"occupation_sol {year}")
        layers[f"occupation_sol_{year}"] = _with_ign_status(
            polygons_with_status(store, territory, year, [*OCS_COLUMNS, *STATUS_COLUMNS]))
    report(2 / 3, f"changements {year_from}-{year_to}")
    layers[f"changements_{year_from}_{year_to}"] = stored_changes(
        store, territory, year_from, year_to,
        (layers[f"occupation_sol_{year_from}"], layers[f"occupation_sol_{year_to}"]))
    report(1.0, "couches prêtes")
    return layers


def _with_ign_status(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The polygons' official status in IGN's ARTIFICIALISATION fields: ``artif`` as ``'artif'``
    / ``'non artif'`` and ``crit_seuil`` (the threshold that decided, empty when none did).

    The status the figures count (decree matrix and thresholds, computed on the whole
    département before clipping, or IGN's own): summing the area of the ``'artif'`` polygons
    gives the territory's artificialised stock, which the thresholds alone could not give from a
    clipped layer.
    """
    status = layer["artif"].map({True: "artif", False: "non artif"})
    return layer.assign(artif=status.astype(object))


def export_territory_layers(store: Any, territory: Any, year_from: int | None,
                            year_to: int | None, path: Path | str,
                            progress: Progress | None = None) -> Path:
    """Write :func:`territory_layers` to one GeoPackage, atomically.

    Raises:
        MillesimeError: see :func:`territory_layers`.
    """
    layers = territory_layers(store, territory, year_from, year_to, progress)
    return write_gpkg(layers, path)
