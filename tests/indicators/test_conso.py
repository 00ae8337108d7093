"""Cerema consumption import (``ingest-conso``): layout, refusals, sums, and sparte's Lyon figures.

Golden: sparte's ``landconso.csv`` (Métropole de Lyon, m² per commune and year 2009–2023, by
destination) rewritten into the Cerema national layout by the fixture below, imported, gives back
the 59 trajectories sparte publishes in ``landmodel.conso_details``
(``data/reference/lyon_2017_2020``, see its SOURCE.md).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ocsge_engine.cli import main as cli_main
from ocsge_engine.config import get_settings
from ocsge_engine.errors import ConsumptionNotFoundError, LocalDataError, StoreError
from ocsge_engine.indicators.conso import (
    TABLE,
    cerema_consumption,
    ingest_conso,
    read_cerema_csv,
    to_cerema_layout,
)
from ocsge_engine.indicators.zan import ZanOptions, consumption_series, zan_trajectory
from ocsge_engine.store import Store
from ocsge_engine.territories import communes_table, get_territory
from tests.indicators.test_zan import assert_published

LYON = get_settings().data_dir / "reference" / "lyon_2017_2020"
METROPOLE = "200046977"


def lyon_cerema_layout(upper: bool = False) -> pd.DataFrame:
    """sparte's ``landconso`` (communes only) in the Cerema layout: idcom, nafYYartZZ, artYY…ZZ."""
    conso = pd.read_csv(LYON / "landconso.csv", dtype={"land_id": str})
    communes = conso[conso["land_type"] == "COMM"].rename(columns={
        "land_id": "idcom", "total": "total_m2", **{d: f"{d}_m2" for d in (
            "activite", "habitat", "mixte", "route", "ferroviaire", "inconnu")}})
    wide = to_cerema_layout(communes)
    wide = pd.concat([wide[["idcom"]], pd.Series("commune", index=wide.index, name="idcomtxt"),
                      wide.drop(columns="idcom")], axis=1)  # extra columns are ignored
    if upper:
        wide.columns = [c.upper() for c in wide.columns]
    return wide


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "store", create=True)


@pytest.fixture()
def lyon_csv(tmp_path: Path) -> Path:
    path = tmp_path / "conso2009_2023_lyon.csv"
    lyon_cerema_layout().to_csv(path, sep=";", index=False)
    return path


def test_layout_columns_and_years_read_from_file() -> None:
    wide = lyon_cerema_layout()
    assert "naf09art10" in wide.columns and "art23hab24" in wide.columns
    assert len(wide) == 58 and wide.shape[1] == 2 + 15 * 7
    long = read_cerema_csv(lyon_cerema_layout(upper=True).to_csv(sep=";", index=False).encode())
    assert sorted(long["year"].unique()) == list(range(2009, 2024))
    assert long["idcom"].nunique() == 58
    # a later edition without 2009: the window moves, nothing else to say
    shifted = wide.drop(columns=[c for c in wide.columns if c.startswith(("naf09", "art09"))])
    assert read_cerema_csv(shifted.to_csv(index=False).encode())["year"].min() == 2010


def test_imported_lyon_file_gives_sparte_published_trajectories(store: Store,
                                                                lyon_csv: Path) -> None:
    result = ingest_conso(store, lyon_csv)
    assert result.communes == 58 and result.years == tuple(range(2009, 2024))
    model = pd.read_csv(LYON / "landmodel.csv", dtype={"land_id": str})
    assert len(model) == 59
    for row in model.itertuples():
        kind = "epci" if row.land_id == METROPOLE else "commune"
        series = consumption_series(get_territory(f"{kind}:{row.land_id}"), store)
        assert series.key == "cerema" and lyon_csv.name in series.source
        assert_published(zan_trajectory(series), json.loads(row.conso_details))
    # destinations are kept and add up to the total (Métropole, 2015: sum of the communes)
    metro = cerema_consumption(store, get_territory(f"epci:{METROPOLE}"))
    assert sum(metro.destinations[2015].values()) == pytest.approx(metro.values[2015])
    conso = pd.read_csv(LYON / "landconso.csv", dtype={"land_id": str})
    published = conso[(conso["land_id"] == METROPOLE) & (conso["year"] == 2015)].iloc[0]
    assert metro.values[2015] == pytest.approx(published["total"] / 1e4)
    assert metro.destinations[2015]["habitat"] == pytest.approx(published["habitat"] / 1e4)


def test_reimport_replaces_rows_and_other_sources_stay_available(store: Store,
                                                                 lyon_csv: Path) -> None:
    ingest_conso(store, lyon_csv)
    ingest_conso(store, lyon_csv, source="Cerema, édition test")
    table = store.read_table(TABLE)
    assert len(table) == 58 * 15 and set(table["source"]) == {"Cerema, édition test"}
    # département 69 has 266 communes: a partial file is refused, not summed
    with pytest.raises(ConsumptionNotFoundError) as err:
        cerema_consumption(store, get_territory("departement:69"))
    assert "208" in err.value.user_message


