"""Per-commune figures of the dashboard, read from the national results when they are fresh.

Pages that show many communes at once (*Croiser*: every commune of the store; *Comparer*: a
commune, its neighbours and communes of similar population) compute each commune with the
single-territory engine: a clip and an overlay per commune (the demo's 25 communes: ~17 s). When
the national batch (:func:`ocsge_engine.batch.run_flows`) left a **fresh** partition for the
commune's département and the pair, the same figures are read from its ``indicators`` table
instead; communes of the other départements are computed as before. A partition is fresh when
:func:`ocsge_engine.batch.partition_state` says ``"ok"`` for the store's current inputs (SHA-256
of both OCCUPATION_SOL partitions and of the département's reference data), the batch version,
and options computing the requested decree thresholds over every commune.

The figures are identical either way, float for float: the batch clips and overlays each commune
exactly as the store does (:mod:`ocsge_engine.batch.communes`) and runs the same functions, and
the derived columns repeat :func:`ocsge_engine.indicators.compare.commune_row`'s formulas:

* ``available`` = both coverages (covered area / commune area, capped at 1) ≥
  ``COMPLETE_SHARE`` (0.999), as ``Store.coverage(...).complete``;
* ``artif_stock_ha, gross_gain_ha, net_ha`` = the batch's ``artif_stock_to_ha``,
  ``artif_gross_gain_ha``, ``artif_net_ha``;
* ``net_m2_per_ha = net_ha × 10,000 / area_ha``; ``net_m2_per_inhabitant = net_ha × 10,000 /
  pop_stock`` (the population basis of :func:`per_inhabitant`); ``artif_m2_per_inhabitant`` as is;
* ``population, population_year``: latest year of :func:`ocsge_engine.territories.population`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from ocsge_engine.batch.communes import departement_communes
from ocsge_engine.batch.compute import BatchOptions
from ocsge_engine.batch.flows import LAYER
from ocsge_engine.batch.manifest import (
    PartitionKey,
    list_manifests,
    partition_state,
    sha256_file,
    table_path,
)
from ocsge_engine.territories import resolve_territory
from ocsge_engine.indicators import compare
from ocsge_engine.indicators.artif import Rule, Thresholds
from ocsge_engine.indicators.compare import COMPARISON_COLUMNS, commune_row
from ocsge_engine.indicators import local_data
from ocsge_engine.store.db import COMPLETE_SHARE
from ocsge_engine.store.parquet import partition_path
from ocsge_engine.territories import communes_table

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
_NATIONAL_COLUMNS = ["commune", "name", "area_ha", "covered_from_ha", "covered_to_ha",
                     "artif_stock_to_ha", "artif_gross_gain_ha", "artif_net_ha", "pop_stock",
                     "artif_m2_per_inhabitant", "error"]


@dataclass(frozen=True, eq=False)
class NationalRows:
    """The fresh national indicator rows of one pair.

    Attributes:
        departements: départements whose partition for the pair is fresh.
        table: their ``indicators`` rows (columns of :mod:`ocsge_engine.batch.compute`),
            indexed by INSEE code.
    """

    departements: frozenset[str]
    table: pd.DataFrame = field(repr=False)

    def serves(self, code: str) -> bool:
        """Whether the commune's figures come from the national results."""
        return _departement_of(code) in self.departements


def _departement_of(code: str) -> str | None:
    table = _departements_by_code()
    return table.get(str(code))


@lru_cache(maxsize=1)
def _departements_by_code() -> dict[str, str]:
    table = communes_table()
    return dict(zip(table["code"].astype(str), table["departement"].astype(str)))


@lru_cache(maxsize=64)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of an input partition, cached on its size and modification time."""
    return sha256_file(Path(path))


@lru_cache(maxsize=16)
def _reference_sha256(departement: str) -> str:
    """Fingerprint of a département's commune polygons and populations (fixed per process)."""
    return departement_communes(departement).sha256()


