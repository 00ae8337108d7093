"""Per-inhabitant figures on hand numbers."""

from __future__ import annotations

import pytest

from ocsge_engine.indicators import per_inhabitant, population_basis
from ocsge_engine.indicators.population import nearest_year

SERIES = {2019: 1000, 2020: 1050, 2022: 1150, 2023: 1200}


def test_nearest_year() -> None:
    assert nearest_year(list(SERIES), 2021) == 2020  # tie: earlier
    assert nearest_year(list(SERIES), 2030) == 2023


def test_per_inhabitant_matching_years() -> None:
    # 2020 -> 2023: 12 ha artificialised at 2023, 1.5 ha net over 3 years.
    result = per_inhabitant(12.0, 1.5, 2020, 2023, SERIES)
    assert result.basis.stock_year == 2023 and result.basis.change_years == (2020, 2023)
    assert not result.basis.proxy and result.basis.change == 150
    assert result.artif_m2_per_inhabitant == pytest.approx(120_000 / 1200)  # 100 m²/inh.
    # (15,000 m² / 3 years) / (150 inh. / 3 years) = 100 m² per new inhabitant
    assert result.net_m2_per_new_inhabitant == pytest.approx(100.0)


def test_per_inhabitant_proxy_before_the_series() -> None:
    result = per_inhabitant(10.0, 3.0, 2015, 2018, SERIES)
    assert result.basis.stock_year == 2019 and result.basis.proxy
    assert result.basis.change_years == (2019, 2023) and result.basis.change == 200
    assert result.artif_m2_per_inhabitant == pytest.approx(100.0)
    # (30,000 m² / 3) / (200 / 4) = 200 m² per new inhabitant
    assert result.net_m2_per_new_inhabitant == pytest.approx(200.0)
    assert result.to_dict()["population"]["proxy"] is True


def test_no_growth_or_no_series() -> None:
    shrinking = per_inhabitant(10.0, 3.0, 2019, 2023, {2019: 1000, 2023: 900})
    assert shrinking.net_m2_per_new_inhabitant is None
    assert shrinking.artif_m2_per_inhabitant == pytest.approx(100_000 / 900)
    empty = per_inhabitant(10.0, 3.0, 2019, 2023, {})
    assert empty.artif_m2_per_inhabitant is None and empty.basis is None
    assert population_basis({2019: 5}, 2015, 2018).change_years is None


def test_negative_net_gives_no_ratio_per_new_inhabitant() -> None:
    # population grew by 100 but 0.5 ha were de-artificialised: « — », not −50 m²/hab
    result = per_inhabitant(10.0, -0.5, 2019, 2023, {2019: 1000, 2023: 1100})
    assert result.net_m2_per_new_inhabitant is None
    assert result.artif_m2_per_inhabitant == pytest.approx(100_000 / 1100)
