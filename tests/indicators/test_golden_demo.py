"""Indicators on the SYBARVAL demo store against the real published figures.

The demo's changes are the real OCS GE change polygons; ``Communes_SYBARVAL.shp`` publishes, per
commune, the artificialisation 2015 -> 2018 in whole hectares (``A_B_2015_2``, CS1.1 rule of 2021)
and the de-artificialisation (``A_B_2018_2``). Those published figures are the CS1.1 rule without
thresholds, so they are compared with ``rule="cs1.1"``: they still hold. The official figure
(decree matrix + thresholds of décret 2023-1096 on each millésime's stock) is not published for
SYBARVAL and depends on the synthetic background around the real changes; it is checked for
what it must satisfy: net flux = stock change on every commune, additivity over communes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from ocsge_engine import cli, demo
from ocsge_engine.charts.compare import comparison_figure
from ocsge_engine.charts.indicators import flux_bars, method_note, origin_donut
from ocsge_engine.charts.style import figure_notes
from ocsge_engine.charts.style import SEPARATORS
from ocsge_engine.charts.zan import zan_figure
from ocsge_engine.indicators import (
    NO_THRESHOLDS,
    comparison_table,
    flux_from_pair,
    lyon_consumption,
    pair_from_layers,
    territory_indicators,
)
from ocsge_engine.store import Store
from ocsge_engine.territories import population


@dataclass(frozen=True)
class _Area:
    geometry: shapely.Geometry
    departements: tuple[str, ...] = ("33",)


@pytest.fixture(scope="module")
def store(demo_store_dir) -> Store:
    return Store.open(demo_store_dir)


@pytest.fixture(scope="module")
def communes() -> gpd.GeoDataFrame:
    return gpd.read_file(demo.demo_dir() / "Communes_SYBARVAL.shp",
                         encoding="utf-8").set_index("CODE_INSEE")


@pytest.fixture(scope="module")
def pairs(store: Store, communes: gpd.GeoDataFrame) -> dict[str, object]:
    """One pair per commune, from a single read of the store (ids start with the INSEE code)."""
    everything = _Area(shapely.union_all(communes.geometry.to_numpy()))
    layers = {y: store.polygons(everything, y, clip=False,
                                columns=["id", "code_cs", "code_us", "artif", "crit_seuil"])
              for y in demo.MILLESIMES}
    out = {}
    for code in communes.index:
        parts = [layers[y][layers[y]["id"].str[:5] == code] for y in demo.MILLESIMES]
        out[code] = pair_from_layers(parts[0], parts[1], *demo.MILLESIMES)
    out["all"] = pair_from_layers(layers[2015], layers[2018], *demo.MILLESIMES)
    return out


@pytest.mark.parametrize(("column", "attr"), [("A_B_2015_2", "gross_gain_ha"),
                                              ("A_B_2018_2", "gross_loss_ha")])
def test_cs11_fluxes_equal_published(pairs, communes, column: str, attr: str) -> None:
    got = pd.Series({c: getattr(flux_from_pair(p, rule="cs1.1"), attr) for c, p in pairs.items()
                     if c != "all"})
    published = communes[column].reindex(got.index)
    # equal after rounding, except 33019 Audenge (27.502 ha real, published 27)
    assert (got.round() == published).sum() >= len(got) - 1
    assert (got - published).abs().max() <= 0.51
    if column == "A_B_2015_2":
        assert got["33529"] == pytest.approx(52.2, abs=0.05)  # SOURCE.md
        assert got["33284"] == pytest.approx(35.7, abs=0.05)
        assert got.sum() == pytest.approx(349.7, abs=0.1)


def test_net_equals_stock_change_on_every_commune(pairs) -> None:
    for code, pair in pairs.items():
        for result in (flux_from_pair(pair), flux_from_pair(pair, rule="cs1.1"),
                       flux_from_pair(pair, thresholds=NO_THRESHOLDS),
                       flux_from_pair(pair, "imper")):
            assert result.net_ha == pytest.approx(result.stock_change_ha, abs=1e-6), code
            assert result.check_ok
        official = flux_from_pair(pair)
        assert official.method == "decree_matrix_official_thresholds"
        assert sum(official.origin.values()) == pytest.approx(official.gross_gain_ha)
        assert official.by_cs["gain_ha"].sum() == pytest.approx(official.gross_gain_ha)
        assert official.by_us["loss_ha"].sum() == pytest.approx(official.gross_loss_ha)
        assert official.stock_by_cs.sum() == pytest.approx(official.stock_to_ha)


def test_official_figures_add_up_over_the_communes(pairs) -> None:
    """The status is the département's (stored), so the 17 communes sum to the whole layer.

    The pairs split the layer by polygon (ids start with the INSEE code); thresholds applied per
    commune would make this fail (patches cut at commune boundaries).
    """
    keys = ("stock_from_ha", "stock_to_ha", "gross_gain_ha", "gross_loss_ha", "net_ha")
    results = {code: flux_from_pair(pair).to_dict() for code, pair in pairs.items()}
    whole = results.pop("all")
    for key in keys:
        assert sum(r[key] for r in results.values()) == pytest.approx(whole[key], abs=1e-6), key
    # the thresholds change the matrix figures (raw) on the demo, both ways
    assert whole["gross_gain_ha"] != pytest.approx(whole["raw_gain_ha"], abs=1.0)


def test_epci_equals_the_sum_of_its_communes(store: Store) -> None:
    """COBAS (4 communes) through the store: clipped figures are additive (issue 11: COBAN
    108,32 ha ≠ 108,23 ha summed over its communes with per-territory thresholds)."""
    from ocsge_engine.indicators import artificialisation

    epci = artificialisation(store, "epci:243300563", 2015, 2018).to_dict()
    members = [artificialisation(store, f"commune:{c}", 2015, 2018).to_dict()
               for c in ("33009", "33199", "33527", "33529")]
    for key in ("stock_from_ha", "stock_to_ha", "gross_gain_ha", "gross_loss_ha", "net_ha"):
        assert sum(m[key] for m in members) == pytest.approx(epci[key], abs=1e-4), key
    assert epci["check"]["delta_ha"] == pytest.approx(0.0, abs=1e-6)


def test_territory_indicators_arcachon(store: Store, pairs) -> None:
    result = territory_indicators(store, "commune:33009", 2015, 2018)
    record = result.to_dict()
    assert record["artificialisation"]["method"] == "decree_matrix_official_thresholds"
    family = record["stocks"]["levels"]["anf"]
    assert sum(family["to"].values()) == pytest.approx(result.area_ha, rel=1e-6)
    # the A/N/F families of the exchange matrix use the matrix status of each CS×US couple
    matrix = flux_from_pair(pairs["33009"], thresholds=NO_THRESHOLDS)
    assert family["to"]["artificialise"] == pytest.approx(matrix.stock_to_ha, abs=1e-3)
    same = flux_from_pair(pairs["33009"])
    assert result.artif.gross_gain_ha == pytest.approx(same.gross_gain_ha, abs=1e-6)
    assert record["per_inhabitant"]["population"]["stock_year"] == 2019
    assert record["per_inhabitant"]["artif_m2_per_inhabitant"] == pytest.approx(
        result.artif.stock_to_ha * 1e4 / 11630)
    assert record["zan"]["reference_years"] == list(range(2011, 2019))
    assert "non documentée" in record["zan"]["source"]
    assert json.loads(json.dumps(record, default=str))["territory"]["name"] == "Arcachon"
    flat = result.to_flat().set_index("key")["value"]
    assert flat["artificialisation.method"] == "decree_matrix_official_thresholds"
    assert flat["zan.reference_ha"] == pytest.approx(record["zan"]["reference_ha"])
    for fig in (zan_figure(result.zan), flux_bars(result.artif), origin_donut(result.artif)):
        assert fig.layout.title.text and fig.layout.separators == SEPARATORS
    assert "seuils" in method_note(result.artif)


def test_comparison_with_editable_peers(store: Store) -> None:
    table = comparison_table(store, "commune:33005", 2015, 2018, peers=["33011", "33063"],
                             n=2)
    roles = dict(zip(table["code"], table["role"]))
    assert roles["33005"] == "territoire" and roles["33011"] == "voisine"
    assert roles["33063"] == "voisine"  # Bordeaux: not in the demo store
    assert list(table["role"]).count("population") == 2
    bordeaux = table.set_index("code").loc["33063"]
    assert not bordeaux["available"] and pd.isna(bordeaux["net_ha"])
    own = table.set_index("code").loc["33005"]
    assert own["net_m2_per_ha"] == pytest.approx(own["net_ha"] * 1e4 / own["area_ha"])
    assert own["population"] == population("33005")[2023] and own["population_year"] == 2023
    fig = comparison_figure(table)
    assert "Bordeaux" in figure_notes(fig)[-1]
    assert len(fig.data) == 2 and len(fig.data[0].y) == len(table) - 1


def test_lyon_consumption_from_store_table(store: Store) -> None:
    series = lyon_consumption(store, "200046977")
    assert sum(series.values[y] for y in range(2011, 2021)) == pytest.approx(827.7454, abs=1e-4)


def test_cli_json_and_csv(demo_store_dir, capsys) -> None:
    args = ["-q", "indicators", "--store", str(demo_store_dir), "--territory", "commune:33005",
            "--from", "2015", "--to", "2018"]
    assert cli.main([*args, "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["artificialisation"]["method"] == "decree_matrix_official_thresholds"
    assert record["year_from"] == 2015 and record["zan"]["allowed_ha"] > 0
    assert cli.main([*args, "--format", "csv", "--no-thresholds"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "key,value"
    assert "artificialisation.method,decree_matrix" in lines


@pytest.mark.parametrize(("territory", "years", "message"), [
    ("commune:99999", ("2015", "2018"), "Territoire introuvable"),
    ("commune:33005", ("2018", "2015"), "doit précéder"),
    ("commune:33005", ("2015", "2021"), "Millésime 2021 indisponible"),
])
def test_cli_user_errors_exit_2(demo_store_dir, capsys, territory, years, message) -> None:
    code = cli.main(["-q", "indicators", "--store", str(demo_store_dir), "--territory", territory,
                     "--from", years[0], "--to", years[1]])
    err = capsys.readouterr()
    assert code == 2 and message in err.err and err.out == ""