def _current_inputs(store: Any, key: PartitionKey) -> dict[str, str] | None:
    """The inputs record the batch would write now (as ``batch.flows`` does), or ``None``."""
    inputs = {}
    for year in (key.year_from, key.year_to):
        path = partition_path(store.path, LAYER, key.departement, str(year))
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        inputs[f"{LAYER}/{year}"] = _file_sha256(str(path), stat.st_size, stat.st_mtime_ns)
    inputs["communes"] = _reference_sha256(key.departement)
    return inputs


def _accepted_fingerprints(thresholds: Thresholds) -> set[str]:
    """Options whose indicators hold these thresholds for every commune (sprawl on or off)."""
    return {BatchOptions(thresholds=thresholds, sprawl=sprawl, pages=pages).fingerprint()
            for sprawl in (True, False) for pages in (True, False)}


def partition_freshness(store: Any, thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """State of every finished national partition against the store as it is now.

    Args:
        store: an open :class:`ocsge_engine.store.Store`.
        thresholds: decree thresholds the figures must use.

    Returns:
        Columns ``departement, pair, year_from, year_to, state, reason, finished_at``;
        ``state`` is ``"ok"`` (fresh: usable), ``"stale"`` (inputs, options or thresholds
        changed), ``"corrupt"`` (an output damaged) or ``"missing"`` (an input partition gone).

    Notes:
        Hashes both input partitions of each partition (cached per file size and mtime) and
        every output file (a few kB each).
    """
    accepted = _accepted_fingerprints(thresholds)
    rows = []
    for key, manifest in list_manifests(store.path):
        inputs = _current_inputs(store, key)
        options = manifest.get("options")
        if inputs is None:
            state, reason = "missing", "an input partition is no longer in the store"
        elif options not in accepted:
            state, reason = "stale", "computed with other options (thresholds, communes, levels)"
        else:
            state, reason = partition_state(store.path, key, inputs, str(options))
        rows.append({"departement": key.departement, "pair": key.pair,
                     "year_from": key.year_from, "year_to": key.year_to, "state": state,
                     "reason": reason, "finished_at": manifest.get("finished_at")})
    return pd.DataFrame(rows, columns=["departement", "pair", "year_from", "year_to", "state",
                                       "reason", "finished_at"])


def national_rows(store: Any, year_from: int, year_to: int,
                  thresholds: Thresholds = Thresholds()) -> NationalRows:
    """The indicator rows of the fresh national partitions of one pair.

    Args:
        store: an open store.
        year_from: first millésime.
        year_to: second millésime.
        thresholds: decree thresholds the figures must use.

    Returns:
        :class:`NationalRows`; empty when no partition of the pair is fresh.
    """
    fresh = partition_freshness(store, thresholds)
    fresh = fresh[(fresh["year_from"] == int(year_from)) & (fresh["year_to"] == int(year_to))]
    stale = fresh[fresh["state"] != "ok"]
    for row in stale.itertuples():
        logger.info("national partition D%s %s not used (%s: %s): computing its communes",
                    row.departement, row.pair, row.state, row.reason)
    deps = sorted(fresh.loc[fresh["state"] == "ok", "departement"])
    frames = [pd.read_parquet(table_path(store.path, "indicators",
                                         PartitionKey(dep, int(year_from), int(year_to))),
                              columns=_NATIONAL_COLUMNS) for dep in deps]
    table = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame(columns=_NATIONAL_COLUMNS)).set_index("commune")
    logger.debug("national rows %d-%d: %d communes from %s", year_from, year_to, len(table), deps)
    return NationalRows(frozenset(deps), table)


