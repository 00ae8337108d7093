"""Custom territories from user input: an uploaded file or a polygon drawn on the map.

An upload (GeoJSON, GeoPackage or zipped shapefile) or a drawing is validated in a private
temporary folder with :func:`~ocsge_engine.territories.territory_from_file` (a zip is extracted
under :data:`~ocsge_engine.io.archive.UPLOAD_LIMITS`: no decompression bomb). The contour is then
written as ``<sha256[:16]>.gpkg`` (EPSG:2154, one feature with its name) into a staging folder
inside ``folder``, read back and checked again, and only then renamed into ``folder``: a bad
contour never lands there. Its opaque id ``contour:<sha256[:16]>`` can go in a shareable URL; no
server path is ever part of it. Bad input raises the territory errors (French ``user_message``,
naming the user's file, never an internal one) and leaves the folder unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import shape

from ocsge_engine.errors import EmptyInputError, GeometryError, OcsgeError
from ocsge_engine.io.archive import UPLOAD_LIMITS, extract_archive, private_tempdir
from ocsge_engine.territories import (
    Territory, check_projected, contour_territory, plain_text, territory_from_file,
)

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")
UPLOAD_PREFIX = "ocsge_upload_"


def save_uploaded_territory(data: bytes, filename: str, folder: Path | str) -> Territory:
    """Validate an uploaded contour file and keep it as a custom territory.

    Args:
        data: the file bytes.
        filename: the name given by the user (its suffix selects the format).
        folder: where custom territories are kept (e.g. ``STORE/territoires``).

    Returns:
        The contour territory (kind ``polygon``, id ``contour:<16 hex>``), read back from the
        kept file.

    Raises:
        EmptyInputError: empty file.
        GeometryError: too large, unsupported format, unreadable, non-polygon or invalid, or
            unusable once projected.
        CrsError: no CRS, or a GeoJSON whose coordinates are not longitudes/latitudes.
        ArchiveError: corrupt zip, unsafe member names, or a decompression bomb.
    """
    name = plain_text(Path(str(filename)).name, 60) or "contour"
    suffix = Path(name).suffix.lower()
    if not data:
        raise EmptyInputError(f"uploaded contour {name!r} is empty",
                              f"Le fichier de contour {name} est vide.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise GeometryError(f"uploaded contour {name!r} is {len(data)} bytes",
                            f"Le fichier de contour {name} dépasse "
                            f"{MAX_UPLOAD_BYTES // (1024 * 1024)} Mo.")
    if suffix not in UPLOAD_SUFFIXES:
        raise GeometryError(f"unsupported contour format {suffix!r} ({name})",
                            f"Format de contour non pris en charge ({suffix or 'sans extension'}) : "
                            "utilisez un GeoJSON, un GeoPackage ou un shapefile zippé.")
    with private_tempdir(UPLOAD_PREFIX) as tmp:  # removed on exit, or by the next run
        source = tmp / f"upload{suffix}"
        source.write_bytes(data)
        if suffix == ".zip":
            (tmp / "unzipped").mkdir()
            source = _renamed_errors(lambda src: _shapefile_in(src, tmp / "unzipped", name),
                                     source, name)
        territory = _renamed_errors(territory_from_file, source, name)
    label = territory.name if territory.name != source.stem else Path(name).stem
    return _keep(territory.geometry, label, folder)


def save_drawn_territory(geojson: dict[str, Any], name: str, folder: Path | str) -> Territory:
    """Keep a polygon drawn on the map (GeoJSON geometry or feature, EPSG:4326) as a territory.

    Raises:
        GeometryError: not a polygon, or an invalid one (self-intersecting ring…).
        EmptyInputError: no geometry.
    """
    geometry_json = geojson.get("geometry", geojson) if isinstance(geojson, dict) else None
    if not geometry_json:
        raise EmptyInputError("no drawn geometry", "Aucun contour n'a été dessiné.")
    try:
        geometry = shape(geometry_json)
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        raise GeometryError(f"unreadable drawn geometry: {err}",
                            "Le contour dessiné est illisible.") from err
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
        raise GeometryError(f"drawn geometry is a {geometry.geom_type}",
                            "Dessinez un polygone (ou un rectangle) pour définir le territoire.")
    if not geometry.is_valid:
        raise GeometryError(f"invalid drawn polygon: {shapely.is_valid_reason(geometry)}",
                            "Le contour dessiné est invalide (ses côtés se croisent).")
    minx, miny, maxx, maxy = geometry.bounds
    if not (all(math.isfinite(v) for v in geometry.bounds)
            and -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise GeometryError(f"drawn polygon outside longitude/latitude bounds {geometry.bounds}",
                            "Le contour dessiné sort des limites de la carte (longitudes et "
                            "latitudes impossibles).")
    projected = gpd.GeoSeries([geometry], crs="EPSG:4326").to_crs(2154).iloc[0]
    check_projected(projected, "drawn polygon")
    return _keep(projected, plain_text(name) or "Contour dessiné", folder)


def _renamed_errors(read: Any, source: Path, name: str) -> Territory:
    """Call ``read(source)``; user messages name the user's file, not the internal copy."""
    try:
        return read(source)  # type: ignore[no-any-return]
    except OcsgeError as err:
        err.user_message = err.user_message.replace(source.name, name)
        raise


def _shapefile_in(archive: Path, dest: Path, name: str) -> Path:
    """Extract a zipped shapefile safely (upload limits) and return its single ``.shp``."""
    members = extract_archive(archive, dest, UPLOAD_LIMITS)
    shapefiles = [p for p in members if p.suffix.lower() == ".shp"]
    if len(shapefiles) != 1:
        raise GeometryError(f"{name}: {len(shapefiles)} .shp files in the zip",
                            f"L'archive {name} doit contenir exactement un shapefile "
                            f"(trouvé : {len(shapefiles)}).")
    return shapefiles[0]


def _keep(geometry: shapely.Geometry, label: str, folder: Path | str) -> Territory:
    """Write the contour as ``<sha16>.gpkg`` (idempotent): staged, checked, then renamed in.

    The file is written into a staging folder inside ``folder`` (same filesystem), read back
    and validated there; only a valid contour is renamed into ``folder``.

    Returns:
        The contour territory, id ``contour:<sha16>``.
    """
    check_projected(geometry, label)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(shapely.to_wkb(shapely.normalize(geometry), hex=False)
                            + json.dumps(label).encode()).hexdigest()[:16]
    target = folder / f"{digest}.gpkg"
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix=".staging_", dir=folder))
        try:
            staged = staging / target.name
            frame = gpd.GeoDataFrame({"nom": [label]}, geometry=[geometry], crs="EPSG:2154")
            frame.to_file(staged, driver="GPKG", layer="territoire")
            _renamed_errors(territory_from_file, staged, "dessiné")
            os.replace(staged, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        logger.info("kept custom territory %r as %s", label, target)
    return contour_territory(digest, folder)
