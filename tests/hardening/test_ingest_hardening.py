"""Ingest and store under hostile or broken input: code grammar, CRS plausibility, all-or-nothing
catalogue, readers never blocked by a Parquet write, crash leftovers cleaned."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import pytest

from ocsge_engine.cli import main
from ocsge_engine.errors import CrsError, UnknownCodeError
from ocsge_engine.store import Store
from ocsge_engine.store import db as store_db
from ocsge_engine.store.ingest import ingest_paths

OCS_DIR = "OCS-GE_2-0__SHP_LAMB93_D033_2018-01-01"


@pytest.fixture(scope="module")
def ab(shared_data: Path) -> gpd.GeoDataFrame:
    """The real SYBARVAL change polygons (Gironde, EPSG:2154)."""
    return gpd.read_file(shared_data / "ocsge_sybarval_2015_2018" / "A_B_2015_2018.shp")


def _layer(ab: gpd.GeoDataFrame, n: int = 30) -> gpd.GeoDataFrame:
    sub = ab.iloc[:n]
    return gpd.GeoDataFrame({"ID": [f"OCS{i}" for i in range(n)],
                             "CODE_CS": sub["cs_2018"].to_numpy(),
                             "CODE_US": sub["us_2018"].to_numpy()},
                            geometry=sub.geometry.to_numpy(), crs="EPSG:2154")


def _shp(gdf: gpd.GeoDataFrame, folder: Path, name: str = "OCCUPATION_SOL") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    gdf.to_file(folder / f"{name}.shp", engine="pyogrio")
    return folder / f"{name}.shp"


def test_markup_code_with_allow_unknown_exits_2(tmp_path: Path, ab, capsys) -> None:
    """Must show: a code `<img src=x onerror=alert(1)>` is refused even with --allow-unknown."""
    gdf = _layer(ab)
    gdf.loc[0, "CODE_CS"] = "<img src=x onerror=alert(1)>"
    path = _shp(gdf, tmp_path / OCS_DIR)
    store = tmp_path / "store"
    assert main(["-q", "ingest", str(path), "--store", str(store), "--allow-unknown"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("erreur : La couche") and "même avec --allow-unknown" in err
    assert "<img" not in err.split("[")[0]  # the French line shows it defused
    assert not store.exists()


def test_cnig_shaped_unknown_codes_are_still_kept(tmp_path: Path, ab) -> None:
    gdf = _layer(ab, 10)
    gdf.loc[:1, "CODE_CS"] = "CS9.9"
    gdf.loc[2, "CODE_US"] = "us 7"  # not CNIG-shaped either (space)
    path = _shp(gdf, tmp_path / OCS_DIR)
    with pytest.raises(UnknownCodeError, match="not US codes"):
        ingest_paths([path], tmp_path / "store", allow_unknown=True)
    gdf.loc[2, "CODE_US"] = "US9.1"
    _shp(gdf, tmp_path / OCS_DIR)
    (report,) = ingest_paths([path], tmp_path / "store", allow_unknown=True)
    assert report.unknown_codes == {"CS9.9": 2, "US9.1": 1}


@pytest.mark.parametrize(("declared", "french"), [
    # Lambert-93 metres read as Web Mercator land at 3.26°E 49.62°N: in the Aisne (D02
    # extent 2.958..4.256°E, 48.837..50.07°N in data/territories/departements_bbox.csv)
    ("EPSG:3857", "vers 3,26°, 49,62°"),
    ("EPSG:4326", "hors des longitudes et latitudes possibles"),
])
def test_wrong_declared_crs_is_refused(tmp_path: Path, ab, declared: str, french: str) -> None:
    gdf = _layer(ab).set_crs(declared, allow_override=True)
    path = _shp(gdf, tmp_path / OCS_DIR)
    with pytest.raises(CrsError, match="outside D33") as info:
        ingest_paths([path], tmp_path / "store")
    assert "tombe hors du département 33" in info.value.user_message
    assert french in info.value.user_message and declared in info.value.user_message
    assert not (tmp_path / "store").exists()


def test_delivery_layers_are_catalogued_all_or_nothing(tmp_path: Path, ab,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Two layers in one delivery; the commit of the second fails: neither is catalogued."""
    folder = tmp_path / OCS_DIR
    _shp(_layer(ab, 20), folder / "OCCUPATION_SOL")
    zc = _layer(ab, 10)[["ID", "geometry"]]
    _shp(zc, folder / "ZONE_CONSTRUITE", "ZONE_CONSTRUITE")
    store_dir = tmp_path / "store"
    ingest_paths([_shp(_layer(ab, 5), tmp_path / "seed" / OCS_DIR)], store_dir)
    before = Store.open(store_dir).catalog()[["layer", "n_features"]].values.tolist()
    real_replace = os.replace
    calls: list[str] = []

    def failing_replace(src, dst):  # noqa: ANN001, ANN202
        calls.append(str(dst))
        if "zone_construite" in str(dst):
            raise OSError("disk full on the second layer")
        return real_replace(src, dst)

    monkeypatch.setattr(store_db.os, "replace", failing_replace)
    with pytest.raises(OSError, match="second layer"):
        ingest_paths([folder], store_dir)
    monkeypatch.undo()
    assert len(calls) == 2  # both layers were staged and moved in one commit
    assert Store.open(store_dir).catalog()[["layer", "n_features"]].values.tolist() == before
    assert not list((store_dir / "layers").rglob("*.tmp"))
    reports = ingest_paths([folder], store_dir)
    assert sorted(r.layer for r in reports) == ["occupation_sol", "zone_construite"]


