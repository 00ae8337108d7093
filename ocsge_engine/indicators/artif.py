"""Artificialisation and imperméabilisation: stocks, gross and net fluxes, by CS and by US.

Two methods, named in every result (``FluxResult.method``):

``ign_artif``
    IGN's own product « OCS GE – ARTIFICIALISATION », when ingested (store layers ``artif`` and
    ``artif_diff``, docs/DESIGN.md): stocks are the polygons with ``artif = True``; gross fluxes
    are the ``artif_diff`` polygons with ``artificialisation = +1`` (artificialised) and ``-1``
    (de-artificialised). IGN applied the decree's thresholds itself: this is the official figure.
``decree_matrix_official_thresholds`` (``decree_matrix`` when thresholds are off)
    Our reconstruction of IGN's status from the two OCCUPATION_SOL layers. Each polygon of each
    millésime carries its **official status**: decree matrix (``artificialisation_rules.md`` §3)
    then the three threshold rules of décret n° 2023-1096 (§4), applied to each millésime's
    stock on the whole département layer before any clipping
    (:mod:`ocsge_engine.indicators.thresholds`, stored per polygon in the store). Every figure
    derives from that stored status through the overlay pieces of the pair: stocks are the area
    with status True, gross gains the pieces False → True, gross losses True → False, and the
    breakdowns (by CS, by US, A/N/F origin, gain geometries for sprawl) come from the same
    pieces. Hence ``net_ha == stock_change_ha`` (to float rounding) and every figure is additive
    over any partition of a territory. ``raw_gain_ha`` / ``raw_loss_ha`` are the changes of the
    pure matrix status (no thresholds) on the same pieces; ``dropped_*`` = raw − official (can be
    negative: a field that becomes an enclave of new artificial land is artificialised by rule 1
    without any change of its own codes).

Imperméabilisation (``kind="imper"``): status CS1.1.1.1 or CS1.1.1.2 (§5), no threshold, as
sparte does. ``rule="cs1.1"`` (status = CS starts with ``CS1.1``) reproduces the 2021 sparte rule
of the SYBARVAL files (no threshold either).

Self-check (sparte's dbt test ``artif_flux_matches_artif_difference``): the net flux is compared to
the change of stock between the millésimes; ``check_ok`` is false above ``CHECK_TOLERANCE_HA``
(0.5 ha), and a warning is logged. With the stored status it is exact unless the two millésimes
cover different areas of the territory.

The A/N/F **origin** of newly artificialised land is the family (team heuristic, §6) of the
pieces before the change: an estimate, not a regulatory figure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ocsge_engine import nomenclature as nom
from ocsge_engine.territories import resolve_territory
from ocsge_engine.flows.overlay import overlay_pieces
from ocsge_engine.indicators.pair import Pair, check_years, load_pair
from ocsge_engine.indicators.thresholds import (  # BUILT_CS re-exported (sprawl)
    BUILT_CS,  # noqa: F401
    OFFICIAL_THRESHOLDS,
    Thresholds,
)

logger = logging.getLogger(__name__)

Kind = Literal["artif", "imper"]
Rule = Literal["decree", "cs1.1"]
SourceChoice = Literal["auto", "ign", "matrix"]
CHECK_TOLERANCE_HA = 0.5
OFFICIAL_METHOD = "decree_matrix_official_thresholds"
NAF_FAMILIES: tuple[str, ...] = ("agricole", "forestier", "naturel")
COMPOSITION_COLUMNS: tuple[str, ...] = ("code", "gain_ha", "loss_ha", "net_ha")


NO_THRESHOLDS = Thresholds(enabled=False)


@dataclass(frozen=True, eq=False)
class FluxResult:
    """Stock and fluxes of one status (artificialised or impermeable) between two millésimes.

    Attributes:
        kind: ``"artif"`` or ``"imper"``.
        method: ``"ign_artif"``, ``"decree_matrix_official_thresholds"``, ``"decree_matrix"``,
            ``"cs1.1"`` or ``"impermeable_cs"``.
        year_from: first millésime.
        year_to: second millésime.
        stock_from_ha: surface with the status at ``year_from``.
        stock_to_ha: same at ``year_to``.
        gross_gain_ha: surface that gained the status (thresholded status when it applies).
        gross_loss_ha: surface that lost it (de-artificialised, de-sealed).
        raw_gain_ha: gains of the pure matrix status (no thresholds).
        raw_loss_ha: losses of the pure matrix status.
        by_cs: columns ``code, gain_ha, loss_ha, net_ha``: gains by CS after the change, losses
            by CS before it.
        by_us: same by US.
        stock_by_cs: ``year_to`` stock by CS code (ha).
        stock_by_us: ``year_to`` stock by US code (ha).
        origin: for ``artif``, family before the change (``agricole``/``forestier``/``naturel``)
            → hectares of the counted gains (estimate); empty for ``imper``.
        thresholds: the thresholds applied (``None`` when none).
        gain_geometries: the counted gain pieces (for the sprawl indicators), EPSG:2154.
    """

    kind: Kind
    method: str
    year_from: int | None
    year_to: int | None
    stock_from_ha: float
    stock_to_ha: float
    gross_gain_ha: float
    gross_loss_ha: float
    raw_gain_ha: float
    raw_loss_ha: float
    by_cs: pd.DataFrame = field(repr=False)
    by_us: pd.DataFrame = field(repr=False)
    stock_by_cs: pd.Series = field(repr=False)
    stock_by_us: pd.Series = field(repr=False)
    origin: dict[str, float] = field(default_factory=dict)
    thresholds: Thresholds | None = None
    gain_geometries: npt.NDArray[np.object_] = field(
        default_factory=lambda: np.empty(0, dtype=object), repr=False)

    @property
    def net_ha(self) -> float:
        """Net flux: gains minus losses."""
        return self.gross_gain_ha - self.gross_loss_ha

    @property
    def stock_change_ha(self) -> float:
        """Change of stock between the millésimes."""
        return self.stock_to_ha - self.stock_from_ha

    @property
    def dropped_gain_ha(self) -> float:
        """Matrix gains minus official gains (negative when the thresholds add gains)."""
        return self.raw_gain_ha - self.gross_gain_ha

    @property
    def dropped_loss_ha(self) -> float:
        """Matrix losses minus official losses (negative when the thresholds add losses)."""
        return self.raw_loss_ha - self.gross_loss_ha

    @property
    def check_delta_ha(self) -> float:
        """Self-check: net flux minus stock change (0 when fluxes and stocks agree)."""
        return self.net_ha - self.stock_change_ha

    @property
    def check_ok(self) -> bool:
        """``|check_delta_ha| <= 0.5 ha`` (sparte's tolerance)."""
        return abs(self.check_delta_ha) <= CHECK_TOLERANCE_HA

    def to_dict(self) -> dict[str, Any]:
        """Plain-types view (JSON-ready)."""
        return {
            "kind": self.kind, "method": self.method, "year_from": self.year_from,
            "year_to": self.year_to, "stock_from_ha": self.stock_from_ha,
            "stock_to_ha": self.stock_to_ha, "stock_change_ha": self.stock_change_ha,
            "gross_gain_ha": self.gross_gain_ha, "gross_loss_ha": self.gross_loss_ha,
            "net_ha": self.net_ha, "raw_gain_ha": self.raw_gain_ha,
            "raw_loss_ha": self.raw_loss_ha, "dropped_gain_ha": self.dropped_gain_ha,
            "dropped_loss_ha": self.dropped_loss_ha,
            "check": {"delta_ha": self.check_delta_ha, "tolerance_ha": CHECK_TOLERANCE_HA,
                      "ok": self.check_ok},
            "thresholds": None if self.thresholds is None else {
                "min_patch_m2": self.thresholds.min_patch_m2,
                "min_built_m2": self.thresholds.min_built_m2},
            "origin": {"values_ha": self.origin, "estimate": True} if self.kind == "artif"
            else None,
            "by_cs": _records(self.by_cs), "by_us": _records(self.by_us),
            "stock_by_cs": {str(k): float(v) for k, v in self.stock_by_cs.items()},
            "stock_by_us": {str(k): float(v) for k, v in self.stock_by_us.items()},
        }


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"code": str(r.code), "gain_ha": float(r.gain_ha), "loss_ha": float(r.loss_ha),
             "net_ha": float(r.net_ha)} for r in table.itertuples()]


