"""The store: partitioned GeoParquet under ``STORE/layers`` + a DuckDB catalogue.

:class:`Store` is the only entry point of the engine to OCS GE polygons. It is safe to share
between threads (a Streamlit ``cache_resource``): it holds no open connection, each query opens
its own short-lived DuckDB connection, and writers serialise on an ``fcntl`` lock file
(``STORE/.lock``).

Writing is two steps so that readers never wait for a Parquet write: :meth:`Store.stage_layer`
writes a partition's Parquet to a hidden sibling (``.data.parquet.<pid>.<random>.tmp``) with no
lock and no catalogue connection; :meth:`Store.commit_layers` then, in one short catalogue
transaction, records every staged partition and renames its file into place: all the layers of a
delivery are catalogued together or not at all. Staged files of a crashed writer are removed by
:meth:`Store.clean_leftovers` (called by the ingest).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import duckdb_extension_spatial
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from ocsge_engine.errors import CrsError, MillesimeError, StoreError
from ocsge_engine.io.atomic import atomic_path
from ocsge_engine.store import catalog as cat
from ocsge_engine.store.catalog import PartitionInfo
from ocsge_engine.store.protocols import TerritoryLike
from ocsge_engine.store.parquet import (
    DIFF_LAYERS, GEOMETRY_FORM, clip_polygons, conform, geometry_form, millesime_key,
    partition_path, read_partition, write_partition,
)

logger = logging.getLogger(__name__)

CATALOG_FILE = "catalog.duckdb"
_TABLES_CACHED = 16  # reference tables kept in memory per store (the largest: ref_population)
LOCK_FILE = ".lock"
METROPOLE_EPSG = 2154
COMPLETE_SHARE = 0.999
_TABLE_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_CONNECT_RETRIES = 20
_STAGED_RE = re.compile(r"^\.[^/]+\.(\d+)\.[0-9a-f]{32}\.tmp$")
LEGACY_TMP_AGE_S = 24 * 3600


@dataclass(frozen=True)
class StagedLayer:
    """A partition written aside, waiting for :meth:`Store.commit_layers`.

    Attributes:
        info: its catalogue row.
        path: the partition's final file.
        tmp: the staged Parquet file (same folder).
    """

    info: PartitionInfo
    path: Path
    tmp: Path

    def discard(self) -> None:
        """Remove the staged file (nothing happens when it is gone)."""
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()


@dataclass(frozen=True)
class Coverage:
    """How much of a territory a layer/millésime covers.

    Attributes:
        territory_ha: area of the territory.
        covered_ha: area of the layer's polygons inside the territory (polygons of one
            OCS GE layer do not overlap, so the sum of clipped areas is the covered area).
        share: ``covered_ha / territory_ha``, capped at 1.
        complete: ``share >= 0.999``.
    """

    territory_ha: float
    covered_ha: float
    share: float
    complete: bool


def spatial_extension_path() -> Path:
    """Path of the DuckDB spatial extension shipped by ``duckdb-extension-spatial`` (offline)."""
    return (Path(duckdb_extension_spatial.__file__).parent / "extensions"
            / f"v{duckdb.__version__}" / "spatial.duckdb_extension")


def _connect(db_file: Path, read_only: bool, spatial: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection, retrying while another process holds the write lock."""
    for attempt in range(_CONNECT_RETRIES):
        try:
            con = duckdb.connect(str(db_file), read_only=read_only)
            break
        except (duckdb.IOException, duckdb.ConnectionException) as err:
            if attempt == _CONNECT_RETRIES - 1:
                raise StoreError(f"cannot open {db_file}: {err}",
                                 "La base OCS GE est occupée ou illisible : réessayez.") from err
            time.sleep(0.05 * (attempt + 1))  # another process is writing; back off briefly
    if spatial:
        con.execute(f"LOAD '{spatial_extension_path()}'")
    return con


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``BEGIN`` on ``con``; commit on success, roll back on any error; always close it."""
    try:
        con.begin()
        try:
            yield con
        except BaseException:
            con.rollback()
            raise
        con.commit()
    finally:
        con.close()


class Store:
    """Partitioned GeoParquet + DuckDB catalogue (see docs/DESIGN.md).

    Attributes:
        path: the store folder.
    """

    SCHEMA_VERSION: int = 1

    def __init__(self, path: Path) -> None:
        """Use :meth:`Store.open`."""
        self.path = Path(path)
        self._db_file = self.path / CATALOG_FILE
        self._cache_lock = threading.Lock()
        self._catalog_cache: tuple[tuple[int, ...], pd.DataFrame] | None = None
        # reference tables (``None``: absent) and table names, valid for one stamp
        self._table_cache: OrderedDict[str, tuple[tuple[int, ...], pd.DataFrame | None]] = \
            OrderedDict()
        self._names_cache: tuple[tuple[int, ...], frozenset[str]] | None = None

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, create: bool = False) -> Store:
        """Open (or create) a store.

        Args:
            path: the store folder.
            create: create an empty store when ``path`` has none.

        Returns:
            The store.

        Raises:
            StoreError: no store at ``path`` and ``create`` is false, or its schema version is
                newer than this engine's.
        """
        store = cls(Path(path).expanduser())
        if not store._db_file.exists():
            if not create:
                raise StoreError(f"no store at {store.path}",
                                 f"Aucune base OCS GE dans {store.path} : lancez d'abord "
                                 "« python -m ocsge_engine demo » ou « ingest ».")
            store._create()
        store._check_version()
        return store

    def _create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / LOCK_FILE).touch()
        with self._write_lock():
            with atomic_path(self._db_file, suffix=".duckdb") as tmp:
                con = duckdb.connect(str(tmp))
                try:
                    cat.ensure_schema(con, self.SCHEMA_VERSION)
                finally:
                    con.close()
        logger.info("created store %s (schema version %d)", self.path, self.SCHEMA_VERSION)

    def _check_version(self) -> None:
        con = _connect(self._db_file, read_only=True)
        try:
            version = cat.schema_version(con)
        finally:
            con.close()
        if version is None or version > self.SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {version}, engine supports "
                f"<= {self.SCHEMA_VERSION}",
                f"La base OCS GE de {self.path} a un format non pris en charge "
                f"(version {version}) : mettez l'application à jour.",
            )

    # --- connections and lock ----------------------------------------------------------------

    def connect(self) -> duckdb.DuckDBPyConnection:
        """Return a new read-only connection with the spatial extension loaded.

        Open one per query or thread and close it; the caller owns it.
        """
        return _connect(self._db_file, read_only=True, spatial=True)

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Serialise writers across threads and processes (``flock`` on ``STORE/.lock``)."""
        with open(self.path / LOCK_FILE, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _write_transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Lock, open read-write, ``BEGIN``; commit on success, roll back on any error."""
        with self._write_lock():
            try:
                with transaction(_connect(self._db_file, read_only=False)) as con:
                    yield con
            finally:
                self._catalog_cache = self._names_cache = None
                self._table_cache.clear()

    # --- catalogue --------------------------------------------------------------------------

    def catalog(self) -> pd.DataFrame:
        """Return one row per partition (see :mod:`ocsge_engine.store.catalog`).

        ``millesime`` is a string: ``"2018"``, or ``"2015_2018"`` for difference layers.
        The result is cached until the DuckDB file changes; callers get a copy.
        """
        key = self._stamp()
        with self._cache_lock:
            if self._catalog_cache is not None and self._catalog_cache[0] == key:
                return self._catalog_cache[1].copy()
        con = _connect(self._db_file, read_only=True)
        try:
            table = cat.read_catalog(con)
        finally:
            con.close()
        with self._cache_lock:
            self._catalog_cache = (key, table)
        return table.copy()

    def old_form_partitions(self, layer: str = "occupation_sol",
                            departements: Iterable[str] | None = None,
                            millesimes: Iterable[int | str] | None = None
                            ) -> list[tuple[str, str]]:
        """``(departement, millesime)`` of the partitions written before the current geometry
        form (:func:`~ocsge_engine.store.parquet.geometry_form`, read from each file's footer).

        Their figures are the same; their exchange matrices are slower, the unchanged polygons
        of two millésimes no longer being paired on their bytes. ``ingest --force`` writes such
        a partition again. ``departements``/``millesimes`` narrow the search (default: all).
        """
        table = self.catalog()
        rows = table[table["layer"] == layer]
        if departements is not None:
            rows = rows[rows["departement"].isin([cat.normalize_departement(d)
                                                  for d in departements])]
        if millesimes is not None:
            rows = rows[rows["millesime"].isin([str(m) for m in millesimes])]
        old = []
        for dep, key in zip(rows["departement"], rows["millesime"]):
            path = partition_path(self.path, layer, dep, key)
            if path.exists() and geometry_form(path) != GEOMETRY_FORM:
                old.append((str(dep), str(key)))
        return old

    def stamp(self) -> tuple[int, ...]:
        """A value that changes whenever the catalogue file changes (cache key for apps)."""
        return self._stamp()

    def _stamp(self) -> tuple[int, ...]:
        stamps: list[int] = []
        for file in (self._db_file, self._db_file.with_name(CATALOG_FILE + ".wal")):
            try:
                st = file.stat()
                stamps += [st.st_mtime_ns, st.st_size, st.st_ino]
            except FileNotFoundError:
                stamps += [0, 0, 0]
        return tuple(stamps)

    def millesimes(self, territory: TerritoryLike, layer: str = "occupation_sol") -> list[Any]:
        """Millésimes of ``layer`` present for at least one of the territory's départements.

        Returns:
            Sorted years (``list[int]``), or periods like ``"2015_2018"`` for diff layers.
        """
        table = self._partitions(layer, territory.departements)
        keys = sorted(set(table["millesime"]))
        return keys if layer in DIFF_LAYERS else [int(k) for k in keys]

    def _partitions(self, layer: str, departements: tuple[str, ...],
                    millesime_k: str | None = None) -> pd.DataFrame:
        deps = {cat.normalize_departement(d) for d in departements}
        table = self.catalog()
        mask = (table["layer"] == layer) & table["departement"].isin(deps)
        if millesime_k is not None:
            mask &= table["millesime"] == millesime_k
        return table[mask]

    # --- writing ----------------------------------------------------------------------------

    def write_layer(self, gdf: gpd.GeoDataFrame, *, layer: str, departement: str,
                    millesime: int | str, source_file: str, source_sha256: str,
                    synthetic: bool = False, note: str = "") -> PartitionInfo:
        """Write (replace) one partition atomically and record it in the catalogue.

        Args:
            gdf: canonical features (columns of ``LAYER_SCHEMAS[layer]``, codes normalised).
            layer: ``occupation_sol``, ``zone_construite``, ``diff``, ``artif`` or ``artif_diff``.
            departement: département code (``"33"``).
            millesime: year, or ``"2015_2018"`` for diff layers.
            source_file: name of the delivered file.
            source_sha256: SHA-256 of the delivered file.
            synthetic: the features are generated (demo), not delivered by IGN.
            note: free text kept in the catalogue.

        Returns:
            The catalogue row. When the partition already holds ``source_sha256`` (and its file
            exists) nothing is written and the existing row is returned.

        Raises:
            SchemaError: missing canonical columns. CrsError: ``gdf`` has no CRS.
        """
        return self._write(gdf, layer, departement, millesime, source_file, source_sha256,
                           synthetic, note, replace_same_source=False)

    def rewrite_layer(self, gdf: gpd.GeoDataFrame, *, layer: str, departement: str,
                      millesime: int | str) -> PartitionInfo:
        """Replace an existing partition with derived columns added, keeping its provenance.

        Source file, SHA-256, synthetic flag and note stay those of the catalogue row (used to
        add the official artificialisation status to partitions written without it,
        :func:`ocsge_engine.indicators.thresholds.ensure_status`).

        Raises:
            StoreError: no such partition, or the store cannot be written.
        """
        dep = cat.normalize_departement(departement)
        key = millesime_key(layer, millesime)
        rows = self._partitions(layer, (dep,), key)
        if rows.empty:
            raise StoreError(f"no partition {layer} D{dep} {key} to rewrite",
                             f"La couche {layer} {key} du département {dep} est absente de la "
                             "base.")
        row = rows.iloc[0]
        try:
            return self._write(gdf, layer, dep, key, str(row["source_file"]),
                               str(row["source_sha256"]), bool(row["synthetic"]), str(row["note"]),
                               replace_same_source=True)
        except (OSError, duckdb.Error) as err:
            raise StoreError(
                f"cannot rewrite {layer} D{dep} {key} in {self.path}: {err}",
                f"Impossible de mettre à jour la base OCS GE {self.path} (lecture seule ?) : "
                "rendez-la modifiable ou réimportez les données.") from err

    def _write(self, gdf: gpd.GeoDataFrame, layer: str, departement: str, millesime: int | str,
               source_file: str, source_sha256: str, synthetic: bool, note: str,
               replace_same_source: bool) -> PartitionInfo:
        dep = cat.normalize_departement(departement)
        key = millesime_key(layer, millesime)
        existing = None if replace_same_source else self._loaded(layer, dep, key, source_sha256)
        if existing is not None:
            return existing
        staged = self.stage_layer(gdf, layer=layer, departement=dep, millesime=key,
                                  source_file=source_file, source_sha256=source_sha256,
                                  synthetic=synthetic, note=note)
        return self.commit_layers([staged], replace_same_source=replace_same_source)[0]

    def _loaded(self, layer: str, dep: str, key: str, sha256: str) -> PartitionInfo | None:
        """The catalogue row when the partition already holds ``sha256`` (and its file exists)."""
        con = _connect(self._db_file, read_only=True)
        try:
            existing = cat.find_partition(con, layer, dep, key)
        finally:
            con.close()
        if (existing is not None and existing.source_sha256 == sha256
                and partition_path(self.path, layer, dep, key).exists()):
            logger.info("partition %s D%s %s already holds %s: skipped", layer, dep, key,
                        sha256[:12])
            return existing
        return None

    def stage_layer(self, gdf: gpd.GeoDataFrame, *, layer: str, departement: str,
                    millesime: int | str, source_file: str, source_sha256: str,
                    synthetic: bool = False, note: str = "") -> StagedLayer:
        """Write one partition's Parquet aside, holding no lock and no catalogue connection.

        Arguments as :meth:`write_layer`. Nothing is visible until :meth:`commit_layers`.

        Returns:
            The staged partition (call :meth:`StagedLayer.discard` if it is not committed).

        Raises:
            SchemaError: missing canonical columns. CrsError: ``gdf`` has no CRS.
        """
        dep = cat.normalize_departement(departement)
        key = millesime_key(layer, millesime)
        table = conform(gdf, layer)
        if table.crs is None:
            raise CrsError(f"layer {layer} D{dep} {key} has no CRS",
                           "La couche n'a pas de système de coordonnées (CRS).")
        path = partition_path(self.path, layer, dep, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        info = PartitionInfo(
            layer=layer, departement=dep, millesime=key, n_features=len(table),
            area_ha=float(table.geometry.area.sum() / 1e4), crs=table.crs.to_string(),
            source_file=source_file, source_sha256=source_sha256, synthetic=synthetic,
            note=note, ingested_at=datetime.now(UTC).replace(tzinfo=None),
        )
        staged = StagedLayer(info, path, tmp)
        try:
            write_partition(table, tmp)
        except BaseException:
            staged.discard()
            raise
        return staged

    def commit_layers(self, staged: list[StagedLayer], replace_same_source: bool = False
                      ) -> list[PartitionInfo]:
        """Catalogue staged partitions and move their files in place, all or nothing.

        One catalogue transaction (the only time readers may wait: milliseconds) records every
        row and renames every staged file onto its partition; any error rolls the catalogue
        back. A partition that already holds the same SHA-256 is left as it is (unless
        ``replace_same_source``: a derived rewrite, :meth:`rewrite_layer`). Staged files are
        always removed.

        Returns:
            The catalogue rows, in the order of ``staged``.
        """
        rows: list[PartitionInfo] = []
        try:
            with self._write_transaction() as con:
                moves: list[StagedLayer] = []
                for item in staged:
                    info = item.info
                    existing = cat.find_partition(con, info.layer, info.departement,
                                                  info.millesime)
                    if (not replace_same_source and existing is not None
                            and existing.source_sha256 == info.source_sha256
                            and item.path.exists()):
                        rows.append(existing)
                        continue
                    cat.upsert_partition(con, info)
                    rows.append(info)
                    moves.append(item)
                for item in moves:
                    os.replace(item.tmp, item.path)
        finally:
            for item in staged:
                item.discard()
        for info in rows:
            logger.info("wrote %s D%s %s: %d features, %.1f ha", info.layer, info.departement,
                        info.millesime, info.n_features, info.area_ha)
        return rows

    def clean_leftovers(self) -> list[Path]:
        """Remove staged Parquet files of dead writers (``kill -9`` mid-ingest); return them.

        A staged file names its writer's pid; it is removed when that process is gone. Temporary
        files of older versions (no pid) are removed after :data:`LEGACY_TMP_AGE_S`.
        """
        from ocsge_engine.io.archive import _pid_alive

        removed: list[Path] = []
        layers = self.path / "layers"
        if not layers.is_dir():
            return removed
        now = time.time()
        for tmp in layers.rglob(".*.tmp"):
            match = _STAGED_RE.match(tmp.name)
            with contextlib.suppress(OSError):
                if match:
                    stale = not _pid_alive(int(match.group(1)))
                else:
                    stale = now - tmp.stat().st_mtime > LEGACY_TMP_AGE_S
                if stale and tmp.is_file():
                    tmp.unlink()
                    removed.append(tmp)
        if removed:
            logger.warning("removed %d staged files left by crashed writers", len(removed))
        return removed

    def write_table(self, name: str, df: pd.DataFrame) -> None:
        """Create or replace a reference table (``ref_population``…) in one transaction."""
        if not _TABLE_RE.match(name) or name in ("catalog", "meta"):
            raise ValueError(f"invalid reference table name {name!r}")
        with self._write_transaction() as con:
            con.register("_incoming", df)
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _incoming')
            con.unregister("_incoming")
        logger.info("wrote reference table %s (%d rows)", name, len(df))

    def read_table(self, name: str) -> pd.DataFrame:
        """Return a reference table.

        Raises:
            StoreError: no such table.
        """
        if not _TABLE_RE.match(name):
            raise ValueError(f"invalid reference table name {name!r}")
        key = self._stamp()  # cached until the DuckDB file changes (absent tables too)
        with self._cache_lock:
            cached = self._table_cache.get(name)
            if cached is not None and cached[0] == key:
                self._table_cache.move_to_end(name)
                table = cached[1]
                if table is None:
                    raise StoreError(f"no table {name} in {self.path}",
                                     f"La table de référence {name} est absente de la base.")
                return table.copy()
        con = _connect(self._db_file, read_only=True)
        try:
            table = con.execute(f'SELECT * FROM "{name}"').df()
        except duckdb.CatalogException as err:
            self._cache_table(name, key, None)
            raise StoreError(f"no table {name} in {self.path}",
                             f"La table de référence {name} est absente de la base.") from err
        finally:
            con.close()
        self._cache_table(name, key, table)
        return table.copy()

    def _cache_table(self, name: str, key: tuple[int, ...], table: pd.DataFrame | None) -> None:
        with self._cache_lock:
            self._table_cache[name] = (key, table)
            while len(self._table_cache) > _TABLES_CACHED:
                self._table_cache.popitem(last=False)

    def table_names(self) -> frozenset[str]:
        """Names of the DuckDB tables (reference tables, ``catalog``…), cached per stamp."""
        key = self._stamp()
        with self._cache_lock:
            if self._names_cache is not None and self._names_cache[0] == key:
                return self._names_cache[1]
        con = _connect(self._db_file, read_only=True)
        try:
            names = frozenset(str(row[0]) for row in con.execute(
                "SELECT table_name FROM information_schema.tables").fetchall())
        finally:
            con.close()
        with self._cache_lock:
            self._names_cache = (key, names)
        return names

    # --- reading ----------------------------------------------------------------------------

    def partition_columns(self, layer: str, departement: str,
                          millesime: int | str | tuple[int, int]) -> list[str] | None:
        """Attribute columns of one partition (its Parquet schema only), ``None`` when absent."""
        key = millesime_key(layer, millesime)
        dep = cat.normalize_departement(departement)
        if self._partitions(layer, (dep,), key).empty:
            return None
        path = partition_path(self.path, layer, dep, key)
        if not path.exists():
            return None
        return [c for c in pq.read_schema(path).names if c not in ("geometry", "bbox")]

    def read_layer(self, layer: str, departement: str, millesime: int | str | tuple[int, int],
                   columns: list[str] | None = None) -> gpd.GeoDataFrame:
        """Return one whole partition (every feature of a département and millésime).

        Raises:
            MillesimeError: the partition is absent.
        """
        key = millesime_key(layer, millesime)
        dep = cat.normalize_departement(departement)
        path = partition_path(self.path, layer, dep, key)
        if self._partitions(layer, (dep,), key).empty or not path.exists():
            raise MillesimeError(f"{layer} {key} absent for departement {dep}",
                                 f"Le millésime {key.replace('_', '-')} ({layer}) n'est pas "
                                 f"disponible pour le département {dep}.")
        return read_partition(path, columns=columns)

    def polygons(self, territory: TerritoryLike, millesime: int | str | tuple[int, int],
                 layer: str = "occupation_sol", clip: bool = True,
                 columns: list[str] | None = None) -> gpd.GeoDataFrame:
        """Return the features of one layer/millésime that intersect the territory.

        Args:
            territory: object with ``geometry`` (EPSG:2154) and ``departements``.
            millesime: year, or period (``"2015_2018"`` / ``(2015, 2018)``) for diff layers.
            layer: layer name.
            clip: cut features to the territory (polygonal parts only; slivers that become
                empty are dropped).
            columns: attribute columns to read (default: all).

        Returns:
            A GeoDataFrame in EPSG:2154 (a DROM partition keeps its delivered CRS), index reset.

        Raises:
            MillesimeError: the layer/millésime is absent for every département of the territory.

        Notes:
            Reads only row groups whose bbox statistics meet the territory's bbox, then filters
            with a prepared geometry and clips only features crossing the boundary.
        """
        key = millesime_key(layer, millesime)
        parts = self._partitions(layer, territory.departements, key)
        if parts.empty:
            raise MillesimeError(
                f"{layer} {key} absent for departements {territory.departements}",
                f"Le millésime {key.replace('_', '-')} ({layer}) n'est pas disponible pour ce "
                "territoire.",
            )
        frames = [self._read_clipped(row, territory.geometry, clip, columns)
                  for row in parts.itertuples(index=False)]
        crs = frames[0].crs
        out = pd.concat([f.to_crs(crs) if f.crs != crs else f for f in frames], ignore_index=True)
        return gpd.GeoDataFrame(out, geometry="geometry", crs=crs)

    def partition_files(self, territory: TerritoryLike, millesime: int | str | tuple[int, int],
                        layer: str = "occupation_sol") -> list[tuple[Path, str]]:
        """Files and CRS of the partitions :meth:`polygons` would read (readers that decode
        the GeoParquet themselves, such as the exchange-matrix fast path).

        Raises:
            MillesimeError: the layer/millésime is absent for every département of the territory.
        """
        key = millesime_key(layer, millesime)
        parts = self._partitions(layer, territory.departements, key)
        if parts.empty:
            raise MillesimeError(
                f"{layer} {key} absent for departements {territory.departements}",
                f"Le millésime {key.replace('_', '-')} ({layer}) n'est pas disponible pour ce "
                "territoire.",
            )
        return [(partition_path(self.path, row.layer, row.departement, row.millesime),
                 str(row.crs)) for row in parts.itertuples(index=False)]

    def _read_clipped(self, row: Any, geometry: BaseGeometry, clip: bool,
                      columns: list[str] | None) -> gpd.GeoDataFrame:
        crs = pyproj.CRS.from_user_input(row.crs)
        if crs.to_epsg() != METROPOLE_EPSG:
            geometry = _reproject(geometry, METROPOLE_EPSG, crs)
        path = partition_path(self.path, row.layer, row.departement, row.millesime)
        gdf = read_partition(path, bbox=tuple(geometry.bounds), columns=columns)
        geoms = gdf.geometry.to_numpy()
        shapely.prepare(geometry)
        if clip:  # inside first (most features), then the cheaper intersects on the others
            inside = shapely.contains_properly(geometry, geoms)
            keep = inside.copy()
            keep[~inside] = shapely.intersects(geometry, geoms[~inside])
            return clip_polygons(gdf[keep], geometry, inside=inside[keep])
        return gdf[shapely.intersects(geometry, geoms)].reset_index(drop=True)

    def coverage(self, territory: TerritoryLike, millesime: int | str | tuple[int, int],
                 layer: str = "occupation_sol") -> Coverage:
        """Share of the territory covered by ``layer`` at ``millesime``.

        Raises:
            MillesimeError: the layer/millésime is absent for the territory.
        """
        clipped = self.polygons(territory, millesime, layer=layer, clip=True, columns=[])
        territory_ha = float(territory.geometry.area / 1e4)
        covered_ha = float(clipped.geometry.area.sum() / 1e4)
        share = min(1.0, covered_ha / territory_ha) if territory_ha > 0 else 0.0
        return Coverage(territory_ha, covered_ha, share, share >= COMPLETE_SHARE)


def _reproject(geometry: BaseGeometry, src_epsg: int, dst: pyproj.CRS) -> BaseGeometry:
    transformer = pyproj.Transformer.from_crs(src_epsg, dst, always_xy=True)
    return shapely.transform(geometry, lambda xy: np.column_stack(
        transformer.transform(xy[:, 0], xy[:, 1])))
