"""Figures the pages show, precomputed per commune and millésime pair where the data lives.

The national batch (:func:`ocsge_engine.batch.run_partition`) already clips and overlays every
commune of a département once per pair. For each commune it also stores, in
``STORE/national/pages/departement=<dep>/pair=<y1>_<y2>/data.parquet`` (one row per commune and
kind, sorted by commune), the **very objects** the pages read, built by the engine's own
functions on that overlay (one figure, one definition; nothing is re-implemented here):

* ``figures``: :func:`ocsge_engine.portrait.portrait_figures` (Portrait, headline metrics of every
  page, CLI, report);
* ``matrix_cs_us``: :meth:`Pair.matrix` at the couple level, which
  :func:`ocsge_engine.flows.exchange_matrix` returns too (Flux regroups it to every level);
* ``indicators``: :func:`ocsge_engine.indicators.summary.territory_indicators` with the default
  options (Artificialisation page, decree thresholds on);
* map layers (:func:`ocsge_engine.maps.light_polygons`, dissolved, simplified, EPSG:4326):
  ``light_from`` / ``light_to`` (CS × US, Cartes), ``light_artif_to`` (CS × US × official status
  at ``year_to``, the home map) and ``light_changes`` (:func:`ocsge_engine.maps.stored_changes`,
  the changes drawn over both);
* Végétation: ``vegetation`` (:func:`ocsge_engine.indicators.vegetation.vegetation`),
  ``vegetation_comparison`` (its :func:`~ocsge_engine.indicators.vegetation.comparison_values`,
  read for the commune and its neighbours), the map's ``light_vegetation``
  (:func:`ocsge_engine.maps.vegetation.vegetation_light`) and ``light_vegetation_changes``
  (:func:`ocsge_engine.maps.vegetation.vegetation_changes`).

Payloads are :mod:`ocsge_engine.store.codec` JSON (exact floats, no pickle); the ``indicators``
row links the objects it shares with the ``figures`` row instead of a second copy. Readers
(:func:`stored_object`) use a commune's row only when its partition is **fresh**: the manifest's
inputs (SHA-256 of both OCCUPATION_SOL partitions and of the département's reference data) equal
the store's current ones, the batch version is this code's, and the pages file has the size the
manifest recorded (the objects do not depend on the batch options: they are always computed
with the official thresholds, and a commune outside a partial run simply has no row). Otherwise they return ``None`` and the caller computes on the fly
(custom contours, EPCI, départements, a store changed since the batch, no batch run).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from ocsge_engine.batch.manifest import (
    PartitionKey,
    manifest_path,
    national_root,
    read_manifest,
)
from ocsge_engine.store import codec

logger = logging.getLogger(__name__)

PAGES_TABLE = "pages"
PAGES_VERSION = 4  # bump when the objects or their encoding change: partitions recompute
PAGE_KINDS: tuple[str, ...] = ("figures", "matrix_cs_us", "indicators", "light_from",
                               "light_to", "light_artif_to", "light_changes",
                               *("vegetation", "vegetation_comparison", "light_vegetation",
                                 "light_vegetation_changes"))
ARTIF_KEYS: tuple[str, ...] = ("code_cs", "code_us", "artif")  # the home map's colouring
PAGE_COLUMNS: tuple[str, ...] = ("commune", "kind", "payload")
# a commune's rows are read together, from the row groups whose ``commune`` statistics hold it:
# small groups, so that a page reads one or two communes' payloads, not ten (60 ms per read)
ROW_GROUP_ROWS = 16


def pages_path(store_dir: Path | str, key: PartitionKey) -> Path:
    """Parquet file of the precomputed page objects of one partition."""
    return national_root(store_dir) / PAGES_TABLE / key.relative_dir() / "data.parquet"


def commune_objects(store: Any, code: str, pair: Any, artif: Any) -> dict[str, Any]:
    """The page objects of one commune, computed by the engine on the batch's overlay.

    Args:
        store: the open store (catalogue for the provenance, IGN layers when ingested).
        code: INSEE code.
        pair: the commune's :class:`~ocsge_engine.indicators.pair.Pair` (batch clip and overlay,
            the same as :func:`load_pair` reads).
        artif: the decree-matrix artificialisation of that pair (official thresholds).

    Returns:
        ``kind → object`` for every kind of :data:`PAGE_KINDS`.
    """
    from ocsge_engine.indicators.artif import Thresholds, ign_available
    from ocsge_engine.indicators.summary import territory_indicators
    from ocsge_engine.portrait.figures import portrait_figures
    from ocsge_engine.territories import resolve_territory

    territory = resolve_territory(f"commune:{code}")
    pair = dataclasses.replace(pair, territory=territory)  # coverage needs the polygon
    y1, y2 = int(pair.year_from), int(pair.year_to)
    if ign_available(store, territory, y1, y2) or artif.thresholds != Thresholds():
        artif = None  # computed as on the fly: IGN's own layers, or the official thresholds
    indicators = territory_indicators(store, territory, y1, y2, pair=pair)
    figures = indicators.portrait  # the same call on the same artif (memoised on the pair)
    if artif is not None and figures is not None and figures.artif is not artif:
        figures = portrait_figures(store, territory, y1, y2, pair=pair, artif=artif)
    return {"figures": figures, "matrix_cs_us": pair.matrix("cs_us"), "indicators": indicators,
            **map_layers(store, territory, pair), **vegetation_objects(indicators, pair)}


def vegetation_objects(indicators: Any, pair: Any) -> dict[str, Any]:
    """What the Végétation page reads: the result, its comparison figures, the map's layers.

    The result is the one :func:`territory_indicators` computed with
    :func:`ocsge_engine.indicators.vegetation.vegetation` on the pair (so ``vegetation(store,
    commune, ...)`` returns it).
    """
    from ocsge_engine.indicators.vegetation import comparison_values
    from ocsge_engine.maps.vegetation_layers import vegetation_changes, vegetation_light

    return {"vegetation": indicators.vegetation,
            "vegetation_comparison": comparison_values(indicators.vegetation),
            "light_vegetation": vegetation_light(pair),
            "light_vegetation_changes": vegetation_changes(pair)}


def map_layers(store: Any, territory: Any, pair: Any) -> dict[str, Any]:
    """The light map layers of a commune's pair (what Cartes and the home map draw)."""
    from ocsge_engine.maps import light_polygons, stored_changes
    from ocsge_engine.maps.changes import CHANGE_COLUMNS

    couples = ["code_cs", "code_us"]
    changes = stored_changes(store, territory, int(pair.year_from), int(pair.year_to),
                             layers=(pair.layer_from[[*couples, "geometry"]],
                                     pair.layer_to[[*couples, "geometry"]]))
    return {"light_from": light_polygons(pair.layer_from[[*couples, "geometry"]]),
            "light_to": light_polygons(pair.layer_to[[*couples, "geometry"]]),
            "light_artif_to": light_polygons(pair.layer_to[[*ARTIF_KEYS, "geometry"]],
                                             keys=ARTIF_KEYS),
            "light_changes": light_polygons(changes, keys=CHANGE_COLUMNS)}