def _value(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def _covered(row: pd.Series) -> bool:
    area = float(row["area_ha"])
    if area <= 0:
        return False
    return all(min(1.0, float(row[c]) / area) >= COMPLETE_SHARE
               for c in ("covered_from_ha", "covered_to_ha"))


def national_covered(national: NationalRows, code: str) -> bool:
    """``commune_covered`` answered from the national rows (the commune must be served)."""
    return code in national.table.index and _covered(national.table.loc[code])


def _national_row(national: NationalRows, code: str, role: str) -> dict[str, Any]:
    """:func:`commune_row` of a served commune, from its national row (module docstring)."""
    row: dict[str, Any] = dict.fromkeys(COMPARISON_COLUMNS)
    found = national.table.loc[code] if code in national.table.index else None
    if found is None:
        territory = resolve_territory(f"commune:{code}")  # no polygon reaches it: unavailable
        name, area_ha = territory.name, territory.area_ha
    else:
        name, area_ha = str(found["name"]), float(found["area_ha"])
    row.update(code=code, name=name, role=role, area_ha=area_ha, available=False,
               **compare.latest_population(compare.population_series(code)))
    if found is None or not _covered(found) or not pd.isna(found["error"]):
        return row
    net_ha = float(found["artif_net_ha"])
    pop_stock = found["pop_stock"]
    row.update(available=True, artif_stock_ha=float(found["artif_stock_to_ha"]),
               gross_gain_ha=float(found["artif_gross_gain_ha"]), net_ha=net_ha,
               net_m2_per_ha=net_ha * 1e4 / area_ha,
               artif_m2_per_inhabitant=_value(found["artif_m2_per_inhabitant"]),
               net_m2_per_inhabitant=(None if pd.isna(pop_stock)
                                      else net_ha * 1e4 / int(pop_stock)))
    return row


def _row(store: Any, national: NationalRows, code: str, year_from: int, year_to: int,
         role: str) -> dict[str, Any]:
    if national.serves(code):
        return _national_row(national, code, role)
    return commune_row(store, code, year_from, year_to, role)


def communes_indicators(store: Any, year_from: int, year_to: int,
                        codes: list[str] | None = None,
                        progress: Progress | None = None) -> pd.DataFrame:
    """:func:`ocsge_engine.indicators.local_data.communes_indicators`, national rows first.

    Same arguments, same result (columns, rows, values); the communes of départements with a
    fresh national partition are read, not computed (module docstring).
    """
    national = national_rows(store, year_from, year_to)
    return local_data.communes_indicators(
        store, year_from, year_to, codes, progress,
        row=lambda s, code, y1, y2, role: _row(s, national, code, y1, y2, role))


def comparison_table(store: Any, territory: Any, year_from: int, year_to: int,
                     peers: Sequence[str] | None = None, n: int = 8, similar: bool = True,
                     rule: Rule = "decree", thresholds: Thresholds = Thresholds()
                     ) -> pd.DataFrame:
    """:func:`ocsge_engine.indicators.comparison_table`, national rows first.

    Same arguments, same result; the communes (and the coverage checks of the
    similar-population candidates) of départements with a fresh national partition computed
    with these thresholds are read, not computed. Another ``rule`` than the decree's is
    computed as before.
    """
    resolved = resolve_territory(territory)
    national = (national_rows(store, year_from, year_to, thresholds) if rule == "decree"
                else NationalRows(frozenset(), pd.DataFrame()))
    if not national.departements or resolved.kind != "commune":
        return compare.comparison_table(store, resolved, year_from, year_to, peers, n, similar,
                                        rule, thresholds)
    code = resolved.code
    neighbours = list(peers) if peers is not None else compare.nearest_communes(code, n)
    roles = {code: "territoire", **{c: "voisine" for c in neighbours if c != code}}
    if similar:
        def covered(other: str) -> bool:
            if national.serves(other):
                return national_covered(national, other)
            return compare.commune_covered(store, other, year_from, year_to)

        for other in compare.similar_population_communes(store, code, year_from, year_to, n,
                                                         covered=covered):
            roles.setdefault(other, "population")
    rows = [_national_row(national, c, role) if national.serves(c)
            else commune_row(store, c, year_from, year_to, role, rule, thresholds)
            for c, role in roles.items()]
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