# --- status and thresholds (pure) ---------------------------------------------------------------

def status(cs: npt.ArrayLike, us: npt.ArrayLike, kind: Kind = "artif",
           rule: Rule = "decree") -> npt.NDArray[np.bool_]:
    """Status of each CS×US couple: artificialised (``kind="artif"``) or impermeable.

    >>> status(["CS2.2.1", "CS1.1.2.1"], ["US5", "US1.3"]).tolist()
    [True, False]
    >>> status(["CS1.1.2.1"], ["US1.3"], rule="cs1.1").tolist()
    [True]
    """
    cs_s = pd.Series(np.asarray(cs, dtype=object))
    if kind == "imper":
        return np.asarray(nom.is_impermeable(cs_s), dtype=bool)
    if rule == "cs1.1":
        return cs_s.str.startswith("CS1.1").fillna(False).to_numpy(dtype=bool)
    return np.asarray(nom.is_artificial(cs_s, pd.Series(np.asarray(us, dtype=object))), dtype=bool)


def patch_labels(geoms: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Contiguous patches: connected components of the graph "polygons that intersect".

    >>> patch_labels([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(5, 5, 6, 6)]
    ...              ).tolist()
    [0, 0, 1]
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.empty(0, dtype=np.int64)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(geoms), len(geoms)))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


