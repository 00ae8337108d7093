"""Every commune's exchange matrices and indicators for one département and one millésime pair.

Pure compute over in-memory layers (the task in :mod:`ocsge_engine.batch.flows` does the I/O).
For each commune, the two layers are cut from the département partitions
(:mod:`ocsge_engine.batch.communes`), overlaid **once** (:func:`ocsge_engine.indicators.pair_from_layers`,
the flows engine's exact overlay) and everything derives from that overlay with the engine's own
functions: :meth:`Pair.matrix` (:func:`ocsge_engine.flows.matrix.build_matrix`, self-checked) for
each level, :func:`flux_from_pair` for artificialisation (decree matrix + thresholds) and
imperméabilisation, :func:`sprawl_from_pair`, :func:`per_inhabitant`.

Three tables come out (one row set per commune):

* ``flows``: ``commune, by, code_from, code_to, area_ha`` (the tidy :attr:`ExchangeMatrix.table`);
* ``stocks``: ``commune, by, code, stock_from_ha, stock_to_ha``;
* ``indicators``: one row per commune (:data:`INDICATOR_COLUMNS`); ``error`` holds the English
  message when the commune failed (e.g. a flow self-check), its other tables are then empty.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from ocsge_engine.batch.communes import CommuneSet, assign, clip_layer
from ocsge_engine.errors import OcsgeError
from ocsge_engine.flows.levels import validate_by
from ocsge_engine.indicators.artif import FluxResult, Thresholds, flux_from_pair
from ocsge_engine.indicators.pair import Pair, pair_from_layers
from ocsge_engine.indicators.population import per_inhabitant
from ocsge_engine.indicators.sprawl import SprawlOptions, sprawl_from_pair

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
# (code, pair, decree artificialisation) -> rows of the pages table (ocsge_engine.batch.pages)
PagesHook = Callable[[str, Pair, FluxResult], list[dict[str, Any]]]
# The dashboard's levels; ``cs_us`` (couples) lets a reader regroup to any other level.
DEFAULT_LEVELS: tuple[str, ...] = ("anf", "artif", "imper", "cs4", "us3", "cs_us")
NAF_FAMILIES: tuple[str, ...] = ("agricole", "forestier", "naturel")
FLOW_COLUMNS: tuple[str, ...] = ("commune", "by", "code_from", "code_to", "area_ha")
STOCK_COLUMNS: tuple[str, ...] = ("commune", "by", "code", "stock_from_ha", "stock_to_ha")
_SPRAWL_FIELDS: tuple[str, ...] = (
    "new_patches", "contiguous_share", "isolated_built_count", "isolated_built_ha",
    "mean_distance_to_core_m", "built_density", "compactness_to")
INDICATOR_COLUMNS: tuple[str, ...] = (
    "commune", "name", "area_ha", "covered_from_ha", "covered_to_ha", "coverage_share",
    "n_polygons_from", "n_polygons_to",
    "artif_method", "artif_stock_from_ha", "artif_stock_to_ha", "artif_gross_gain_ha",
    "artif_gross_loss_ha", "artif_net_ha", "artif_raw_gain_ha", "artif_raw_loss_ha",
    "artif_check_ok", *(f"artif_origin_{f}_ha" for f in NAF_FAMILIES),
    "imper_stock_from_ha", "imper_stock_to_ha", "imper_gross_gain_ha", "imper_gross_loss_ha",
    "imper_net_ha",
    "pop_stock_year", "pop_stock", "pop_change", "pop_proxy",
    "artif_m2_per_inhabitant", "net_m2_per_new_inhabitant",
    *(f"sprawl_{f}" for f in _SPRAWL_FIELDS), "error",
)
_INDICATOR_DTYPES: dict[str, str] = {
    "commune": "string", "name": "string", "artif_method": "string", "error": "string",
    "n_polygons_from": "Int64", "n_polygons_to": "Int64", "pop_stock_year": "Int64",
    "pop_stock": "Int64", "pop_change": "Int64", "sprawl_new_patches": "Int64",
    "sprawl_isolated_built_count": "Int64", "artif_check_ok": "boolean", "pop_proxy": "boolean",
}


@dataclass(frozen=True)
class BatchOptions:
    """What each département task computes (hashable; part of every partition's manifest).

    Attributes:
        levels: ``by`` levels of the exchange matrices kept (the dashboard's choices).
        thresholds: decree thresholds of the artificialisation (matrix method).
        sprawl: also compute the sprawl indicators (about as costly as the rest together).
        sprawl_options: their distances.
        communes: compute only these INSEE codes (partial runs, tests); ``None`` = all. Part of
            the fingerprint: a partial partition is stale for a full run.
        pages: also store the objects the pages read (:mod:`ocsge_engine.batch.pages`).
    """

    levels: tuple[str, ...] = DEFAULT_LEVELS
    thresholds: Thresholds = Thresholds()
    sprawl: bool = True
    sprawl_options: SprawlOptions = SprawlOptions()
    communes: tuple[str, ...] | None = None
    pages: bool = True

    def __post_init__(self) -> None:
        for by in self.levels:
            validate_by(by)

    def fingerprint(self) -> str:
        """SHA-256 of the options (a change makes every partition stale)."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, eq=False)
class DepartementTables:
    """The three result tables of one département and pair.

    Attributes:
        flows: :data:`FLOW_COLUMNS`.
        stocks: :data:`STOCK_COLUMNS`.
        indicators: :data:`INDICATOR_COLUMNS`.
        n_polygons: polygons of the two partitions read (first, second millésime).
        n_failed: communes whose ``error`` is set.
        pages: rows of the pages table (``commune, kind, payload``) when a pages hook was given.
    """

    flows: pd.DataFrame = field(repr=False)
    stocks: pd.DataFrame = field(repr=False)
    indicators: pd.DataFrame = field(repr=False)
    n_polygons: tuple[int, int] = (0, 0)
    n_failed: int = 0
    pages: list[dict[str, Any]] = field(default_factory=list, repr=False)


def _flux_fields(prefix: str, flux: FluxResult) -> dict[str, Any]:
    return {f"{prefix}_stock_from_ha": flux.stock_from_ha, f"{prefix}_stock_to_ha": flux.stock_to_ha,
            f"{prefix}_gross_gain_ha": flux.gross_gain_ha,
            f"{prefix}_gross_loss_ha": flux.gross_loss_ha, f"{prefix}_net_ha": flux.net_ha}


def _commune_tables(pair: Pair, code: str, options: BatchOptions
                    ) -> tuple[list[pd.DataFrame], list[pd.DataFrame], dict[str, Any]]:
    """Flows, stocks and the indicator fields of one commune's pair."""
    flows, stocks = [], []
    for by in options.levels:
        matrix = pair.matrix(by)  # type: ignore[arg-type]
        flows.append(matrix.table.assign(commune=code, by=by))
        both = pd.concat([matrix.stocks_from.rename("stock_from_ha"),
                          matrix.stocks_to.rename("stock_to_ha")], axis=1).fillna(0.0)
        stocks.append(both.rename_axis("code").reset_index().assign(commune=code, by=by))
    artif = flux_from_pair(pair, "artif", "decree", options.thresholds)
    imper = flux_from_pair(pair, "imper")
    row: dict[str, Any] = {"artif_method": artif.method, **_flux_fields("artif", artif),
                           "artif_raw_gain_ha": artif.raw_gain_ha,
                           "artif_raw_loss_ha": artif.raw_loss_ha, "artif_check_ok": artif.check_ok,
                           **{f"artif_origin_{f}_ha": artif.origin.get(f, 0.0) for f in NAF_FAMILIES},
                           **_flux_fields("imper", imper)}
    if options.sprawl:
        sprawl = sprawl_from_pair(pair, artif, options.sprawl_options).to_dict()
        row.update({f"sprawl_{f}": sprawl[f] for f in _SPRAWL_FIELDS})
    return flows, stocks, row | {"_artif": artif}


def _population_fields(artif: FluxResult, series: dict[int, int], year_from: int,
                       year_to: int) -> dict[str, Any]:
    ratios = per_inhabitant(artif.stock_to_ha, artif.net_ha, year_from, year_to, series)
    basis = ratios.basis
    return {"pop_stock_year": None if basis is None else basis.stock_year,
            "pop_stock": None if basis is None else basis.stock_population,
            "pop_change": None if basis is None else basis.change,
            "pop_proxy": None if basis is None else basis.proxy,
            "artif_m2_per_inhabitant": ratios.artif_m2_per_inhabitant,
            "net_m2_per_new_inhabitant": ratios.net_m2_per_new_inhabitant}


def departement_tables(layer_from: gpd.GeoDataFrame, layer_to: gpd.GeoDataFrame,
                       communes: CommuneSet, year_from: int, year_to: int,
                       options: BatchOptions = BatchOptions(),
                       progress: Progress | None = None,
                       pages: PagesHook | None = None) -> DepartementTables:
    """Flows, stocks and indicators of every commune touched by the two département layers.

    Args:
        layer_from: the département's OCCUPATION_SOL partition of ``year_from`` (``code_cs``,
            ``code_us``, geometry in the communes' CRS), read whole.
        layer_to: same for ``year_to``.
        communes: the département's communes.
        year_from: first millésime.
        year_to: second millésime.
        options: levels and indicator options.
        progress: optional callback ``(fraction, message)``.
        pages: optional hook run on each commune's pair and artificialisation (the batch task
            passes :func:`ocsge_engine.batch.pages.commune_rows` bound to the store); its rows
            go to :attr:`DepartementTables.pages`.

    Returns:
        The tables; communes that no polygon of either layer reaches are left out. Each
        commune's rows equal what ``exchange_matrix(store, "commune:CODE", …)`` and the
        indicators functions return for it (same clip, same overlay, same aggregation).

    Notes:
        Memory holds both département layers plus one commune's pieces at a time; time is one
        exact overlay per commune (identical polygons short-circuited), plus the sprawl buffers
        when enabled.
    """
    layer_from, layer_to = layer_from.reset_index(drop=True), layer_to.reset_index(drop=True)
    idx_from = assign(layer_from.geometry.to_numpy(), communes.geometries)
    idx_to = assign(layer_to.geometry.to_numpy(), communes.geometries)
    wanted = set(options.communes) if options.communes is not None else None
    todo = [i for i in range(len(communes.codes))
            if (len(idx_from[i]) or len(idx_to[i]))
            and (wanted is None or communes.codes[i] in wanted)]
    flows: list[pd.DataFrame] = []
    stocks: list[pd.DataFrame] = []
    rows: list[dict[str, Any]] = []
    page_rows: list[dict[str, Any]] = []
    for n, i in enumerate(todo, start=1):
        code, geometry = communes.codes[i], communes.geometries[i]
        lf = clip_layer(layer_from, idx_from[i], geometry)
        lt = clip_layer(layer_to, idx_to[i], geometry)
        if len(lf) == 0 and len(lt) == 0:
            continue  # only touches the commune's boundary
        row: dict[str, Any] = {
            "commune": code, "name": communes.names[i], "area_ha": float(geometry.area) / 1e4,
            "covered_from_ha": float(lf.geometry.area.sum()) / 1e4,
            "covered_to_ha": float(lt.geometry.area.sum()) / 1e4,
            "n_polygons_from": len(lf), "n_polygons_to": len(lt)}
        row["coverage_share"] = min(1.0, row["covered_to_ha"] / row["area_ha"]) \
            if row["area_ha"] > 0 else 0.0
        try:
            pair = pair_from_layers(lf, lt, year_from, year_to)
            f, s, fields = _commune_tables(pair, code, options)
            artif = fields.pop("_artif")
            row |= fields | _population_fields(artif, communes.populations[i], year_from, year_to)
            if pages is not None:
                page_rows += pages(code, pair, artif)
            flows += f
            stocks += s
        except OcsgeError as err:  # one inconsistent commune must not sink the département
            logger.warning("commune %s %d->%d failed: %s", code, year_from, year_to, err)
            row["error"] = str(err)
        rows.append(row)
        if progress is not None:
            progress(n / len(todo), f"commune {code}")
    return DepartementTables(
        flows=_frame(flows, FLOW_COLUMNS, {"area_ha": float}),
        stocks=_frame(stocks, STOCK_COLUMNS, {"stock_from_ha": float, "stock_to_ha": float}),
        indicators=_indicator_frame(rows),
        n_polygons=(len(layer_from), len(layer_to)),
        n_failed=sum(1 for r in rows if r.get("error")), pages=page_rows)


def _indicator_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Indicator rows with fixed dtypes, so that every partition has the same Parquet schema."""
    frame = pd.DataFrame(rows).reindex(columns=list(INDICATOR_COLUMNS))
    dtypes = {c: _INDICATOR_DTYPES.get(c, "float64") for c in INDICATOR_COLUMNS}
    return frame.astype(dtypes)


def _frame(parts: list[pd.DataFrame], columns: tuple[str, ...],
           floats: dict[str, type]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=floats.get(c, object)) for c in columns})
    frame = pd.concat(parts, ignore_index=True)[list(columns)]
    return frame.astype({c: (float if c in floats else object) for c in columns})
