"""GeoPackage exports: several layers in one ``.gpkg``, written atomically.

:func:`write_gpkg` writes every layer into a file inside a temporary folder next to the target,
then renames the file onto the target, so a reader never sees a GeoPackage with half its layers.
:func:`ocsge_engine.report.layers.export_territory_layers` exports a territory's layers with it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import geopandas as gpd

from ocsge_engine.errors import EmptyInputError

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