def commune_rows(store: Any, code: str, pair: Any, artif: Any) -> list[dict[str, str]]:
    """:func:`commune_objects` as rows of the pages table (``commune, kind, payload``)."""
    objects = commune_objects(store, code, pair, artif)
    return [{"commune": code, "kind": kind,
             "payload": (_indicators_payload(obj, objects["figures"]) if kind == "indicators"
                         else codec.dumps(obj))}
            for kind, obj in objects.items()]


# --- storage: the indicators row shares its figures with the figures row ---------------------
# ``territory_indicators`` holds the very ``portrait_figures`` object (and its artif, imper,
# ratios), the bulk of both payloads (gain geometries): the indicators row stores those fields
# as links to the commune's ``figures`` row, and the reader puts the same objects back.
_FIGURES_LINKS: dict[str, str | None] = {"portrait": None, "artif": "artif", "imper": "imper",
                                         "per_inhabitant": "ratios"}


def _indicators_payload(indicators: Any, figures: Any) -> str:
    links = {name: attr for name, attr in _FIGURES_LINKS.items() if figures is not None
             and getattr(indicators, name) is (figures if attr is None
                                               else getattr(figures, attr))}
    stripped = dataclasses.replace(indicators, **{name: None for name in links})
    return codec.dumps({"links": links, "object": stripped})


