"""Planning zones (PLU / PLUi, CNIG ``zone_urba``) and the artificialisation inside each of them.

Import (:func:`ingest_zonage`): a ``zone_urba`` layer as the Géoportail de l'Urbanisme publishes
it (GPKG, zipped shapefile or GeoJSON) with ``TYPEZONE`` (U, AUc, AUs, A, N and their variants:
``Ah``, ``Nd``…), ``LIBELLE``, ``LIBELONG``, ``IDURBA`` (names in any case; only ``TYPEZONE`` is
required). The file must declare its CRS; zones are reprojected to Lambert-93 and must then fall
in metropolitan France (a file in degrees declared as Lambert-93 is refused). Invalid polygons are
repaired (``make_valid``, polygonal parts kept). The zones are stored in the table
``zonage_urba`` (geometry as WKB, source label, file, SHA-256, import date); re-importing a
document (same ``IDURBA``) replaces its zones. Nothing is stored when the file is refused.

Statistics (:func:`zone_artificialisation`): the territory is cut into an exact partition —
each zone minus the parts where zones overlap, the overlaps (« zones superposées », reported pair
by pair, never counted twice) and the land outside every zone (« hors zonage »). The
artificialisation of the pair of millésimes is taken as *measures* on the territory, each a set
of polygons: the artificialised stock at each millésime, the counted gains and the counted losses
— from IGN's (or the stored official) ``artif`` / ``artif_diff`` layers when the store has them,
else the pieces of the decree matrix with the thresholds exactly as
:func:`~ocsge_engine.indicators.artif.flux_from_pair` counts them on the territory. Each measure
is intersected with the partition, so the figures of the zone types (and « hors zonage », « zones
superposées ») add up to the territory's figure exactly; ``check_delta_ha`` compares that total
with :func:`~ocsge_engine.indicators.artif.artificialisation`.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ocsge_engine import fmt
from ocsge_engine.errors import CrsError, EmptyInputError, GeometryError, SchemaError, StoreError
from ocsge_engine.territories import resolve_territory
from ocsge_engine.flows.overlay import overlay_pieces
from ocsge_engine.indicators.artif import (
    OFFICIAL_METHOD,
    FluxResult,
    Thresholds,
    artificialisation,
    ign_available,
    status,
)
from ocsge_engine.indicators.pair import load_pair
from ocsge_engine.io.archive import extract_archive
from ocsge_engine.portrait.figure import Figure

logger = logging.getLogger(__name__)

TABLE = "zonage_urba"
DEFAULT_SOURCE = "Géoportail de l'Urbanisme, zonage (standard CNIG)"
ZONE_TYPES: tuple[str, ...] = ("U", "AU", "A", "N")
OVERLAP = "zones superposées"
OUTSIDE = "hors zonage"
ZONE_TYPE_LABELS: dict[str, str] = {
    "U": "Zones urbaines (U)", "AU": "Zones à urbaniser (AU)", "A": "Zones agricoles (A)",
    "N": "Zones naturelles et forestières (N)", OVERLAP: "Zones superposées",
    OUTSIDE: "Hors zonage"}
SUFFIXES = (".gpkg", ".geojson", ".json", ".zip", ".shp")
FIELDS = ("typezone", "libelle", "libelong", "idurba")
# Lambert-93 extent of metropolitan France, with a margin (m).
METROPOLE_BOUNDS = (-80_000.0, 6_000_000.0, 1_300_000.0, 7_200_000.0)
MEASURES: tuple[str, ...] = ("stock_from", "stock_to", "gain", "loss")
STAT_COLUMNS: tuple[str, ...] = ("surface_ha", "stock_from_ha", "stock_to_ha", "gain_ha",
                                 "loss_ha", "net_ha", "share_from", "share_to")


def zone_type(typezone: object) -> str:
    """Zone family of a CNIG ``TYPEZONE``: ``U``, ``AU``, ``A`` or ``N``.

    >>> [zone_type(t) for t in ("U", "AUc", "AUs", "1AU", "A", "Ah", "N", "Nd")]
    ['U', 'AU', 'AU', 'AU', 'A', 'A', 'N', 'N']

    Raises:
        SchemaError: any other value.
    """
    text = str(typezone).strip().upper() if typezone is not None else ""
    text = text.lstrip("0123456789")
    if text.startswith("AU"):
        return "AU"
    if text[:1] in ("U", "A", "N"):
        return text[:1]
    raise SchemaError(f"unknown TYPEZONE {typezone!r}",
                      f"Type de zone « {typezone} » inconnu : TYPEZONE doit valoir U, AUc, AUs, "
                      "A ou N (standard CNIG).")


# --- reading and import -------------------------------------------------------------------------

def _read_file(path: Path) -> gpd.GeoDataFrame:
    """Read a GPKG, GeoJSON, shapefile or zipped shapefile (errors mapped to user errors)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise GeometryError(f"unsupported zoning format {suffix!r}: {path}",
                            f"Format de zonage non pris en charge ({suffix or 'sans extension'}) : "
                            "utilisez un GeoPackage, un GeoJSON ou un shapefile zippé.")
    if suffix == ".zip":
        with tempfile.TemporaryDirectory(prefix="ocsge_zonage_") as tmp:
            members = extract_archive(path, Path(tmp))
            shapefiles = [p for p in members if p.suffix.lower() == ".shp"]
            if len(shapefiles) != 1:
                raise GeometryError(f"{path.name}: {len(shapefiles)} .shp files in the zip",
                                    f"L'archive {path.name} doit contenir exactement un shapefile "
                                    f"(trouvé : {len(shapefiles)}).")
            return _read_file(shapefiles[0])
    try:
        return gpd.read_file(path)
    except Exception as err:  # pyogrio raises DataSourceError and friends for corrupt files
        raise GeometryError(f"cannot read zoning file {path}: {err}",
                            f"Le fichier de zonage {path.name} est illisible.") from err


