"""Partitioned GeoParquet files of the store: layer schemas, paths, atomic writes, bbox reads.

Layout (docs/DESIGN.md)::

    STORE/layers/<layer>/departement=<dep>/millesime=<year or y1_y2>/data.parquet

Each file is GeoParquet 1.1 with a ``bbox`` covering column. Rows are sorted along a Hilbert
curve and written in small row groups, so that a bbox filter (pyarrow statistics) skips most of
the file when one commune is read.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ocsge_engine.errors import SchemaError

logger = logging.getLogger(__name__)

ROW_GROUP_SIZE = 2048
# The geometry form partitions are written in (:func:`canonical_polygons`), kept in each file's
# Parquet metadata under FORM_KEY. Files without it were written before: same figures, slower
# exchange matrices (``ingest --force`` writes them again).
GEOMETRY_FORM = 1
FORM_KEY = b"ocsge:geometry_form"
DIFF_LAYERS: frozenset[str] = frozenset({"diff", "artif_diff"})

# Canonical columns (besides geometry) and their pandas dtypes, from docs/DESIGN.md.
LAYER_SCHEMAS: dict[str, dict[str, str]] = {
    "occupation_sol": {"id": "str", "code_cs": "str", "code_us": "str", "millesime": "int16",
                       "departement": "str"},
    "zone_construite": {"id": "str", "millesime": "int16", "departement": "str"},
    "diff": {"id": "str", "code_cs_from": "str", "code_us_from": "str", "code_cs_to": "str",
             "code_us_to": "str", "millesime_from": "int16", "millesime_to": "int16",
             "departement": "str"},
    "artif": {"id": "str", "code_cs": "str", "code_us": "str", "artif": "bool",
              "crit_seuil": "str", "millesime": "int16", "departement": "str"},
    "artif_diff": {"id": "str", "artificialisation": "int8", "millesime_from": "int16",
                   "millesime_to": "int16", "departement": "str"},
}
# Columns kept when present: the official artificialisation status of each OCCUPATION_SOL
# polygon (decree matrix + thresholds, ``ocsge_engine.indicators.thresholds``), written at ingest
# and at the demo build, added on first use to partitions written without it.
OPTIONAL_COLUMNS: dict[str, dict[str, str]] = {
    "occupation_sol": {"artif": "bool", "crit_seuil": "str"},
}
_NULLABLE = frozenset({"crit_seuil"})
_PERIOD_RE = re.compile(r"^(\d{4})[_\-](\d{4})$")


def millesime_key(layer: str, millesime: int | str | tuple[int, int]) -> str:
    """Return the partition key of a millésime: ``"2018"`` or ``"2015_2018"`` for diff layers.

    >>> millesime_key("diff", (2015, 2018)), millesime_key("occupation_sol", 2018)
    ('2015_2018', '2018')
    """
    if layer in DIFF_LAYERS:
        if isinstance(millesime, tuple):
            y1, y2 = millesime
        else:
            match = _PERIOD_RE.match(str(millesime).strip())
            if not match:
                raise ValueError(f"a period like 2015_2018 is expected for {layer}, got {millesime!r}")
            y1, y2 = int(match.group(1)), int(match.group(2))
        return f"{int(y1)}_{int(y2)}"
    if isinstance(millesime, tuple) or not str(millesime).strip().isdigit():
        raise ValueError(f"a year is expected for {layer}, got {millesime!r}")
    return str(int(millesime))


def partition_path(root: Path, layer: str, departement: str, millesime_k: str) -> Path:
    """Path of one partition file under the store root."""
    return (Path(root) / "layers" / layer / f"departement={departement}"
            / f"millesime={millesime_k}" / "data.parquet")


def conform(gdf: gpd.GeoDataFrame, layer: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` restricted to the canonical columns of ``layer`` with canonical dtypes.

    The optional columns of ``layer`` (:data:`OPTIONAL_COLUMNS`) are kept when all are present.

    Raises:
        SchemaError: unknown layer or a missing canonical column.
    """
    if layer not in LAYER_SCHEMAS:
        raise SchemaError(f"unknown layer {layer!r}", f"Couche inconnue : {layer}.")
    schema = LAYER_SCHEMAS[layer]
    missing = [c for c in schema if c not in gdf.columns]
    if missing or gdf.geometry is None:
        raise SchemaError(
            f"layer {layer} lacks columns {missing}",
            f"La couche {layer} ne contient pas les champs attendus : {', '.join(missing)}.",
        )
    optional = OPTIONAL_COLUMNS.get(layer, {})
    if optional and all(c in gdf.columns for c in optional):
        schema = schema | optional
    out = gpd.GeoDataFrame(
        {col: _cast(gdf[col], dtype, col in _NULLABLE) for col, dtype in schema.items()},
        geometry=gdf.geometry.to_numpy(), crs=gdf.crs,
    )
    return out.reset_index(drop=True)


def _cast(series: pd.Series, dtype: str, nullable: bool) -> pd.Series:
    values = series.reset_index(drop=True)
    if dtype == "str":
        obj = values.astype("object")
        return obj.where(obj.notna(), None).map(lambda v: v if v is None else str(v)) \
            if nullable else obj.astype(str)
    return values.astype(dtype)