def _linked_indicators(store: Any, territory: Any, year_from: int, year_to: int,
                       stored: Any) -> Any | None:
    """The indicators object of a stored payload, its links to the figures row resolved."""
    if not isinstance(stored, dict) or set(stored) != {"links", "object"}:
        return None
    links = stored["links"]
    if not links:
        return stored["object"]
    figures = stored_object(store, territory, year_from, year_to, "figures")
    if figures is None:
        return None
    return dataclasses.replace(stored["object"], **{
        name: figures if attr is None else getattr(figures, attr) for name, attr in links.items()})


def pages_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    """The pages table with fixed dtypes."""
    frame = pd.DataFrame(rows, columns=list(PAGE_COLUMNS))
    return frame.astype({c: "string" for c in PAGE_COLUMNS})


def pages_current(store_dir: Path | str, key: PartitionKey) -> bool:
    """Whether a finished partition's page objects exist in this code's format (same size)."""
    manifest = read_manifest(store_dir, key) or {}
    record = manifest.get("outputs", {}).get(PAGES_TABLE)
    if not record or record.get("version") != PAGES_VERSION:
        return False
    path = Path(store_dir) / record["path"]
    return path.is_file() and path.stat().st_size == record.get("bytes")


# --- readers ----------------------------------------------------------------------------------

_fresh_lock = threading.Lock()
_fresh_cache: OrderedDict[tuple[Any, ...], Path | None] = OrderedDict()
_object_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_OBJECTS = 32
_payload_cache: OrderedDict[tuple[Any, ...], dict[str, str]] = OrderedDict()
_PAYLOAD_COMMUNES = 8  # a page reads several kinds of the commune shown: one read for all


