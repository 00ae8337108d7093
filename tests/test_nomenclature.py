"""Nomenclature: code counts, normalisation, roll-up, decree classifiers against the reference matrix."""

from __future__ import annotations

import doctest

import pandas as pd
import pytest

from ocsge_engine import nomenclature as nom
from ocsge_engine.config import get_settings
from ocsge_engine.errors import UnknownCodeError


def test_doctests() -> None:
    result = doctest.testmod(nom)
    assert result.attempted >= 4 and result.failed == 0


def test_code_and_leaf_counts() -> None:
    cs, us = nom.get_nomenclature("cs"), nom.get_nomenclature("us")
    assert (len(cs.codes), len(cs.leaves)) == (23, 14)
    assert (len(us.codes), len(us.leaves)) == (24, 20)
    assert all(nom.color(code).startswith("#") for code in cs.codes + us.codes)


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [("cs1.1.1.1", "cs", "CS1.1.1.1"), ("CS2.2.1 ", "cs", "CS2.2.1"), ("2.1.1.2", "cs", "CS2.1.1.2"),
     ("US235", "us", "US235"), ("us6.6", "us", "US6.6"), ("INDETERMINE", "us", "US6.6"),
     ("US9.9", "us", None), ("US1.1", "cs", None), ("", "cs", None)],
)
def test_normalize_variants(raw: str, kind: str, expected: str | None) -> None:
    out = nom.normalize_codes([raw], kind).iloc[0]  # type: ignore[arg-type]
    assert (None if pd.isna(out) else out) == expected


def test_require_known_lists_counts() -> None:
    with pytest.raises(UnknownCodeError, match=r"US9\.9 \(2\)") as info:
        nom.require_known(pd.Series(["US1.1", "US9.9", "US9.9"]), "us", "x.shp")
    assert "inconnus" in info.value.user_message


@pytest.mark.parametrize(("code", "level", "expected"),
                         [("CS1.1.1.1", 1, "CS1"), ("CS1.1.1.1", 3, "CS1.1.1"), ("CS2.2.1", 4, "CS2.2.1"),
                          ("US4.1.1", 2, "US4.1"), ("US235", 2, "US235"), ("US6.6", 1, "US6")])
def test_roll_up(code: str, level: int, expected: str) -> None:
    kind = "cs" if code.startswith("CS") else "us"
    assert nom.roll_up(pd.Series([code]), kind, level).iloc[0] == expected  # type: ignore[arg-type]


def test_classifiers_match_reference_matrix() -> None:
    matrix = pd.read_csv(get_settings().reference_dir / "artificialisation_matrix.csv")
    assert len(matrix) == 280
    artif = nom.is_artificial(matrix["code_cs"], matrix["code_us"])
    assert (artif == matrix["artificialise_matrice"].astype(bool)).all()
    assert (nom.is_impermeable(matrix["code_cs"]) == matrix["impermeable"].astype(bool)).all()
    assert artif.sum() == matrix["artificialise_matrice"].sum() == 4 * 20 - 1 + 2 * 13


def test_families() -> None:
    cs = pd.Series(["CS1.1.1.1", "CS2.2.1", "CS2.1.1.2", "CS2.2.1", "CS1.2.2", "CS2.2.1"])
    us = pd.Series(["US1.1", "US1.1", "US1.2", "US5", "US1.4", "US6.3"])
    assert nom.family(cs, us).tolist() == ["artificialise", "agricole", "forestier", "artificialise",
                                           "agricole", "naturel"]
    # IGN's own artif field overrides the matrix.
    assert nom.family(cs, us, artificial=[False] * 6)[0] == "agricole"
