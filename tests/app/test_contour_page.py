"""Contour page: an uploaded contour becomes the territory (with the expected area); bad uploads
show the French error and keep nothing."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

# 1 km × 2 km inside Arcachon: 200 ha, covered by the demo store.
RECT = box(370_000, 6_400_000, 371_000, 6_402_000)


def _upload(at, name: str, data: bytes):
    at.file_uploader(key="contour_upload").set_value((name, data, "application/geo+json")).run()
    at.button(key="contour_upload_apply").click().run()
    return at


def test_uploaded_contour_becomes_the_territory(open_app, app_store: Path) -> None:
    at = open_app("pages/contour.py")
    data = gpd.GeoDataFrame({"nom": ["Projet"]}, geometry=[RECT], crs=2154).to_json().encode()
    _upload(at, "projet.geojson", data)
    assert not at.exception, [e.value for e in at.exception]
    territory_id = at.session_state["territory_id"]
    assert territory_id.startswith("contour:")
    kept = list((app_store / "territoires").glob("*.gpkg"))
    assert len(kept) == 1 and territory_id == f"contour:{kept[0].stem}"
    assert str(app_store) not in str(at.query_params["territoire"])
    # The portrait of the custom territory shows its area and the demo millésimes.
    at.switch_page("pages/portrait.py").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Superficie"] == "200\u202fha"  # figures layer: whole hectares from 100 ha
    assert at.title[0].value.startswith("Projet :")


@pytest.mark.parametrize(("name", "data", "french"), [
    ("contour.zip", b"this is not a zip", "archive"),
    ("casse.geojson", b"{not json", "illisible"),
])
def test_bad_upload_shows_french_error_and_keeps_nothing(open_app, app_store: Path, name: str,
                                                        data: bytes, french: str) -> None:
    at = open_app("pages/contour.py")
    before = at.session_state["territory_id"] if "territory_id" in at.session_state else None
    _upload(at, name, data)
    assert any(french in e.value for e in at.error)
    assert not (app_store / "territoires").exists() or not any((app_store / "territoires").iterdir())
    after = at.session_state["territory_id"] if "territory_id" in at.session_state else None
    assert after == before