def canonical_polygons(geoms: np.ndarray) -> np.ndarray:
    """One form for one shape: single-part MultiPolygons as Polygons, then GEOS' normal form.

    Deliveries write the same polygon differently: a shapefile turns exterior rings clockwise, a
    GeoPackage keeps them as produced and declares MultiPolygons. Stored in one form, a polygon
    unchanged between two millésimes has byte-identical WKB in both, which the exchange matrix
    pairs without decoding it (:mod:`ocsge_engine.flows.store_pair`). Coordinates are untouched:
    only the part type, ring orientation and start vertex change.

    >>> square = shapely.Polygon([(0, 0), (0, 1), (1, 1), (1, 0)])
    >>> multi = shapely.MultiPolygon([shapely.Polygon([(1, 1), (1, 0), (0, 0), (0, 1)])])
    >>> a, b = canonical_polygons(np.array([square, multi.reverse()], dtype=object))
    >>> a.wkb == b.wkb, a.geom_type, a.area
    (True, 'Polygon', 1.0)
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    single = (shapely.get_type_id(geoms) == 6) & (shapely.get_num_geometries(geoms) == 1)
    geoms[single] = shapely.get_geometry(geoms[single], 0)
    return shapely.normalize(geoms)


def write_partition(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Write one canonical GeoDataFrame as GeoParquet 1.1 with a bbox column.

    The caller makes it atomic (:func:`ocsge_engine.io.atomic.atomic_path` gives ``path``).

    Notes:
        Geometries are stored in one form (:func:`canonical_polygons`), whoever writes them
        (ingest, the demo, a derived rewrite), and the file's Parquet metadata says so
        (:data:`FORM_KEY`, read by :func:`geometry_form`). Rows are sorted by Hilbert distance
        (stable, so the bytes only depend on the input), then written in row groups of
        ``ROW_GROUP_SIZE`` rows.
    """
    import pyarrow.parquet as pq
    from geopandas.io.arrow import _geopandas_to_arrow  # to_parquet's own table (pinned 1.2)

    if len(gdf):
        gdf = gdf.set_geometry(canonical_polygons(gdf.geometry.to_numpy()), crs=gdf.crs)
        order = np.argsort(gdf.geometry.hilbert_distance().to_numpy(), kind="stable")
        gdf = gdf.iloc[order].reset_index(drop=True)
    table = _geopandas_to_arrow(gdf, index=False, schema_version="1.1.0",
                                write_covering_bbox=True)
    metadata = {**(table.schema.metadata or {}), FORM_KEY: str(GEOMETRY_FORM).encode()}
    pq.write_table(table.replace_schema_metadata(metadata), path, compression="snappy",
                   row_group_size=ROW_GROUP_SIZE)
    logger.debug("wrote %d features to %s", len(gdf), path)


def geometry_form(path: Path) -> int | None:
    """The geometry form a partition file was written in (:data:`GEOMETRY_FORM`), read from its
    Parquet footer; ``None`` for a file written before the form was recorded (2026-12-03)."""
    import pyarrow.parquet as pq

    value = (pq.read_schema(path).metadata or {}).get(FORM_KEY)
    try:
        return int(value) if value else None
    except ValueError:
        return None


def read_partition(path: Path, bbox: tuple[float, float, float, float] | None = None,
                   columns: list[str] | None = None) -> gpd.GeoDataFrame:
    """Read a partition, keeping only rows whose bbox intersects ``bbox`` (when given)."""
    cols = None if columns is None else [*dict.fromkeys([*columns, "geometry"])]
    gdf = gpd.read_parquet(path, columns=cols, bbox=bbox)
    return gdf.drop(columns=["bbox"], errors="ignore")


def clip_polygons(gdf: gpd.GeoDataFrame, geometry: shapely.Geometry,
                  inside: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """Cut polygons that intersect ``geometry`` to it (the store's clipping rule).

    Polygons properly inside are kept whole (no GEOS intersection), the others are intersected
    and reduced to their polygonal parts; pieces that become empty are dropped.

    Args:
        gdf: polygons.
        geometry: the cutting geometry.
        inside: optional, already computed ``contains_properly(geometry, polygons)``.

    Returns:
        The clipped GeoDataFrame, index reset.

    >>> g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 3, 1)])
    >>> clip_polygons(g, shapely.box(0, 0, 2, 2)).area.tolist()
    [1.0, 1.0]
    """
    if len(gdf):
        shapely.prepare(geometry)
        geoms = gdf.geometry.to_numpy()
        if inside is None:
            inside = shapely.contains_properly(geometry, geoms)
        cut = geoms.copy()
        cut[~inside] = polygonal_parts(shapely.intersection(geoms[~inside], geometry))
        gdf = gdf.set_geometry(cut, crs=gdf.crs)[~shapely.is_empty(cut)]
    return gdf.reset_index(drop=True)


def polygonal_parts(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of each geometry (empty where none remain).

    >>> g = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.Point(5, 5)])
    >>> polygonal_parts(np.array([g]))[0].geom_type
    'MultiPolygon'
    """
    geoms = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(geoms)
    out = geoms.copy()
    odd = ~np.isin(types, (3, 6))  # not Polygon / MultiPolygon
    for i in np.flatnonzero(odd):
        parts = shapely.get_parts(geoms[i])
        # Nested collections are flattened by one more pass.
        parts = np.concatenate([shapely.get_parts(p) if shapely.get_type_id(p) == 7 else [p]
                                for p in parts]) if len(parts) else parts
        polys = [p for p in parts if shapely.get_type_id(p) in (3, 6) and not p.is_empty]
        out[i] = shapely.multipolygons(
            [q for p in polys for q in shapely.get_parts(p)]) if polys else shapely.Polygon()
    return out
