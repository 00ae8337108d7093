"""EPCI figures and matrices summed from their communes' precomputed rows equal the overlay's.

An EPCI's polygon is the union of its communes' (``territories``), the official artificialisation
status is decided per polygon at département scale, and the overlay pieces of the EPCI are its
communes' pieces: so every additive figure of the EPCI is the sum of its communes', and every
derived figure (shares, ratios) follows from those sums. The expected values here are the
engine's own overlay of the EPCI (``pair=`` forces it), the hand-made cases are computed by
hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from ocsge_engine.batch import pages as P
from ocsge_engine.flows import exchange_matrix
from ocsge_engine.flows.matrix import Transitions, build_matrix, sum_transitions
from ocsge_engine.indicators.artif import (
    artificialisation,
    patch_labels,
    sum_fluxes,
)
from ocsge_engine.indicators.pair import load_pair
from ocsge_engine.indicators.surroundings import surroundings_matrices
from ocsge_engine.portrait import portrait_figures
from ocsge_engine.store import Store
from ocsge_engine.territories import member_communes, resolve_territory

REL = 1e-9  # sums of the same pieces in another order: float rounding only


@pytest.fixture(scope="module")
def store(national_store_dir: Path) -> Store:
    return Store.open(national_store_dir)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-9)


@pytest.mark.parametrize("epci", ["243300563", "243301504", "243301405"])
def test_epci_figures_summed_from_communes_equal_its_overlay(store: Store, epci: str) -> None:
    territory = resolve_territory(f"epci:{epci}")
    summed = P.summed_figures(store, territory, 2015, 2018)
    assert summed is not None, "every commune of the EPCI is in the demo's national batch"
    # the figures layer serves the sum when called without a pair
    served = portrait_figures(store, territory, 2015, 2018)
    assert served.as_dict() == summed.as_dict()
    assert artificialisation(store, territory, 2015, 2018).to_dict() == summed.artif.to_dict()
    overlay = portrait_figures(store, territory, 2015, 2018,
                               pair=load_pair(store, territory, 2015, 2018))
    assert list(summed.figures) == list(overlay.figures)
    for key, fig in overlay.figures.items():
        got = summed.figures[key]
        assert _close(got.value, fig.value), (key, got.value, fig.value)
        assert got.display() == fig.display(), key
        assert (got.label, got.unit, got.method, got.source, got.years, got.synthetic,
                got.missing) == (fig.label, fig.unit, fig.method, fig.source, fig.years,
                                 fig.synthetic, fig.missing), key
        assert _close(got.coverage, fig.coverage), key
    assert summed.population == overlay.population and summed.population
    for year in (2015, 2018):
        assert _close(summed.coverage[year], overlay.coverage[year])
    for side in ("stocks_from", "stocks_to"):
        a, b = getattr(summed, side), getattr(overlay, side)
        assert list(a) == list(b) and all(_close(a[k], b[k]) for k in a), side
    flows = summed.flows.merge(overlay.flows, on=["code_from", "code_to"], how="outer")
    np.testing.assert_allclose(flows["area_ha_x"], flows["area_ha_y"], rtol=REL, atol=1e-9)
    for kind in ("artif", "imper"):
        a, b = getattr(summed, kind), getattr(overlay, kind)
        for table in ("by_cs", "by_us"):
            x, y = getattr(a, table), getattr(b, table)
            assert list(x["code"]) == list(y["code"]), (kind, table)
            np.testing.assert_allclose(x.iloc[:, 1:], y.iloc[:, 1:], rtol=REL, atol=1e-9)
        for series in ("stock_by_cs", "stock_by_us"):
            x, y = getattr(a, series), getattr(b, series)
            assert list(x.index) == list(y.index), (kind, series)
            np.testing.assert_allclose(x, y, rtol=REL, atol=1e-9)
        assert a.origin.keys() == b.origin.keys()
        assert all(_close(a.origin[k], b.origin[k]) for k in a.origin)
        assert (a.method, a.thresholds) == (b.method, b.thresholds)
        # gain pieces are cut at the communes' borders, the same land once joined again
        pieces, whole = a.gain_geometries, b.gain_geometries
        assert len(pieces) >= len(whole)
        assert math.isclose(float(shapely.area(pieces).sum()),
                            float(shapely.area(whole).sum()), rel_tol=REL)
        assert len(set(patch_labels(pieces))) == len(set(patch_labels(whole)))


@pytest.mark.parametrize("epci", ["243300563", "243301405"])
def test_epci_matrix_summed_from_communes_equals_its_overlay(store: Store, epci: str) -> None:
    territory = resolve_territory(f"epci:{epci}")
    summed = P.stored_matrix(store, territory, 2015, 2018)
    assert summed is not None
    overlay = exchange_matrix(store, territory, 2015, 2018, by="cs_us")
    for by in ("cs_us", "cs4", "anf"):
        a, b = summed.regroup(by), overlay.regroup(by)
        pd.testing.assert_frame_equal(a.pivot(), b.pivot(), check_exact=False, rtol=REL,
                                      atol=1e-6)
        pd.testing.assert_series_equal(a.stocks_to, b.stocks_to, check_exact=False, rtol=REL)
    # the Flux page's surroundings read the same sums for the EPCI of a commune
    rows = surroundings_matrices(store, resolve_territory("commune:33009"), 2015, 2018,
                                 areas=[territory])
    pd.testing.assert_frame_equal(rows[1].matrix.pivot(), summed.pivot(), check_exact=True)


def test_members_tile_the_epci(store: Store) -> None:
    assert member_communes("epci:243300563") == ["33009", "33199", "33527", "33529"]
    assert member_communes("commune:33009") == ["33009"]
    for epci in ("243300563", "243301504", "243301405"):
        territory = resolve_territory(f"epci:{epci}")
        parts = sum(resolve_territory(f"commune:{c}").geometry.area
                    for c in member_communes(territory))
        assert parts == pytest.approx(territory.geometry.area, rel=P.TILING_RTOL)


def test_departement_with_uncomputed_communes_is_not_summed(store: Store) -> None:
    # the demo's batch computes the 25 communes its data covers, not the 534 of the Gironde:
    # the others' share is unknown, not zero, so the département is computed on the fly
    dep = resolve_territory("departement:33")
    assert len(member_communes(dep)) > 500
    assert P.member_objects(store, dep, 2015, 2018, "figures") is None
    assert P.summed_figures(store, dep, 2015, 2018) is None
    assert P.precomputed_figures(store, dep, 2015, 2018) is None


def test_transitions_add_up_cell_by_cell() -> None:
    def part(rows: list[tuple[str, str, str, str, float]],
             stocks_from: list[tuple[str, str, float]], stocks_to: list[tuple[str, str, float]]
             ) -> Transitions:
        table = pd.DataFrame(rows, columns=["code_cs_from", "code_us_from", "code_cs_to",
                                            "code_us_to", "area_ha"])
        columns = ["code_cs", "code_us", "area_ha"]
        return Transitions(table, pd.DataFrame(stocks_from, columns=columns),
                           pd.DataFrame(stocks_to, columns=columns), "overlay")

    a = part([("CS2.2.1", "US1.1", "CS2.2.1", "US1.1", 3.0),
              ("CS2.2.1", "US1.1", "CS1.1.1.1", "US5", 1.0)],
             [("CS2.2.1", "US1.1", 4.0)], [("CS1.1.1.1", "US5", 1.0), ("CS2.2.1", "US1.1", 3.0)])
    b = part([("CS2.2.1", "US1.1", "CS2.2.1", "US1.1", 2.0)], [("CS2.2.1", "US1.1", 2.0)],
             [("CS2.2.1", "US1.1", 2.0)])
    total = sum_transitions([a, b])
    # by hand: 3 + 2 ha stay CS2.2.1/US1.1, 1 ha becomes CS1.1.1.1/US5; 4 + 2 ha at first
    assert total.table.to_dict("records") == [
        {"code_cs_from": "CS2.2.1", "code_us_from": "US1.1", "code_cs_to": "CS1.1.1.1",
         "code_us_to": "US5", "area_ha": 1.0},
        {"code_cs_from": "CS2.2.1", "code_us_from": "US1.1", "code_cs_to": "CS2.2.1",
         "code_us_to": "US1.1", "area_ha": 5.0}]
    assert total.stocks_from.to_dict("records") == [
        {"code_cs": "CS2.2.1", "code_us": "US1.1", "area_ha": 6.0}]
    assert total.stocks_to.to_dict("records") == [
        {"code_cs": "CS1.1.1.1", "code_us": "US5", "area_ha": 1.0},
        {"code_cs": "CS2.2.1", "code_us": "US1.1", "area_ha": 5.0}]
    with pytest.raises(ValueError):
        sum_transitions([])
    with pytest.raises(ValueError):
        sum_transitions([a, Transitions(b.table, b.stocks_from, None, "diff")])
    # stocks_to unknown in one part (DIFF path): unknown in the sum, columns then unchecked
    assert sum_transitions([Transitions(a.table, a.stocks_from, None, "diff"),
                            Transitions(b.table, b.stocks_from, None, "diff")]
                           ).stocks_to is None
    matrix = build_matrix(total, "cs_us")  # rows and columns add up to the summed stocks
    assert matrix.stocks_from.sum() == 6.0 and matrix.stocks_to.sum() == 6.0


def test_fluxes_of_different_methods_are_not_summed(store: Store) -> None:
    commune = resolve_territory("commune:33009")
    artif = artificialisation(store, commune, 2015, 2018)
    raw = artificialisation(store, commune, 2015, 2018, thresholds=type(artif.thresholds)(
        enabled=False))
    assert sum_fluxes([artif]).to_dict() == artif.to_dict()
    with pytest.raises(ValueError):
        sum_fluxes([artif, raw])
    with pytest.raises(ValueError):
        sum_fluxes([])