def _stat_key(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


def fresh_pages_file(store: Any, key: PartitionKey) -> Path | None:
    """The pages file of a partition when it is fresh for the store as it is now, else ``None``.

    Cached on the size and modification time of the manifest, the pages file and both input
    partitions (the SHA-256 of an input is computed once per version of the file).
    """
    from ocsge_engine.batch.figures import _current_inputs
    from ocsge_engine.batch.flows import LAYER
    from ocsge_engine.batch.manifest import BATCH_VERSION
    from ocsge_engine.store.parquet import partition_path

    store_dir = Path(store.path)
    path = pages_path(store_dir, key)
    stamp = (str(store_dir), key, _stat_key(manifest_path(store_dir, key)), _stat_key(path),
             *(_stat_key(partition_path(store_dir, LAYER, key.departement, str(y)))
               for y in (key.year_from, key.year_to)))
    with _fresh_lock:
        if stamp in _fresh_cache:
            return _fresh_cache[stamp]
    result: Path | None = None
    manifest = read_manifest(store_dir, key)
    record = (manifest or {}).get("outputs", {}).get(PAGES_TABLE)
    if (manifest is not None and record and stamp[3] is not None
            and record.get("version") == PAGES_VERSION
            and manifest.get("batch_version") == BATCH_VERSION
            and stamp[3][0] == record.get("bytes")
            and manifest.get("inputs") == _current_inputs(store, key)):
        result = path
    elif manifest is not None:
        logger.info("precomputed pages D%s %s not fresh: computing on the fly",
                    key.departement, key.pair)
    with _fresh_lock:
        _fresh_cache[stamp] = result
        while len(_fresh_cache) > 256:
            _fresh_cache.popitem(last=False)
    return result


def _commune_pages_file(store: Any, territory: Any, year_from: int, year_to: int
                        ) -> Path | None:
    """The fresh pages file holding a commune's row for the pair, else ``None``."""
    if getattr(territory, "kind", None) != "commune" or getattr(store, "path", None) is None:
        return None
    deps = tuple(getattr(territory, "departements", ()) or ())
    if len(deps) != 1:
        return None
    key = PartitionKey(str(deps[0]), int(year_from), int(year_to))
    try:
        return fresh_pages_file(store, key)
    except (OSError, ValueError) as err:  # an unreadable input: compute on the fly
        logger.warning("precomputed pages D%s %s unusable: %s", key.departement, key.pair, err)
        return None


def stored_object(store: Any, territory: Any, year_from: int, year_to: int,
                  kind: str) -> Any | None:
    """The precomputed ``kind`` object of a commune and pair, or ``None`` (compute it then).

    Args:
        store: an open store (anything without a ``path`` gets ``None``).
        territory: a resolved territory; only communes are stored.
        year_from: first millésime.
        year_to: second millésime.
        kind: one of :data:`PAGE_KINDS`.

    Returns:
        The object, equal to what the engine computes on the fly; ``None`` when the territory is
        not a commune, its département's partition is missing or not fresh, or it has no row
        (a commune the batch could not compute).
    """
    if kind not in PAGE_KINDS:
        raise ValueError(f"kind must be one of {PAGE_KINDS}; got {kind!r}")
    path = _commune_pages_file(store, territory, year_from, year_to)
    if path is None:
        return None
    cache_key = (str(path), _stat_key(path), territory.code, kind)
    with _fresh_lock:
        if cache_key in _object_cache:
            _object_cache.move_to_end(cache_key)
            return _object_cache[cache_key]
    obj = _read_object(path, territory.code, kind)
    if kind == "indicators" and obj is not None:
        obj = _linked_indicators(store, territory, year_from, year_to, obj)
    if obj is not None:
        with _fresh_lock:
            _object_cache[cache_key] = obj
            while len(_object_cache) > _OBJECTS:
                _object_cache.popitem(last=False)
    return obj


def _commune_payloads(path: Path, code: str) -> dict[str, str] | None:
    """``kind → payload text`` of a commune (one read for all its kinds, cached per file)."""
    return _read_payloads(path, [str(code)]).get(str(code))


def _read_payloads(path: Path, codes: list[str]) -> dict[str, dict[str, str]]:
    """``code → kind → payload text`` of communes, the uncached ones read in one go.

    A commune of the file without a row gets an empty mapping; an unreadable file, none.
    """
    import pyarrow.parquet as pq

    stamp = _stat_key(path)
    found: dict[str, dict[str, str]] = {}
    with _fresh_lock:
        for code in codes:
            if (str(path), stamp, code) in _payload_cache:
                _payload_cache.move_to_end((str(path), stamp, code))
                found[code] = _payload_cache[(str(path), stamp, code)]
    missing = sorted(set(codes) - set(found))
    if not missing:
        return found
    try:
        table = pq.read_table(path, columns=["commune", "kind", "payload"],
                              filters=[("commune", "in", missing)])
    except Exception as err:  # noqa: BLE001 - a damaged file must never break a page
        logger.warning("precomputed pages %s unreadable (%s): computing on the fly", path, err)
        return found
    read: dict[str, dict[str, str]] = {code: {} for code in missing}
    for code, kind, payload in zip(*(table.column(c).to_pylist()
                                     for c in ("commune", "kind", "payload"))):
        read[code][kind] = payload
    with _fresh_lock:
        for code, payloads in read.items():
            _payload_cache[(str(path), stamp, code)] = payloads
        while len(_payload_cache) > _PAYLOAD_COMMUNES:
            _payload_cache.popitem(last=False)
    return {**found, **read}


def _read_object(path: Path, code: str, kind: str) -> Any | None:
    payload = (_commune_payloads(path, code) or {}).get(kind)
    if payload is None:
        return None
    try:
        return codec.loads(payload)
    except (codec.CodecError, ValueError, TypeError) as err:
        logger.warning("precomputed %s of %s unreadable (%s): computing on the fly", kind, code,
                       err)
        return None


def stored_matrix(store: Any, territory: Any, year_from: int, year_to: int) -> Any | None:
    """The couple-level matrix (``exchange_matrix(..., by="cs_us")``) precomputed, or ``None``.

    A commune's is its stored row; an EPCI's or a département's, the sum of its communes'
    (:func:`summed_matrix`). ``None`` also when the store holds IGN's DIFF layer for the pair:
    ``exchange_matrix`` then attaches the overlay/DIFF disagreement, which the batch does not
    compute.
    """
    kind = getattr(territory, "kind", None)
    if kind not in ("commune", *SUMMED_KINDS) or getattr(store, "path", None) is None:
        return None
    periods = {str(p) for p in store.millesimes(territory, layer="diff")}
    if f"{int(year_from)}_{int(year_to)}" in periods:
        return None
    if kind != "commune":
        return summed_matrix(store, territory, year_from, year_to)
    return stored_object(store, territory, year_from, year_to, "matrix_cs_us")


def couple_matrix(store: Any, territory: Any, year_from: int, year_to: int) -> Any:
    """The couple-level matrix of a territory: :func:`stored_matrix` when precomputed, else
    ``exchange_matrix(..., by="cs_us")`` (the same numbers either way)."""
    stored = stored_matrix(store, territory, year_from, year_to)
    if stored is not None:
        return stored
    from ocsge_engine.flows.exchange import exchange_matrix  # the flows import no batch code

    return exchange_matrix(store, territory, year_from, year_to, by="cs_us")


# --- EPCI and départements: sums of their communes' precomputed objects -----------------------

SUMMED_KINDS: tuple[str, ...] = ("epci", "departement")
TILING_RTOL = 1e-9  # the communes' areas must add up to the territory's (no gap, no overlap)


def member_objects(store: Any, territory: Any, year_from: int, year_to: int,
                   kind: str) -> list[Any] | None:
    """The precomputed ``kind`` object of every commune of an EPCI or a département, or ``None``.

    ``None`` (compute on the fly) unless the territory is an EPCI or a département, its member
    communes tile it (their areas add up to its area within :data:`TILING_RTOL`: no gap, no
    overlap, so a sum of areas over them is the area over it), and every one of them has a
    fresh precomputed row for the pair (a commune the batch has not computed, or without data,
    has none: its share is then unknown, not zero).
    """
    if getattr(territory, "kind", None) not in SUMMED_KINDS or getattr(store, "path", None) is None:
        return None
    communes = _tiling_communes(territory.id)
    if communes is None:
        return None
    found = stored_objects(store, communes, year_from, year_to, (kind,))
    if len(found) < len(communes):
        logger.info("%s: %d of %d communes precomputed for %s-%s: computing on the fly",
                    territory.id, len(found), len(communes), year_from, year_to)
        return None
    return [found[(c.code, kind)] for c in communes]


@lru_cache(maxsize=256)
def _tiling_communes(territory_id: str) -> tuple[Any, ...] | None:
    """The member communes of an EPCI or a département when they tile it, else ``None``
    (once per territory: the embedded polygons do not change while the process runs)."""
    from ocsge_engine.territories import get_territory, member_communes

    territory = get_territory(territory_id)
    communes = tuple(get_territory(f"commune:{code}") for code in member_communes(territory))
    total = float(territory.geometry.area)
    parts = sum(float(c.geometry.area) for c in communes)
    if not communes or abs(parts - total) > TILING_RTOL * total:
        logger.info("%s: its communes do not tile it (area %.1f m2 vs %.1f m2): computing on "
                    "the fly", territory_id, parts, total)
        return None
    return communes


def precomputed_figures(store: Any, territory: Any, year_from: int, year_to: int) -> Any | None:
    """The figures layer's precomputed figures of a territory, or ``None`` (compute them).

    A commune's stored row (:func:`stored_object`), an EPCI's or a département's sum of its
    communes' rows (:func:`summed_figures`); contours have none.
    """
    if getattr(territory, "kind", None) == "commune":
        return stored_object(store, territory, year_from, year_to, "figures")
    return summed_figures(store, territory, year_from, year_to)


def summed_figures(store: Any, territory: Any, year_from: int, year_to: int) -> Any | None:
    """An EPCI's or a département's figures as the sum of its communes' (``None``: on the fly).

    :func:`ocsge_engine.portrait.figures.sum_portraits` of :func:`member_objects`; every
    commune's figures must have been computed by the same method (all with IGN's layers, or all
    with the decree matrix).
    """
    from ocsge_engine.portrait.figures import sum_portraits

    parts = member_objects(store, territory, year_from, year_to, "figures")
    if parts is None:
        return None
    try:
        return sum_portraits(store, territory, parts)
    except ValueError as err:  # communes computed by different methods
        logger.info("%s: figures not summed (%s): computing on the fly", territory.id, err)
        return None


def summed_matrix(store: Any, territory: Any, year_from: int, year_to: int) -> Any | None:
    """An EPCI's or a département's couple-level matrix summed from its communes', or ``None``."""
    from ocsge_engine.flows.matrix import build_matrix, sum_transitions

    parts = member_objects(store, territory, year_from, year_to, "matrix_cs_us")
    if parts is None or any(p.transitions is None for p in parts):
        return None
    return build_matrix(sum_transitions([p.transitions for p in parts]), "cs_us",
                        int(year_from), int(year_to))


def stored_light(store: Any, territory: Any, year: int, pair: tuple[int, int] | None,
                 keys: tuple[str, ...] = ("code_cs", "code_us")) -> Any | None:
    """A commune's light layer of one millésime from the pair's partition, or ``None``.

    Args:
        store: an open store.
        territory: a resolved territory.
        year: the millésime drawn.
        pair: the selected pair (its partition holds both millésimes' layers).
        keys: ``("code_cs", "code_us")`` (Cartes) or :data:`ARTIF_KEYS` (home map, ``year_to``).
    """
    if pair is None or int(year) not in (int(pair[0]), int(pair[1])):
        return None
    if tuple(keys) == ARTIF_KEYS:
        if int(year) != int(pair[1]):
            return None
        kind = "light_artif_to"
    elif tuple(keys) == ("code_cs", "code_us"):
        kind = "light_from" if int(year) == int(pair[0]) else "light_to"
    else:
        return None
    return stored_object(store, territory, pair[0], pair[1], kind)


def stored_objects(store: Any, territories: list[Any], year_from: int, year_to: int,
                   kinds: tuple[str, ...]) -> dict[tuple[str, str], Any]:
    """Several communes' and kinds' precomputed objects, one file read per partition.

    What :func:`stored_object` returns for each ``(commune, kind)``, but the communes' payloads
    of a partition are read together first (a commune and its neighbours): every read
    decompresses whole row groups, so one read instead of six saves most of the time.

    Returns:
        ``(INSEE code, kind) → object`` for the objects found fresh; the others are absent
        (compute them, as with :func:`stored_object`'s ``None``).
    """
    unknown = [k for k in kinds if k not in PAGE_KINDS]
    if unknown:
        raise ValueError(f"kinds must be among {PAGE_KINDS}; got {unknown!r}")
    by_file: dict[Path, list[Any]] = {}
    for territory in territories:
        path = _commune_pages_file(store, territory, year_from, year_to)
        if path is not None:
            by_file.setdefault(path, []).append(territory)
    out: dict[tuple[str, str], Any] = {}
    for path, communes in by_file.items():
        for start in range(0, len(communes), _PAYLOAD_COMMUNES):  # what the payload cache holds
            chunk = communes[start:start + _PAYLOAD_COMMUNES]
            _read_payloads(path, [str(t.code) for t in chunk])
            for territory in chunk:
                for kind in kinds:
                    obj = stored_object(store, territory, year_from, year_to, kind)
                    if obj is not None:
                        out[(territory.code, kind)] = obj
    return out