# --- compositions -------------------------------------------------------------------------------

def _composition(gain_codes: npt.NDArray[np.object_], gain_ha: npt.NDArray[np.float64],
                 loss_codes: npt.NDArray[np.object_], loss_ha: npt.NDArray[np.float64],
                 kind: nom.Kind) -> pd.DataFrame:
    gains = pd.Series(gain_ha, index=pd.Index(gain_codes, dtype=object)).groupby(level=0).sum()
    losses = pd.Series(loss_ha, index=pd.Index(loss_codes, dtype=object)).groupby(level=0).sum()
    table = pd.DataFrame({"gain_ha": gains, "loss_ha": losses}).fillna(0.0)
    order = {c: k for k, c in enumerate(nom.get_nomenclature(kind).codes)}
    table = table.loc[sorted(table.index, key=lambda c: (order.get(c, len(order)), c))]
    table["net_ha"] = table["gain_ha"] - table["loss_ha"]
    return table.rename_axis("code").reset_index()[list(COMPOSITION_COLUMNS)]


def _stock_by(layer: gpd.GeoDataFrame, mask: npt.NDArray[np.bool_], column: str) -> pd.Series:
    area = pd.Series(np.asarray(layer.geometry.area, dtype=float)[mask] / 1e4,
                     index=pd.Index(np.asarray(layer[column], dtype=object)[mask]))
    return _code_sums(area, "cs" if column == "code_cs" else "us")


def _code_sums(area_ha: pd.Series, kind: nom.Kind) -> pd.Series:
    """Hectares summed by code (the index), in the nomenclature's order (unknown codes last)."""
    sums = area_ha.groupby(level=0).sum()
    order = {c: k for k, c in enumerate(nom.get_nomenclature(kind).codes)}
    return sums.loc[sorted(sums.index, key=lambda c: (order.get(c, len(order)), c))].rename(
        "area_ha")


def _origin(cs: npt.NDArray[np.object_], us: npt.NDArray[np.object_],
            area_ha: npt.NDArray[np.float64]) -> dict[str, float]:
    families = nom.family(pd.Series(cs), pd.Series(us), np.zeros(len(cs), dtype=bool))
    sums = pd.Series(area_ha, index=families).groupby(level=0).sum()
    return {f: float(sums.get(f, 0.0)) for f in NAF_FAMILIES}


# --- matrix method (pure, from a Pair) ----------------------------------------------------------

