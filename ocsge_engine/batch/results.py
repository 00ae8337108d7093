"""Read the national results without recomputing: one commune instantly, national rankings.

The batch (:mod:`ocsge_engine.batch.flows`) leaves, per (département, pair), three Parquet files
sorted by commune and a manifest. Readers here only trust **finished, intact** partitions: each
one's manifest must exist and its files must have the recorded size and a readable Parquet footer
(``verify="sha256"`` checks every byte). A partition failing the check is **reported** (a warning
in the log, and :func:`national_status`) and **skipped**, the others are served.

Queries run in an in-memory DuckDB over the list of good files (filters push down to the
row-group statistics, so one commune reads a few kB), and ``STORE/national/national.duckdb``
holds the same as views (``flows``, ``stocks``, ``indicators``) for other tools (written temp then
rename by :func:`write_views`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from ocsge_engine.batch.manifest import (
    TABLES,
    VIEWS_FILE,
    Verify,
    list_manifests,
    national_root,
    outputs_state,
)
from ocsge_engine.errors import StoreError
from ocsge_engine.io.atomic import atomic_path

logger = logging.getLogger(__name__)

Table = Literal["flows", "stocks", "indicators"]
RANKING_METRICS: tuple[str, ...] = (
    "net_m2_per_new_inhabitant", "artif_m2_per_inhabitant", "artif_net_ha", "artif_gross_gain_ha",
    "artif_stock_to_ha", "imper_net_ha", "sprawl_isolated_built_ha", "artif_net_share",
)
_RANKING_COLUMNS = ["rank", "commune", "name", "departement", "pair", "value", "pop_stock",
                    "artif_net_ha", "coverage_share"]


def national_status(store_dir: Path | str, verify: Verify = "size") -> pd.DataFrame:
    """One row per finished partition: ``departement, pair, n_communes, ok, reason, finished_at``.

    Args:
        store_dir: the store.
        verify: ``"size"`` (size + Parquet footer, cheap) or ``"sha256"`` (every byte).
    """
    rows = []
    for key, manifest in list_manifests(store_dir):
        ok, reason = outputs_state(store_dir, manifest, verify)
        if not ok:
            logger.warning("national partition D%s %s is corrupt (%s): skipped", key.departement,
                           key.pair, reason)
        rows.append({"departement": key.departement, "pair": key.pair,
                     "year_from": key.year_from, "year_to": key.year_to,
                     "n_communes": manifest.get("n_communes", 0), "ok": ok, "reason": reason,
                     "finished_at": manifest.get("finished_at")})
    return pd.DataFrame(rows, columns=["departement", "pair", "year_from", "year_to",
                                       "n_communes", "ok", "reason", "finished_at"])


def _good_files(store_dir: Path | str, table: Table, verify: Verify) -> list[str]:
    files = []
    for key, manifest in list_manifests(store_dir):
        ok, reason = outputs_state(store_dir, manifest, verify)
        if ok:
            files.append(str(Path(store_dir) / manifest["outputs"][table]["path"]))
        else:
            logger.warning("national partition D%s %s is corrupt (%s): skipped",
                           key.departement, key.pair, reason)
    return files


def _sql_list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def national_results(store_dir: Path | str, table: Table = "indicators", *,
                     departements: list[str] | None = None, pair: str | None = None,
                     commune: str | None = None, by: str | None = None,
                     verify: Verify = "size") -> pd.DataFrame:
    """Rows of one national table, optionally filtered, from the intact partitions only.

    Args:
        store_dir: the store.
        table: ``"indicators"`` (one row per commune and pair), ``"flows"`` (tidy matrices) or
            ``"stocks"``.
        departements: keep these départements.
        pair: keep this pair (``"2015_2018"``).
        commune: keep this INSEE code.
        by: keep this level (``flows``/``stocks``).
        verify: see :func:`national_status`.

    Returns:
        The rows (columns of :mod:`ocsge_engine.batch.compute` plus ``departement, pair,
        year_from, year_to``), ordered by département, pair, commune; empty when nothing
        matches or no batch ran.

    Raises:
        ValueError: unknown table.
    """
    if table not in TABLES:
        raise ValueError(f"table must be one of {TABLES}; got {table!r}")
    files = _good_files(store_dir, table, verify)
    if not files:
        return pd.DataFrame()
    where, params = _filters(departements, pair, commune, by if table != "indicators" else None)
    con = duckdb.connect()
    try:  # one file per (departement, pair), written in canonical order: keep it
        rows = con.execute(f"SELECT * FROM read_parquet({_sql_list(files)}, union_by_name=true, "
                           f"hive_partitioning=false, file_row_number=true){where} "
                           "ORDER BY departement, pair, file_row_number", params).df()
    finally:
        con.close()
    return rows.drop(columns=["file_row_number"])


def _filters(departements: list[str] | None, pair: str | None, commune: str | None,
             by: str | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if departements:
        clauses.append(f"departement IN ({', '.join('?' for _ in departements)})")
        params += [str(d) for d in departements]
    for column, value in (("pair", pair), ("commune", commune), ("by", by)):
        if value is not None:
            clauses.append(f'"{column}" = ?')
            params.append(str(value))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def commune_flows(store_dir: Path | str, commune: str, pair: str, by: str = "anf") -> pd.DataFrame:
    """The tidy exchange matrix ``code_from, code_to, area_ha`` of one commune from the batch.

    Raises:
        StoreError: the commune/pair/level is not in the national results.
    """
    rows = national_results(store_dir, "flows", commune=commune, pair=pair, by=by)
    if rows.empty:
        raise StoreError(f"no national flows for commune {commune} {pair} by={by}",
                         f"Les flux de la commune {commune} ({pair.replace('_', '-')}) ne sont pas "
                         "dans les résultats nationaux : lancez « python -m ocsge_engine batch "
                         "flows ».")
    return rows[["code_from", "code_to", "area_ha"]].reset_index(drop=True)


def rankings(store_dir: Path | str, metric: str = "net_m2_per_new_inhabitant", *,
             pair: str | None = None, departements: list[str] | None = None, n: int = 20,
             ascending: bool = False, min_coverage: float = 0.999, min_population: int = 0
             ) -> pd.DataFrame:
    """Communes ranked by an indicator of the national results.

    Args:
        store_dir: the store.
        metric: a column of :data:`RANKING_METRICS` (``artif_net_share`` = net artificialisation
            / commune area).
        pair: restrict to one pair.
        departements: restrict to these départements.
        n: rows returned.
        ascending: smallest first (default: largest first).
        min_coverage: keep communes whose layers cover at least this share of their area (a
            commune cut by the data extent would rank on part of its land).
        min_population: keep communes with at least this stock population.

    Returns:
        Columns ``rank, commune, name, departement, pair, value, pop_stock, artif_net_ha,
        coverage_share``; communes whose value is undefined (no population growth…) are left out.

    Raises:
        ValueError: unknown metric.
    """
    if metric not in RANKING_METRICS:
        raise ValueError(f"metric must be one of {RANKING_METRICS}; got {metric!r}")
    table = national_results(store_dir, "indicators", departements=departements, pair=pair)
    if table.empty:
        return pd.DataFrame(columns=_RANKING_COLUMNS)
    table = table[table["error"].isna() & (table["coverage_share"] >= min_coverage)]
    if min_population:
        table = table[table["pop_stock"].fillna(0) >= min_population]
    values = (table["artif_net_ha"] / table["area_ha"] if metric == "artif_net_share"
              else table[metric])
    table = table.assign(value=pd.to_numeric(values, errors="coerce")).dropna(subset=["value"])
    table = table.sort_values(["value", "commune"], ascending=[ascending, True], kind="stable")
    table = table.head(n).reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table[_RANKING_COLUMNS]


def write_views(store_dir: Path | str) -> Path:
    """(Re)write ``STORE/national/national.duckdb`` with views over the intact partitions.

    The views ``flows``, ``stocks`` and ``indicators`` read the Parquet files by absolute path
    (move the store, rerun this). The file is built under a temporary name, then renamed.

    Returns:
        The path of the DuckDB file.
    """
    target = national_root(store_dir) / VIEWS_FILE
    with atomic_path(target, suffix=".duckdb") as tmp:
        con = duckdb.connect(str(tmp))
        try:
            for table in TABLES:
                files = _good_files(store_dir, table, "size")  # type: ignore[arg-type]
                source = (f"read_parquet({_sql_list(files)}, union_by_name=true, "
                          "hive_partitioning=false)" if files
                          else "(SELECT NULL::VARCHAR AS departement LIMIT 0)")
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM {source}")
        finally:
            con.close()
    logger.debug("wrote national views %s", target)
    return target
