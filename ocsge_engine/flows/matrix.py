"""Exchange matrices: tidy table, pivot and row/column self-check.

Two value objects:

* :class:`Transitions`: the finest result of both paths (overlay, DIFF layer), area moved from each
  CS×US couple of the first millésime to each couple of the second, with the independent couple
  stocks of both millésimes. Any level (``by``) is an aggregation of it, so switching level never
  touches geometry again.
* :class:`ExchangeMatrix`: a :class:`Transitions` aggregated at one level. Its guarantee, checked
  on construction by :func:`build_matrix`: every row sums to the first millésime's stock of that
  class and every column to the second's, with a relative error ≤ ``RTOL`` (1e-6), and no cell
  is negative.

No French text here: labels and colours come from :mod:`ocsge_engine.nomenclature` in ``charts``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from ocsge_engine.errors import FlowCheckError
from ocsge_engine.flows.levels import By, class_order, classify, validate_by

logger = logging.getLogger(__name__)

Source = Literal["overlay", "diff"]
TIDY_COLUMNS: tuple[str, str, str] = ("code_from", "code_to", "area_ha")
TRANSITION_COLUMNS: tuple[str, ...] = ("code_cs_from", "code_us_from", "code_cs_to", "code_us_to",
                                       "area_ha")
STOCK_COLUMNS: tuple[str, ...] = ("code_cs", "code_us", "area_ha")
RTOL = 1e-6
ATOL_HA = 1e-6  # 0.01 m²: floor for classes whose stock is a sliver


@dataclass(frozen=True, eq=False)
class Transitions:
    """Areas moved between CS×US couples of two millésimes, with both couple stocks.

    Attributes:
        table: columns ``code_cs_from, code_us_from, code_cs_to, code_us_to, area_ha``; one row
            per couple pair with a positive area (the diagonal, unchanged land, included).
        stocks_from: columns ``code_cs, code_us, area_ha``: stock of each couple, first millésime.
        stocks_to: same for the second millésime, or ``None`` when it is unknown (DIFF path
            without the second OCCUPATION_SOL layer; the column check is then skipped).
        source: ``"overlay"`` or ``"diff"``.
    """

    table: pd.DataFrame
    stocks_from: pd.DataFrame
    stocks_to: pd.DataFrame | None
    source: Source


@dataclass(frozen=True, eq=False)
class ExchangeMatrix:
    """Exchange matrix between two millésimes at one level.

    Attributes:
        table: tidy table ``code_from, code_to, area_ha`` (positive cells, canonical order).
        by: level of the classes.
        year_from: first millésime (``None`` for pure computations without years).
        year_to: second millésime.
        source: ``"overlay"`` (exact intersection of both OCCUPATION_SOL layers) or ``"diff"``
            (IGN DIFF layer plus the first millésime's stock).
        stocks_from: stock (ha) of each class at ``year_from``; rows sum to it.
        stocks_to: stock (ha) of each class at ``year_to``; columns sum to it.
        transitions: the couple-level result this matrix aggregates (for :meth:`regroup`).
        disagreement: when the other path was also computed, per cell ``code_from, code_to,
            area_ha, area_ha_other, delta_ha`` (this minus other), else ``None``.
    """

    table: pd.DataFrame
    by: By
    year_from: int | None
    year_to: int | None
    source: Source
    stocks_from: pd.Series
    stocks_to: pd.Series
    transitions: Transitions | None = field(default=None, repr=False)
    disagreement: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def classes(self) -> list[str]:
        """Class codes present in either millésime or in a flow, canonical order."""
        codes = list(self.stocks_from.index) + list(self.stocks_to.index)
        codes += list(self.table["code_from"]) + list(self.table["code_to"])
        return class_order(codes, self.by)

    def pivot(self) -> pd.DataFrame:
        """Square matrix (ha): index ``code_from``, columns ``code_to``, zeros where no flow.

        Rows sum to :attr:`stocks_from`, columns to :attr:`stocks_to`.
        """
        classes = self.classes
        wide = self.table.pivot_table(index="code_from", columns="code_to", values="area_ha",
                                      aggfunc="sum", fill_value=0.0)
        wide = wide.reindex(index=classes, columns=classes, fill_value=0.0).astype(float)
        wide.index.name, wide.columns.name = "code_from", "code_to"
        return wide

    def check(self, rtol: float = RTOL) -> None:
        """Verify rows against :attr:`stocks_from`, columns against :attr:`stocks_to`, no negative cell.

        Raises:
            FlowCheckError: a row, column or cell is off by more than ``rtol`` × stock (floor
                ``ATOL_HA``); the message lists the worst classes.
        """
        problems = _sum_problems(_sum_by(self.table["code_from"], self.table["area_ha"]),
                                 self.stocks_from, "row", rtol)
        problems += _sum_problems(_sum_by(self.table["code_to"], self.table["area_ha"]),
                                  self.stocks_to, "column", rtol)
        floor = rtol * max(float(self.stocks_from.sum()), 1.0) + ATOL_HA
        negative = self.table[self.table["area_ha"] < -floor]
        problems += [f"cell {r.code_from}->{r.code_to} = {r.area_ha:.6f} ha < 0"
                     for r in negative.itertuples()]
        if problems:
            period = f"{self.year_from}->{self.year_to}" if self.year_from else "pair"
            message = (f"exchange matrix {period} by={self.by} source={self.source} fails its "
                       f"self-check: {'; '.join(problems[:6])}")
            logger.error("%s", message)
            raise FlowCheckError(message)

    def regroup(self, by: By) -> ExchangeMatrix:
        """The same flows at another level, without recomputing geometry.

        Raises:
            ValueError: the matrix carries no couple-level :attr:`transitions`.
        """
        if self.transitions is None:
            raise ValueError("this ExchangeMatrix has no couple-level transitions to regroup")
        return build_matrix(self.transitions, by, self.year_from, self.year_to)

    def losses(self) -> pd.Series:
        """Area (ha) leaving each class (row sum without the diagonal)."""
        off = self.table[self.table["code_from"] != self.table["code_to"]]
        return off.groupby("code_from")["area_ha"].sum().reindex(self.classes, fill_value=0.0)

    def gains(self) -> pd.Series:
        """Area (ha) entering each class (column sum without the diagonal)."""
        off = self.table[self.table["code_from"] != self.table["code_to"]]
        return off.groupby("code_to")["area_ha"].sum().reindex(self.classes, fill_value=0.0)

    def net(self) -> pd.Series:
        """Net flux (ha) of each class: gains minus losses (equals ``stocks_to - stocks_from``)."""
        return (self.gains() - self.losses()).rename("net_ha")

    def max_disagreement_ha(self) -> float | None:
        """Largest absolute cell difference (ha) with the other path, if it was computed."""
        if self.disagreement is None:
            return None
        return float(self.disagreement["delta_ha"].abs().max()) if len(self.disagreement) else 0.0

    def with_disagreement(self, other: ExchangeMatrix) -> ExchangeMatrix:
        """Return a copy carrying :func:`compare_matrices` against ``other``."""
        return replace(self, disagreement=compare_matrices(self, other))


def _sum_by(keys: Iterable[Any], values: Iterable[float]) -> dict[Any, float]:
    """Sum of ``values`` per key (first-seen key order), each sum correctly rounded (``fsum``);
    rows whose key is missing are left out, as ``groupby`` drops them.

    Matrices are built from a few hundred couple rows many times per page and per batch: plain
    Python beats a pandas ``groupby`` there by an order of magnitude.
    """
    groups: dict[Any, list[float]] = {}
    for key, value in zip(keys, values):
        if not _missing(key):  # as groupby's dropna: a row without a class counts nowhere
            groups.setdefault(key, []).append(value)
    return {key: math.fsum(group) for key, group in groups.items()}


def _missing(key: Any) -> bool:
    """A missing class (``None``, NaN), or a cell with one."""
    if isinstance(key, tuple):
        return any(_missing(part) for part in key)
    return key is None or (isinstance(key, float) and math.isnan(key))


def _sum_problems(sums: dict[str, float], stocks: pd.Series, what: str, rtol: float) -> list[str]:
    want = dict(zip(stocks.index.tolist(), stocks.to_numpy(dtype=float).tolist()))
    errors: dict[str, tuple[float, float, float]] = {}
    for code in dict.fromkeys([*sums, *want]):
        got, expected = sums.get(code, 0.0), want.get(code, 0.0)
        error = abs(got - expected)
        if error > rtol * abs(expected) + ATOL_HA:
            errors[code] = (error, got, expected)
    order = sorted(errors, key=lambda code: -errors[code][0])
    return [f"{what} {code}: {errors[code][1]:.6f} ha vs stock {errors[code][2]:.6f} ha"
            for code in order]


def empty_transitions(source: Source) -> Transitions:
    """Transitions of an empty territory (no polygon in either millésime)."""
    table = pd.DataFrame({c: pd.Series(dtype=float if c == "area_ha" else object)
                          for c in TRANSITION_COLUMNS})
    stocks = pd.DataFrame({c: pd.Series(dtype=float if c == "area_ha" else object)
                           for c in STOCK_COLUMNS})
    return Transitions(table, stocks, stocks.copy(), source)


def sum_transitions(parts: list[Transitions]) -> Transitions:
    """Transitions of a union of disjoint territories: the sum of its parts' transitions.

    Each couple pair's area and each couple's stock add up (an EPCI from its communes).

    Raises:
        ValueError: no part, or parts of different sources.
    """
    if not parts:
        raise ValueError("sum_transitions needs at least one part")
    sources = {p.source for p in parts}
    if len(sources) != 1:
        raise ValueError(f"transitions of different sources cannot be summed: {sources}")

    def summed(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
        frame = pd.concat(frames, ignore_index=True)
        return (frame.groupby(keys, as_index=False, sort=True, dropna=False)["area_ha"].sum()
                .astype({k: object for k in keys}))

    stocks_to = ([p.stocks_to for p in parts] if all(p.stocks_to is not None for p in parts)
                 else None)
    couple = list(STOCK_COLUMNS[:2])
    return Transitions(summed([p.table for p in parts], list(TRANSITION_COLUMNS[:4])),
                       summed([p.stocks_from for p in parts], couple),
                       None if stocks_to is None else summed(stocks_to, couple),
                       sources.pop())


def couple_stocks(gdf: pd.DataFrame) -> pd.DataFrame:
    """Stock (ha) of each CS×US couple of an OCCUPATION_SOL layer.

    Args:
        gdf: GeoDataFrame with ``code_cs``, ``code_us`` and polygon geometries in metres.

    Returns:
        Columns ``code_cs, code_us, area_ha``; one row per couple present.
    """
    return couple_stocks_from_areas(gdf, np.asarray(gdf.geometry.area, dtype=float))


def couple_stocks_from_areas(codes: pd.DataFrame, area_m2: np.ndarray) -> pd.DataFrame:
    """Stock (ha) of each CS×US couple, from the codes and the area (m²) of each polygon.

    >>> couple_stocks_from_areas(pd.DataFrame({"code_cs": ["CS1", "CS1"],
    ...                                        "code_us": ["US1", "US1"]}), np.array([5e3, 1e4]))
      code_cs code_us  area_ha
    0     CS1     US1      1.5
    """
    area_ha = np.asarray(area_m2, dtype=float) / 1e4
    ids, couples = _factorize_couples(codes)
    known = ids >= 0  # a missing code has no couple (as groupby drops it)
    sums = np.bincount(ids[known], weights=area_ha[known], minlength=len(couples))
    frame = couples.assign(area_ha=sums)
    return frame.sort_values(["code_cs", "code_us"], kind="stable").reset_index(drop=True)


def class_stocks(stocks: pd.DataFrame, by: By) -> pd.Series:
    """Aggregate a couple-stock table to the classes of ``by`` (Series ``area_ha`` by class)."""
    if stocks.empty:
        return pd.Series(dtype=float, name="area_ha")
    sums = _sum_by(classify(stocks["code_cs"], stocks["code_us"], by).tolist(),
                   stocks["area_ha"].to_numpy(dtype=float).tolist())
    return _ordered_series(sums, by)


def _ordered_series(sums: dict[str, float], by: By) -> pd.Series:
    """``sums`` as a Series ``area_ha`` indexed by class, in the canonical order of ``by``."""
    order = class_order(list(sums), by)
    return pd.Series([sums[code] for code in order], index=pd.Index(order),
                     dtype=float, name="area_ha")


def build_matrix(transitions: Transitions, by: By, year_from: int | None = None,
                 year_to: int | None = None, check: bool = True) -> ExchangeMatrix:
    """Aggregate couple-level transitions at level ``by`` and self-check the result.

    Args:
        transitions: couple-level result of the overlay or DIFF path.
        by: level of the classes.
        year_from: first millésime, kept on the result.
        year_to: second millésime.
        check: run :meth:`ExchangeMatrix.check` (raises :class:`FlowCheckError`).

    Returns:
        The matrix; rows sum to the first millésime's class stocks, columns to the second's.
    """
    validate_by(by)
    table = transitions.table
    stocks_from = class_stocks(transitions.stocks_from, by)
    tidy = _tidy(table, by)
    if transitions.stocks_to is not None:
        stocks_to = class_stocks(transitions.stocks_to, by)
    else:  # DIFF path without the second layer: the column sums are the only estimate
        logger.warning("no stock for the second millesime: columns of the matrix are unchecked")
        stocks_to = _ordered_series(_sum_by(tidy["code_to"], tidy["area_ha"]), by)
    matrix = ExchangeMatrix(tidy, by, year_from, year_to, transitions.source, stocks_from,
                            stocks_to, transitions)
    if check:
        matrix.check()
    return matrix


def _tidy(table: pd.DataFrame, by: By) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame({"code_from": pd.Series(dtype=object),
                             "code_to": pd.Series(dtype=object),
                             "area_ha": pd.Series(dtype=float)})
    sums = _sum_by(zip(classify(table["code_cs_from"], table["code_us_from"], by).tolist(),
                       classify(table["code_cs_to"], table["code_us_to"], by).tolist()),
                   table["area_ha"].to_numpy(dtype=float).tolist())
    cells = [(cell, area) for cell, area in sums.items() if area != 0.0]
    rank = {code: i for i, code in enumerate(class_order(
        [code for (pair, _) in cells for code in pair], by))}
    cells.sort(key=lambda item: (rank[item[0][0]], rank[item[0][1]]))
    return pd.DataFrame({"code_from": pd.Series([c[0][0] for c in cells], dtype=object),
                         "code_to": pd.Series([c[0][1] for c in cells], dtype=object),
                         "area_ha": pd.Series([c[1] for c in cells], dtype=float)})


def compare_matrices(a: ExchangeMatrix, b: ExchangeMatrix) -> pd.DataFrame:
    """Per-cell disagreement of two matrices at the same level.

    Returns:
        Columns ``code_from, code_to, area_ha`` (of ``a``), ``area_ha_other`` (of ``b``) and
        ``delta_ha = area_ha - area_ha_other``, over the union of cells, sorted by ``|delta_ha|``
        descending.

    Raises:
        ValueError: the levels differ.
    """
    if a.by != b.by:
        raise ValueError(f"cannot compare matrices by={a.by} and by={b.by}")
    merged = a.table.merge(b.table, on=["code_from", "code_to"], how="outer",
                           suffixes=("", "_other")).fillna({"area_ha": 0.0, "area_ha_other": 0.0})
    merged["delta_ha"] = merged["area_ha"] - merged["area_ha_other"]
    order = np.argsort(-merged["delta_ha"].abs().to_numpy(), kind="stable")
    return merged.iloc[order].reset_index(drop=True)


def transitions_from_pieces(codes_from: pd.DataFrame, codes_to: pd.DataFrame,
                            index_from: np.ndarray, index_to: np.ndarray,
                            area_m2: np.ndarray) -> pd.DataFrame:
    """Sum overlay pieces into a couple-level transition table.

    Args:
        codes_from: ``code_cs``, ``code_us`` of the first layer (positional).
        codes_to: same for the second layer.
        index_from: position in ``codes_from`` of each piece.
        index_to: position in ``codes_to`` of each piece.
        area_m2: area of each piece (m²).

    Returns:
        Columns of :data:`TRANSITION_COLUMNS`, positive areas only.

    Notes:
        Vectorised: couples are factorised to integers and pieces summed with one
        ``np.bincount``, so the cost is linear in the number of pieces.
    """
    cf, couples_from = _factorize_couples(codes_from)
    ct, couples_to = _factorize_couples(codes_to)
    n_to = max(len(couples_to), 1)
    key = cf[index_from].astype(np.int64) * n_to + ct[index_to]
    sums = np.bincount(key, weights=area_m2, minlength=len(couples_from) * n_to)
    nonzero = np.flatnonzero(sums > 0.0)
    kf, kt = np.divmod(nonzero, n_to)
    return pd.DataFrame({
        "code_cs_from": couples_from["code_cs"].to_numpy(dtype=object)[kf],
        "code_us_from": couples_from["code_us"].to_numpy(dtype=object)[kf],
        "code_cs_to": couples_to["code_cs"].to_numpy(dtype=object)[kt],
        "code_us_to": couples_to["code_us"].to_numpy(dtype=object)[kt],
        "area_ha": sums[nonzero] / 1e4,
    })


def _factorize_couples(codes: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer id of each row's (code_cs, code_us) couple, and the couples table."""
    # Factorising the columns themselves avoids converting Arrow-backed strings row by row.
    cs_ids, cs_uniques = pd.factorize(pd.Series(codes["code_cs"]))
    us_ids, us_uniques = pd.factorize(pd.Series(codes["code_us"]))
    known = (cs_ids >= 0) & (us_ids >= 0)
    ids = np.full(len(cs_ids), -1, dtype=np.int64)
    ids[known], keys = pd.factorize(cs_ids[known].astype(np.int64) * max(len(us_uniques), 1)
                                    + us_ids[known])
    cs_of_key, us_of_key = np.divmod(np.asarray(keys, dtype=np.int64), max(len(us_uniques), 1))
    couples = pd.DataFrame({"code_cs": np.asarray(cs_uniques, dtype=object)[cs_of_key],
                            "code_us": np.asarray(us_uniques, dtype=object)[us_of_key]})
    return np.asarray(ids, dtype=np.int64), couples
