"""The catalogue of the store: one row per partition, kept in DuckDB (``catalog.duckdb``).

Tables:

* ``meta(key, value)``: ``schema_version`` of the store;
* ``catalog``: layer, departement, millesime (``"2018"`` or ``"2015_2018"``), n_features, area_ha,
  crs, source_file, source_sha256, synthetic, note, ingested_at (UTC).

Functions here take an open DuckDB connection; opening, locking and transactions live in
:mod:`ocsge_engine.store.db`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

import duckdb
import pandas as pd

from ocsge_engine.territories import normalize_departement  # noqa: F401 (re-exported: store API)

logger = logging.getLogger(__name__)

CATALOG_COLUMNS: tuple[str, ...] = (
    "layer", "departement", "millesime", "n_features", "area_ha", "crs", "source_file",
    "source_sha256", "synthetic", "note", "ingested_at",
)
_DDL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS catalog (
    layer VARCHAR NOT NULL, departement VARCHAR NOT NULL, millesime VARCHAR NOT NULL,
    n_features BIGINT NOT NULL, area_ha DOUBLE NOT NULL, crs VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL, source_sha256 VARCHAR NOT NULL, synthetic BOOLEAN NOT NULL,
    note VARCHAR NOT NULL, ingested_at TIMESTAMP NOT NULL,
    PRIMARY KEY (layer, departement, millesime)
);
"""


@dataclass(frozen=True)
class PartitionInfo:
    """One catalogue row: what a partition holds and where it came from."""

    layer: str
    departement: str
    millesime: str
    n_features: int
    area_ha: float
    crs: str
    source_file: str
    source_sha256: str
    synthetic: bool
    note: str
    ingested_at: datetime


def synthetic_partitions(catalog: pd.DataFrame, departements: Iterable[str] | None,
                         years: Iterable[int] | None = None) -> tuple[bool, str]:
    """Whether the OCCUPATION_SOL partitions of some départements (and millésimes) are synthetic.

    Args:
        catalog: the store catalogue (:meth:`Store.catalog`).
        departements: the territory's départements (``None``: every département).
        years: the millésimes read (``None``: every millésime).

    Returns:
        ``(synthetic, note)``: any partition flagged synthetic, and their catalogue notes joined.
    """
    if catalog.empty or "synthetic" not in catalog:
        return False, ""
    rows = catalog[catalog["layer"] == "occupation_sol"]
    if departements is not None:
        rows = rows[rows["departement"].astype(str).isin([str(d) for d in departements])]
    if years is not None:
        rows = rows[rows["millesime"].astype(str).isin([str(y) for y in years])]
    flagged = rows[rows["synthetic"].astype(bool)]
    return bool(len(flagged)), " ; ".join(sorted({str(n) for n in flagged["note"] if str(n)}))


def ensure_schema(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Create the tables if needed and record ``version`` when the store is new."""
    con.execute(_DDL)
    con.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                [str(version)])


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """Return the store's schema version, ``None`` when the tables are absent."""
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except duckdb.CatalogException:
        return None
    return int(row[0]) if row else None


def read_catalog(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Return the catalogue sorted by layer, département, millésime."""
    cols = ", ".join(CATALOG_COLUMNS)
    return con.execute(
        f"SELECT {cols} FROM catalog ORDER BY layer, departement, millesime"  # noqa: S608
    ).df()


def find_partition(con: duckdb.DuckDBPyConnection, layer: str, departement: str,
                   millesime: str) -> PartitionInfo | None:
    """Return the row of one partition, or ``None``."""
    cols = ", ".join(CATALOG_COLUMNS)
    row = con.execute(
        f"SELECT {cols} FROM catalog WHERE layer = ? AND departement = ? AND millesime = ?",  # noqa: S608
        [layer, departement, millesime],
    ).fetchone()
    return None if row is None else PartitionInfo(*row)


def upsert_partition(con: duckdb.DuckDBPyConnection, info: PartitionInfo) -> None:
    """Insert or replace the row of ``info``'s partition (inside the caller's transaction)."""
    con.execute("DELETE FROM catalog WHERE layer = ? AND departement = ? AND millesime = ?",
                [info.layer, info.departement, info.millesime])
    values = asdict(info)
    con.execute(
        f"INSERT INTO catalog VALUES ({', '.join('?' for _ in CATALOG_COLUMNS)})",
        [values[c] for c in CATALOG_COLUMNS],
    )