def read_zonage(path: Path | str) -> gpd.GeoDataFrame:
    """Read and validate a ``zone_urba`` layer.

    Args:
        path: GPKG (first layer), GeoJSON, shapefile or zipped shapefile.

    Returns:
        Columns ``idurba, typezone, libelle, libelong, zone_type`` and polygons in EPSG:2154.

    Raises:
        GeometryError: unreadable file, unsupported format, non-polygon geometries.
        SchemaError: no ``TYPEZONE`` column, or an unknown zone type.
        CrsError: no CRS, or coordinates outside metropolitan France once reprojected.
        EmptyInputError: no zone.
    """
    path = Path(path)
    gdf = _read_file(path)
    columns = {str(c).lower(): c for c in gdf.columns if c != gdf.geometry.name}
    if "typezone" not in columns:
        raise SchemaError(f"{path.name}: no TYPEZONE column in {list(columns.values())}",
                          f"Le fichier {path.name} n'a pas de colonne TYPEZONE : une couche "
                          "zone_urba du standard CNIG est attendue (TYPEZONE, LIBELLE, LIBELONG, "
                          "IDURBA).")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if gdf.empty:
        raise EmptyInputError(f"{path.name}: no zone", f"Le fichier {path.name} ne contient "
                              "aucune zone.")
    if gdf.crs is None:
        raise CrsError(f"{path.name}: no CRS", f"Le fichier {path.name} n'indique pas son système "
                       "de coordonnées (CRS).")
    kinds = set(gdf.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise GeometryError(f"{path.name} holds {sorted(kinds)}",
                            f"Le fichier {path.name} doit contenir des polygones (trouvé : "
                            f"{', '.join(sorted(kinds))}).")
    projected = gdf.to_crs(2154)
    xmin, ymin, xmax, ymax = projected.total_bounds
    bx0, by0, bx1, by1 = METROPOLE_BOUNDS
    if not (np.isfinite([xmin, ymin, xmax, ymax]).all() and xmin >= bx0 and ymin >= by0
            and xmax <= bx1 and ymax <= by1):
        raise CrsError(f"{path.name}: bounds {projected.total_bounds} outside metropole "
                       f"(declared CRS {gdf.crs.to_string()})",
                       f"Les zones de {path.name} tombent hors de France métropolitaine une fois "
                       f"projetées : le système de coordonnées déclaré ({gdf.crs.to_string()}) "
                       "ne correspond pas aux coordonnées.")
    geoms = projected.geometry.to_numpy()
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        logger.info("%s: %d invalid zones repaired", path.name, int(invalid.sum()))
        geoms[invalid] = [_polygonal(shapely.make_valid(g)) for g in geoms[invalid]]
    text = {f: (projected[columns[f]].fillna("").astype(str).str.strip() if f in columns
                else pd.Series("", index=projected.index)) for f in FIELDS}
    types = [zone_type(t) for t in text["typezone"]]
    out = gpd.GeoDataFrame({**{f: text[f].to_numpy() for f in FIELDS}, "zone_type": types},
                           geometry=list(geoms), crs=2154)
    return out[~out.geometry.is_empty].reset_index(drop=True)


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """Polygonal part of a (repaired) geometry."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [g for g in getattr(geometry, "geoms", [])
             if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


@dataclass(frozen=True)
class ZonageImport:
    """What :func:`ingest_zonage` stored.

    Attributes:
        zones: number of zones.
        by_type: zone family → number of zones.
        documents: the ``IDURBA`` of the file.
        source: source label.
        source_file: file name.
        source_sha256: SHA-256 of the file.
    """

    zones: int
    by_type: dict[str, int]
    documents: tuple[str, ...]
    source: str
    source_file: str
    source_sha256: str

    def summary(self) -> str:
        """French count by family: ``2 U, 1 AU, 1 A``."""
        return ", ".join(f"{n} {t}" for t, n in self.by_type.items())


def ingest_zonage(store: Any, path: Path | str, source: str = DEFAULT_SOURCE) -> ZonageImport:
    """Validate a ``zone_urba`` file and store its zones (same ``IDURBA`` replaced).

    Args:
        store: an open :class:`~ocsge_engine.store.Store`.
        path: the file.
        source: source label stored with the zones.

    Returns:
        The :class:`ZonageImport`.

    Raises:
        See :func:`read_zonage`; nothing is stored when it raises.
    """
    path = Path(path)
    zones = read_zonage(path)
    digest = _sha256(path)
    documents = tuple(sorted(set(zones["idurba"]) - {""})) or (path.stem,)
    idurba = zones["idurba"].where(zones["idurba"] != "", path.stem)
    rows = pd.DataFrame({
        "idurba": idurba.to_numpy(), **{f: zones[f].to_numpy() for f in FIELDS[:3]},
        "zone_type": zones["zone_type"].to_numpy(),
        "geometry_wkb": [bytes(b) for b in shapely.to_wkb(zones.geometry.to_numpy())],
        "source": source, "source_file": path.name, "source_sha256": digest,
        "imported_at": datetime.now(UTC).replace(tzinfo=None)})
    try:
        existing = store.read_table(TABLE)
        existing = existing[~existing["idurba"].isin(set(rows["idurba"]))]
        rows = pd.concat([existing, rows], ignore_index=True)
    except StoreError:
        pass
    store.write_table(TABLE, rows)
    counts = zones["zone_type"].value_counts()
    by_type = {t: int(counts[t]) for t in ZONE_TYPES if t in counts}
    logger.info("imported zoning %s: %d zones %s", path.name, len(zones), by_type)
    return ZonageImport(len(zones), by_type, documents, source, path.name, digest)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_zones(store: Any, territory: Any) -> gpd.GeoDataFrame:
    """Stored zones meeting a territory (EPSG:2154, columns of :func:`read_zonage` + source).

    Raises:
        StoreError: no zoning imported.
    """
    try:
        table = store.read_table(TABLE)
    except StoreError as err:
        raise StoreError(str(err), "Aucun zonage d'urbanisme n'a été importé : importez la couche "
                         "zone_urba de votre PLU ou PLUi (GeoPackage, shapefile zippé ou "
                         "GeoJSON, standard CNIG).") from err
    geoms = shapely.from_wkb([bytes(b) for b in table["geometry_wkb"]])
    gdf = gpd.GeoDataFrame(table.drop(columns=["geometry_wkb"]), geometry=geoms, crs=2154)
    keep = shapely.intersects(territory.geometry, geoms)
    return gdf[keep].reset_index(drop=True)


# --- partition of the territory -----------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ZonePartition:
    """The territory cut into zones, overlaps and the land outside every zone.

    Attributes:
        parts: one row per zone (its part outside any overlap) with ``zone_index`` (position in
            the zones), then one row ``zone_type = OVERLAP`` and one ``OUTSIDE`` (index −1),
            empty geometries dropped.
        overlaps: ``zone_a, zone_b`` (positions), ``label_a``, ``label_b``, ``area_ha``.
    """

    parts: gpd.GeoDataFrame
    overlaps: pd.DataFrame


def partition_zones(zones: gpd.GeoDataFrame, geometry: BaseGeometry) -> ZonePartition:
    """Exact partition of ``geometry`` by the zones (overlaps and gaps set apart).

    Args:
        zones: polygons with ``zone_type`` and ``libelle`` (EPSG:2154).
        geometry: the territory.

    Returns:
        The :class:`ZonePartition`; the areas of its parts add up to the territory's.
    """
    clipped = shapely.intersection(zones.geometry.to_numpy(), geometry)
    clipped = np.asarray([_polygonal(g) for g in clipped], dtype=object)
    tree = shapely.STRtree(clipped)
    left, right = tree.query(clipped, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    inter = np.asarray([_polygonal(g) for g in shapely.intersection(clipped[left], clipped[right])],
                       dtype=object) if len(left) else np.empty(0, dtype=object)
    area = shapely.area(inter) if len(inter) else np.empty(0)
    real = area > 0
    labels = zones["libelle"].where(zones["libelle"] != "", zones["zone_type"]).to_numpy()
    overlaps = pd.DataFrame({"zone_a": left[real], "zone_b": right[real],
                             "label_a": labels[left[real]], "label_b": labels[right[real]],
                             "area_ha": area[real] / 1e4})
    overlap = shapely.union_all(inter[real]) if real.any() else shapely.Polygon()
    own = [_polygonal(shapely.difference(g, overlap)) if not overlap.is_empty else g
           for g in clipped]
    outside = _polygonal(shapely.difference(geometry, shapely.union_all(clipped)))
    parts = gpd.GeoDataFrame({
        "zone_index": list(range(len(zones))) + [-1, -1],
        "zone_type": list(zones["zone_type"]) + [OVERLAP, OUTSIDE],
        "libelle": list(labels) + [OVERLAP, OUTSIDE],
    }, geometry=own + [overlap, outside], crs=zones.crs or 2154)
    parts = parts[~parts.geometry.is_empty & (parts.geometry.area > 0)].reset_index(drop=True)
    if len(overlaps):
        logger.info("zoning: %d overlapping pairs, %.3f ha", len(overlaps), overlap.area / 1e4)
    return ZonePartition(parts, overlaps)


# --- artificialisation measures -----------------------------------------------------------------

def status_measures(store: Any, territory: Any, year_from: int, year_to: int,
                    thresholds: Thresholds = Thresholds()) -> tuple[gpd.GeoDataFrame, str]:
    """Artificialisation of a pair as polygons per measure (module docstring).

    Returns:
        ``(measures, method)``: a GeoDataFrame with ``measure`` (one of :data:`MEASURES`) and
        polygons clipped to the territory, and the method (``"ign_artif"`` when the store has
        ``artif`` layers of both millésimes — gains and losses from ``artif_diff`` when present,
        else as the difference of the two stocks —, the official-threshold method otherwise).
    """
    artif_years = {int(y) for y in store.millesimes(territory, layer="artif")}
    if {year_from, year_to} <= artif_years:
        layers = [store.polygons(territory, y, layer="artif", columns=["artif"])
                  for y in (year_from, year_to)]
        flags = [np.asarray(layer["artif"], dtype=bool) for layer in layers]
        geoms = [layer.geometry.to_numpy() for layer in layers]
        frames = [("stock_from", geoms[0][flags[0]]), ("stock_to", geoms[1][flags[1]])]
        if ign_available(store, territory, year_from, year_to):
            diff = store.polygons(territory, (year_from, year_to), layer="artif_diff",
                                  columns=["artificialisation"])
            sign = np.asarray(diff["artificialisation"], dtype=int)
            frames += [("gain", diff.geometry.to_numpy()[sign > 0]),
                       ("loss", diff.geometry.to_numpy()[sign < 0])]
        else:  # official rule: the flux is the difference of the two thresholded stocks
            pieces = overlay_pieces(geoms[0], geoms[1])
            f_from, f_to = flags[0][pieces.index_from], flags[1][pieces.index_to]
            for name, which in (("gain", ~f_from & f_to), ("loss", f_from & ~f_to)):
                cut = shapely.intersection(geoms[0][pieces.index_from[which]],
                                           geoms[1][pieces.index_to[which]])
                frames.append((name, np.asarray([_polygonal(g) for g in cut], dtype=object)))
        return _measures(frames), "ign_artif"
    pair = load_pair(store, territory, year_from, year_to)
    if thresholds.enabled:  # the stored official status of each polygon (département scale)
        poly_f = pair.official_status("from", thresholds)
        poly_t = pair.official_status("to", thresholds)
        method = OFFICIAL_METHOD
    else:
        lf, lt = pair.layer_from, pair.layer_to
        poly_f, poly_t = status(lf["code_cs"], lf["code_us"]), status(lt["code_cs"], lt["code_us"])
        method = "decree_matrix"
    s_f, s_t = poly_f[pair.pieces.index_from], poly_t[pair.pieces.index_to]
    frames = [
        ("stock_from", pair.layer_from.geometry.to_numpy()[poly_f]),
        ("stock_to", pair.layer_to.geometry.to_numpy()[poly_t]),
        ("gain", pair.piece_geometries(~s_f & s_t)), ("loss", pair.piece_geometries(s_f & ~s_t))]
    return _measures(frames), method


def _measures(frames: list[tuple[str, np.ndarray]]) -> gpd.GeoDataFrame:
    names = [m for m, geoms in frames for _ in range(len(geoms))]
    geoms = [g for _, gs in frames for g in gs]
    return gpd.GeoDataFrame({"measure": names}, geometry=geoms, crs=2154)


def measure_by_part(measures: gpd.GeoDataFrame, parts: gpd.GeoDataFrame) -> pd.DataFrame:
    """Hectares of each measure in each part (rows: parts in order, columns: :data:`MEASURES`)."""
    out = pd.DataFrame(0.0, index=range(len(parts)), columns=list(MEASURES))
    if len(measures) and len(parts):
        geoms = shapely.make_valid(measures.geometry.to_numpy())
        pieces = overlay_pieces(np.asarray(geoms, dtype=object),
                                np.asarray(parts.geometry.to_numpy(), dtype=object))
        frame = pd.DataFrame({"measure": measures["measure"].to_numpy()[pieces.index_from],
                              "part": pieces.index_to, "ha": pieces.area_m2 / 1e4})
        summed = frame.pivot_table(index="part", columns="measure", values="ha", aggfunc="sum")
        out.loc[summed.index, summed.columns] = summed.to_numpy()
    return out


# --- statistics ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ZoneStats:
    """Artificialisation by zone type and by zone label for a territory and a pair.

    Attributes:
        territory_id: the territory.
        year_from: first millésime.
        year_to: second millésime.
        method: ``ign_artif`` or ``decree_matrix_official_thresholds``.
        by_type: rows ``U, AU, A, N`` (present ones), ``OVERLAP`` and ``OUTSIDE`` when not empty;
            columns ``zone_type``, ``label`` and :data:`STAT_COLUMNS` (shares 0..1).
        by_zone: one row per zone label (``libelle``) and type, same columns.
        overlaps: overlapping zone pairs (``label_a``, ``label_b``, ``area_ha``).
        parts: the partition with the measures per part (for maps).
        measures: the measure polygons (``measure``: stock_from, stock_to, gain, loss).
        territory: the territory's artificialisation (:func:`artificialisation`).
        sources: French source line of the zoning.
        synthetic: the OCS GE behind is synthetic (demo).
    """

    territory_id: str
    year_from: int
    year_to: int
    method: str
    by_type: pd.DataFrame
    by_zone: pd.DataFrame
    overlaps: pd.DataFrame
    parts: gpd.GeoDataFrame = field(repr=False)
    territory: FluxResult = field(repr=False)
    measures: gpd.GeoDataFrame | None = field(default=None, repr=False)
    sources: str = ""
    synthetic: bool = False

    @property
    def outside_ha(self) -> float:
        """Surface of the territory outside every zone."""
        rows = self.by_type[self.by_type["zone_type"] == OUTSIDE]
        return float(rows["surface_ha"].sum())

    @property
    def overlap_ha(self) -> float:
        """Surface covered by more than one zone (counted once, apart)."""
        rows = self.by_type[self.by_type["zone_type"] == OVERLAP]
        return float(rows["surface_ha"].sum())

    @property
    def check_delta_ha(self) -> float:
        """Largest gap between the sum over the partition and the territory's figures."""
        sums = self.by_type[["stock_from_ha", "stock_to_ha", "gain_ha", "loss_ha"]].sum()
        ref = (self.territory.stock_from_ha, self.territory.stock_to_ha,
               self.territory.gross_gain_ha, self.territory.gross_loss_ha)
        return float(max(abs(a - b) for a, b in zip(sums, ref, strict=True)))

    def figures(self) -> list[Figure]:
        """Headline figures: gross gain in zones A and N, and by zone type."""
        years = (self.year_from, self.year_to)
        source = f"OCS GE (IGN) ; {self.sources}" if self.sources else "OCS GE (IGN)"
        rows = self.by_type.set_index("zone_type")
        an = float(rows.reindex(["A", "N"])["gain_ha"].fillna(0.0).sum())
        out = [Figure("zonage.gain_a_n_ha", an, "ha",
                      "Artificialisé en zones A et N", f"{self.method}: gross gain inside A and N "
                      "zones of the imported zoning", source, years, synthetic=self.synthetic)]
        for name in (*ZONE_TYPES, OVERLAP, OUTSIDE):
            if name in rows.index:
                out.append(Figure(f"zonage.{_key(name)}.gain_ha", float(rows.loc[name, "gain_ha"]),
                                  "ha", f"Artificialisé — {ZONE_TYPE_LABELS[name]}",
                                  f"{self.method}: gross gain in the part", source, years,
                                  synthetic=self.synthetic))
        return out

    def sentence(self) -> str:
        """French line for the home page: « x ha en zones A et N »."""
        an = self.figures()[0]
        return (f"{an.display()} artificialisés en zones A et N entre {self.year_from} et "
                f"{self.year_to}")


def _key(name: str) -> str:
    return {OVERLAP: "superposees", OUTSIDE: "hors_zonage"}.get(name, name.lower())


def _stats(values: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = values.groupby(keys, sort=False)[["surface_ha", *MEASURES]].sum().reset_index()
    grouped = grouped.rename(columns={m: f"{m}_ha" for m in MEASURES})
    grouped["net_ha"] = grouped["gain_ha"] - grouped["loss_ha"]
    surface = grouped["surface_ha"].where(grouped["surface_ha"] > 0)
    grouped["share_from"] = grouped["stock_from_ha"] / surface
    grouped["share_to"] = grouped["stock_to_ha"] / surface
    return grouped


def zone_statistics(partition: ZonePartition, measures: gpd.GeoDataFrame
                    ) -> tuple[pd.DataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    """By-type and by-label tables of the measures over a partition (pure).

    Returns:
        ``(by_type, by_zone, parts)``; ``parts`` is the partition with the measures (ha).
    """
    parts = partition.parts.copy()
    values = measure_by_part(measures, parts)
    parts["surface_ha"] = parts.geometry.area.to_numpy() / 1e4
    for m in MEASURES:
        parts[m] = values[m].to_numpy()
    order = {name: i for i, name in enumerate((*ZONE_TYPES, OVERLAP, OUTSIDE))}
    by_type = _stats(pd.DataFrame(parts.drop(columns="geometry")), ["zone_type"])
    by_type = by_type.sort_values("zone_type", key=lambda s: s.map(order)).reset_index(drop=True)
    by_type.insert(1, "label", by_type["zone_type"].map(ZONE_TYPE_LABELS))
    zones_only = pd.DataFrame(parts[parts["zone_index"] >= 0].drop(columns="geometry"))
    by_zone = _stats(zones_only, ["zone_type", "libelle"]) if len(zones_only) else _stats(
        pd.DataFrame(columns=["zone_type", "libelle", "surface_ha", *MEASURES]),
        ["zone_type", "libelle"])
    by_zone = by_zone.sort_values(["zone_type", "libelle"],
                                  key=lambda s: s.map(order) if s.name == "zone_type" else s)
    return by_type, by_zone.reset_index(drop=True), parts


def zone_artificialisation(store: Any, territory: Any, year_from: int, year_to: int,
                           zones: gpd.GeoDataFrame | None = None,
                           thresholds: Thresholds = Thresholds()) -> ZoneStats:
    """Artificialisation by zone type and zone label of a territory between two millésimes.

    Args:
        store: an open store.
        territory: a ``Territory`` or its id.
        year_from: first millésime.
        year_to: second millésime.
        zones: zones to use (default: the stored zoning meeting the territory).
        thresholds: decree thresholds (matrix method).

    Returns:
        The :class:`ZoneStats`; the sums over ``by_type`` equal the territory's figures.

    Raises:
        StoreError: no zoning imported. EmptyInputError: no stored zone meets the territory.
        MillesimeError, TerritoryNotFoundError: as :func:`artificialisation`.
    """
    resolved = resolve_territory(territory)
    year_from, year_to = int(year_from), int(year_to)
    if zones is None:
        zones = load_zones(store, resolved)
    if zones.empty:
        raise EmptyInputError(f"no zone meets {resolved.id}",
                              f"Aucune zone du zonage importé ne couvre « {resolved.name} » : "
                              "importez le zonage de son document d'urbanisme.")
    flux = artificialisation(store, resolved, year_from, year_to, thresholds=thresholds)
    measures, method = status_measures(store, resolved, year_from, year_to, thresholds)
    partition = partition_zones(zones, resolved.geometry)
    by_type, by_zone, parts = zone_statistics(partition, measures)
    sources = "; ".join(sorted(set(zones["source"]))) if "source" in zones else ""
    if "source_file" in zones:
        sources += f" ({', '.join(sorted(set(zones['source_file'])))})"
    stats = ZoneStats(resolved.id, year_from, year_to, method, by_type, by_zone,
                      partition.overlaps, parts, flux, measures, sources,
                      _synthetic(store, resolved))
    if stats.check_delta_ha > 1e-4:
        logger.warning("zoning %s %d-%d: partition total differs from the territory by %.6f ha "
                       "(%s vs %s)", resolved.id, year_from, year_to, stats.check_delta_ha,
                       method, flux.method)
    return stats


def _synthetic(store: Any, territory: Any) -> bool:
    """True when an occupation_sol partition of the territory's départements is synthetic."""
    from ocsge_engine.store.catalog import synthetic_partitions

    try:
        catalog = store.catalog()
    except (AttributeError, StoreError):
        return False
    return synthetic_partitions(catalog, territory.departements)[0]


def describe_overlaps(overlaps: pd.DataFrame, limit: int = 5) -> str:
    """French sentence listing overlapping zones (empty when none).

    Zone labels come from an uploaded file: they are made plain text (the page shows the sentence
    as Markdown), as contour names are.
    """
    from ocsge_engine.territories import plain_text

    if overlaps.empty:
        return ""
    pairs = [f"{plain_text(r.label_a)} / {plain_text(r.label_b)} ({fmt.hectares(r.area_ha)})"
             for r in overlaps.sort_values("area_ha", ascending=False).head(limit).itertuples()]
    more = f" et {len(overlaps) - limit} autre(s)" if len(overlaps) > limit else ""
    return (f"{len(overlaps)} paire(s) de zones se superposent : {', '.join(pairs)}{more}. Les "
            "surfaces superposées sont comptées à part (« zones superposées »), une seule fois.")


__all__ = ["DEFAULT_SOURCE", "MEASURES", "OUTSIDE", "OVERLAP", "STAT_COLUMNS", "TABLE",
           "ZONE_TYPES", "ZONE_TYPE_LABELS", "ZonageImport", "ZonePartition", "ZoneStats",
           "describe_overlaps", "ingest_zonage", "load_zones", "measure_by_part",
           "partition_zones", "read_zonage", "status_measures", "zone_artificialisation",
           "zone_statistics", "zone_type"]
