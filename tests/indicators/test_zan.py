"""ZAN trajectory: hand series, options, both projection conventions, and the published Lyon
trajectories (sparte ``landmodel.conso_details``, ``data/reference/lyon_2017_2020``)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from ocsge_engine.config import get_settings
from ocsge_engine.indicators import (
    ConsumptionNotFoundError,
    ConsumptionSeries,
    ZanOptions,
    sybarval_consumption,
    zan_trajectory,
)

LYON = get_settings().data_dir / "reference" / "lyon_2017_2020"


def hand_series() -> ConsumptionSeries:
    values = {y: 3.0 for y in range(2011, 2021)}  # reference 30 ha
    values.update({2021: 1.0, 2022: 2.0, 2023: 3.0})
    return ConsumptionSeries(values, "hand")


def test_minus_50_percent_by_hand() -> None:
    t = zan_trajectory(hand_series())  # sparte convention: mean since 2021 (2 ha) x 9
    assert t.reference_ha == 30.0 and t.reference_complete and t.allowed_ha == 15.0
    assert t.consumed_ha == 6.0 and t.observed_years == [2021, 2022, 2023]
    assert t.annual_projection_ha == 2.0 and t.projected_ha == 18.0
    assert t.percent_use == pytest.approx(40.0) and t.projected_percent_use == pytest.approx(120.0)
    assert t.respects_by_end is False and t.missing_after is None
    table = t.table.set_index("year")
    assert table.loc[2030, "target_cumulative_ha"] == pytest.approx(15.0)
    assert table.loc[2025, "target_cumulative_ha"] == pytest.approx(7.5)
    assert table.loc[2023, "observed_cumulative_ha"] == pytest.approx(6.0)
    assert math.isnan(table.loc[2024, "observed_cumulative_ha"])
    assert table.loc[2029, "projected_cumulative_ha"] == pytest.approx(18.0)  # 1 Jan 2030
    assert math.isnan(table.loc[2030, "projected_cumulative_ha"])
    assert t.to_dict()["source"] == "hand" and t.to_dict()["projection_method"] == "sparte"


def test_other_convention_projects_to_end_of_2030() -> None:
    t = zan_trajectory(hand_series(), ZanOptions(projection="periode"))
    assert t.annual_projection_ha == 2.0 and t.projected_ha == 6.0 + 2.0 * 7
    assert t.projected_percent_use == pytest.approx(20.0 / 15.0 * 100)
    assert t.table.set_index("year").loc[2030, "projected_cumulative_ha"] == pytest.approx(20.0)
    window = zan_trajectory(hand_series(), ZanOptions(projection="periode", projection_window=2))
    assert window.annual_projection_ha == 2.5 and window.projection_years == [2022, 2023]
    with pytest.raises(ValueError, match="inconsistent"):
        zan_trajectory(hand_series(), ZanOptions(projection="linear"))


def test_custom_target_reduction_floor() -> None:
    assert zan_trajectory(hand_series(), ZanOptions(custom_target_ha=4.0)).allowed_ha == 4.0
    assert zan_trajectory(hand_series(), ZanOptions(reduction=0.8)).allowed_ha == pytest.approx(6.0)
    small = ConsumptionSeries({y: 0.1 for y in range(2011, 2021)}, "hand")
    floored = zan_trajectory(small)
    assert floored.allowed_ha == 1.0 and floored.floor_applied
    assert zan_trajectory(small, ZanOptions(floor_ha=None)).allowed_ha == pytest.approx(0.5)


def test_incomplete_reference_is_scaled_and_flagged() -> None:
    t = zan_trajectory(ConsumptionSeries({2011: 2.0, 2012: 4.0}, "hand"))
    assert not t.reference_complete and t.reference_years == [2011, 2012]
    assert t.reference_ha == pytest.approx(30.0)  # mean 3 ha × 10 years
    with pytest.raises(ValueError, match="no year"):
        zan_trajectory(ConsumptionSeries({2005: 1.0}, "hand"))
    with pytest.raises(ValueError, match="inconsistent"):
        zan_trajectory(hand_series(), ZanOptions(reduction=1.5))


def test_no_observation_in_period_is_never_zero() -> None:
    """A series stopping in 2012: nothing consumed is known, not "0 ha" (issue 11 item 4)."""
    t = zan_trajectory(ConsumptionSeries({2011: 2.0, 2012: 4.0}, "hand"))
    assert t.consumed_ha is None and t.percent_use is None and t.missing_after == 2012
    assert t.projected_ha is None and t.respects_by_end is None  # sparte: no projection
    assert t.to_dict()["no_data_after"] == 2012
    assert t.table["observed_cumulative_ha"].isna().all()
    other = zan_trajectory(ConsumptionSeries({2011: 2.0, 2012: 4.0}, "hand"),
                           ZanOptions(projection="periode"))
    assert other.consumed_ha is None and other.projected_ha == pytest.approx(30.0)  # 3 ha x 10


def _lyon_series(conso: pd.DataFrame, land_id: str) -> ConsumptionSeries:
    rows = conso[conso["land_id"] == land_id]
    return ConsumptionSeries(dict(zip(rows["year"], rows["total"] / 1e4)), "lyon")


def assert_published(t, published: dict) -> None:  # noqa: ANN001
    """One trajectory equals sparte's published ``conso_details`` (to 1e-9 ha)."""
    assert t.reference_ha == pytest.approx(published["conso_2011_2020"], abs=1e-9)
    assert t.allowed_ha == pytest.approx(published["allowed_conso_2021_2030"], abs=1e-9)
    assert t.floor_applied == published["allowed_conso_raised_to_1ha_2021_2030"]
    assert t.consumed_ha == pytest.approx(published["conso_since_2021"], abs=1e-9)
    assert t.annual_projection_ha == pytest.approx(published["annual_conso_since_2021"], abs=1e-9)
    assert t.percent_use == pytest.approx(published["current_percent_use"], abs=1e-9)
    assert t.projected_ha == pytest.approx(published["projected_conso_2030"], abs=1e-9)
    assert t.projected_percent_use == pytest.approx(published["projected_percent_use_by_2030"],
                                                    abs=1e-9)
    assert t.respects_by_end == published["respecting_regulation_by_2030"]


