"""Territories from the URL are ids, never paths: ``polygon:FILE`` is refused by the app, and a
contour name is shown as plain text."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

import ocsge_engine.territories as territories
from ocsge_engine.io.uploads import save_uploaded_territory

# 1 km × 2 km inside Arcachon (EPSG:2154): 200 ha.
RECT = box(370_000, 6_400_000, 371_000, 6_402_000)
DEFAULT = "commune:33529"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path given to ``territory_from_file`` during the test."""
    seen: list[str] = []
    original = territories.territory_from_file

    def spy(path):  # noqa: ANN001, ANN202 - same signature as the original
        seen.append(str(path))
        return original(path)

    monkeypatch.setattr(territories, "territory_from_file", spy)
    return seen


def _chosen(at) -> str:
    """The territory the session uses (the default when none was accepted)."""
    return at.session_state["territory_id"] if "territory_id" in at.session_state else DEFAULT


def _all_text(at) -> str:
    parts = [e.value for e in (*at.markdown, *at.error, *at.warning, *at.caption, *at.title)]
    return "\n".join(str(p) for p in parts)


def test_polygon_path_in_url_is_never_loaded(open_app, tmp_path: Path, reads: list[str]) -> None:
    secret = tmp_path / "server_secret.geojson"
    gpd.GeoDataFrame({"nom": ["Secret"]}, geometry=[RECT], crs=2154).to_file(secret)
    at = open_app(territoire=f"polygon:{secret}")
    assert not any("server_secret" in path for path in reads)
    assert _chosen(at) == DEFAULT
    assert at.query_params["territoire"] in (DEFAULT, [DEFAULT])
    assert any("chemin de fichier" in e.value for e in at.error)
    text = _all_text(at)
    assert "server_secret" not in text and "Secret" not in text and str(tmp_path) not in text


def test_missing_server_path_gives_the_same_answer(open_app, tmp_path: Path) -> None:
    """Whether the file exists or not, the page says the same thing (no existence oracle)."""
    answers = []
    for path in (tmp_path / "exists.geojson", tmp_path / "missing.geojson"):
        if path.name == "exists.geojson":
            gpd.GeoDataFrame(geometry=[RECT], crs=2154).to_file(path)
        at = open_app(territoire=f"polygon:{path}")
        answers.append([e.value for e in at.error])
    assert answers[0] == answers[1] and answers[0]


def test_contour_id_in_url_opens_it_with_a_plain_text_name(open_app, app_store: Path) -> None:
    data = gpd.GeoDataFrame({"nom": ["![pixel](http://example.invalid/p.png) Zone"]},
                            geometry=[RECT], crs=2154).to_json().encode()
    kept = save_uploaded_territory(data, "zone.geojson", app_store / "territoires")
    assert kept.id.startswith("contour:") and len(kept.id) == len("contour:") + 16
    at = open_app(territoire=kept.id)
    assert at.session_state["territory_id"] == kept.id
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert "pixel" in sidebar and "![" not in sidebar and "](" not in sidebar
    assert str(app_store) not in _all_text(at)


@pytest.mark.parametrize("bad", ["contour:../../etc/passwd", "contour:0123456789abcdef",
                                 "contour:ZZZZ"])
def test_unknown_or_malformed_contour_ids_fall_back(open_app, bad: str) -> None:
    at = open_app(territoire=bad)
    assert _chosen(at) == DEFAULT
    assert any("contour personnalisé n'existe pas" in e.value for e in at.error)


def test_new_ingest_is_seen_on_the_next_rerun(open_app, app_store: Path,
                                              demo_store_dir: Path) -> None:
    """The millésime list is keyed on the catalogue stamp: no stale cache after an ingest."""
    import shutil

    from ocsge_engine.store import Store
    from ocsge_engine.territories import get_territory

    for name in ("catalog.duckdb", "layers"):  # a private copy: this test writes to it
        (app_store / name).unlink()
        copy = shutil.copytree if (demo_store_dir / name).is_dir() else shutil.copy2
        copy(demo_store_dir / name, app_store / name)
    at = open_app()
    assert at.sidebar.selectbox[-1].options == ["2018"]  # arrivée: 2015 -> 2018 only
    store = Store.open(app_store)
    layer = store.polygons(get_territory(DEFAULT), 2018, clip=False)
    store.write_layer(layer.assign(millesime=2021), layer="occupation_sol", departement="33",
                      millesime=2021, source_file="test", source_sha256="0" * 64)
    at.run()
    assert at.sidebar.selectbox[-1].options == ["2018", "2021"]


def test_picker_left_empty_by_the_browser_keeps_the_territory(open_app, caplog) -> None:
    """The browser may send the sidebar picker back with no value (its React state lost on a
    remount): the territory of the link stays. The picker has no default option, so such a
    message can never mean « the first commune of the list » (Abeilhan, 34001, first of the
    communes sorted by name), as a loaded CI run once saw: Arcachon's Artificialisation page
    switched to Abeilhan between two clicks."""
    at = open_app("pages/artificialisation.py", territoire="commune:33009", de="2015", a="2018")
    picker = at.sidebar.selectbox(key="territory_pick")
    assert picker.value == "commune:33009"
    with caplog.at_level("INFO", logger="ocsge_app"):
        picker.set_value(None).run()
    assert not at.exception
    assert "territory picker sent back empty: territory kept" in caplog.text
    assert at.session_state["territory_id"] == "commune:33009"
    assert at.query_params["territoire"] in ("commune:33009", ["commune:33009"])
    assert at.sidebar.selectbox(key="territory_pick").value == "commune:33009"
    # a real choice still switches at once (Abeilhan · 34001 is in the demo's communes)
    at.sidebar.selectbox(key="territory_pick").set_value("commune:34001").run()
    assert at.session_state["territory_id"] == "commune:34001"
    assert at.sidebar.selectbox(key="territory_pick").value == "commune:34001"
