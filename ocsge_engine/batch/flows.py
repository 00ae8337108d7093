"""National batch of exchange matrices and indicators on Dask: one task per (département, pair).

``run_flows(store_dir, departements, …)`` plans one task per département and pair of consecutive
OCCUPATION_SOL millésimes present in the store, submits them to a Dask cluster (a
:class:`~distributed.LocalCluster` sized to the machine, or any existing scheduler) and collects
them as they finish. Each task (:func:`run_partition`, on a worker):

1. hashes its two input partitions (SHA-256) and the département's reference data, and returns
   at once when the partition's manifest says the same inputs and options were already done and
   its outputs are intact (**resumable**: a rerun skips finished partitions without rewriting a
   byte; a stale or corrupt partition is recomputed);
2. reads each OCCUPATION_SOL partition once and computes every commune
   (:func:`ocsge_engine.batch.compute.departement_tables`);
3. writes the ``flows``, ``stocks`` and ``indicators`` Parquet files (temp then rename each), then
   the manifest (temp then rename): a partition without manifest is unfinished.

The driver retries a failed task (``retries``), records a task that still fails (a corrupt input
file, a worker killed too often) without cancelling the others, and rebuilds the DuckDB views
over the finished partitions after each one (:func:`ocsge_engine.batch.results.write_views`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyproj

from ocsge_engine.batch.communes import departement_communes
from ocsge_engine.batch.compute import BatchOptions, departement_tables
from ocsge_engine.batch.manifest import (
    BATCH_VERSION,
    PartitionKey,
    output_record,
    partition_state,
    sha256_file,
    table_path,
    write_manifest,
)
from ocsge_engine.errors import MillesimeError
from ocsge_engine.indicators.thresholds import STATUS_COLUMNS, ensure_status
from ocsge_engine.io.atomic import atomic_path
from ocsge_engine.store import Store, normalize_departement
from ocsge_engine.store.parquet import partition_path, read_partition

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
TaskHook = Callable[[PartitionKey], None]
Status = Literal["done", "skipped", "failed"]
LAYER = "occupation_sol"
METROPOLE_EPSG = 2154
ROW_GROUP_ROWS = 65_536
_OCS_COLUMNS = ["code_cs", "code_us", *STATUS_COLUMNS]  # official status: département scale


@dataclass(frozen=True)
class PartitionOutcome:
    """What happened to one (département, pair) task.

    Attributes:
        key: the partition.
        status: ``"done"`` (computed now), ``"skipped"`` (already up to date) or ``"failed"``.
        n_communes: communes written (0 when skipped or failed).
        n_polygons: polygons read, both millésimes together.
        n_failed_communes: communes whose computation failed (their ``error`` is set).
        elapsed_s: task wall time on the worker.
        reason: why it was recomputed (``"no manifest"``, ``"inputs changed: …"``, ``"corrupt: …"``)
            or the error of a failed task.
    """

    key: PartitionKey
    status: Status
    n_communes: int = 0
    n_polygons: int = 0
    n_failed_communes: int = 0
    elapsed_s: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class BatchReport:
    """Outcome of :func:`run_flows`.

    Attributes:
        outcomes: one per planned partition, sorted by key.
        dashboard_link: the Dask dashboard URL (``None`` when it is not served).
        elapsed_s: wall time of the whole run.
    """

    outcomes: tuple[PartitionOutcome, ...]
    dashboard_link: str | None = None
    elapsed_s: float = 0.0

    def by_status(self, status: Status) -> list[PartitionOutcome]:
        """Outcomes with this status."""
        return [o for o in self.outcomes if o.status == status]

    @property
    def ok(self) -> bool:
        """No task failed."""
        return not self.by_status("failed")

    def summary(self) -> str:
        """One English line for logs and the CLI."""
        done, skipped, failed = (self.by_status(s) for s in ("done", "skipped", "failed"))
        return (f"{len(done)} partitions computed ({sum(o.n_communes for o in done)} communes, "
                f"{sum(o.n_polygons for o in done)} polygons), {len(skipped)} up to date, "
                f"{len(failed)} failed, in {self.elapsed_s:.1f} s")


# --- planning (driver) ------------------------------------------------------------------------

def plan_partitions(store: Store, departements: Iterable[str] | None = None
                    ) -> tuple[list[PartitionKey], list[PartitionOutcome]]:
    """One key per département and pair of consecutive OCCUPATION_SOL millésimes.

    Args:
        store: the store.
        departements: département codes; ``None`` = every département of the store.

    Returns:
        ``(keys, refused)``: the keys to compute, and a ``failed`` outcome for each requested
        département that has fewer than two millésimes.
    """
    catalog = store.catalog()
    catalog = catalog[catalog["layer"] == LAYER]
    years = catalog.groupby("departement")["millesime"].agg(lambda s: sorted(int(v) for v in s))
    wanted = (sorted(years.index) if departements is None
              else [normalize_departement(d) for d in departements])
    keys, refused = [], []
    for dep in wanted:
        found = years.get(dep, [])
        if len(found) < 2:
            refused.append(PartitionOutcome(PartitionKey(dep, 0, 0), "failed",
                                            reason=f"{len(found)} millesime(s) of {LAYER} in the store"))
            continue
        keys += [PartitionKey(dep, a, b) for a, b in zip(found, found[1:])]
    return keys, refused


# --- task (worker) ----------------------------------------------------------------------------

def _read_layer(store: Store, departement: str, year: int) -> tuple[Any, Path]:
    path = partition_path(store.path, LAYER, departement, str(year))
    gdf = read_partition(path, columns=_OCS_COLUMNS)
    if gdf.crs is not None and pyproj.CRS.from_user_input(gdf.crs).to_epsg() != METROPOLE_EPSG:
        gdf = gdf.to_crs(METROPOLE_EPSG)  # commune polygons are in Lambert-93
    return gdf, path


def _write_parquet(frame: pd.DataFrame, path: Path, sort: list[str]) -> None:
    """Sorted by commune (row-group statistics then make one commune's read cheap), atomic."""
    frame = frame.sort_values(sort, kind="stable").reset_index(drop=True)
    with atomic_path(path, suffix=".parquet") as tmp:
        frame.to_parquet(tmp, index=False, compression="zstd", row_group_size=ROW_GROUP_ROWS)


def _inputs(store: Store, key: PartitionKey, reference_sha256: str) -> dict[str, str]:
    paths = [partition_path(store.path, LAYER, key.departement, str(y))
             for y in (key.year_from, key.year_to)]
    return {f"{LAYER}/{key.year_from}": sha256_file(paths[0]),
            f"{LAYER}/{key.year_to}": sha256_file(paths[1]),
            "communes": reference_sha256}


def run_partition(store_dir: str, key: PartitionKey, options: BatchOptions = BatchOptions(),
                  force: bool = False, on_start: TaskHook | None = None) -> PartitionOutcome:
    """Compute and write one (département, pair) partition, or skip it when up to date.

    Runs on a Dask worker (also callable directly). Exceptions propagate so that Dask retries.

    Args:
        store_dir: the store folder (reachable from the worker).
        key: the partition.
        options: what to compute.
        force: recompute even when up to date.
        on_start: called first with ``key`` (monitoring; tests inject faults with it).

    Returns:
        The :class:`PartitionOutcome` (``done`` or ``skipped``).

    Raises:
        StoreError, OSError, pyarrow errors: an unreadable input partition.
    """
    t0 = time.perf_counter()
    if on_start is not None:
        on_start(key)
    store = Store.open(store_dir)
    for year in (key.year_from, key.year_to):  # older stores: add the status before hashing
        ensure_status(store, (key.departement,), year)
    communes = departement_communes(key.departement)
    inputs = _inputs(store, key, communes.sha256())
    state, reason = partition_state(store_dir, key, inputs, options.fingerprint())
    if state == "ok" and options.pages:
        from ocsge_engine.batch.pages import pages_current

        if not pages_current(store_dir, key):
            state, reason = "stale", "page objects missing or of an older format"
    if state == "ok" and not force:
        logger.info("partition D%s %s up to date: skipped", key.departement, key.pair)
        return PartitionOutcome(key, "skipped", elapsed_s=time.perf_counter() - t0)
    if state == "corrupt":
        logger.warning("partition D%s %s is corrupt (%s): recomputing", key.departement, key.pair,
                       reason)
        reason = f"corrupt: {reason}"
    layer_from, _ = _read_layer(store, key.departement, key.year_from)
    layer_to, _ = _read_layer(store, key.departement, key.year_to)
    hook = None
    if options.pages:
        from ocsge_engine.batch.pages import commune_rows

        def hook(code: str, pair: Any, artif: Any) -> list[dict[str, Any]]:
            return commune_rows(store, code, pair, artif)
    tables = departement_tables(layer_from, layer_to, communes, key.year_from, key.year_to,
                                options, pages=hook)
    outputs: dict[str, Any] = {}
    sorts = {"flows": ["commune", "by"], "stocks": ["commune", "by"], "indicators": ["commune"]}
    for name, frame in (("flows", tables.flows), ("stocks", tables.stocks),
                        ("indicators", tables.indicators)):
        frame = frame.assign(departement=key.departement, pair=key.pair,
                             year_from=key.year_from, year_to=key.year_to)
        path = table_path(store_dir, name, key)
        _write_parquet(frame, path, sorts[name])
        outputs[name] = output_record(store_dir, path, len(frame))
    if options.pages:  # the objects the pages read (ocsge_engine.batch.pages)
        from ocsge_engine.batch.pages import PAGES_TABLE, PAGES_VERSION
        from ocsge_engine.batch.pages import ROW_GROUP_ROWS as PAGE_ROWS
        from ocsge_engine.batch.pages import pages_frame, pages_path

        path = pages_path(store_dir, key)
        frame = pages_frame(tables.pages).sort_values(["commune", "kind"], kind="stable")
        with atomic_path(path, suffix=".parquet") as tmp:
            frame.to_parquet(tmp, index=False, compression="zstd", row_group_size=PAGE_ROWS)
        outputs[PAGES_TABLE] = output_record(store_dir, path, len(frame)) | {
            "version": PAGES_VERSION}
    elapsed = time.perf_counter() - t0
    write_manifest(store_dir, key, {
        "batch_version": BATCH_VERSION, "departement": key.departement, "pair": key.pair,
        "year_from": key.year_from, "year_to": key.year_to, "inputs": inputs,
        "options": options.fingerprint(), "levels": list(options.levels), "outputs": outputs,
        "n_communes": len(tables.indicators), "n_failed_communes": tables.n_failed,
        "n_polygons": list(tables.n_polygons), "elapsed_s": round(elapsed, 3),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds")})
    logger.info("partition D%s %s: %d communes, %d+%d polygons in %.1f s", key.departement,
                key.pair, len(tables.indicators), *tables.n_polygons, elapsed)
    return PartitionOutcome(key, "done", len(tables.indicators), sum(tables.n_polygons),
                            tables.n_failed, elapsed, reason)


# --- driver -----------------------------------------------------------------------------------

@dataclass
class _Progress:
    total: int
    callback: Progress | None
    finished: int = 0
    outcomes: list[PartitionOutcome] = field(default_factory=list)

    def add(self, outcome: PartitionOutcome) -> None:
        self.finished += 1
        self.outcomes.append(outcome)
        key = outcome.key
        log = logger.warning if outcome.status == "failed" else logger.info
        log("[%d/%d] D%s %s %s %s", self.finished, self.total, key.departement, key.pair,
            outcome.status, outcome.reason)
        if self.callback is not None:
            self.callback(self.finished / max(self.total, 1),
                          f"D{key.departement} {key.pair} {outcome.status}")


def run_flows(store_dir: Path | str, departements: Iterable[str] | None = None, *,
              scheduler: str | None = None, client: Any = None,
              options: BatchOptions = BatchOptions(), retries: int = 2, force: bool = False,
              progress: Progress | None = None, on_start: TaskHook | None = None,
              n_workers: int | None = None) -> BatchReport:
    """Compute every commune's flows and indicators, département by département, on Dask.

    Args:
        store_dir: the store (shared by the driver and every worker, e.g. a network file system).
        departements: département codes; ``None`` = all those of the store.
        scheduler: address of an existing Dask scheduler (``tcp://host:8786``); ``None`` starts
            a :class:`~distributed.LocalCluster` sized to the machine.
        client: an existing :class:`distributed.Client` (takes precedence over ``scheduler``).
        options: levels and indicator options.
        retries: automatic retries of a failed task (worker lost, transient I/O error).
        force: recompute partitions even when up to date.
        progress: callback ``(fraction, message)`` called as partitions finish.
        on_start: hook run on the worker at the start of each task.
        n_workers: workers of the local cluster (default: one per core).

    Returns:
        The :class:`BatchReport`; failed partitions are listed, the others are kept.

    Raises:
        StoreError: no store at ``store_dir``.
        MillesimeError: no requested département has two millésimes.
    """
    from ocsge_engine.batch.cluster import dask_client
    from ocsge_engine.batch.results import write_views

    t0 = time.perf_counter()
    store_dir = str(Path(store_dir).resolve())
    keys, refused = plan_partitions(Store.open(store_dir), departements)
    if not keys:
        raise MillesimeError(f"nothing to compute in {store_dir} for {departements}",
                             "Aucun département demandé n'a deux millésimes OCS GE dans la base.")
    state = _Progress(len(keys) + len(refused), progress)
    for outcome in refused:
        state.add(outcome)
    with dask_client(scheduler, client, n_workers=n_workers) as dask:
        link = getattr(dask, "dashboard_link", None)
        logger.info("Dask dashboard: %s", link)
        _collect(dask, store_dir, keys, options, retries, force, on_start, state, write_views)
    write_views(store_dir)
    report = BatchReport(tuple(sorted(state.outcomes, key=lambda o: o.key)), link,
                         time.perf_counter() - t0)
    logger.info("national batch: %s", report.summary())
    return report


def _collect(dask: Any, store_dir: str, keys: list[PartitionKey], options: BatchOptions,
             retries: int, force: bool, on_start: TaskHook | None, state: _Progress,
             write_views: Callable[[str], Any]) -> None:
    """Submit one task per key and record each as it completes (failures included)."""
    from distributed import as_completed

    futures = {dask.submit(run_partition, store_dir, key, options, force, on_start,
                           key=f"ocsge-flows-D{key.departement}-{key.pair}-{time.time_ns()}",
                           retries=retries, pure=False): key for key in keys}
    for future in as_completed(list(futures)):
        key = futures[future]
        if future.status == "finished":
            outcome = future.result()
            if outcome.status == "done":
                write_views(store_dir)  # the views follow every finished partition
        else:
            err = future.exception()
            outcome = PartitionOutcome(key, "failed", reason=f"{type(err).__name__}: {err}")
        state.add(outcome)
        future.release()
