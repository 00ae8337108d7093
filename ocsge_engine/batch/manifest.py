"""National result partitions: their layout on disk, their manifest and their verification.

Layout (under the store, next to ``layers/``)::

    STORE/national/<table>/departement=<dep>/pair=<y1>_<y2>/data.parquet   table: flows, stocks, indicators
    STORE/national/_manifests/departement=<dep>/pair=<y1>_<y2>.json
    STORE/national/national.duckdb                                          views over verified partitions

A partition is **finished** when its manifest exists. The manifest is written last (temp then
rename), after the three Parquet files, and records:

* ``inputs``: SHA-256 of both OCCUPATION_SOL partition files it was computed from, and of the
  reference data (commune polygons and populations of the département);
* ``options``: the fingerprint of the batch options (levels, thresholds, sprawl) and
  :data:`BATCH_VERSION`;
* ``outputs``: path, size, row count and SHA-256 of each Parquet file.

:func:`partition_state` compares a manifest with the current inputs and outputs: ``"ok"``
(up to date), ``"missing"`` (never finished), ``"stale"`` (an input or the options changed) or
``"corrupt"`` (an output file is missing, truncated or its bytes differ).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ocsge_engine.io.atomic import atomic_write_bytes

logger = logging.getLogger(__name__)

BATCH_VERSION = 1
NATIONAL_DIR = "national"
MANIFEST_DIR = "_manifests"
VIEWS_FILE = "national.duckdb"
TABLES: tuple[str, ...] = ("flows", "stocks", "indicators")
State = Literal["ok", "missing", "stale", "corrupt"]
Verify = Literal["size", "sha256"]
_CHUNK = 1 << 20


@dataclass(frozen=True, order=True)
class PartitionKey:
    """One task of the national batch: a département and a pair of millésimes.

    Attributes:
        departement: département code (``"33"``, ``"2A"``).
        year_from: first millésime.
        year_to: second millésime, strictly later.
    """

    departement: str
    year_from: int
    year_to: int

    @property
    def pair(self) -> str:
        """Pair label used in paths, e.g. ``"2015_2018"``.

        >>> PartitionKey("33", 2015, 2018).pair
        '2015_2018'
        """
        return f"{self.year_from}_{self.year_to}"

    def relative_dir(self) -> Path:
        """Hive-style folder of the partition, e.g. ``departement=33/pair=2015_2018``."""
        return Path(f"departement={self.departement}") / f"pair={self.pair}"


def national_root(store_dir: Path | str) -> Path:
    """Folder of the national results inside a store."""
    return Path(store_dir) / NATIONAL_DIR


def table_path(store_dir: Path | str, table: str, key: PartitionKey) -> Path:
    """Parquet file of one table of one partition."""
    if table not in TABLES:
        raise ValueError(f"table must be one of {TABLES}; got {table!r}")
    return national_root(store_dir) / table / key.relative_dir() / "data.parquet"


def manifest_path(store_dir: Path | str, key: PartitionKey) -> Path:
    """Manifest (JSON) of one partition."""
    return (national_root(store_dir) / MANIFEST_DIR / f"departement={key.departement}"
            / f"pair={key.pair}.json")


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(store_dir: Path | str, key: PartitionKey, manifest: dict[str, Any]) -> Path:
    """Write a partition manifest atomically (the partition is then finished)."""
    path = manifest_path(store_dir, key)
    atomic_write_bytes(path, json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"))
    return path


def read_manifest(store_dir: Path | str, key: PartitionKey) -> dict[str, Any] | None:
    """The manifest of a partition, or ``None`` when it is absent or unreadable."""
    path = manifest_path(store_dir, key)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        logger.warning("unreadable manifest %s (%s): partition treated as unfinished", path, err)
        return None
    return data if isinstance(data, dict) else None


def list_manifests(store_dir: Path | str) -> list[tuple[PartitionKey, dict[str, Any]]]:
    """Every readable manifest of the store, sorted by département and pair."""
    root = national_root(store_dir) / MANIFEST_DIR
    found = []
    for path in sorted(root.glob("departement=*/pair=*.json")):
        dep = path.parent.name.split("=", 1)[1]
        y1, _, y2 = path.stem.split("=", 1)[1].partition("_")
        if not (y1.isdigit() and y2.isdigit()):
            continue
        key = PartitionKey(dep, int(y1), int(y2))
        manifest = read_manifest(store_dir, key)
        if manifest is not None:
            found.append((key, manifest))
    return found


def output_record(store_dir: Path | str, path: Path, rows: int) -> dict[str, Any]:
    """Manifest entry of one written output file (relative path, size, rows, SHA-256)."""
    return {"path": str(path.relative_to(Path(store_dir))), "bytes": path.stat().st_size,
            "rows": int(rows), "sha256": sha256_file(path)}


def outputs_state(store_dir: Path | str, manifest: dict[str, Any], verify: Verify = "sha256"
                  ) -> tuple[bool, str]:
    """Check the output files a manifest lists.

    Args:
        store_dir: the store.
        manifest: the partition manifest.
        verify: ``"size"`` (size and a readable Parquet footer: cheap, for readers) or
            ``"sha256"`` (every byte, for the batch's skip decision).

    Returns:
        ``(ok, reason)``; ``reason`` names the first bad file.
    """
    import pyarrow.parquet as pq

    for table in TABLES:
        record = manifest.get("outputs", {}).get(table)
        if not record:
            return False, f"no {table} output in the manifest"
        path = Path(store_dir) / record["path"]
        if not path.is_file():
            return False, f"{record['path']} is missing"
        if path.stat().st_size != record["bytes"]:
            return False, f"{record['path']} has {path.stat().st_size} bytes, {record['bytes']} expected"
        if verify == "sha256":
            if sha256_file(path) != record["sha256"]:
                return False, f"{record['path']} SHA-256 differs from the manifest"
        else:
            try:
                pq.ParquetFile(path).metadata  # noqa: B018 - reading the footer is the check
            except Exception as err:  # pyarrow raises ArrowInvalid/OSError on a bad footer
                return False, f"{record['path']} is not a readable Parquet file ({err})"
    return True, ""


def partition_state(store_dir: Path | str, key: PartitionKey, inputs: dict[str, str],
                    options_fingerprint: str) -> tuple[State, str]:
    """Whether a partition is up to date with these inputs and options.

    Args:
        store_dir: the store.
        key: the partition.
        inputs: current ``name -> SHA-256`` of the inputs.
        options_fingerprint: current fingerprint of the batch options.

    Returns:
        ``(state, reason)``, see the module docstring.
    """
    manifest = read_manifest(store_dir, key)
    if manifest is None:
        return "missing", "no manifest"
    if manifest.get("batch_version") != BATCH_VERSION:
        return "stale", f"batch version {manifest.get('batch_version')} != {BATCH_VERSION}"
    if manifest.get("options") != options_fingerprint:
        return "stale", "batch options changed"
    if manifest.get("inputs") != inputs:
        changed = sorted(k for k in set(inputs) | set(manifest.get("inputs", {}))
                         if inputs.get(k) != manifest.get("inputs", {}).get(k))
        return "stale", f"inputs changed: {', '.join(changed)}"
    ok, reason = outputs_state(store_dir, manifest, "sha256")
    if not ok:
        return "corrupt", reason
    return "ok", ""
