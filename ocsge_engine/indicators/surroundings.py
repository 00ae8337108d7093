"""Surroundings: the territory beside its buffer ring, its EPCI and its département, per hectare.

A flow in hectares says little until it is compared with the land around: this module puts the
territory next to

* its **ring** (``couronne``): the territory buffered by ``ring_km`` kilometres, minus the
  territory itself (a ``polygon`` :class:`~ocsge_engine.territories.Territory`);
* its **EPCI** (for a commune) and its **département(s)** (for a commune, an EPCI or a polygon),

and divides every flow by the area the store covers in each of them:

    ha_per_100ha = 100 × flow_ha / covered_ha

where ``covered_ha`` is the area of the OCCUPATION_SOL polygons clipped to the area (the sum of
the exchange matrix's first-millésime stocks, i.e. ``Store.coverage(area, year_from).covered_ha``).
When the store covers only part of an area (the demo covers the 17 SYBARVAL communes of the
département 33), its figures are those of the covered part: ``coverage_share < 1`` says so, and
the page must show it (« couverture partielle »).

Compute only: numbers and codes; French words appear only in the ring's display name.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from shapely.geometry.base import BaseGeometry

from ocsge_engine.errors import GeometryError, MillesimeError, TerritoryNotFoundError
from ocsge_engine.store.protocols import StoreLike
from ocsge_engine.territories import resolve_territory
from ocsge_engine.flows.levels import By, validate_by
from ocsge_engine.flows.matrix import ExchangeMatrix
from ocsge_engine.territories import Territory, commune_polygons, communes_table, get_territory

logger = logging.getLogger(__name__)

Role = Literal["territoire", "couronne", "epci", "departement"]
ROLES: tuple[str, ...] = ("territoire", "couronne", "epci", "departement")
DEFAULT_RING_KM = 5.0
MAX_RING_KM = 50.0
RING_QUAD_SEGS = 32  # segments per quarter circle: the ring's arcs are 128-gons
COMPLETE_SHARE = 0.999  # as ocsge_engine.store.db.COMPLETE_SHARE
AREA_COLUMNS: tuple[str, ...] = ("role", "territory_id", "name", "territory_ha", "covered_ha",
                                 "coverage_share", "complete")
FLOW_COLUMNS: tuple[str, ...] = ("role", "code_from", "code_to", "area_ha", "ha_per_100ha")
_ROLE_OF_KIND: dict[str, Role] = {"polygon": "couronne", "epci": "epci",
                                  "departement": "departement", "commune": "territoire"}


@dataclass(frozen=True, eq=False)
class AreaMatrix:
    """One area of the comparison with its couple-level exchange matrix.

    Attributes:
        role: ``territoire``, ``couronne``, ``epci`` or ``departement``.
        territory: the area.
        matrix: its CS×US exchange matrix (empty table when the store covers none of it),
            ``None`` when the store lacks the pair for the area's départements.
    """

    role: Role
    territory: Territory
    matrix: ExchangeMatrix | None


@dataclass(frozen=True, eq=False)
class SurroundingsFlows:
    """Flows per 100 ha of covered area, for the territory and its surroundings.

    Attributes:
        areas: one row per area, in order territory, ring, EPCI, département(s): columns
            :data:`AREA_COLUMNS` (``coverage_share`` = ``covered_ha / territory_ha`` capped at 1,
            ``complete`` = share ≥ 0.999).
        flows: changes only (no diagonal), columns :data:`FLOW_COLUMNS`; ``ha_per_100ha`` =
            ``100 × area_ha / covered_ha`` of the row's area. An area without coverage has no row.
        by: level of the classes.
        year_from: first millésime.
        year_to: second millésime.
    """

    areas: pd.DataFrame
    flows: pd.DataFrame
    by: By
    year_from: int
    year_to: int

    def table(self) -> pd.DataFrame:
        """Tidy flows joined with their area's name and coverage (the table behind the chart)."""
        info = self.areas.drop(columns=["complete"])
        return self.flows.merge(info, on="role", how="left")[
            ["role", "territory_id", "name", "code_from", "code_to", "area_ha", "covered_ha",
             "territory_ha", "coverage_share", "ha_per_100ha"]]


