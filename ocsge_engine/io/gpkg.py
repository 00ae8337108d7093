"""GeoPackage exports: several layers in one ``.gpkg``, written atomically.

:func:`write_gpkg` writes every layer into a file inside a temporary folder next to the target,
then renames the file onto the target, so a reader never sees a GeoPackage with half its layers.
:func:`export_territory_layers` exports a territory's two millésimes and its change layer.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd

from ocsge_engine.errors import EmptyInputError, MillesimeError

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
OCS_COLUMNS = ["id", "code_cs", "code_us"]


def write_gpkg(layers: Mapping[str, gpd.GeoDataFrame], path: Path | str) -> Path:
    """Write GeoDataFrames as the layers of one GeoPackage, atomically.

    Args:
        layers: layer name → GeoDataFrame (each with a CRS). Insertion order is kept.
        path: target ``.gpkg`` (replaced if it exists; parent folders are created).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        EmptyInputError: ``layers`` is empty.
    """
    if not layers:
        raise EmptyInputError("no layer to write", "Aucune couche à exporter.")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        tmp = folder / "export.gpkg"  # a .gpkg name: GDAL warns on any other extension
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", mode="a" if tmp.exists() else "w")
        os.replace(tmp, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    logger.info("wrote %s (%s)", target, ", ".join(f"{k}: {len(v)}" for k, v in layers.items()))
    return target


def gpkg_bytes(layers: Mapping[str, gpd.GeoDataFrame]) -> bytes:
    """The GeoPackage of ``layers`` as bytes (for a download), built in a temporary folder.

    Raises:
        EmptyInputError: ``layers`` is empty.
    """
    with tempfile.TemporaryDirectory(prefix="ocsge_gpkg_") as folder:
        return write_gpkg(layers, Path(folder) / "export.gpkg").read_bytes()


def territory_layers(store: Any, territory: Any, year_from: int | None, year_to: int | None,
                     progress: Progress | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The territory's OCCUPATION_SOL polygons at both millésimes and its change layer.

    The change layer is IGN's ``diff`` layer when the store holds it, else the overlay of the
    two millésimes (:func:`ocsge_engine.maps.changes.changes_from_overlay`).

    Args:
        store: an open :class:`~ocsge_engine.store.Store`.
        territory: a ``Territory``.
        year_from: first millésime.
        year_to: second millésime (> ``year_from``).
        progress: optional callback ``(fraction, message)``.

    Returns:
        ``{"occupation_sol_<y1>", "occupation_sol_<y2>", "changements_<y1>_<y2>"}``, polygons
        clipped to the territory, EPSG:2154.

    Raises:
        MillesimeError: no pair, an inverted pair, or a millésime absent for the territory.
    """
    from ocsge_engine.maps.changes import changes_from_diff, changes_from_overlay

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
        layers[f"occupation_sol_{year}"] = store.polygons(territory, year, columns=OCS_COLUMNS)
    report(2 / 3, f"changements {year_from}-{year_to}")
    try:
        changes = changes_from_diff(store.polygons(territory, (year_from, year_to), layer="diff"))
    except MillesimeError:
        before, after = _changed_only(layers[f"occupation_sol_{year_from}"],
                                      layers[f"occupation_sol_{year_to}"])
        changes = changes_from_overlay(before, after)
    layers[f"changements_{year_from}_{year_to}"] = changes
    report(1.0, "couches prêtes")
    return layers


def _changed_only(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame
                  ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Drop the polygons present in both millésimes with the same geometry and codes.

    Polygons of one layer do not overlap, so such a polygon meets nothing in the other layer but
    its twin (boundaries aside): the overlay of what is left yields the same change pieces, about
    10× faster on the demo (most polygons are untouched).
    """
    from ocsge_engine.flows.overlay import identical_pairs

    i, j = identical_pairs(before.geometry.to_numpy(), after.geometry.to_numpy())
    same = ((before["code_cs"].to_numpy()[i] == after["code_cs"].to_numpy()[j])
            & (before["code_us"].to_numpy()[i] == after["code_us"].to_numpy()[j]))
    return (before.drop(index=before.index[i[same]]), after.drop(index=after.index[j[same]]))


def export_territory_layers(store: Any, territory: Any, year_from: int | None,
                            year_to: int | None, path: Path | str,
                            progress: Progress | None = None) -> Path:
    """Write :func:`territory_layers` to one GeoPackage, atomically.

    Raises:
        MillesimeError: see :func:`territory_layers`.
    """
    layers = territory_layers(store, territory, year_from, year_to, progress)
    return write_gpkg(layers, path)