def flux_from_pair(pair: Pair, kind: Kind = "artif", rule: Rule = "decree",
                   thresholds: Thresholds = OFFICIAL_THRESHOLDS) -> FluxResult:
    """Stock and fluxes of a status from the overlay of two OCCUPATION_SOL layers.

    Args:
        pair: the two layers and their overlay pieces.
        kind: ``"artif"`` (decree matrix or CS1.1 rule) or ``"imper"``.
        rule: for ``artif``, ``"decree"`` (matrix) or ``"cs1.1"``.
        thresholds: the decree's thresholds (``artif`` with ``rule="decree"`` only; ignored
            otherwise). Official values: each polygon's stored status
            (:meth:`Pair.official_status`); ``enabled=False``: the matrix status.

    Returns:
        The :class:`FluxResult`; ``net_ha == stock_change_ha`` up to float rounding whenever
        both layers cover the same area (the overlay is exact and every figure reads the same
        per-polygon status). Computed once per pair and arguments (:meth:`Pair.derived`).
    """
    apply = kind == "artif" and rule == "decree" and thresholds.enabled
    key = ("flux", kind, None if kind == "imper" else rule, thresholds if apply else None)
    return pair.derived(key, lambda: _flux_from_pair(pair, kind, rule, thresholds))


def _flux_from_pair(pair: Pair, kind: Kind, rule: Rule, thresholds: Thresholds) -> FluxResult:
    apply = kind == "artif" and rule == "decree" and thresholds.enabled
    cs_f, us_f = pair.codes("from")
    cs_t, us_t = pair.codes("to")
    area_ha = pair.pieces.area_m2 / 1e4
    layer_from, layer_to = pair.layer_from, pair.layer_to
    raw_f, raw_t = status(cs_f, us_f, kind, rule), status(cs_t, us_t, kind, rule)
    if apply:
        poly_f = pair.official_status("from", thresholds)
        poly_t = pair.official_status("to", thresholds)
        s_f, s_t = poly_f[pair.pieces.index_from], poly_t[pair.pieces.index_to]
    else:
        poly_f = status(layer_from["code_cs"], layer_from["code_us"], kind, rule)
        poly_t = status(layer_to["code_cs"], layer_to["code_us"], kind, rule)
        s_f, s_t = raw_f, raw_t
    gain, loss = ~s_f & s_t, s_f & ~s_t
    g_ha, l_ha = area_ha[gain], area_ha[loss]
    method = ("impermeable_cs" if kind == "imper" else "cs1.1" if rule == "cs1.1"
              else OFFICIAL_METHOD if apply else "decree_matrix")
    result = FluxResult(
        kind=kind, method=method, year_from=pair.year_from, year_to=pair.year_to,
        stock_from_ha=float(layer_from.geometry.area.to_numpy()[poly_f].sum() / 1e4),
        stock_to_ha=float(layer_to.geometry.area.to_numpy()[poly_t].sum() / 1e4),
        gross_gain_ha=float(g_ha.sum()), gross_loss_ha=float(l_ha.sum()),
        raw_gain_ha=float(area_ha[~raw_f & raw_t].sum()),
        raw_loss_ha=float(area_ha[raw_f & ~raw_t].sum()),
        by_cs=_composition(cs_t[gain], g_ha, cs_f[loss], l_ha, "cs"),
        by_us=_composition(us_t[gain], g_ha, us_f[loss], l_ha, "us"),
        stock_by_cs=_stock_by(layer_to, poly_t, "code_cs"),
        stock_by_us=_stock_by(layer_to, poly_t, "code_us"),
        origin=_origin(cs_f[gain], us_f[gain], g_ha) if kind == "artif" else {},
        thresholds=thresholds if apply else None, gain_geometries=pair.piece_geometries(gain),
    )
    _log_check(result)
    return result