def _check_ring_km(ring_km: float) -> float:
    value = float(ring_km)
    if not (0 < value <= MAX_RING_KM) or math.isnan(value):
        raise GeometryError(f"ring width {ring_km!r} km outside (0, {MAX_RING_KM}]",
                            f"La largeur de la couronne doit être comprise entre 0 et "
                            f"{MAX_RING_KM:g} km.")
    return value


def ring_geometry(geometry: BaseGeometry, ring_km: float,
                  quad_segs: int = RING_QUAD_SEGS) -> BaseGeometry:
    """The ring of ``ring_km`` km around a geometry: its buffer minus the geometry itself.

    For a square of side ``s`` and a width ``r`` the area is
    ``(s + 2r)² − s² − (4 − A)·r²`` where ``A = (n/2)·sin(2π/n)`` is the area of the unit
    ``n``-gon drawn by the buffer's corners (``n = 4·quad_segs``; ``A → π``).

    >>> import shapely
    >>> round(ring_geometry(shapely.box(0, 0, 1000, 1000), 1.0).area / 1e6, 3)
    7.14

    Raises:
        GeometryError: ``ring_km`` not in (0, 50].
    """
    width_m = 1000.0 * _check_ring_km(ring_km)
    return geometry.buffer(width_m, quad_segs=quad_segs).difference(geometry)


def ring_territory(territory: Territory, ring_km: float = DEFAULT_RING_KM) -> Territory:
    """The ring around a territory as a ``polygon`` territory named « Couronne de N km ».

    Its départements are those of the embedded communes it meets (else the territory's).

    Raises:
        GeometryError: ``ring_km`` not in (0, 50].
    """
    geometry = ring_geometry(territory.geometry, ring_km)
    communes = commune_polygons()
    hits = communes.sindex.query(geometry, predicate="intersects")
    departements = tuple(sorted(set(communes["departement"].iloc[hits]))) or territory.departements
    km = f"{float(ring_km):g}".replace(".", ",")
    return Territory("polygon", f"couronne_{float(ring_km):g}km_{territory.code}",
                     f"Couronne de {km} km", geometry, departements)


def _parent_ids(territory: Territory) -> list[str]:
    """Ids of the EPCI (communes only) and départements that contain a territory."""
    if territory.kind == "departement":
        return []
    if territory.kind == "commune":
        row = communes_table().set_index("code").loc[territory.code]
        epci = [] if pd.isna(row["siren_epci"]) else [f"epci:{row['siren_epci']}"]
        return [*epci, f"departement:{row['departement']}"]
    return [f"departement:{d}" for d in territory.departements]


def surroundings(territory: Territory | str, ring_km: float = DEFAULT_RING_KM) -> list[Territory]:
    """The areas to compare a territory with: its ring, its EPCI, its département(s).

    Args:
        territory: a ``Territory`` or its id.
        ring_km: width of the ring (km, in (0, 50]).

    Returns:
        ``[ring, EPCI, département…]``: the EPCI for a commune only (when it has one); the
        département of a commune, or each département of an EPCI or polygon; none for a
        département. A parent without embedded polygons is left out (logged).

    Raises:
        GeometryError: ``ring_km`` not in (0, 50].
        TerritoryNotFoundError: unknown territory id.
    """
    resolved: Territory = resolve_territory(territory)
    areas = [ring_territory(resolved, ring_km)]
    for parent_id in _parent_ids(resolved):
        try:
            areas.append(get_territory(parent_id))
        except TerritoryNotFoundError as err:
            logger.info("surroundings of %s: %s skipped (%s)", resolved.id, parent_id, err)
    return areas


