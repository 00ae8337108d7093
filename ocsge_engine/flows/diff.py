"""Exchange matrices from IGN's DIFF (DIFFERENCE) layer.

The DIFF layer holds only the polygons whose CS or US changed between two millésimes, with both
couples (``code_cs_from, code_us_from, code_cs_to, code_us_to``). The unchanged land is not in
it, so it is recovered from the first millésime's stock, per CS×US couple::

    unchanged(c) = stock_from(c) - sum of DIFF areas whose first couple is c

Rows then sum to the first millésime's stock by construction; the columns are checked against the
second millésime's stock when it is known. IGN computes the DIFF on a corrected version of the
earlier millésime, so on real data this path can disagree with the overlay of the two delivered
OCCUPATION_SOL layers (see ``ExchangeMatrix.disagreement``).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from ocsge_engine.errors import SchemaError
from ocsge_engine.flows.levels import By
from ocsge_engine.flows.matrix import (
    STOCK_COLUMNS,
    TRANSITION_COLUMNS,
    ExchangeMatrix,
    Transitions,
    build_matrix,
    couple_stocks,
)

logger = logging.getLogger(__name__)

DIFF_COLUMNS: tuple[str, ...] = ("code_cs_from", "code_us_from", "code_cs_to", "code_us_to")
_KEYS_FROM = ["code_cs_from", "code_us_from"]


def as_couple_stocks(stocks: pd.DataFrame) -> pd.DataFrame:
    """Accept a couple-stock table (``code_cs, code_us, area_ha``) or an OCCUPATION_SOL layer.

    Raises:
        SchemaError: neither form.
    """
    if isinstance(stocks, gpd.GeoDataFrame) and "code_cs" in stocks and "code_us" in stocks:
        return couple_stocks(stocks)
    if all(c in stocks.columns for c in STOCK_COLUMNS):
        return stocks.groupby(["code_cs", "code_us"], as_index=False, sort=True)["area_ha"].sum()
    raise SchemaError(f"stocks need columns {STOCK_COLUMNS} or an occupation_sol layer",
                      "Les surfaces de référence du millésime sont incomplètes.")


def transitions_from_diff(gdf_diff: gpd.GeoDataFrame, stocks_from: pd.DataFrame,
                          stocks_to: pd.DataFrame | None = None) -> Transitions:
    """Couple-level transitions from the DIFF layer and the first millésime's stock.

    Args:
        gdf_diff: DIFF polygons clipped to the territory, columns :data:`DIFF_COLUMNS`.
        stocks_from: couple stocks of the first millésime (table or OCCUPATION_SOL layer).
        stocks_to: couple stocks of the second millésime, or ``None`` (columns then unchecked).

    Returns:
        :class:`Transitions` with ``source="diff"``; the diagonal holds the unchanged land.

    Raises:
        SchemaError: the DIFF layer lacks a column.
    """
    missing = [c for c in DIFF_COLUMNS if c not in gdf_diff.columns]
    if missing:
        raise SchemaError(f"diff layer lacks columns {missing}",
                          f"La couche des différences n'a pas les champs {', '.join(missing)}.")
    from_stocks = as_couple_stocks(stocks_from)
    to_stocks = None if stocks_to is None else as_couple_stocks(stocks_to)
    changed = pd.DataFrame({c: np.asarray(gdf_diff[c], dtype=object) for c in DIFF_COLUMNS})
    changed["area_ha"] = np.asarray(gdf_diff.geometry.area, dtype=float) / 1e4
    changed = changed.groupby(list(DIFF_COLUMNS), as_index=False, sort=False)["area_ha"].sum()
    leaving = changed.groupby(_KEYS_FROM)["area_ha"].sum()
    stock = from_stocks.set_index(["code_cs", "code_us"])["area_ha"]
    stock.index = stock.index.set_names(_KEYS_FROM)
    unchanged = stock.sub(leaving, fill_value=0.0).reset_index()
    unchanged["code_cs_to"] = unchanged["code_cs_from"]
    unchanged["code_us_to"] = unchanged["code_us_from"]
    table = pd.concat([changed, unchanged[list(TRANSITION_COLUMNS)]], ignore_index=True)
    table = table.groupby(list(DIFF_COLUMNS), as_index=False, sort=True)["area_ha"].sum()
    table = table[table["area_ha"] != 0.0].reset_index(drop=True)
    logger.debug("diff: %d changed couple pairs, %.3f ha changed", len(changed),
                 float(changed["area_ha"].sum()))
    return Transitions(table, from_stocks, to_stocks, "diff")


def exchange_matrix_from_diff(gdf_diff: gpd.GeoDataFrame, stocks_from: pd.DataFrame,
                              stocks_to: pd.DataFrame | None, by: By = "anf",
                              year_from: int | None = None, year_to: int | None = None
                              ) -> ExchangeMatrix:
    """Exchange matrix from the DIFF layer (pure compute, no store).

    Args:
        gdf_diff: DIFF polygons clipped to the territory.
        stocks_from: first millésime: couple stocks or its OCCUPATION_SOL layer.
        stocks_to: second millésime, same forms, or ``None`` (columns unchecked).
        by: level of the classes.
        year_from: first millésime, kept on the result.
        year_to: second millésime.

    Returns:
        A checked :class:`ExchangeMatrix` with ``source="diff"``.

    Raises:
        FlowCheckError: the DIFF layer moves more area out of a class than its stock, or the
            columns do not sum to the second millésime's stock.
    """
    return build_matrix(transitions_from_diff(gdf_diff, stocks_from, stocks_to), by,
                        year_from, year_to)
