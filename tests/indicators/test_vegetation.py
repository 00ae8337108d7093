"""Vegetation figures: hand-made rectangles, additivity of a split territory, demo golden stocks.

Hand-made territory T = [0,300]×[0,100] m (3 ha), areas in hectares:

=====  =====================  ===========================  ===========================
piece  box                    2015                         2018
=====  =====================  ===========================  ===========================
A1     [0,60]×[0,100]         CS2.1.1.2 × US1.2 (pines)    same                     0.6
A2     [60,100]×[0,100]       CS2.1.1.2 × US1.2            CS1.1.1.1 × US5 (built)  0.4
B1     [100,180]×[0,100]      CS2.2.1 × US1.1 (field)      same                     0.8
B2     [180,200]×[0,50]       CS2.2.1 × US1.1              CS2.1.1.1 × US5 (trees)  0.1
B3     [180,200]×[50,100]     CS2.2.1 × US1.1              CS2.2.1 × US5 (lawn)     0.1
C1     [200,270]×[0,100]      CS1.1.1.1 × US5 (built)      same                     0.7
C2     [270,300]×[0,100]      CS1.1.1.1 × US5              CS2.2.1 × US5 (lawn)     0.3
=====  =====================  ===========================  ===========================

So: tree cover 1.0 → 0.7 ha (gain B2 0.1 from a field, loss A2 0.4 to built land, artificialised);
herbaceous 1.0 → 1.2 (gain C2 0.3 from built land, loss B2 0.1 to trees, not artificialised);
vegetated 2.0 → 1.9 (B2 moves inside the class); nature in town 0 → 0.5 ha (B2, B3, C2) out of
1.6 ha of urban uses in 2018 (A2, B2, B3, C1, C2): share 0.3125.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import geopandas as gpd
import pytest
import shapely

from ocsge_engine import cli
from ocsge_engine.indicators import load_pair, pair_from_layers, territory_indicators
from ocsge_engine.indicators.vegetation import (
    LEAF_CLASSES,
    change_pieces,
    vegetation,
)
from ocsge_engine.store import Store
from ocsge_engine.territories import Territory, get_territory
from indicator_shapes import box, layer

TERRITORY = SimpleNamespace(id="polygon:test", name="Test", area_ha=3.0, departements=("33",))


def _layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    before = layer([(box(0, 0, 100, 100), "CS2.1.1.2", "US1.2"),
                    (box(100, 0, 200, 100), "CS2.2.1", "US1.1"),
                    (box(200, 0, 300, 100), "CS1.1.1.1", "US5")])
    after = layer([(box(0, 0, 60, 100), "CS2.1.1.2", "US1.2"),
                   (box(60, 0, 100, 100), "CS1.1.1.1", "US5"),
                   (box(100, 0, 180, 100), "CS2.2.1", "US1.1"),
                   (box(180, 0, 200, 50), "CS2.1.1.1", "US5"),
                   (box(180, 50, 200, 100), "CS2.2.1", "US5"),
                   (box(200, 0, 270, 100), "CS1.1.1.1", "US5"),
                   (box(270, 0, 300, 100), "CS2.2.1", "US5")])
    return before, after


@pytest.fixture(scope="module")
def result():
    before, after = _layers()
    return vegetation(pair_from_layers(before, after, 2015, 2018, TERRITORY))


def test_stocks_by_hand(result) -> None:
    tree, herb, veg = (result.classes[k] for k in ("tree", "herbaceous", "vegetated"))
    assert (tree.stock_from_ha, tree.stock_to_ha) == pytest.approx((1.0, 0.7), abs=1e-9)
    assert (herb.stock_from_ha, herb.stock_to_ha) == pytest.approx((1.0, 1.2), abs=1e-9)
    assert (veg.stock_from_ha, veg.stock_to_ha) == pytest.approx((2.0, 1.9), abs=1e-9)
    assert result.classes["shrub"].stock_to_ha == 0.0
    assert result.classes["other_woody"].stock_from_ha == 0.0
    assert result.share("tree", "from") == pytest.approx(1 / 3)
    assert result.share("tree", "to") == pytest.approx(0.7 / 3)
    assert result.coverage == pytest.approx(1.0)
    assert result.synthetic is False


def test_flows_by_hand(result) -> None:
    tree, herb, veg = (result.classes[k] for k in ("tree", "herbaceous", "vegetated"))
    assert (tree.gain_ha, tree.loss_ha, tree.net_ha) == pytest.approx((0.1, 0.4, -0.3))
    assert tree.loss_to_artificial_ha == pytest.approx(0.4)
    assert tree.gains_from[["code_cs", "code_us"]].values.tolist() == [["CS2.2.1", "US1.1"]]
    assert tree.losses_to[["code_cs", "code_us"]].values.tolist() == [["CS1.1.1.1", "US5"]]
    assert (herb.gain_ha, herb.loss_ha) == pytest.approx((0.3, 0.1))
    assert herb.loss_to_artificial_ha == 0.0  # trees × residential are not artificialised
    assert herb.gain_from_artificial_ha == pytest.approx(0.3)
    assert (veg.gain_ha, veg.loss_ha, veg.net_ha) == pytest.approx((0.3, 0.4, -0.1))
    for change in result.classes.values():  # exact overlay: net flux = change of stock
        assert change.net_ha == pytest.approx(change.stock_change_ha, abs=1e-9)
    flows = {(r.code_from, r.code_to): r.area_ha for r in result.flows.itertuples()}
    assert flows == pytest.approx({("tree", "CS1.1"): 0.4, ("herbaceous", "tree"): 0.1,
                                   ("CS1.1", "herbaceous"): 0.3})


def test_urban_nature_by_hand(result) -> None:
    nature = result.urban_nature
    assert (nature.stock_from_ha, nature.stock_to_ha) == pytest.approx((0.0, 0.5))
    assert (nature.gain_ha, nature.loss_ha) == pytest.approx((0.5, 0.0))
    origins = {(r.code_cs, r.code_us): r.area_ha for r in nature.gains_from.itertuples()}
    assert origins == pytest.approx({("CS2.2.1", "US1.1"): 0.2, ("CS1.1.1.1", "US5"): 0.3})
    assert (result.urban_use_from_ha, result.urban_use_to_ha) == pytest.approx((1.0, 1.6))
    assert result.urban_share("from") == 0.0
    assert result.urban_share("to") == pytest.approx(0.3125)


def test_figures_and_dict(result) -> None:
    loss = result.figure("vegetation.tree.loss_ha")
    assert loss.value == pytest.approx(0.4) and loss.unit == "ha"
    assert loss.label == "Couvert arboré : pertes 2015–2018"
    assert loss.display() == "0,40\u202fha"
    assert result.figure("vegetation.tree.share_to").display() == "23,3\u202f%"  # 0.7 / 3
    keys = [f.key for f in result.figures()]
    assert len(keys) == len(set(keys)) == 6 * 8  # 6 classes × (2 stocks, 2 shares, gain, loss, net, to artificial)
    block = json.loads(json.dumps(result.to_dict()))
    assert block["classes"]["tree"]["losses_to"][0] == {
        "code": "CS1.1.1.1|US5", "code_cs": "CS1.1.1.1", "code_us": "US5",
        "area_ha": pytest.approx(0.4)}
    assert block["urban_nature"]["share_to"] == pytest.approx(0.3125)


def test_change_pieces_geometry() -> None:
    before, after = _layers()
    pieces = change_pieces(pair_from_layers(before, after, 2015, 2018), "tree")
    by_change = pieces.groupby("change")["area_ha"].sum()
    assert by_change["loss"] == pytest.approx(0.4) and by_change["gain"] == pytest.approx(0.1)
    assert pieces.geometry.area.sum() / 1e4 == pytest.approx(0.5)


def test_split_territory_adds_up() -> None:
    """Each figure in ha of T equals the sum over its halves x < 150 and x > 150."""
    before, after = _layers()
    whole = vegetation(pair_from_layers(before, after, 2015, 2018, TERRITORY))
    halves = []
    for part in (box(0, 0, 150, 100), box(150, 0, 300, 100)):
        clipped = [gpd.clip(g, part).explode(ignore_index=True) for g in (before, after)]
        half = SimpleNamespace(id="polygon:half", name="Moitié", area_ha=1.5, departements=("33",))
        halves.append(vegetation(pair_from_layers(*clipped, 2015, 2018, half)))
    for fig in whole.figures():
        if fig.unit == "ha":
            parts = [h.figure(fig.key).value for h in halves]
            assert fig.value == pytest.approx(sum(parts), abs=1e-9), fig.key
    assert halves[0].classes["tree"].loss_ha == pytest.approx(0.4)  # A2 is in the west half


# --- demo store -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def store(demo_store_dir) -> Store:
    return Store.open(demo_store_dir)


def test_demo_tree_stock_equals_clipped_polygons(store: Store, capsys) -> None:
    """Tree cover of each millésime = area of the CS2.1.1.x polygons clipped to the commune.

    Tree cover is CS2.1.1.1 to CS2.1.1.3 plus the undivided CS2.1.1 that three of Arcachon's real
    change polygons carry. The expectation is computed independently: the commune's polygons from the store (unclipped),
    intersected here with the commune's boundary, areas summed with shapely.
    """
    commune = get_territory("commune:33009")
    result = vegetation(store, commune, 2015, 2018)
    assert result.synthetic is True  # the demo background is synthetic
    assert all(f.synthetic for f in result.figures())
    expected = {}
    for year in (2015, 2018):
        raw = store.polygons(commune, year, clip=False, columns=["code_cs"])
        # CS2.1.1.1-3, and CS2.1.1 undivided: some real change polygons carry the level-3 code
        trees = raw[raw["code_cs"].str.startswith("CS2.1.1.") | (raw["code_cs"] == "CS2.1.1")]
        expected[year] = float(shapely.area(shapely.intersection(
            trees.geometry.to_numpy(), commune.geometry)).sum()) / 1e4
    assert expected[2015] > 100  # Arcachon's pines: a real stock, not an empty selection
    assert result.classes["tree"].stock_from_ha == pytest.approx(expected[2015], abs=1e-4)
    assert result.classes["tree"].stock_to_ha == pytest.approx(expected[2018], abs=1e-4)

    assert cli.main(["-q", "indicators", "--store", str(store.path), "--territory",
                     "commune:33009", "--from", "2015", "--to", "2018", "--format", "json"]) == 0
    block = json.loads(capsys.readouterr().out)["vegetation"]
    assert block["classes"]["tree"]["stock_from_ha"] == pytest.approx(expected[2015], abs=1e-4)
    assert block["classes"]["tree"]["stock_to_ha"] == pytest.approx(expected[2018], abs=1e-4)
    assert block["synthetic"] is True
    assert block["classes"]["tree"]["loss_ha"] == pytest.approx(
        result.classes["tree"].loss_ha, abs=1e-9)


def test_demo_split_commune_adds_up(store: Store) -> None:
    """A demo commune cut in two by a vertical line: stocks and flows of the halves add up."""
    commune = get_territory("commune:33009")
    whole = vegetation(store, commune, 2015, 2018)
    xmin, ymin, xmax, ymax = commune.geometry.bounds
    mid = (xmin + xmax) / 2
    halves = []
    for k, cut in enumerate((shapely.box(xmin - 1, ymin - 1, mid, ymax + 1),
                             shapely.box(mid, ymin - 1, xmax + 1, ymax + 1))):
        part = Territory("polygon", f"moitie{k}", f"Moitié {k}",
                         commune.geometry.intersection(cut), ("33",))
        halves.append(vegetation(store, part, 2015, 2018))
    for key in (*LEAF_CLASSES, "vegetated"):
        for attr in ("stock_from_ha", "stock_to_ha", "gain_ha", "loss_ha"):
            total = sum(getattr(h.classes[key], attr) for h in halves)
            assert getattr(whole.classes[key], attr) == pytest.approx(total, abs=1e-3), (key, attr)
    assert whole.urban_nature.stock_to_ha == pytest.approx(
        sum(h.urban_nature.stock_to_ha for h in halves), abs=1e-3)


def test_territory_indicators_carries_the_same_block(store: Store) -> None:
    ind = territory_indicators(store, "commune:33009", 2015, 2018)
    direct = vegetation(load_pair(store, "commune:33009", 2015, 2018), store=store)
    assert ind.vegetation is not None
    assert ind.vegetation.to_dict() == direct.to_dict()
    flat = ind.to_flat().set_index("key")["value"]
    assert flat["vegetation.classes.tree.stock_to_ha"] == pytest.approx(
        direct.classes["tree"].stock_to_ha)


def test_sentence_by_hand(result) -> None:
    """The page's and the report's sentence on the hand-made territory (numbers above)."""
    from ocsge_engine.report.vegetation import vegetation_sentence

    s = "\u202f"
    assert vegetation_sentence(result, "polygon") == (
        f"Entre 2015 et 2018, le territoire a perdu 0,40{s}ha de couvert arboré, dont 0,40{s}ha "
        f"devenus artificialisés, et en a gagné 0,10{s}ha : solde net −0,30{s}ha. La végétation "
        f"couvre 63,3{s}% du territoire en 2018 (1,90{s}ha, solde net −0,10{s}ha). La nature en "
        f"ville représente 0,50{s}ha, soit 31,2{s}% des espaces à usage résidentiel, économique, "
        "de transport ou de services.")


def test_sentence_without_tree_change() -> None:
    from ocsge_engine.report.vegetation import vegetation_sentence

    same = layer([(box(0, 0, 100, 100), "CS2.1.1.1", "US1.2")])
    text = vegetation_sentence(vegetation(pair_from_layers(same, same, 2015, 2018, TERRITORY)),
                               "commune")
    assert text.startswith("Entre 2015 et 2018, la commune n'a ni perdu ni gagné de couvert arboré.")
    assert "nature en ville" not in text.lower()  # no urban use at all: no share to give
