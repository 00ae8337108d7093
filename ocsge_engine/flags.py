"""Flags: polygons that users report as wrongly classified, for the data producers.

A *flag* says « this polygon of this millésime is not CS/US *x*, it is *y* », with a comment.
Flags live in their own DuckDB file, ``STORE/flags.duckdb``, next to (never inside) the store's
``catalog.duckdb``: the dashboard reads the catalogue through read-only connections, and DuckDB
refuses to mix read-only and read-write connections to one file in one process.

Drafts: a flag suggested by the engine (a suspect change, a disagreement between a prediction
and OCS GE) is stored with the status ``brouillon``. Drafts are durable, listed apart
(:meth:`FlagStore.drafts`), and never exported to the producers: :meth:`FlagStore.list` and the
exports cover the reviewed statuses only (:data:`PRODUCER_STATUSES`). A reviewer accepts a
draft (:meth:`FlagStore.accept_draft`, status ``ouvert``: exported from then on) or rejects it
(:meth:`FlagStore.reject_draft`, status ``ecarte``: kept so that the same draft is not proposed
again, never exported).

Durability and atomicity: every change runs in one DuckDB transaction (committed, or rolled back
on any error), serialised across threads and processes by an ``flock`` on ``flags.lock``. Exports
(GPKG, CSV) are written to a temporary sibling and renamed.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

import duckdb
import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ocsge_engine.errors import FlagError, GeometryError, StoreError, UnknownCodeError
from ocsge_engine.io.atomic import atomic_path
from ocsge_engine.io.cells import csv_text, neutralise_frame
from ocsge_engine.io.gpkg import gpkg_bytes, write_gpkg
from ocsge_engine.nomenclature import normalize_codes
from ocsge_engine.store.db import transaction

logger = logging.getLogger(__name__)

FLAGS_FILE = "flags.duckdb"
GPKG_LAYER = "signalements"
LOCK_FILE = "flags.lock"
FLAGS_EPSG = 2154
MAX_COMMENT_CHARS = 2000
Status = Literal["ouvert", "transmis", "corrige", "rejete", "brouillon", "ecarte"]
STATUSES: tuple[str, ...] = get_args(Status)
DRAFT_STATUS = "brouillon"
DISCARDED_STATUS = "ecarte"
PRODUCER_STATUSES: tuple[str, ...] = ("ouvert", "transmis", "corrige", "rejete")
DRAFT_KEY: tuple[str, ...] = ("territory_id", "millesime", "polygon_id", "code_cs_proposed",
                              "code_us_proposed")
FLAG_COLUMNS: tuple[str, ...] = (
    "id", "created_at", "territory_id", "millesime", "polygon_id", "code_cs_current",
    "code_us_current", "code_cs_proposed", "code_us_proposed", "comment", "status",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS flags (
    id VARCHAR PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    territory_id VARCHAR NOT NULL,
    millesime SMALLINT NOT NULL,
    polygon_id VARCHAR NOT NULL,
    geometry_wkb BLOB NOT NULL,
    code_cs_current VARCHAR,
    code_us_current VARCHAR,
    code_cs_proposed VARCHAR NOT NULL,
    code_us_proposed VARCHAR NOT NULL,
    comment VARCHAR NOT NULL,
    status VARCHAR NOT NULL
)
"""
_CONNECT_RETRIES = 20


@dataclass(frozen=True)
class Flag:
    """One reported polygon.

    Attributes:
        id: unique id (UUID4 hex).
        created_at: UTC time of the report (naive, UTC).
        territory_id: territory the user was looking at (``commune:33529``).
        millesime: millésime of the reported polygon.
        polygon_id: the OCS GE polygon ``id``.
        geometry: the polygon, EPSG:2154.
        code_cs_current, code_us_current: codes in the store (canonical).
        code_cs_proposed, code_us_proposed: codes the user proposes (canonical).
        comment: free text.
        status: one of :data:`STATUSES`.
    """

    id: str
    created_at: datetime
    territory_id: str
    millesime: int
    polygon_id: str
    geometry: BaseGeometry
    code_cs_current: str | None
    code_us_current: str | None
    code_cs_proposed: str
    code_us_proposed: str
    comment: str
    status: Status = "ouvert"


def _canonical(code: object, kind: Literal["cs", "us"]) -> str:
    """Canonical code, or :class:`UnknownCodeError` with the French reason."""
    value = normalize_codes([code], kind).iloc[0]
    if not isinstance(value, str):
        raise UnknownCodeError(
            f"unknown proposed {kind.upper()} code {code!r}",
            f"Le code {kind.upper()} proposé « {code} » n'existe pas dans la nomenclature "
            "OCS GE : choisissez un code de la liste.")
    return value