def test_reproduces_published_lyon_trajectories() -> None:
    conso = pd.read_csv(LYON / "landconso.csv", dtype={"land_id": str})
    model = pd.read_csv(LYON / "landmodel.csv", dtype={"land_id": str})
    assert len(model) == 59
    floors, flipped = 0, []
    for row in model.itertuples():
        published = json.loads(row.conso_details)
        t = zan_trajectory(_lyon_series(conso, row.land_id))
        assert_published(t, published)
        floors += t.floor_applied
        # the other convention (annual x 10, to the end of 2030) is labelled, not published
        other = zan_trajectory(_lyon_series(conso, row.land_id), ZanOptions(projection="periode"))
        assert other.projected_ha == pytest.approx(published["annual_conso_since_2021"] * 10)
        if other.respects_by_end != published["respecting_regulation_by_2030"]:
            flipped.append(row.land_id)
    assert floors == 5
    assert len(flipped) == 2  # the two territories the x10 projection puts over budget
    # the Métropole's figure is the sum of its communes' (landconso is additive)
    communes = model[model["land_type"] == "COMM"]["land_id"]
    total = sum(zan_trajectory(_lyon_series(conso, c)).reference_ha for c in communes)
    assert total == pytest.approx(zan_trajectory(_lyon_series(conso, "200046977")).reference_ha)


def test_sybarval_series_rekeyed_by_name() -> None:
    arcachon = sybarval_consumption("33009")  # the file says 33011 for ARCACHON
    assert arcachon.values[2009] == pytest.approx(2.22) and arcachon.values[2018] == 1.41
    la_teste = sybarval_consumption("33529")  # the file says 33236
    assert la_teste.values[2014] == pytest.approx(29.76)
    scot = sybarval_consumption("scot")
    assert scot.values[2011] == pytest.approx(121.18)
    assert "non documentée" in scot.source
    t = zan_trajectory(la_teste)
    assert t.reference_years == list(range(2011, 2019)) and not t.reference_complete
    assert t.consumed_ha is None and t.missing_after == 2018
    assert t.reference_ha == pytest.approx((9.45 + 9.94 + 18.11 + 29.76 + 15.77 + 10.58 + 15.85
                                            + 12.21) / 8 * 10)
    with pytest.raises(ConsumptionNotFoundError):
        sybarval_consumption("33063")
