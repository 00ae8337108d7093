"""Ingest IGN OCS GE deliveries (``.7z``/``.zip`` archive, folder, GPKG, shapefile) into a store.

For each OCS GE layer found, in order: read it, check its CRS (metropole -> EPSG:2154, DROM kept
as delivered), tell its kind, département and millésime, normalise field names and codes, repair
invalid geometries (``shapely.make_valid``, polygonal parts only) and drop empty ones, give each
OCCUPATION_SOL polygon its official artificialisation status (decree matrix + thresholds on the
whole département layer, :func:`ocsge_engine.indicators.thresholds.official_status`), then write
one partition per layer with :meth:`Store.write_layer` (atomic, skipped when the source SHA-256 is
already loaded).

All layers of one PATH are prepared before any is written, so a bad layer leaves the store as it
was. Layers whose partition already holds the same source SHA-256 are skipped before being read.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from ocsge_engine.config import get_settings
from ocsge_engine.errors import (
    CrsError, EmptyInputError, GeometryError, SchemaError, UnknownCodeError,
)
from ocsge_engine.indicators.thresholds import official_status
from ocsge_engine.io import deliveries as dlv
from ocsge_engine.io.archive import extract_archive, is_archive, private_tempdir
from ocsge_engine.nomenclature import normalize_codes
from ocsge_engine.store.catalog import normalize_departement
from ocsge_engine.store.db import CATALOG_FILE, StagedLayer, Store
from ocsge_engine.store.parquet import (  # noqa: F401 (canonical_polygons: store API)
    DIFF_LAYERS,
    canonical_polygons,
    millesime_key,
    polygonal_parts,
)

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None] | None

METROPOLE_EPSG = 2154
EXTRACT_PREFIX = "ocsge_extract_"
# CRS of the overseas départements as IGN delivers them (kept, not reprojected).
DROM_EPSG: dict[str, int] = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}
# Margin around a département's extent (about 10 km): layers are clipped to it by IGN.
EXTENT_MARGIN_DEG = 0.1
_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_CODE_COLUMNS = {
    "occupation_sol": (("code_cs", "cs"), ("code_us", "us")),
    "artif": (("code_cs", "cs"), ("code_us", "us")),
    "diff": (("code_cs_from", "cs"), ("code_us_from", "us"), ("code_cs_to", "cs"),
             ("code_us_to", "us")),
}
# CNIG code grammar (nomenclature v2 ``CS2.2.1``, ``US1.1``; v1.1 ``US235``; bare ``2.2.1``):
# what an unknown code kept with --allow-unknown must still look like.
_CODE_GRAMMAR = {"cs": re.compile(r"(?:CS)?\d{1,2}(?:\.\d{1,2}){0,4}"),
                 "us": re.compile(r"(?:US)?\d{1,3}(?:\.\d{1,2}){0,4}")}
_ARTIF_VALUES = {"artif": True, "non artif": False, "non_artif": False, "non-artif": False}


@dataclass(frozen=True)
class IngestReport:
    """What happened to one layer.

    Attributes:
        source: delivered file (``archive.7z/folder/OCCUPATION_SOL.shp``).
        layer, departement, millesime: the partition written.
        n_features: features written; area_ha: their area.
        n_repaired: invalid geometries repaired by ``make_valid``.
        n_dropped_empty: empty (or non-polygonal) geometries dropped.
        unknown_codes: raw code -> count of codes outside the nomenclature (kept only with
            ``allow_unknown``).
        crs: CRS written; reprojected_from: delivered CRS when it was reprojected.
        skipped: the partition already held this source (same SHA-256): nothing written.
        old_form: (skipped only) that partition was written before the current geometry form
            (:data:`~ocsge_engine.store.parquet.GEOMETRY_FORM`): ``force`` writes it again.
    """

    source: str
    layer: str
    departement: str
    millesime: str
    n_features: int = 0
    area_ha: float = 0.0
    n_repaired: int = 0
    n_dropped_empty: int = 0
    unknown_codes: dict[str, int] = field(default_factory=dict)
    crs: str = ""
    reprojected_from: str | None = None
    skipped: bool = False
    sha256: str = ""
    old_form: bool = False

    def summary(self) -> str:
        """One French line for the CLI."""
        where = f"{self.layer} D{self.departement} {self.millesime.replace('_', '-')}"
        if self.skipped and self.old_form:
            return (f"{self.source} : {where} déjà importé (même SHA-256), mais enregistré avant "
                    "la forme unique des polygones : chiffres identiques, flux plus lents. "
                    "Relancez avec --force pour l'enregistrer à nouveau.")
        if self.skipped:
            return f"{self.source} : {where} déjà importé (même SHA-256), rien à faire."
        parts = [f"{self.source} : {where}, {self.n_features} polygones, {self.area_ha:.1f} ha"]
        if self.n_repaired:
            parts.append(f"{self.n_repaired} géométries réparées")
        if self.n_dropped_empty:
            parts.append(f"{self.n_dropped_empty} géométries vides supprimées")
        if self.unknown_codes:
            parts.append(f"{sum(self.unknown_codes.values())} codes inconnus conservés")
        if self.reprojected_from:
            parts.append(f"reprojeté de {self.reprojected_from} en EPSG:2154")
        return ", ".join(parts) + "."


@dataclass(frozen=True)
class _Context:
    allow_unknown: bool
    departement: str | None
    millesime: str | None
    force: bool = False


def ingest_paths(paths: list[Path], store_dir: Path, *, allow_unknown: bool = False,
                 departement: str | None = None, millesime: str | int | None = None,
                 progress: Progress = None, force: bool = False) -> list[IngestReport]:
    """Ingest each delivery path into the store at ``store_dir`` (created if needed).

    Args:
        paths: ``.7z``/``.zip`` archives, folders, ``.gpkg`` or ``.shp`` files.
        store_dir: the store folder.
        allow_unknown: keep codes outside the nomenclature (counted in the report) instead of
            raising :class:`UnknownCodeError`.
        departement: override the département told by names/fields.
        millesime: override the millésime (``2018``, or ``"2018_2021"`` for differences).
        progress: ``(fraction, message)`` callback.
        force: read and write a layer even when its partition already holds the same file
            (same SHA-256), e.g. to store it again in the current geometry form
            (:func:`canonical_polygons`); the partition is replaced atomically.

    Returns:
        One report per OCS GE layer, in order.

    Raises:
        ArchiveError, CrsError, SchemaError, UnknownCodeError, GeometryError, EmptyInputError:
            bad input; the layers of that PATH are not written (earlier PATHs are).
    """
    ctx = _Context(allow_unknown,
                   None if departement is None else _departement_option(departement),
                   None if millesime is None else str(millesime), force)
    reports: list[IngestReport] = []
    for i, path in enumerate(paths):
        def sub(fraction: float, message: str, i: int = i) -> None:
            if progress is not None:
                progress((i + fraction) / len(paths), message)
        reports += _ingest_one(Path(path), Path(store_dir), ctx, sub)
    if progress is not None:
        progress(1.0, "terminé")
    return reports


def _departement_option(code: str) -> str:
    """The ``--departement`` override, canonical, or :class:`SchemaError` in French."""
    try:
        return normalize_departement(code)
    except ValueError as err:
        raise SchemaError(f"invalid departement override {code!r}",
                          f"Département invalide : « {_shown(str(code))[2:-2]} » (attendu : un "
                          "code comme 33, 2A ou 971).") from err


def _ingest_one(path: Path, store_dir: Path, ctx: _Context,
                progress: Callable[[float, str], None]) -> list[IngestReport]:
    with _delivery_files(path) as (files, root, prefix):
        refs = dlv.find_layers(files)
        kinds = _recognised(refs, explicit=path.is_file() and not is_archive(path))
        if not kinds:
            raise EmptyInputError(f"no OCS GE layer in {path}",
                                  f"Aucune couche OCS GE trouvée dans {path.name}.")
        store = Store.open(store_dir) if (store_dir / CATALOG_FILE).exists() else None
        if store is not None:
            store.clean_leftovers()
        prepared: list[tuple[gpd.GeoDataFrame | None, IngestReport]] = []
        for j, (ref, kind) in enumerate(kinds):
            progress(j / (len(kinds) + 1), f"lecture {ref.label()}")
            report = _describe(ref, kind, root, prefix, ctx)
            if store is not None and not ctx.force and _already_loaded(store, report):
                old_form = bool(store.old_form_partitions(
                    report.layer, [report.departement], [report.millesime]))
                logger.info("%s already loaded (sha256 %s): skipped%s", report.source,
                            report.sha256[:12], " (old geometry form: --force rewrites it)"
                            if old_form else "")
                prepared.append((None, replace(report, skipped=True, old_form=old_form)))
                continue
            prepared.append(_prepare(ref, kind, report, ctx))
        if any(gdf is not None for gdf, _ in prepared):
            store = store or Store.open(store_dir, create=True)
            progress(len(kinds) / (len(kinds) + 1), "écriture")
        staged: list[StagedLayer] = []
        try:
            # Parquet files are written aside with no lock held, then the delivery's layers are
            # catalogued and moved in place together: all of them, or none.
            for k, (gdf, report) in enumerate(prepared):
                if gdf is not None and store is not None:
                    staged.append(store.stage_layer(
                        gdf, layer=report.layer, departement=report.departement,
                        millesime=report.millesime, source_file=report.source,
                        source_sha256=report.sha256))
                    prepared[k] = (None, report)  # free the features once on disk
            if staged and store is not None:
                store.commit_layers(staged, replace_same_source=ctx.force)
        finally:
            for item in staged:
                item.discard()
        return [report for _, report in prepared]


@contextmanager
def _delivery_files(path: Path) -> Iterator[tuple[list[Path], Path, str]]:
    """Yield the files of a delivery, the folder names are relative to, and a source prefix.

    Names of folders between the root and a file are read for the département and millésime;
    for a single file the root is its grandparent, so that ``D033_2018/OCCUPATION_SOL.shp``
    still tells them.
    """
    if not path.exists():
        raise EmptyInputError(f"{path} does not exist", f"Fichier introuvable : {path}.")
    if is_archive(path):
        with private_tempdir(EXTRACT_PREFIX) as tmp:  # removed on exit, or by the next run
            files = extract_archive(path, tmp)
            yield files, tmp, path.name + "/"  # archive name: see _names
    elif path.is_dir():
        yield sorted(p for p in path.rglob("*") if p.is_file()), path.parent, ""
    elif path.suffix.lower() in dlv.VECTOR_SUFFIXES:
        yield [path], path.parent.parent, ""
    else:
        raise SchemaError(f"unsupported input {path}",
                          f"Format non pris en charge : {path.name} (attendu : .7z, dossier, "
                          ".gpkg ou .shp).")


def _recognised(refs: list[dlv.LayerRef], explicit: bool) -> list[tuple[dlv.LayerRef, str]]:
    """Pair each layer with its kind; unknown layers are skipped, or refused if given alone."""
    out: list[tuple[dlv.LayerRef, str]] = []
    for ref in refs:
        _check_not_empty_file(ref)
        info = pyogrio.read_info(ref.path, layer=ref.layer)
        kind = dlv.detect_kind(ref.name, list(info["fields"]))
        if kind is None:
            if explicit:
                raise SchemaError(
                    f"{ref.label()} is not an OCS GE layer (fields {list(info['fields'])})",
                    f"La couche {ref.label()} n'est pas une couche OCS GE reconnue "
                    "(champs CS/US absents).")
            logger.info("skipping %s: not an OCS GE layer", ref.label())
            continue
        out.append((ref, kind))
    return out


def _check_not_empty_file(ref: dlv.LayerRef) -> None:
    if ref.path.stat().st_size == 0:
        raise EmptyInputError(f"{ref.path} is an empty file",
                              f"Le fichier {ref.path.name} est vide : aucune entité à importer.")


def _describe(ref: dlv.LayerRef, kind: str, root: Path, prefix: str,
              ctx: _Context) -> IngestReport:
    """Report skeleton: source name, SHA-256, département and millésime (fields not read yet)."""
    names = _names(ref, root, [prefix.rstrip("/")] if prefix else [])
    fields = list(pyogrio.read_info(ref.path, layer=ref.layer)["fields"])
    dep = ctx.departement or dlv.departement_from_names(names)
    if dep is None:
        raise SchemaError(f"no departement in names {names}",
                          f"Département introuvable pour {ref.label()} : précisez "
                          "--departement.")
    key = _millesime(kind, names, fields, ctx, ref)
    rel = ref.path.relative_to(root).as_posix()
    source = prefix + rel + (f":{ref.layer}" if ref.layer else "")
    return IngestReport(source=source, layer=kind, departement=normalize_departement(dep),
                        millesime=key, sha256=_sha256(ref))


def _names(ref: dlv.LayerRef, root: Path, extra: list[str]) -> list[str]:
    """Names to read département/millésime from, innermost first."""
    names = [ref.name, ref.path.stem]
    parent = ref.path.parent
    while parent != root and root in parent.parents:
        names.append(parent.name)
        parent = parent.parent
    return names + extra


def _millesime(kind: str, names: list[str], fields: list[str], ctx: _Context,
               ref: dlv.LayerRef) -> str:
    if kind in DIFF_LAYERS:
        years = dlv.diff_years_from_fields(fields)
        key = (f"{years[0]}_{years[1]}" if years else ctx.millesime
               or dlv.years_from_names(names, period=True))
    else:
        key = ctx.millesime or dlv.years_from_names(names, period=False)
        if key is None and "millesime" in {f.lower() for f in fields}:
            key = "field"  # resolved after reading the attributes
    if key is None:
        raise SchemaError(f"no millesime for {ref.label()}",
                          f"Millésime introuvable pour {ref.label()} : précisez --millesime.")
    if key == "field":
        return key
    try:
        return millesime_key(kind, key)
    except ValueError as err:
        raise SchemaError(str(err), f"Millésime invalide pour {ref.label()} : {key}.") from err


def _already_loaded(store: Store, report: IngestReport) -> bool:
    if report.millesime == "field":
        return False
    table = store.catalog()
    hit = table[(table["layer"] == report.layer) & (table["departement"] == report.departement)
                & (table["millesime"] == report.millesime)]
    return bool(len(hit)) and hit["source_sha256"].iloc[0] == report.sha256


def _sha256(ref: dlv.LayerRef) -> str:
    """SHA-256 of the delivered bytes (a shapefile's .shp/.shx/.dbf/.prj/.cpg, in that order)."""
    digest = hashlib.sha256()
    files = ([ref.path.with_suffix(s) for s in _SIDECARS] if ref.path.suffix.lower() == ".shp"
             else [ref.path])
    for file in files:
        if file.exists():
            with open(file, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()


# --- preparing one layer ------------------------------------------------------------------------

def _prepare(ref: dlv.LayerRef, kind: str, report: IngestReport,
             ctx: _Context) -> tuple[gpd.GeoDataFrame, IngestReport]:
    raw = gpd.read_file(ref.path, layer=ref.layer, engine="pyogrio")
    if raw.empty:
        raise EmptyInputError(f"{ref.label()} has no features",
                              f"La couche {ref.label()} est vide : aucune entité à importer.")
    period = tuple(int(y) for y in report.millesime.split("_")) if kind in DIFF_LAYERS else None
    table = dlv.normalize_fields(raw, kind, ref.label(), period=period)  # type: ignore[arg-type]
    if table.crs is None:
        _check_crs(table, report.departement, ref)  # raises the missing-CRS error
    table, n_repaired, n_dropped = _repair(table, ref)
    check_extent(table, report.departement, ref.label())  # in the declared CRS
    table, crs_from = _check_crs(table, report.departement, ref)
    table, unknown = _codes(table, kind, ref, ctx.allow_unknown)
    key = _resolve_field_millesime(table, report.millesime, ref)
    table = _finish(table, kind, key, report.departement)
    if kind == "occupation_sol":
        status = official_status(table)  # whole département layer, before any clipping
        table = table.assign(artif=status["artif"], crit_seuil=status["crit_seuil"])
    report = replace(report, millesime=key, n_features=len(table),
                     area_ha=float(table.geometry.area.sum() / 1e4), n_repaired=n_repaired,
                     n_dropped_empty=n_dropped, unknown_codes=unknown,
                     crs=table.crs.to_string(), reprojected_from=crs_from)
    return table, report


def _check_crs(gdf: gpd.GeoDataFrame, dep: str,
               ref: dlv.LayerRef) -> tuple[gpd.GeoDataFrame, str | None]:
    """Metropole: EPSG:2154 (reprojected when needed); DROM: kept as delivered."""
    if gdf.crs is None:
        raise CrsError(f"{ref.label()} has no CRS",
                       f"La couche {ref.label()} n'a pas de système de coordonnées (fichier .prj "
                       "absent ?) : impossible de la placer sur la carte.")
    if dep in DROM_EPSG:
        if gdf.crs.to_epsg() != DROM_EPSG[dep]:
            logger.warning("%s: D%s delivered in %s, expected EPSG:%d; kept as delivered",
                           ref.label(), dep, gdf.crs.to_string(), DROM_EPSG[dep])
        return gdf, None
    target = pyproj.CRS.from_epsg(METROPOLE_EPSG)
    if gdf.crs.equals(target, ignore_axis_order=True):
        return gdf.set_crs(target, allow_override=True), None
    source = gdf.crs.to_string()
    logger.info("%s: reprojecting from %s to EPSG:2154", ref.label(), source)
    return gdf.to_crs(target), source


@lru_cache(maxsize=1)
def _departement_bounds() -> dict[str, tuple[float, float, float, float]]:
    """Longitude/latitude extent of each département (``data/territories/departements_bbox.csv``)."""
    path = get_settings().data_dir / "territories" / "departements_bbox.csv"
    table = pd.read_csv(path, dtype={"departement": str})
    return {row.departement: (row.lon_min, row.lat_min, row.lon_max, row.lat_max)
            for row in table.itertuples()}


def check_extent(gdf: gpd.GeoDataFrame, departement: str, label: str) -> None:
    """Refuse a layer whose extent, in its declared CRS, is not in its département.

    A layer in Lambert-93 declared EPSG:3857 lands hundreds of kilometres away, one declared
    EPSG:4326 projects to infinity: both mean the declared CRS is wrong (or the département).
    The layer's bounds, taken to longitude/latitude, must fall inside the département's extent
    widened by :data:`EXTENT_MARGIN_DEG`.

    Raises:
        CrsError: non-finite bounds, or bounds outside the département's extent.
    """
    extent = _departement_bounds().get(departement)
    bounds = np.asarray(gdf.total_bounds, dtype=float)
    crs = gdf.crs.to_string() if gdf.crs is not None else "?"
    if np.isfinite(bounds).all():
        with np.errstate(all="ignore"):
            lonlat = np.asarray(pyproj.Transformer.from_crs(gdf.crs, 4326, always_xy=True)
                                .transform_bounds(*bounds, densify_pts=11), dtype=float)
    else:
        lonlat = np.full(4, np.inf)
    if extent is None and np.isfinite(lonlat).all():
        logger.warning("%s: no extent known for D%s, CRS not checked", label, departement)
        return
    margin = EXTENT_MARGIN_DEG
    inside = extent is not None and np.isfinite(lonlat).all() and (
        lonlat[0] >= extent[0] - margin and lonlat[1] >= extent[1] - margin
        and lonlat[2] <= extent[2] + margin and lonlat[3] <= extent[3] + margin)
    if not inside:
        plausible = (np.isfinite(lonlat).all() and -180 <= lonlat[0] <= lonlat[2] <= 180
                     and -90 <= lonlat[1] <= lonlat[3] <= 90)
        where = (f"vers {lonlat[0]:.2f}°, {lonlat[1]:.2f}°".replace(".", ",") if plausible
                 else "hors des longitudes et latitudes possibles")
        raise CrsError(
            f"{label}: extent {bounds.tolist()} in {crs} is lonlat {lonlat.tolist()}, outside "
            f"D{departement} {extent}",
            f"La couche {label} tombe hors du département {departement} ({where}) avec le "
            f"système de coordonnées qu'elle déclare ({crs}) : ce système (fichier .prj ou "
            "déclaration du GeoPackage) est faux, ou le département. Corrigez-le puis relancez.")


def _repair(gdf: gpd.GeoDataFrame, ref: dlv.LayerRef) -> tuple[gpd.GeoDataFrame, int, int]:
    """Repair invalid geometries (polygonal parts of make_valid); drop empty/non-polygonal ones."""
    geoms = gdf.geometry.to_numpy().astype(object)
    geoms[pd.isna(geoms)] = shapely.Polygon()
    invalid = ~shapely.is_valid(geoms)
    geoms[invalid] = shapely.make_valid(geoms[invalid])
    geoms = polygonal_parts(geoms)
    empty = shapely.is_empty(geoms)
    n_repaired, n_dropped = int(invalid.sum()), int(empty.sum())
    if n_repaired or n_dropped:
        logger.info("%s: %d invalid geometries repaired, %d empty dropped", ref.label(),
                    n_repaired, n_dropped)
    if empty.all():
        raise GeometryError(f"{ref.label()}: all {len(geoms)} geometries are empty",
                            f"La couche {ref.label()} ne contient aucune géométrie utilisable "
                            f"({len(geoms)} géométries vides).")
    out = gdf.set_geometry(geoms, crs=gdf.crs)[~empty].reset_index(drop=True)
    return out, n_repaired, n_dropped


def _codes(gdf: gpd.GeoDataFrame, kind: str, ref: dlv.LayerRef,
           allow_unknown: bool) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Normalise CS/US codes; refuse unknown ones unless ``allow_unknown`` (raw value kept)."""
    unknown: dict[str, int] = {}
    gdf = gdf.copy()
    for column, nomenclature in _CODE_COLUMNS.get(kind, ()):
        raw = gdf[column].astype("object")
        codes = normalize_codes(raw, nomenclature)  # type: ignore[arg-type]
        bad = codes.isna().to_numpy()
        for value, count in raw[bad].astype(str).str.strip().value_counts().items():
            unknown[str(value)] = unknown.get(str(value), 0) + int(count)
        kept = raw.astype(str).str.strip().str.upper()
        _check_grammar(kept[bad & raw.notna().to_numpy() & (kept != "").to_numpy()],
                       nomenclature, ref)
        gdf[column] = np.where(bad, kept, codes)
    if kind == "artif":
        unknown |= _flag_values(gdf["artif"], _ARTIF_VALUES)
    if kind == "artif_diff":
        unknown |= _flag_values(gdf["artificialisation"].astype(str), {"1": 1, "-1": -1})
    if unknown and not allow_unknown:
        listing = ", ".join(f"{code} ({n})" for code, n in sorted(unknown.items()))
        raise UnknownCodeError(f"{ref.label()}: unknown codes {listing}",
                               f"Codes inconnus dans {ref.label()} : {listing}. Corrigez le "
                               "fichier ou relancez avec --allow-unknown.")
    if unknown:
        logger.warning("%s: kept unknown codes %s", ref.label(), unknown)
    return gdf, unknown


def _check_grammar(values: pd.Series, nomenclature: str, ref: dlv.LayerRef) -> None:
    """Refuse kept unknown codes that are not shaped like CNIG codes (``CS9.9``, ``US235``).

    Even with ``--allow-unknown`` a code is stored only when it follows the code grammar: the
    CS/US prefix then dot-separated numbers; markup or free text is refused.

    Raises:
        UnknownCodeError: a value outside the grammar (shown escaped and truncated).
    """
    grammar = _CODE_GRAMMAR[nomenclature]
    wrong = sorted({v for v in values.unique() if not grammar.fullmatch(v)})
    if wrong:
        shown = ", ".join(_shown(v) for v in wrong[:5]) + (" …" if len(wrong) > 5 else "")
        raise UnknownCodeError(
            f"{ref.label()}: {len(wrong)} values are not {nomenclature.upper()} codes: "
            f"{[v[:40] for v in wrong[:5]]}",
            f"La couche {ref.label()} contient des valeurs qui ne sont pas des codes "
            f"{nomenclature.upper()} ({shown}) : elles sont refusées, même avec --allow-unknown.")


def _shown(value: str) -> str:
    """A raw value made harmless for a message: printable ASCII letters/digits/dots, 30 chars."""
    text = re.sub(r"[^0-9A-Za-z. _-]", "?", value)[:30]
    return f"« {text} »"


def _flag_values(series: pd.Series, allowed: dict[str, object]) -> dict[str, int]:
    values = series.astype(str).str.strip().str.lower()
    bad = values[~values.isin(list(allowed))]
    return {str(k): int(v) for k, v in bad.value_counts().items()}


def _resolve_field_millesime(gdf: gpd.GeoDataFrame, key: str, ref: dlv.LayerRef) -> str:
    if key != "field":
        return key
    years = gdf["millesime"].astype(str).str.extract(r"((?:19|20)\d{2})")[0].dropna()
    if years.empty:
        raise SchemaError(f"no millesime in the field of {ref.label()}",
                          f"Millésime introuvable pour {ref.label()} : précisez --millesime.")
    if years.nunique() > 1:
        logger.warning("%s: several millesimes %s, keeping the most frequent", ref.label(),
                       sorted(years.unique()))
    return str(years.mode().iloc[0])


def _finish(gdf: gpd.GeoDataFrame, kind: str, key: str, dep: str) -> gpd.GeoDataFrame:
    """Add the canonical millésime/département columns and typed flags."""
    gdf = gdf.copy()
    gdf["id"] = gdf["id"].astype(str)
    gdf["departement"] = dep
    if kind in DIFF_LAYERS:
        y1, y2 = (int(y) for y in key.split("_"))
        gdf["millesime_from"], gdf["millesime_to"] = y1, y2
    else:
        gdf["millesime"] = int(key)
    if kind == "artif":
        flags = gdf["artif"].astype(str).str.strip().str.lower().map(_ARTIF_VALUES)
        gdf["artif"] = flags.fillna(False).astype(bool)
        if "crit_seuil" not in gdf.columns:
            gdf["crit_seuil"] = None
    if kind == "artif_diff":
        gdf["artificialisation"] = pd.to_numeric(gdf["artificialisation"], errors="coerce") \
            .fillna(0).astype("int8")
    return gdf