def test_readers_are_not_blocked_by_a_parquet_write(tmp_path: Path, ab,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """While a partition's Parquet is being written, the catalogue can be read."""
    store_dir = tmp_path / "store"
    ingest_paths([_shp(_layer(ab, 5), tmp_path / "seed" / OCS_DIR)], store_dir)
    writing, release = threading.Event(), threading.Event()
    real_write = store_db.write_partition

    def slow_write(table, target):  # noqa: ANN001, ANN202
        writing.set()
        assert release.wait(30)
        return real_write(table, target)

    monkeypatch.setattr(store_db, "write_partition", slow_write)
    path = _shp(_layer(ab, 40), tmp_path / "new" / OCS_DIR)
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            ingest_paths([path], store_dir, millesime=2019)
        except BaseException as err:  # noqa: BLE001 - reported by the main thread
            errors.append(err)

    worker = threading.Thread(target=ingest)
    worker.start()
    try:
        assert writing.wait(60)
        start = time.monotonic()
        catalog = Store(store_dir).catalog()  # a fresh reader, same process
        waited = time.monotonic() - start
    finally:
        release.set()
        worker.join(120)
    assert not errors, errors
    assert catalog["millesime"].tolist() == ["2018"] and waited < 1.0
    assert Store.open(store_dir).catalog()["millesime"].tolist() == ["2018", "2019"]


def test_staged_files_of_a_killed_writer_are_cleaned(tmp_path: Path, ab) -> None:
    store_dir = tmp_path / "store"
    path = _shp(_layer(ab, 5), tmp_path / "seed" / OCS_DIR)
    ingest_paths([path], store_dir)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    partition = next((store_dir / "layers").rglob("data.parquet")).parent
    leftover = partition / f".data.parquet.{int(dead.stdout)}.{'ab' * 16}.tmp"
    leftover.write_bytes(b"PAR1 half written")
    mine = partition / f".data.parquet.{os.getpid()}.{'cd' * 16}.tmp"
    mine.write_bytes(b"PAR1 being written")
    ingest_paths([_shp(_layer(ab, 8), tmp_path / "next" / OCS_DIR)], store_dir, millesime=2019)
    assert not leftover.exists() and mine.exists()
