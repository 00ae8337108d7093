"""Exchange matrices for the chart tests, built from hand-written couple transitions (ha)."""

from __future__ import annotations

import pandas as pd
import pytest

from ocsge_engine.flows import ExchangeMatrix, Transitions, build_matrix

AGRI, FOREST = ("CS2.2.1", "US1.1"), ("CS2.1.1.2", "US1.2")
BUILT, WATER, ROAD = ("CS1.1.1.1", "US5"), ("CS1.2.2", "US6.3"), ("CS1.1.1.2", "US4.1.1")
# 2015 -> 2018 (100 ha): families agricole 52, forestier 30.3, artificialise 10, naturel 7.7.
FLOWS_2015_2018 = [(AGRI, BUILT, 2.0), (AGRI, AGRI, 50.0), (FOREST, FOREST, 30.0),
                   (FOREST, AGRI, 0.3), (BUILT, BUILT, 10.0), (WATER, ROAD, 0.2),
                   (WATER, WATER, 7.5)]
# 2018 -> 2021: 4 ha of fields built, 1 ha of buildings demolished to fields.
FLOWS_2018_2021 = [(AGRI, BUILT, 4.0), (AGRI, AGRI, 46.3), (FOREST, FOREST, 30.0),
                   (BUILT, BUILT, 11.0), (BUILT, AGRI, 1.0), (ROAD, ROAD, 0.2),
                   (WATER, WATER, 7.5)]


def transitions(flows: list[tuple[tuple[str, str], tuple[str, str], float]]) -> Transitions:
    """Couple transitions with stocks equal to their row / column sums."""
    table = pd.DataFrame([(*a, *b, area) for a, b, area in flows],
                         columns=["code_cs_from", "code_us_from", "code_cs_to", "code_us_to",
                                  "area_ha"])
    stocks_from = (table.groupby(["code_cs_from", "code_us_from"], as_index=False)["area_ha"].sum()
                   .rename(columns={"code_cs_from": "code_cs", "code_us_from": "code_us"}))
    stocks_to = (table.groupby(["code_cs_to", "code_us_to"], as_index=False)["area_ha"].sum()
                 .rename(columns={"code_cs_to": "code_cs", "code_us_to": "code_us"}))
    return Transitions(table, stocks_from, stocks_to, "overlay")


@pytest.fixture()
def matrix_anf() -> ExchangeMatrix:
    """2015 -> 2018 by families."""
    return build_matrix(transitions(FLOWS_2015_2018), "anf", 2015, 2018)


@pytest.fixture()
def chain_anf() -> list[ExchangeMatrix]:
    """2015 -> 2018 -> 2021 by families."""
    return [build_matrix(transitions(FLOWS_2015_2018), "anf", 2015, 2018),
            build_matrix(transitions(FLOWS_2018_2021), "anf", 2018, 2021)]
