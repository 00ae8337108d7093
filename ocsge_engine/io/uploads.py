"""Custom territories from user input: an uploaded file or a polygon drawn on the map.

An upload (GeoJSON, GeoPackage or zipped shapefile) or a drawing is validated in a temporary
folder with :func:`~ocsge_engine.territories.territory_from_file`; only a valid territory is
kept, as ``<folder>/<sha256[:16]>.gpkg`` (EPSG:2154, one feature with its name), written
atomically. Its id ``polygon:<path>`` can then go in a shareable URL. Bad input raises the
territory errors (French ``user_message``) and leaves the folder unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import shape

from ocsge_engine.errors import EmptyInputError, GeometryError
from ocsge_engine.io.archive import extract_archive
from ocsge_engine.io.atomic import atomic_path
from ocsge_engine.territories import Territory, territory_from_file

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")


def save_uploaded_territory(data: bytes, filename: str, folder: Path | str) -> Territory:
    """Validate an uploaded contour file and keep it as a custom territory.

    Args:
        data: the file bytes.
        filename: the name given by the user (its suffix selects the format).
        folder: where custom territories are kept (e.g. ``STORE/territoires``).

    Returns:
        The ``polygon`` territory, read back from the kept file.

    Raises:
        EmptyInputError: empty file.
        GeometryError: too large, unsupported format, unreadable, non-polygon or invalid.
        CrsError: no CRS.
        ArchiveError: corrupt zip or unsafe member names.
    """
    name = Path(filename).name
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
    with tempfile.TemporaryDirectory(prefix="ocsge_upload_") as tmp:
        source = Path(tmp) / f"upload{suffix}"
        source.write_bytes(data)
        if suffix == ".zip":
            source = _shapefile_in(source, Path(tmp) / "unzipped", name)
        territory = territory_from_file(source)
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
    projected = gpd.GeoSeries([geometry], crs="EPSG:4326").to_crs(2154).iloc[0]
    return _keep(projected, name or "Contour dessiné", folder)


def _shapefile_in(archive: Path, dest: Path, name: str) -> Path:
    """Extract a zipped shapefile safely and return its single ``.shp``."""
    members = extract_archive(archive, dest)
    shapefiles = [p for p in members if p.suffix.lower() == ".shp"]
    if len(shapefiles) != 1:
        raise GeometryError(f"{name}: {len(shapefiles)} .shp files in the zip",
                            f"L'archive {name} doit contenir exactement un shapefile "
                            f"(trouvé : {len(shapefiles)}).")
    return shapefiles[0]


def _keep(geometry: shapely.Geometry, label: str, folder: Path | str) -> Territory:
    """Write the territory as ``<sha16>.gpkg`` (idempotent) and read it back."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(shapely.to_wkb(shapely.normalize(geometry), hex=False)
                            + json.dumps(label).encode()).hexdigest()[:16]
    target = folder / f"{digest}.gpkg"
    if not target.exists():
        frame = gpd.GeoDataFrame({"nom": [label]}, geometry=[geometry], crs="EPSG:2154")
        with atomic_path(target, suffix=".gpkg") as tmp:
            frame.to_file(tmp, driver="GPKG", layer="territoire")
        logger.info("kept custom territory %r as %s", label, target)
    return territory_from_file(target)