def sum_fluxes(parts: list[FluxResult]) -> FluxResult:
    """The flux of a union of disjoint territories, from the fluxes of its parts.

    Every figure of a :class:`FluxResult` is a sum of areas of polygons whose status is decided
    per polygon (the official thresholds at département scale, not per territory), so the flux
    of an EPCI is the sum of its communes' fluxes (up to float rounding): stocks, gains and
    losses add up, compositions add up code by code, gain geometries are put together (pieces
    cut at the communes' borders; :func:`patch_labels` joins them again).

    Raises:
        ValueError: no part, or parts of different kinds, methods, thresholds or millésimes.
    """
    if not parts:
        raise ValueError("sum_fluxes needs at least one part")
    first = parts[0]
    same = {(p.kind, p.method, p.thresholds, p.year_from, p.year_to) for p in parts}
    if len(same) != 1:
        raise ValueError(f"fluxes of different kinds, methods or years cannot be summed: {same}")

    def total(name: str) -> float:
        return float(sum(getattr(p, name) for p in parts))

    def composition(column: str, kind: nom.Kind) -> pd.DataFrame:
        tables = pd.concat([getattr(p, column) for p in parts], ignore_index=True)
        codes = tables["code"].to_numpy(dtype=object)
        return _composition(codes, tables["gain_ha"].to_numpy(dtype=float), codes,
                            tables["loss_ha"].to_numpy(dtype=float), kind)

    def stock(column: str, kind: nom.Kind) -> pd.Series:
        return _code_sums(pd.concat([getattr(p, column) for p in parts]), kind)

    return FluxResult(
        kind=first.kind, method=first.method, year_from=first.year_from, year_to=first.year_to,
        **{name: total(name) for name in ("stock_from_ha", "stock_to_ha", "gross_gain_ha",
                                          "gross_loss_ha", "raw_gain_ha", "raw_loss_ha")},
        by_cs=composition("by_cs", "cs"), by_us=composition("by_us", "us"),
        stock_by_cs=stock("stock_by_cs", "cs"), stock_by_us=stock("stock_by_us", "us"),
        origin={f: float(sum(p.origin.get(f, 0.0) for p in parts)) for f in NAF_FAMILIES}
        if first.kind == "artif" else {},
        thresholds=first.thresholds,
        gain_geometries=np.concatenate([np.asarray(p.gain_geometries, dtype=object)
                                        for p in parts]))


def _log_check(result: FluxResult) -> None:
    log = logger.info if result.check_ok else logger.warning
    log("%s %s->%s (%s): net flux %.3f ha vs stock change %.3f ha (delta %.3f ha)", result.kind,
        result.year_from, result.year_to, result.method, result.net_ha, result.stock_change_ha,
        result.check_delta_ha)


# --- IGN method (pure) --------------------------------------------------------------------------

def flux_from_ign(artif_from: gpd.GeoDataFrame, artif_to: gpd.GeoDataFrame,
                  artif_diff: gpd.GeoDataFrame, year_from: int | None = None,
                  year_to: int | None = None) -> FluxResult:
    """Artificialisation from IGN's ARTIFICIALISATION product (official thresholds applied by IGN).

    Args:
        artif_from: ``artif`` layer of the first millésime (``code_cs``, ``code_us``, ``artif``).
        artif_to: ``artif`` layer of the second millésime.
        artif_diff: ``artif_diff`` layer (``artificialisation`` = +1 / −1).
        year_from: first millésime, kept on the result.
        year_to: second millésime.

    Returns:
        The :class:`FluxResult` with ``method="ign_artif"``. Gains are broken down by the CS/US
        of ``artif_to`` under them, losses by those of ``artif_from``; the origin by the family
        of ``artif_from`` under the gains.
    """
    sign = np.asarray(artif_diff["artificialisation"], dtype=int)
    diff_geoms = artif_diff.geometry.to_numpy()
    gain_g, loss_g = diff_geoms[sign > 0], diff_geoms[sign < 0]
    g_cs, g_us, g_ha = _under(gain_g, artif_to)
    o_cs, o_us, o_ha = _under(gain_g, artif_from)
    l_cs, l_us, l_ha = _under(loss_g, artif_from)
    mask_f = np.asarray(artif_from["artif"], dtype=bool)
    mask_t = np.asarray(artif_to["artif"], dtype=bool)
    result = FluxResult(
        kind="artif", method="ign_artif", year_from=year_from, year_to=year_to,
        stock_from_ha=float(artif_from.geometry.area.to_numpy()[mask_f].sum() / 1e4),
        stock_to_ha=float(artif_to.geometry.area.to_numpy()[mask_t].sum() / 1e4),
        gross_gain_ha=float(shapely.area(gain_g).sum() / 1e4),
        gross_loss_ha=float(shapely.area(loss_g).sum() / 1e4),
        raw_gain_ha=float(shapely.area(gain_g).sum() / 1e4),
        raw_loss_ha=float(shapely.area(loss_g).sum() / 1e4),
        by_cs=_composition(g_cs, g_ha, l_cs, l_ha, "cs"),
        by_us=_composition(g_us, g_ha, l_us, l_ha, "us"),
        stock_by_cs=_stock_by(artif_to, mask_t, "code_cs"),
        stock_by_us=_stock_by(artif_to, mask_t, "code_us"),
        origin=_origin(o_cs, o_us, o_ha), thresholds=None,
        gain_geometries=np.asarray(gain_g, dtype=object),
    )
    _log_check(result)
    return result


