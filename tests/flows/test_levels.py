"""Class levels (classify) and the plain-Python matrix aggregation: same classes however often a
couple was seen, bounded cache under hostile codes, exact sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ocsge_engine.flows import levels
from ocsge_engine.flows.levels import BY_VALUES, classify
from ocsge_engine.flows.matrix import Transitions, build_matrix
from ocsge_engine.nomenclature import get_nomenclature

# Hand-read from the CNIG nomenclature and the decree matrix (reference/): built land is
# artificialised whatever its use; a crop on agricultural use is agricultural and permeable.
CASES = {
    ("CS1.1.1.1", "US5"): {"anf": "artificialise", "artif": "artificialise", "imper": "impermeable",
                           "cs1": "CS1", "cs2": "CS1.1", "us1": "US5", "cs_us": "CS1.1.1.1_US5"},
    ("CS2.2.1", "US1.1"): {"anf": "agricole", "artif": "non_artificialise", "imper": "permeable",
                           "cs1": "CS2", "cs2": "CS2.2", "cs3": "CS2.2.1", "us1": "US1",
                           "cs_us": "CS2.2.1_US1.1"},
}


@pytest.mark.parametrize("by", BY_VALUES)
def test_every_couple_gets_the_same_class_seen_or_not(by: str) -> None:
    cs_codes, us_codes = get_nomenclature("cs").codes, get_nomenclature("us").codes
    cs = pd.Series([c for c in cs_codes for _ in us_codes], dtype=object)
    us = pd.Series([u for _ in cs_codes for u in us_codes], dtype=object)
    levels._CLASS_CACHE.pop(by, None)
    first = classify(cs, us, by)  # nothing cached: every couple classified together
    shuffled = np.random.default_rng(0).permutation(len(cs))
    again = classify(cs.iloc[shuffled], us.iloc[shuffled], by)  # everything from the cache
    assert again.tolist() == first[shuffled].tolist()
    assert first.tolist() == levels._classify_couples(cs, us, by).tolist()  # the uncached rule
    for (c, u), classes in CASES.items():
        if by in classes:
            assert classify([c, c], [u, u], by).tolist() == [classes[by]] * 2


def test_hostile_codes_do_not_grow_the_cache_past_its_bound(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setattr(levels, "_CLASS_CACHE", {})
    monkeypatch.setattr(levels, "_CLASS_CACHE_MAX", 50)
    hostile = [f"CS9.{i}<script>" for i in range(120)]  # kept with --allow-unknown
    out = classify(hostile, ["US1.1"] * 120, "cs2")
    assert out.tolist() == hostile  # an unknown code rolls up to itself
    assert len(levels._CLASS_CACHE["cs2"]) == 0  # too many at once: not cached
    assert classify(["CS2.2.1"], ["US1.1"], "cs2").tolist() == ["CS2.2"]
    assert len(levels._CLASS_CACHE["cs2"]) == 1


def test_cells_and_stocks_are_correctly_rounded_sums() -> None:
    # ten couples of 0.1 ha each, all CS2 → CS1 at level cs1: 0.1 summed ten times left to
    # right is 0.9999999999999999 in binary floating point; the cell and both stocks are 1.0.
    codes = [f"CS2.{i}" for i in (1, 2)] * 5
    uses = [f"US{i}" for i in (1, 2, 3, 4, 5)] * 2
    table = pd.DataFrame({"code_cs_from": codes, "code_us_from": uses,
                          "code_cs_to": ["CS1.1.1.1"] * 10, "code_us_to": uses,
                          "area_ha": [0.1] * 10})
    stocks_from = pd.DataFrame({"code_cs": codes, "code_us": uses, "area_ha": [0.1] * 10})
    stocks_to = pd.DataFrame({"code_cs": ["CS1.1.1.1"] * 10, "code_us": uses,
                              "area_ha": [0.1] * 10})
    matrix = build_matrix(Transitions(table, stocks_from, stocks_to, "overlay"), "cs1")
    assert matrix.table.to_dict("records") == [
        {"code_from": "CS2", "code_to": "CS1", "area_ha": 1.0}]
    assert matrix.stocks_from.to_dict() == {"CS2": 1.0}
    assert matrix.stocks_to.to_dict() == {"CS1": 1.0}


def test_rows_without_a_class_count_nowhere_as_before() -> None:
    """A couple row whose code is missing has no class: left out of cells and stocks alike (as
    the pandas ``groupby`` this replaces dropped it), so the matrix still checks."""
    table = pd.DataFrame({"code_cs_from": ["CS2.2.1", None], "code_us_from": ["US1.1", None],
                          "code_cs_to": ["CS1.1.1.1", "CS1.1.1.1"], "code_us_to": ["US5", "US5"],
                          "area_ha": [2.0, 3.0]})
    stocks_from = pd.DataFrame({"code_cs": ["CS2.2.1", None], "code_us": ["US1.1", None],
                                "area_ha": [2.0, 3.0]})
    stocks_to = pd.DataFrame({"code_cs": ["CS1.1.1.1"], "code_us": ["US5"], "area_ha": [2.0]})
    matrix = build_matrix(Transitions(table, stocks_from, stocks_to, "overlay"), "cs2")
    assert matrix.table.to_dict("records") == [
        {"code_from": "CS2.2", "code_to": "CS1.1", "area_ha": 2.0}]
    assert matrix.stocks_from.to_dict() == {"CS2.2": 2.0}
