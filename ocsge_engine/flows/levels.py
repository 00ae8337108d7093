"""Class levels of the exchange matrices: which class each CS×US couple belongs to, per ``by``.

A *level* (``by``) maps every (CS, US) couple to one class code:

========  =====================================================================================
``by``    classes
========  =====================================================================================
anf       the four families ``artificialise``, ``agricole``, ``forestier``, ``naturel``
          (decree matrix for ``artificialise``; the A/N/F split is a team estimate)
artif     ``artificialise`` / ``non_artificialise`` (décret n° 2023-1096 CS×US matrix)
imper     ``impermeable`` / ``permeable`` (CS1.1.1.1 or CS1.1.1.2)
cs1..cs4  CS codes rolled up to that level (codes already above it are kept)
us1..us3  US codes rolled up to that level
cs_us     the CS×US couple itself, ``"CS2.2.1_US1.1"``
========  =====================================================================================

Classification happens on the (small) table of distinct couples, never per polygon, so the cost
does not depend on the number of polygons.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Literal, get_args

import numpy as np
import pandas as pd

from ocsge_engine import nomenclature as nom

logger = logging.getLogger(__name__)

By = Literal["anf", "artif", "imper", "cs1", "cs2", "cs3", "cs4", "us1", "us2", "us3", "cs_us"]
BY_VALUES: tuple[str, ...] = get_args(By)

_BINARY_ORDER: dict[str, tuple[str, str]] = {
    "artif": ("artificialise", "non_artificialise"),
    "imper": ("impermeable", "permeable"),
}


def validate_by(by: str) -> By:
    """Return ``by`` unchanged when it is a known level.

    Raises:
        ValueError: ``by`` is not one of :data:`BY_VALUES`.

    >>> validate_by("cs2")
    'cs2'
    """
    if by not in BY_VALUES:
        raise ValueError(f"by must be one of {', '.join(BY_VALUES)}; got {by!r}")
    return by  # type: ignore[return-value]


def classify(cs: pd.Series | np.ndarray, us: pd.Series | np.ndarray, by: By) -> np.ndarray:
    """Class code of each (CS, US) couple at level ``by``.

    Couples already met at this level are looked up (:data:`_CLASS_CACHE`), the others classified
    together: a matrix is built from a few hundred couple rows, many times per batch, so the
    per-call cost matters more than the per-row one.

    Args:
        cs: canonical CS codes.
        us: canonical US codes (same length).
        by: level, one of :data:`BY_VALUES`.

    Returns:
        An object array of class codes, aligned with the inputs.

    >>> classify(pd.Series(["CS1.1.1.1", "CS2.2.1"]), pd.Series(["US5", "US1.1"]), "anf").tolist()
    ['artificialise', 'agricole']
    >>> classify(pd.Series(["CS2.2.1"]), pd.Series(["US1.1"]), "cs_us").tolist()
    ['CS2.2.1_US1.1']
    """
    validate_by(by)
    keys = list(zip(np.asarray(cs, dtype=object).tolist(), np.asarray(us, dtype=object).tolist()))
    known = _CLASS_CACHE.setdefault(by, {})
    missing = [key for key in dict.fromkeys(keys) if key not in known]
    if missing:
        classes = _classify_couples(pd.Series([k[0] for k in missing], dtype=object),
                                    pd.Series([k[1] for k in missing], dtype=object), by)
        fresh = dict(zip(missing, classes.tolist()))
        if len(known) + len(fresh) <= _CLASS_CACHE_MAX:
            known.update(fresh)
        else:  # unknown codes kept with --allow-unknown: the shared cache stays bounded
            known = {**known, **fresh}
    return np.fromiter((known[key] for key in keys), dtype=object, count=len(keys))


# (cs, us) -> class, per level: classification depends on the nomenclature only.
_CLASS_CACHE: dict[str, dict[tuple[object, object], str]] = {}
_CLASS_CACHE_MAX = 20_000  # couples per level (the nomenclature has 14 × 20)


def _classify_couples(cs: pd.Series, us: pd.Series, by: By) -> np.ndarray:
    if by == "anf":
        return np.asarray(nom.family(cs, us), dtype=object)
    if by == "artif":
        return np.where(nom.is_artificial(cs, us), "artificialise", "non_artificialise").astype(object)
    if by == "imper":
        return np.where(nom.is_impermeable(cs), "impermeable", "permeable").astype(object)
    if by == "cs_us":
        return (cs.astype(str) + "_" + us.astype(str)).to_numpy(dtype=object)
    kind: nom.Kind = "cs" if by.startswith("cs") else "us"
    codes = cs if kind == "cs" else us
    mapping = _roll_up_map(kind, int(by[2:]))
    return np.array([mapping.get(c, c) for c in codes], dtype=object)


@lru_cache(maxsize=16)
def _roll_up_map(kind: nom.Kind, level: int) -> dict[str, str]:
    """Code → code at ``level`` for the whole nomenclature (``nomenclature.roll_up``, cached)."""
    codes = nom.get_nomenclature(kind).codes
    return dict(zip(codes, nom.roll_up(pd.Series(codes), kind, level)))


def class_order(codes: list[str] | np.ndarray | pd.Index, by: By) -> list[str]:
    """Sort class codes in the canonical order of level ``by`` (families, then nomenclature order).

    Codes unknown to the nomenclature go last, alphabetically.

    >>> class_order(["naturel", "artificialise"], "anf")
    ['artificialise', 'naturel']
    >>> class_order(["CS2.2", "CS1.1"], "cs2")
    ['CS1.1', 'CS2.2']
    """
    unique = list(dict.fromkeys(str(c) for c in codes))
    rank = _rank_table(by)
    fallback = len(rank)
    return sorted(unique, key=lambda c: (rank.get(c, fallback), c))


def _rank_table(by: By) -> dict[str, int]:
    if by == "anf":
        return {c: i for i, c in enumerate(nom.FAMILIES)}
    if by in _BINARY_ORDER:
        return {c: i for i, c in enumerate(_BINARY_ORDER[by])}
    cs_rank = {c: i for i, c in enumerate(nom.get_nomenclature("cs").codes)}
    us_rank = {c: i for i, c in enumerate(nom.get_nomenclature("us").codes)}
    if by.startswith("cs") and by != "cs_us":
        return cs_rank
    if by.startswith("us"):
        return us_rank
    n_us = len(us_rank)
    return {f"{cs}_{us}": cs_rank[cs] * n_us + us_rank[us] for cs in cs_rank for us in us_rank}


def all_classes(by: By) -> list[str]:
    """Every class a matrix at level ``by`` can hold, in canonical order (useful for empty rows).

    >>> all_classes("imper")
    ['impermeable', 'permeable']
    """
    if by == "anf":
        return list(nom.FAMILIES)
    if by in _BINARY_ORDER:
        return list(_BINARY_ORDER[by])
    if by == "cs_us":
        cs_leaves = nom.get_nomenclature("cs").leaves
        us_leaves = nom.get_nomenclature("us").leaves
        return [f"{cs}_{us}" for cs in cs_leaves for us in us_leaves]
    kind: nom.Kind = "cs" if by.startswith("cs") else "us"
    table = nom.get_nomenclature(kind).table
    level = int(by[2:])
    keep = (table["level"] == level) | (table["is_leaf"] & (table["level"] < level))
    return list(table.index[keep])
