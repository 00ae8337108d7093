"""GeoPackage export of a territory's layers: both millésimes and the change layer."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from ocsge_engine.errors import MillesimeError
from ocsge_engine.flows import exchange_matrix
from ocsge_engine.indicators.thresholds import OFFICIAL_THRESHOLDS
from ocsge_engine.portrait import portrait_figures
from ocsge_engine.report.layers import export_territory_layers
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory


def test_territory_gpkg_round_trip(demo_store_dir: Path, tmp_path: Path) -> None:
    store = Store.open(demo_store_dir)
    territory = get_territory("commune:33236")  # Lège-Cap-Ferret
    steps: list[float] = []
    path = export_territory_layers(store, territory, 2015, 2018, tmp_path / "lcf.gpkg",
                                   progress=lambda f, m: steps.append(f))
    assert steps[0] == 0.0 and steps[-1] == 1.0
    figures = portrait_figures(store, territory, 2015, 2018)
    names = [name for name, _ in pyogrio.list_layers(path)]
    assert names == ["occupation_sol_2015", "occupation_sol_2018", "changements_2015_2018"]
    for year in (2015, 2018):
        back = gpd.read_file(path, layer=f"occupation_sol_{year}")
        expected = store.polygons(territory, year)
        assert len(back) == len(expected) and back.crs.to_epsg() == 2154
        assert back.area.sum() / 1e4 == pytest.approx(territory.area_ha, rel=1e-6)
        # the official status in IGN's fields: the « artif » polygons sum to the figures
        # layer's artificialised stock (thresholds applied on the whole département)
        assert set(back["artif"]) == {"artif", "non artif"}
        stock = back.loc[back["artif"] == "artif"].area.sum() / 1e4
        key = "stock_from_ha" if year == 2015 else "stock_to_ha"
        assert stock == pytest.approx(figures[f"artificialisation.{key}"].value, rel=1e-9)
        # « crit_seuil » names the threshold that decided, where one did
        criteria = back["crit_seuil"].dropna()
        assert len(criteria) and set(criteria) <= set(OFFICIAL_THRESHOLDS.criteria())
    changes = gpd.read_file(path, layer="changements_2015_2018")
    matrix = exchange_matrix(store, territory, 2015, 2018, by="cs_us")
    changed = matrix.table.loc[matrix.table["code_from"] != matrix.table["code_to"], "area_ha"]
    # The change layer covers exactly the off-diagonal of the CS×US matrix (slivers < 1 m² aside).
    assert changes.area.sum() / 1e4 == pytest.approx(changed.sum(), abs=0.01)
    assert (changes["code_cs_from"] + changes["code_us_from"]
            != changes["code_cs_to"] + changes["code_us_to"]).all()
    assert not [p for p in tmp_path.iterdir() if p.name != "lcf.gpkg"]


@pytest.mark.parametrize(("years", "match"), [((None, None), "no millesime pair"),
                                              ((2018, 2015), "inverted")])
def test_bad_pair_writes_nothing(demo_store_dir: Path, tmp_path: Path, years: tuple,
                                 match: str) -> None:
    store = Store.open(demo_store_dir)
    with pytest.raises(MillesimeError, match=match) as info:
        export_territory_layers(store, get_territory("commune:33236"), *years,
                                tmp_path / "x.gpkg")
    assert info.value.user_message.startswith(("Choisissez", "Le premier millésime"))
    assert not list(tmp_path.iterdir())
