"""AppTest of the Zonage page: upload a zone_urba layer, figures equal the engine's, refusals.

The store is a full copy of the demo store (the upload writes a table into its catalogue).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ocsge_engine.indicators.zonage import TABLE, zone_artificialisation
from ocsge_engine.store import Store
from tests.app.conftest import chart_count
from tests.indicators.test_zonage import demo_zones

REPO_ROOT = Path(__file__).resolve().parents[2]
ARCACHON = "commune:33009"


@pytest.fixture
def store_copy(demo_store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
               ) -> Iterator[Path]:
    store = tmp_path / "store"
    store.mkdir()
    (store / "layers").symlink_to(demo_store_dir / "layers")
    shutil.copy2(demo_store_dir / "catalog.duckdb", store / "catalog.duckdb")
    monkeypatch.setenv("OCSGE_STORE_DIR", str(store))
    monkeypatch.chdir(REPO_ROOT)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield store
    st.cache_data.clear()
    st.cache_resource.clear()


def open_zonage(territoire: str = ARCACHON) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"territoire": territoire, "de": "2015", "a": "2018"})
    at.run()
    at.switch_page("pages/zonage.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_upload_then_figures_equal_engine(store_copy: Path, tmp_path: Path) -> None:
    at = open_zonage()
    assert [e.value[:45] for e in at.error] == ["Aucun zonage d'urbanisme n'a été importé : im"]
    bad = tmp_path / "sans_type.geojson"
    demo_zones(ARCACHON).drop(columns=["typezone"]).to_crs(4326).to_file(bad, driver="GeoJSON")
    at.file_uploader(key="zonage_upload").set_value(
        ("sans_type.geojson", bad.read_bytes(), "application/geo+json")).run()
    assert any("n'a pas de colonne TYPEZONE" in e.value for e in at.error)
    with pytest.raises(Exception, match="zonage_urba"):
        Store.open(store_copy).read_table(TABLE)  # nothing stored

    good = tmp_path / "zone_urba.geojson"
    demo_zones(ARCACHON).to_crs(4326).to_file(good, driver="GeoJSON")
    at.file_uploader(key="zonage_upload").set_value(
        ("zone_urba.geojson", good.read_bytes(), "application/geo+json")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("3 zones (1 U, 1 AU, 1 A)" in s.value for s in at.success)
    stats = zone_artificialisation(Store.open(store_copy), ARCACHON, 2015, 2018)
    shown = {m.label: m.value for m in at.metric}
    for fig in stats.figures():
        assert shown[fig.label] == fig.display()
    assert any("se superposent" in w.value for w in at.warning)
    assert any("Hors zonage" in i.value for i in at.info)
    assert chart_count(at) == 3
    by_type = at.dataframe[0].value
    assert by_type["gain_ha"].sum() == pytest.approx(stats.territory.gross_gain_ha, abs=1e-6)
