"""SDG 11.3.1 on hand-computable numbers, and on the demo store."""

from __future__ import annotations

import math

import pytest

from ocsge_engine.indicators.sdg import growth_rate, sdg_11_3_1, territory_sdg
from ocsge_engine.store import Store


def test_lcr_pgr_ratio_by_hand():
    # urban 200 -> 242 ha over 2 years; population 1000 -> 1100 over the same 2 years
    r = sdg_11_3_1(200.0, 242.0, 2019, 2021, {2019: 1000, 2021: 1100})
    assert r.lcr == pytest.approx(math.log(1.21) / 2)          # = ln(1.1) = 0.0953...
    assert r.pgr == pytest.approx(math.log(1.1) / 2)
    assert r.ratio == pytest.approx(2.0)                        # ln(1.21) = 2 ln(1.1)
    # 42 ha = 420,000 m² over 2 years for 100 new inhabitants over 2 years -> 4,200 m²
    assert r.m2_per_new_inhabitant == pytest.approx(4200.0)
    assert r.population_years == (2019, 2021) and not r.proxy


def test_population_years_differ_from_millesimes():
    # millésimes 2015 -> 2018, INSEE years 2019..2023: both nearest are 2019 -> whole series proxy
    r = sdg_11_3_1(100.0, 103.0, 2015, 2018, {2019: 1000, 2023: 1040})
    assert r.proxy and r.population_years == (2019, 2023)
    assert r.pgr == pytest.approx(math.log(1.04) / 4)
    assert r.lcr == pytest.approx(math.log(1.03) / 3)
    assert r.m2_per_new_inhabitant == pytest.approx((3e4 / 3) / (40 / 4))  # 1,000 m²


def test_shrinking_population_and_empty_stock():
    r = sdg_11_3_1(100.0, 110.0, 2019, 2020, {2019: 1000, 2020: 900})
    assert r.pgr < 0 and r.ratio < 0 and r.m2_per_new_inhabitant is None
    assert sdg_11_3_1(0.0, 5.0, 2019, 2020, {2019: 1, 2020: 2}).lcr is None
    assert growth_rate(10, 10, 3) == 0.0
    with pytest.raises(ValueError):
        sdg_11_3_1(1.0, 2.0, 2020, 2020, {})


def test_demo_commune(demo_store_dir):
    from ocsge_engine.indicators.artif import artificialisation
    from ocsge_engine.territories import population

    store = Store.open(demo_store_dir)
    r = territory_sdg(store, "commune:33529", 2015, 2018)
    # the official artificialised stocks (decree matrix + thresholds), as every other figure
    artif = artificialisation(store, "commune:33529", 2015, 2018)
    assert r.urban_from_ha == pytest.approx(artif.stock_from_ha)
    assert r.urban_to_ha == pytest.approx(artif.stock_to_ha)
    pop = population("33529")
    assert r.pgr == pytest.approx(math.log(pop[2023] / pop[2019]) / 4)
    assert r.ratio == pytest.approx(r.lcr / r.pgr)


def test_commune_reads_the_batch_stocks_and_equals_the_computation(
        demo_store_dir, national_store_dir, monkeypatch):
    """With fresh national results, a commune's SDG reads the stored figures' stocks (no overlay
    computed) and gives exactly what the computation gives."""
    import ocsge_engine.indicators.artif as artif_module

    computed = territory_sdg(Store.open(demo_store_dir), "commune:33529", 2015, 2018)

    def boom(*args, **kwargs):
        raise AssertionError("computed: the stored figures were not read")

    monkeypatch.setattr(artif_module, "load_pair", boom)
    monkeypatch.setattr(artif_module, "flux_from_pair", boom)
    stored = territory_sdg(Store.open(national_store_dir), "commune:33529", 2015, 2018)
    assert stored.urban_from_ha == pytest.approx(computed.urban_from_ha, rel=1e-12)
    assert stored.urban_to_ha == pytest.approx(computed.urban_to_ha, rel=1e-12)
    assert (stored.lcr, stored.pgr) == pytest.approx((computed.lcr, computed.pgr), rel=1e-12)
    assert stored.population_years == computed.population_years == (2019, 2023)
    assert stored.urban_to_ha > stored.urban_from_ha > 0
