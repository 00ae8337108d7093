"""One figure, one definition: every surface shows the figures layer's numbers.

For every demo commune (the 17 SYBARVAL communes) and the three EPCI of the SCoT, the headline
figures of :func:`ocsge_engine.portrait.portrait_figures` are compared with what the other
surfaces read: the ``indicators`` CLI JSON, the national batch rows (Classements, Croiser and
Comparer read them) and the Comparer table. Artificialisation figures must add up exactly over
the communes of an EPCI (the official status is per polygon, computed at département scale).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import shapely

from ocsge_engine import cli
from ocsge_engine.batch.figures import comparison_table
from ocsge_engine.batch.results import national_results
from ocsge_engine.portrait import portrait_figures
from ocsge_engine.store import Store
from ocsge_engine.territories import Territory, get_territory

# The 17 SYBARVAL communes (data/reference/sybarval_2009_2018, SOURCE.md) and their 3 EPCI.
COMMUNES = ("33005", "33009", "33011", "33019", "33029", "33042", "33051", "33199", "33229",
            "33236", "33260", "33284", "33436", "33498", "33527", "33529", "33555")
EPCI = ("epci:243300563", "epci:243301504", "epci:243301405")
ADDITIVE = ("stock_from_ha", "stock_to_ha", "gross_gain_ha", "gross_loss_ha", "net_ha")


@pytest.fixture(scope="module")
def store(national_store_dir: Path) -> Store:
    return Store.open(national_store_dir)


@pytest.fixture(scope="module")
def figures(store: Store) -> dict[str, object]:
    ids = [f"commune:{c}" for c in COMMUNES] + list(EPCI)
    return {t: portrait_figures(store, t, 2015, 2018) for t in ids}


def _cli_json(store: Store, territory: str, capsys: pytest.CaptureFixture[str]) -> dict:
    code = cli.main(["-q", "indicators", "--store", str(store.path), "--territory", territory,
                     "--from", "2015", "--to", "2018", "--format", "json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("territory", [f"commune:{c}" for c in COMMUNES] + list(EPCI))
def test_cli_json_equals_figures_layer(store: Store, figures, territory: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = _cli_json(store, territory, capsys)
    fig = figures[territory]
    for key in ADDITIVE:
        assert out["artificialisation"][key] == pytest.approx(
            fig[f"artificialisation.{key}"].value, abs=1e-9), key
    per_new = fig["per_inhabitant.net_m2_per_new_inhabitant"].value
    assert out["per_inhabitant"]["net_m2_per_new_inhabitant"] == (
        pytest.approx(per_new, rel=1e-12) if per_new is not None else None)
    assert out["figures"]["artificialisation.net_ha"]["display"] == fig[
        "artificialisation.net_ha"].display()
    assert out["synthetic"] is True  # the demo's background is synthetic
    assert "synthétique" in out["source"]


@pytest.mark.parametrize("code", COMMUNES)
def test_national_rows_and_comparer_equal_figures_layer(store: Store, figures, code: str
                                                        ) -> None:
    fig = figures[f"commune:{code}"]
    rows = national_results(store.path, pair="2015_2018", commune=code)  # Classements' source
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["artif_net_ha"] == pytest.approx(fig["artificialisation.net_ha"].value, abs=1e-6)
    assert row["artif_gross_gain_ha"] == pytest.approx(
        fig["artificialisation.gross_gain_ha"].value, abs=1e-6)
    assert row["artif_stock_to_ha"] == pytest.approx(
        fig["artificialisation.stock_to_ha"].value, abs=1e-6)
    per_new = fig["per_inhabitant.net_m2_per_new_inhabitant"].value
    if per_new is None:  # no ratio there either (NaN or None)
        assert row["net_m2_per_new_inhabitant"] is None or pd.isna(row["net_m2_per_new_inhabitant"])
    else:
        assert row["net_m2_per_new_inhabitant"] == pytest.approx(per_new, rel=1e-9)
    table = comparison_table(store, f"commune:{code}", 2015, 2018, similar=False)
    own = table[table["code"] == code].iloc[0]
    assert own["net_ha"] == pytest.approx(fig["artificialisation.net_ha"].value, abs=1e-6)


@pytest.mark.parametrize("epci", EPCI)
def test_artificialisation_adds_up_over_the_communes_of_an_epci(figures, epci: str) -> None:
    members = [f"commune:{c}" for c in COMMUNES
               if get_territory(f"commune:{c}").geometry.within(
                   get_territory(epci).geometry.buffer(1.0))]
    assert members, epci
    for key in ADDITIVE:
        total = sum(figures[m][f"artificialisation.{key}"].value for m in members)
        assert figures[epci][f"artificialisation.{key}"].value == pytest.approx(total, abs=1e-4)


def test_net_equals_stock_change_everywhere(figures) -> None:
    for territory, fig in figures.items():
        change = fig["artificialisation.stock_to_ha"].value - fig[
            "artificialisation.stock_from_ha"].value
        assert fig["artificialisation.net_ha"].value == pytest.approx(change, abs=1e-6), territory


def test_a_territory_split_in_two_adds_up(store: Store) -> None:
    commune = get_territory("commune:33529")  # La Teste-de-Buch, cut by a vertical line
    xmin, ymin, xmax, ymax = commune.geometry.bounds
    middle = (xmin + xmax) / 2
    halves = [shapely.intersection(commune.geometry, shapely.box(a, ymin - 1, b, ymax + 1))
              for a, b in ((xmin - 1, middle), (middle, xmax + 1))]
    parts = [portrait_figures(store, Territory("polygon", f"half{k}", f"moitié {k}", geom,
                                               ("33",)), 2015, 2018)
             for k, geom in enumerate(halves)]
    whole = portrait_figures(store, commune, 2015, 2018)
    for key in ADDITIVE:
        total = sum(p[f"artificialisation.{key}"].value for p in parts)
        assert whole[f"artificialisation.{key}"].value == pytest.approx(total, abs=1e-4), key


def test_outside_the_store_is_not_covered(store: Store, capsys) -> None:
    code = cli.main(["-q", "indicators", "--store", str(store.path), "--territory",
                     "commune:33063", "--from", "2015", "--to", "2018"])  # Bordeaux
    assert code == 2
    assert "n'est pas couvert par l'OCS GE chargée" in capsys.readouterr().err


@pytest.mark.parametrize("territory", [f"commune:{c}" for c in COMMUNES] + list(EPCI))
def test_flux_official_matrices_equal_the_artificialisation_figures(figures, territory) -> None:
    # Flux's families and artificialised/not levels read the official status: their
    # « artificialisé » gains, losses, stocks and net are the figures layer's, to the float.
    from ocsge_engine.portrait.matrices import official_matrix

    fig = figures[territory]
    for by in ("anf", "artif"):
        matrix = official_matrix(fig, by)
        assert matrix.gains()["artificialise"] == pytest.approx(
            fig["artificialisation.gross_gain_ha"].value, abs=1e-9), by
        assert matrix.losses()["artificialise"] == pytest.approx(
            fig["artificialisation.gross_loss_ha"].value, abs=1e-9), by
        assert matrix.stocks_from["artificialise"] == pytest.approx(
            fig["artificialisation.stock_from_ha"].value, abs=1e-6), by
        assert matrix.stocks_to["artificialise"] == pytest.approx(
            fig["artificialisation.stock_to_ha"].value, abs=1e-6), by
        # rows and columns of the matrix add up to its stocks (an exchange matrix)
        pivot = matrix.pivot()
        assert pivot.sum(axis=1).to_numpy() == pytest.approx(
            matrix.stocks_from.reindex(pivot.index).to_numpy(), abs=1e-6)
    families = official_matrix(fig, "anf")
    status = official_matrix(fig, "artif")
    assert status.table["area_ha"].sum() == pytest.approx(families.table["area_ha"].sum())