def _under(geoms: npt.NDArray[np.object_], layer: gpd.GeoDataFrame
           ) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_], npt.NDArray[np.float64]]:
    """CS, US and area (ha) of the pieces of ``geoms`` over ``layer``."""
    if len(geoms) == 0 or len(layer) == 0:
        empty = np.empty(0, dtype=object)
        return empty, empty, np.empty(0)
    pieces = overlay_pieces(np.asarray(geoms, dtype=object), layer.geometry.to_numpy())
    cs = np.asarray(layer["code_cs"], dtype=object)[pieces.index_to]
    us = np.asarray(layer["code_us"], dtype=object)[pieces.index_to]
    return cs, us, pieces.area_m2 / 1e4


# --- store level --------------------------------------------------------------------------------

def ign_available(store: Any, territory: Any, year_from: int, year_to: int) -> bool:
    """True when the store holds IGN's ``artif`` layers of both years and the ``artif_diff``."""
    years = set(store.millesimes(territory, layer="artif"))
    periods = {str(p) for p in store.millesimes(territory, layer="artif_diff")}
    return {year_from, year_to} <= years and f"{year_from}_{year_to}" in periods


def artificialisation(store: Any, territory: Any, year_from: int, year_to: int,
                      source: SourceChoice = "auto", rule: Rule = "decree",
                      thresholds: Thresholds = OFFICIAL_THRESHOLDS, pair: Pair | None = None
                      ) -> FluxResult:
    """Artificialisation of a territory between two millésimes of the store.

    Args:
        store: an open :class:`~ocsge_engine.store.Store`.
        territory: a ``Territory`` or its id.
        year_from: first millésime.
        year_to: second millésime, strictly later.
        source: ``"ign"`` (IGN's ``artif``/``artif_diff`` layers), ``"matrix"`` (decree matrix
            on OCCUPATION_SOL) or ``"auto"`` (IGN when ingested, else the matrix).
        rule: for the matrix, ``"decree"`` or ``"cs1.1"``.
        thresholds: for the matrix with the decree rule.
        pair: an already computed :class:`Pair` of the same territory and years (saves the
            overlay).

    Returns:
        The :class:`FluxResult`; ``method`` says which source was used.

    Raises:
        MillesimeError: inverted years or a needed layer absent.
        TerritoryNotFoundError: unknown territory id.
    """
    resolved = resolve_territory(territory)
    year_from, year_to = int(year_from), int(year_to)
    use_ign = source == "ign" or (source == "auto"
                                  and ign_available(store, resolved, year_from, year_to))
    if use_ign:
        check_years(list(store.millesimes(resolved, layer="artif")), year_from, year_to)
        layers = [store.polygons(resolved, y, layer="artif",
                                 columns=["code_cs", "code_us", "artif"])
                  for y in (year_from, year_to)]
        diff = store.polygons(resolved, (year_from, year_to), layer="artif_diff",
                              columns=["artificialisation"])
        return flux_from_ign(layers[0], layers[1], diff, year_from, year_to)
    if pair is None and source == "auto" and rule == "decree" and thresholds == OFFICIAL_THRESHOLDS:
        # a commune precomputed by the national batch (or an EPCI, the sum of its communes):
        # its figures hold this very result (portrait_figures computes it with these arguments
        # on the same overlay)
        from ocsge_engine.batch.pages import precomputed_figures

        stored = precomputed_figures(store, resolved, year_from, year_to)
        if stored is not None:
            return stored.artif  # type: ignore[no-any-return]
    pair = pair if pair is not None else load_pair(store, resolved, year_from, year_to)
    return flux_from_pair(pair, "artif", rule, thresholds)


def impermeabilisation(store: Any, territory: Any, year_from: int, year_to: int,
                       pair: Pair | None = None) -> FluxResult:
    """Imperméabilisation (CS1.1.1.1 / CS1.1.1.2) of a territory between two millésimes.

    Raises:
        MillesimeError: inverted years or a millésime absent.
        TerritoryNotFoundError: unknown territory id.
    """
    pair = pair if pair is not None else load_pair(store, territory, year_from, year_to)
    return flux_from_pair(pair, "imper")