def test_departement_is_the_sum_of_its_communes(store: Store, tmp_path: Path) -> None:
    codes = communes_table().query("departement == '32'")["code"].tolist()
    wide = pd.DataFrame({"IDCOM": codes, "NAF11ART12": 10000.0, "NAF12ART13": 20000.0})
    for year in (11, 12):
        for dest in ("act", "hab", "mix", "rou", "fer", "inc"):
            wide[f"ART{year}{dest.upper()}{year + 1}"] = 10000.0 * (year - 10) if dest == "hab" else 0
    path = tmp_path / "gers.csv"
    wide.to_csv(path, index=False)
    ingest_conso(store, path)
    series = cerema_consumption(store, get_territory("departement:32"))
    assert series.values == {2011: len(codes) * 1.0, 2012: len(codes) * 2.0}  # 1 and 2 ha each
    assert series.destinations[2012]["habitat"] == pytest.approx(len(codes) * 2.0)
    t = zan_trajectory(series, ZanOptions())
    assert t.consumed_ha is None and t.missing_after == 2012 and t.projected_ha is None


@pytest.mark.parametrize(("edit", "message"), [
    (lambda w: w.drop(columns=["idcom"]), "idcom"),
    (lambda w: w.assign(naf15art16=["beaucoup"] + list(w["naf15art16"][1:])),
     "Valeur non numérique « beaucoup » dans la colonne naf15art16"),
    (lambda w: w.drop(columns=["art12rou13"]), "art12rou13"),
    (lambda w: w[["idcom", "idcomtxt"]].assign(total=1), "nafAAartBB"),
    (lambda w: pd.concat([w, w.iloc[:1]]), "plusieurs lignes"),
    (lambda w: w.assign(naf15art16=-w["naf15art16"] - 1), "négative"),
])
def test_bad_files_refused_with_nothing_stored(store: Store, tmp_path: Path, edit, message) -> None:  # noqa: ANN001
    path = tmp_path / "bad.csv"
    edit(lyon_cerema_layout()).to_csv(path, sep=";", index=False)
    with pytest.raises(LocalDataError) as err:
        ingest_conso(store, path)
    assert message in err.value.user_message
    with pytest.raises(StoreError):
        store.read_table(TABLE)  # nothing written


def test_cli_ingest_then_indicators_gives_reference_and_envelope(
        demo_store_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Must show: ingest-conso, then ``indicators`` on a demo commune reads the imported series."""
    store_dir = tmp_path / "store"
    shutil.copytree(demo_store_dir, store_dir)
    codes = ["33009", "33529"]
    long = pd.DataFrame([{"idcom": c, "year": y, "total_m2": 1000.0 * (y - 2000) * (i + 1),
                          "activite_m2": 0.0, "habitat_m2": 1000.0 * (y - 2000) * (i + 1),
                          "mixte_m2": 0.0, "route_m2": 0.0, "ferroviaire_m2": 0.0,
                          "inconnu_m2": 0.0}
                         for i, c in enumerate(codes) for y in range(2009, 2024)])
    path = tmp_path / "conso2009_2023.csv"
    to_cerema_layout(long).to_csv(path, sep=";", index=False)
    assert cli_main(["-q", "ingest-conso", str(path), "--store", str(store_dir)]) == 0
    assert "2 communes, années 2009–2023" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("code;naf11art12\n33009;1\n", encoding="utf-8")
    assert cli_main(["-q", "ingest-conso", str(bad), "--store", str(store_dir)]) == 2
    err = capsys.readouterr().err
    assert "idcom" in err and "Traceback" not in err
    assert cli_main(["-q", "indicators", "--territory", "commune:33009", "--from", "2015",
                     "--to", "2018", "--store", str(store_dir), "--format", "json"]) == 0
    zan = json.loads(capsys.readouterr().out)["zan"]
    # 33009: 0.1 ha x (y - 2000) per year: 2011..2020 = 0.1 x (11 + ... + 20) = 15.5 ha
    assert zan["reference_ha"] == pytest.approx(15.5) and zan["allowed_ha"] == pytest.approx(7.75)
    assert zan["consumed_ha"] == pytest.approx(0.1 * (21 + 22 + 23))
    assert zan["projected_ha"] == pytest.approx(0.1 * 22 * 9)  # sparte: mean since 2021 x 9
    assert "Cerema" in zan["source"] and path.name in zan["source"]
    assert cli_main(["-q", "indicators", "--territory", "commune:33009", "--from", "2015",
                     "--to", "2018", "--store", str(store_dir), "--format", "json",
                     "--projection", "periode"]) == 0
    other = json.loads(capsys.readouterr().out)["zan"]
    assert other["projection_method"] == "periode"
    assert other["projected_ha"] == pytest.approx(0.1 * 22 * 10)  # to the end of 2030