def surroundings_matrices(store: StoreLike, territory: Territory | str, year_from: int,
                          year_to: int, ring_km: float = DEFAULT_RING_KM,
                          areas: Sequence[Territory] | None = None) -> list[AreaMatrix]:
    """CS×US exchange matrices of the territory and of each of its surroundings.

    Args:
        store: an open store.
        territory: a ``Territory`` or its id.
        year_from: first millésime.
        year_to: second millésime.
        ring_km: width of the ring (ignored when ``areas`` is given).
        areas: the surroundings (default :func:`surroundings`).

    Returns:
        The territory first, then each area. An area whose départements lack the pair in the
        store gets ``matrix=None`` (no coverage).

    Raises:
        MillesimeError: the pair is absent for the territory itself, or inverted.
        TerritoryNotFoundError, GeometryError: see :func:`surroundings`.

    Notes:
        One overlay per area not precomputed: the département of a demo commune (33,000
        polygons a millésime) takes about 6 s on a 2-core CPU; a batched commune, and an EPCI
        whose communes are all batched, are read
        (:func:`ocsge_engine.batch.pages.couple_matrix`).
    """
    from ocsge_engine.batch.pages import couple_matrix  # the batch imports the indicators

    resolved: Territory = resolve_territory(territory)
    others = list(areas) if areas is not None else surroundings(resolved, ring_km)
    out = [AreaMatrix("territoire", resolved, couple_matrix(store, resolved, year_from, year_to))]
    for area in others:
        role = _ROLE_OF_KIND.get(area.kind, "couronne")
        try:
            matrix: ExchangeMatrix | None = couple_matrix(store, area, year_from, year_to)
        except MillesimeError as err:
            logger.info("surroundings %s: no data (%s)", area.id, err)
            matrix = None
        out.append(AreaMatrix(role, area, matrix))
    return out


def per_hectare(matrices: Sequence[AreaMatrix], by: By = "anf") -> SurroundingsFlows:
    """Flows at level ``by`` per 100 ha of covered area (see the module docstring).

    Args:
        matrices: output of :func:`surroundings_matrices` (territory first).
        by: level of the classes.

    Returns:
        The :class:`SurroundingsFlows`.

    Raises:
        ValueError: no matrix, or the first one has no years.
    """
    validate_by(by)
    if not matrices or matrices[0].matrix is None or matrices[0].matrix.year_from is None:
        raise ValueError("per_hectare needs the territory's matrix first")
    first = matrices[0].matrix
    area_rows: list[dict[str, Any]] = []
    flow_frames: list[pd.DataFrame] = []
    for item in matrices:
        territory_ha = item.territory.area_ha
        covered_ha = 0.0 if item.matrix is None else float(item.matrix.stocks_from.sum())
        share = min(1.0, covered_ha / territory_ha) if territory_ha > 0 else 0.0
        area_rows.append({"role": item.role, "territory_id": item.territory.id,
                          "name": item.territory.name, "territory_ha": territory_ha,
                          "covered_ha": covered_ha, "coverage_share": share,
                          "complete": share >= COMPLETE_SHARE})
        if item.matrix is None or covered_ha <= 0:
            continue
        table = item.matrix.regroup(by).table if item.matrix.by != by else item.matrix.table
        changes = table[table["code_from"] != table["code_to"]]
        flow_frames.append(changes.assign(role=item.role,
                                          ha_per_100ha=100.0 * changes["area_ha"] / covered_ha))
    flows = (pd.concat(flow_frames, ignore_index=True)[list(FLOW_COLUMNS)] if flow_frames
             else pd.DataFrame({c: pd.Series(dtype=float if c in ("area_ha", "ha_per_100ha")
                                             else object) for c in FLOW_COLUMNS}))
    assert first.year_from is not None and first.year_to is not None
    return SurroundingsFlows(pd.DataFrame(area_rows, columns=list(AREA_COLUMNS)),
                             flows.reset_index(drop=True), by, first.year_from, first.year_to)


def surroundings_flows(store: StoreLike, territory: Territory | str, year_from: int,
                       year_to: int, by: By = "anf", ring_km: float = DEFAULT_RING_KM,
                       areas: Sequence[Territory] | None = None) -> SurroundingsFlows:
    """Flows of a territory and of its ring, EPCI and département, per 100 ha covered.

    Args:
        store: an open store.
        territory: a ``Territory`` or its id.
        year_from: first millésime.
        year_to: second millésime.
        by: level of the classes.
        ring_km: width of the ring (km).
        areas: the surroundings (default :func:`surroundings`).

    Returns:
        The :class:`SurroundingsFlows` (unit: ha per 100 ha of covered area, i.e. a percentage
        of the covered area; each area's coverage share alongside).

    Raises:
        MillesimeError, TerritoryNotFoundError, GeometryError: see
            :func:`surroundings_matrices`.
    """
    validate_by(by)
    return per_hectare(surroundings_matrices(store, territory, year_from, year_to, ring_km, areas),
                       by)