def validate_flag(territory_id: str, millesime: int, polygon_id: str, geometry: BaseGeometry,
                  code_cs_current: str | None, code_us_current: str | None,
                  code_cs_proposed: object, code_us_proposed: object,
                  comment: str) -> Flag:
    """Check a report and return the :class:`Flag` to record (new id, current UTC time).

    Raises:
        UnknownCodeError: a proposed code is not in the CS/US nomenclature.
        GeometryError: the geometry is empty or not polygonal.
        FlagError: no polygon id, a comment too long, or proposed codes equal to the current ones.
    """
    cs = _canonical(code_cs_proposed, "cs")
    us = _canonical(code_us_proposed, "us")
    if not str(polygon_id).strip():
        raise FlagError("flag without polygon id", "Choisissez d'abord un polygone à signaler.")
    if geometry is None or geometry.is_empty or geometry.geom_type not in ("Polygon",
                                                                           "MultiPolygon"):
        kind = getattr(geometry, "geom_type", None)
        raise GeometryError(f"flag geometry is not a polygon: {kind}",
                            "Le polygone signalé n'a pas de géométrie utilisable.")
    if (cs, us) == (code_cs_current, code_us_current):
        raise FlagError(f"proposed codes {cs}/{us} equal the current ones",
                        "Les codes proposés sont identiques aux codes actuels : "
                        "indiquez la classification correcte.")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise FlagError(f"comment of {len(comment)} chars > {MAX_COMMENT_CHARS}",
                        f"Le commentaire dépasse {MAX_COMMENT_CHARS} caractères.")
    return Flag(id=uuid.uuid4().hex, created_at=datetime.now(UTC).replace(tzinfo=None),
                territory_id=territory_id, millesime=int(millesime), polygon_id=str(polygon_id),
                geometry=geometry, code_cs_current=code_cs_current,
                code_us_current=code_us_current, code_cs_proposed=cs, code_us_proposed=us,
                comment=comment)


def polygon_flag(polygons: gpd.GeoDataFrame, territory_id: str, millesime: int,
                 polygon_id: str, code_cs_proposed: object, code_us_proposed: object,
                 comment: str) -> Flag:
    """Build the flag of one polygon of a layer (its geometry and current codes come from it).

    Args:
        polygons: the territory's OCCUPATION_SOL polygons (``id``, ``code_cs``, ``code_us``,
            geometry in EPSG:2154) at ``millesime``.
        territory_id: the territory the user is looking at.
        millesime: the millésime of ``polygons``.
        polygon_id: the reported polygon's ``id``.
        code_cs_proposed: proposed CS code (any accepted spelling, e.g. ``"cs2.2.1"``).
        code_us_proposed: proposed US code.
        comment: free text.

    Raises:
        FlagError: no polygon has this id; see :func:`validate_flag` for the others.
    """
    match = polygons.loc[polygons["id"].astype(str) == str(polygon_id).strip()]
    if match.empty:
        raise FlagError(f"polygon {polygon_id!r} not in {territory_id} {millesime}",
                        f"Aucun polygone « {polygon_id} » dans ce territoire en {millesime}.")
    row = match.iloc[0]
    geometry = match.geometry.iloc[0]
    if polygons.crs is not None and polygons.crs.to_epsg() != FLAGS_EPSG:
        geometry = match.geometry.to_crs(FLAGS_EPSG).iloc[0]
    return validate_flag(territory_id, millesime, str(row["id"]), geometry, row["code_cs"],
                         row["code_us"], code_cs_proposed, code_us_proposed, comment)


def polygon_at(polygons: gpd.GeoDataFrame, lon: float, lat: float) -> str | None:
    """Id of the polygon under a clicked point (WGS 84 longitude/latitude), or ``None``.

    >>> layer = gpd.GeoDataFrame({"id": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> polygon_at(layer, 0.5, 0.5), polygon_at(layer, 2.0, 2.0)
    ('a', None)
    """
    point = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326)
    if polygons.crs is not None:
        point = point.to_crs(polygons.crs)
    hits = polygons.index[polygons.geometry.intersects(point.iloc[0])]
    return str(polygons.at[hits[0], "id"]) if len(hits) else None


class FlagStore:
    """Durable flags in ``<folder>/flags.duckdb`` (safe to share between threads).

    Attributes:
        path: the DuckDB file.
    """

    def __init__(self, folder: Path | str) -> None:
        """Open (and create if needed) the flags database in ``folder`` (usually the store)."""
        self.folder = Path(folder)
        self.path = self.folder / FLAGS_FILE
        self._lock = threading.Lock()
        if not self.folder.is_dir():
            raise StoreError(f"flags folder {self.folder} does not exist",
                             f"Le dossier des signalements {self.folder} est introuvable.")
        with self._transaction() as con:
            con.execute(_SCHEMA)

    # --- connections --------------------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection:
        for attempt in range(_CONNECT_RETRIES):
            try:
                return duckdb.connect(str(self.path))
            except (duckdb.IOException, duckdb.ConnectionException) as err:
                if attempt == _CONNECT_RETRIES - 1:
                    raise StoreError(f"cannot open {self.path}: {err}",
                                     "La base des signalements est occupée : réessayez.") from err
                time.sleep(0.05 * (attempt + 1))  # another process holds the file; back off
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Thread lock + ``flock``; one read-write connection, committed or rolled back."""
        with self._lock, open(self.folder / LOCK_FILE, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                with transaction(self._connect()) as con:
                    yield con
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # --- changes ----------------------------------------------------------------------------

    def add(self, flag: Flag) -> Flag:
        """Record a validated flag (see :func:`validate_flag`) and return it."""
        with self._transaction() as con:
            con.execute("INSERT INTO flags VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        _row(flag))
        logger.info("flag %s recorded: %s %s %s/%s -> %s/%s", flag.id[:8], flag.territory_id,
                    flag.polygon_id, flag.code_cs_current, flag.code_us_current,
                    flag.code_cs_proposed, flag.code_us_proposed)
        return flag

    def delete(self, flag_id: str) -> None:
        """Delete one flag.

        Raises:
            FlagError: no flag has this id.
        """
        with self._transaction() as con:
            found = con.execute("SELECT count(*) FROM flags WHERE id = ?", [flag_id]).fetchone()
            if not found or found[0] == 0:
                raise FlagError(f"no flag {flag_id!r}", "Ce signalement n'existe plus.")
            con.execute("DELETE FROM flags WHERE id = ?", [flag_id])
        logger.info("flag %s deleted", flag_id[:8])

    def add_drafts(self, flags: Iterable[Flag]) -> list[Flag]:
        """Record flags as drafts (status ``brouillon``), in one transaction.

        A draft equal to a flag already stored (same territory, millésime, polygon and proposed
        codes, whatever its status: a rejected draft included) is skipped, so re-running a
        suggestion does not duplicate drafts nor bring back rejected ones.

        Returns:
            The drafts actually recorded (status ``brouillon``), in input order.
        """
        drafts = [replace(flag, status=DRAFT_STATUS) for flag in flags]
        added: list[Flag] = []
        with self._transaction() as con:
            seen = {tuple(row) for row in con.execute(
                f"SELECT {', '.join(DRAFT_KEY)} FROM flags").fetchall()}
            for flag in drafts:
                key = (flag.territory_id, flag.millesime, flag.polygon_id, flag.code_cs_proposed,
                       flag.code_us_proposed)
                if key in seen:
                    continue
                seen.add(key)
                con.execute("INSERT INTO flags VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            _row(flag))
                added.append(flag)
        logger.info("%d draft flags recorded (%d already known)", len(added),
                    len(drafts) - len(added))
        return added

    def accept_draft(self, flag_id: str) -> None:
        """Accept a draft: it becomes an ``ouvert`` flag, exported to the producers.

        Raises:
            FlagError: no draft has this id.
        """
        self._review(flag_id, "ouvert")

    def reject_draft(self, flag_id: str) -> None:
        """Reject a draft: status ``ecarte``, never exported, not proposed again.

        Raises:
            FlagError: no draft has this id.
        """
        self._review(flag_id, DISCARDED_STATUS)

    def _review(self, flag_id: str, status: str) -> None:
        with self._transaction() as con:
            row = con.execute("SELECT status FROM flags WHERE id = ?", [flag_id]).fetchone()
            if row is None or row[0] != DRAFT_STATUS:
                raise FlagError(f"no draft flag {flag_id!r} (status {row and row[0]})",
                                "Ce brouillon de signalement n'existe plus ou a déjà été "
                                "traité.")
            con.execute("UPDATE flags SET status = ? WHERE id = ?", [status, flag_id])
        logger.info("draft flag %s reviewed: %s", flag_id[:8], status)

    def set_status(self, flag_id: str, status: Status) -> None:
        """Change the status of a flag (``ouvert``, ``transmis``, ``corrige``, ``rejete``).

        Raises:
            FlagError: unknown status or flag id.
        """
        if status not in STATUSES:
            raise FlagError(f"unknown status {status!r}", "Statut de signalement inconnu.")
        with self._transaction() as con:
            found = con.execute("SELECT count(*) FROM flags WHERE id = ?", [flag_id]).fetchone()
            if not found or found[0] == 0:
                raise FlagError(f"no flag {flag_id!r}", "Ce signalement n'existe plus.")
            con.execute("UPDATE flags SET status = ? WHERE id = ?", [status, flag_id])

    # --- reading ----------------------------------------------------------------------------

    def list(self, territory_id: str | None = None,
             statuses: Iterable[str] | None = None) -> gpd.GeoDataFrame:
        """Flags, newest first (optionally of one territory), as a GeoDataFrame in EPSG:2154.

        Args:
            territory_id: only the flags of this territory (default: all).
            statuses: only these statuses (default :data:`PRODUCER_STATUSES`: drafts and
                rejected drafts are left out, see :meth:`drafts`).

        Returns:
            Columns :data:`FLAG_COLUMNS` plus ``geometry``.
        """
        wanted = list(PRODUCER_STATUSES if statuses is None else statuses)
        sql = f"SELECT * FROM flags WHERE status IN ({', '.join('?' * len(wanted)) or 'NULL'})"
        params: list[str] = wanted
        if territory_id is not None:
            sql += " AND territory_id = ?"
            params.append(territory_id)
        with self._transaction() as con:
            frame = con.execute(sql + " ORDER BY created_at DESC, id", params).df()
        geoms = shapely.from_wkb([bytes(b) for b in frame.pop("geometry_wkb")])
        frame["millesime"] = frame["millesime"].astype("int64")
        return gpd.GeoDataFrame(frame[list(FLAG_COLUMNS)], geometry=geoms, crs=FLAGS_EPSG)

    def drafts(self, territory_id: str | None = None) -> gpd.GeoDataFrame:
        """Drafts awaiting review (status ``brouillon``), newest first, columns of :meth:`list`."""
        return self.list(territory_id, statuses=(DRAFT_STATUS,))

    def __len__(self) -> int:
        """Number of stored flags, drafts included."""
        with self._transaction() as con:
            row = con.execute("SELECT count(*) FROM flags").fetchone()
        return int(row[0]) if row else 0

    # --- exports ----------------------------------------------------------------------------

    def export_gpkg(self, path: Path | str, territory_id: str | None = None) -> Path:
        """Write the flags to a GeoPackage (layer ``signalements``, EPSG:2154), atomically.

        Drafts are never exported (only :data:`PRODUCER_STATUSES`).

        Raises:
            FlagError: there is no flag to export.
        """
        flags = self._gpkg_frame(territory_id)
        write_gpkg({GPKG_LAYER: flags}, path)
        logger.info("exported %d flags to %s", len(flags), path)
        return Path(path)

    def gpkg_bytes(self, territory_id: str | None = None) -> bytes:
        """The GeoPackage export as bytes (for a download).

        Raises:
            FlagError: there is no flag to export.
        """
        return gpkg_bytes({GPKG_LAYER: self._gpkg_frame(territory_id)})

    def _gpkg_frame(self, territory_id: str | None) -> gpd.GeoDataFrame:
        flags = self._nonempty(territory_id)
        return flags.assign(created_at=flags["created_at"].astype(str))

    def export_csv(self, path: Path | str | None = None, territory_id: str | None = None) -> str:
        """CSV text of the flags (geometry as WKT), optionally written atomically to ``path``.

        Drafts are never exported (only :data:`PRODUCER_STATUSES`). Text cells that a
        spreadsheet would run as formulas (``=``, ``+``, ``-``, ``@``…) are prefixed with an
        apostrophe (:mod:`ocsge_engine.io.cells`).

        Raises:
            FlagError: there is no flag to export.
        """
        flags = self._nonempty(territory_id)
        table = pd.DataFrame(flags.drop(columns="geometry"))
        table["geometry_wkt"] = shapely.to_wkt(flags.geometry.to_numpy(), rounding_precision=2)
        # a comment such as =HYPERLINK(…) must not run as a formula in a spreadsheet
        text = csv_text(neutralise_frame(table))
        if path is not None:
            with atomic_path(path, suffix=".csv") as tmp:
                tmp.write_text(text, encoding="utf-8")
        return text

    def _nonempty(self, territory_id: str | None) -> gpd.GeoDataFrame:
        flags = self.list(territory_id)
        if flags.empty:
            raise FlagError("no flag to export", "Aucun signalement à exporter.")
        return flags


def _row(flag: Flag) -> list[object]:
    """The ``flags`` table row of a flag."""
    return [flag.id, flag.created_at, flag.territory_id, flag.millesime, flag.polygon_id,
            shapely.to_wkb(flag.geometry), flag.code_cs_current, flag.code_us_current,
            flag.code_cs_proposed, flag.code_us_proposed, flag.comment, flag.status]


def read_flags_gpkg(path: Path | str) -> gpd.GeoDataFrame:
    """Read back a GeoPackage written by :meth:`FlagStore.export_gpkg`."""
    return gpd.read_file(path, layer=GPKG_LAYER)
