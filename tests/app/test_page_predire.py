"""AppTest of the Prédire page: the real Montpellier tile, area choice, bad uploads, size limit."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from streamlit.testing.v1 import AppTest

from ocsge_engine.errors import ImageryError
from ocsge_engine.fmt import parse_number
from ocsge_engine.inference.ondemand import (
    ImageSource,
    available_models,
    predict_upload,
    sample_image,
    stats_by_cover,
)
from ocsge_engine.territories import get_territory

OpenApp = Callable[..., AppTest]
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary files of the run go to a folder of the test (to check that nothing is left)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_sample_prediction_matches_engine(open_app: OpenApp, private_tmp: Path) -> None:
    """The bundled tile, whole image, rule-based map: table equals the engine's, files offered."""
    at = open_app("pages/predire.py", territoire="commune:33009")
    assert at.selectbox(key="predire_model").options == [
        "Carte grossière (règles) : végétation, eau, non végétal — sans modèle"]  # test model not offered
    at.button(key="predire_run").click().run()
    assert not at.exception and not at.error
    assert any("**carte grossière (règles)**, pas une prédiction de modèle" in w.value for w in at.warning)
    ran = " ".join(m.value for m in at.markdown)
    assert "Méthode : **carte grossière (règles)**" in ran and "NDVI" in ran  # what ran, run notes
    assert not any(b.key == "predire_drafts" for b in at.button)  # no draft flags from rules
    assert any("ne sont proposés que pour la prédiction d'un modèle" in c.value for c in at.caption)
    expected = stats_by_cover(predict_upload(sample_image()).stats)
    table = at.dataframe[0].value  # French table: "Pixels" as "12\u202f345", m² to the unit
    assert table["Code"].tolist() == expected["code_cs"].tolist()
    pixels = [parse_number(v) for v in table["Pixels"]]
    assert pixels == expected["pixels"].tolist()
    assert int(sum(pixels)) == 252 * 252  # the whole tile, every pixel classified
    assert sum(parse_number(v) for v in table["Surface (m²)"]) == pytest.approx(
        252 * 252 * 0.04, abs=len(table))  # 0,04 m² a pixel, each row rounded to 1 m²
    assert set(table["Couverture"]) <= {"Végétation (règles)", "Eau (règles)",
                                        "Non végétal (règles)"}
    assert "predire_result" in at.session_state
    assert list(private_tmp.iterdir()) == []  # outputs held in memory, temp folder removed


def test_clip_to_territory(open_app: OpenApp) -> None:
    """Montpellier (34172) contains the tile: same result; Arcachon does not: French error."""
    at = open_app("pages/predire.py", territoire="commune:34172")
    at.radio(key="predire_area").set_value("territoire")
    at.button(key="predire_run").click().run()
    assert not at.error
    assert sum(parse_number(v) for v in at.dataframe[0].value["Pixels"]) == 252 * 252

    far = open_app("pages/predire.py", territoire="commune:33009")
    far.radio(key="predire_area").set_value("territoire")
    far.button(key="predire_run").click().run()
    assert [e.value for e in far.error] == ["Le territoire choisi ne recoupe pas l'image."]
    assert "predire_result" not in far.session_state


def test_bad_upload_shows_french_error_and_keeps_nothing(open_app: OpenApp,
                                                         private_tmp: Path) -> None:
    """A text file named .tif: French error, no result in the session, no file left behind."""
    at = open_app("pages/predire.py")
    at.button(key="predire_run").click().run()  # a first, good result…
    assert "predire_result" in at.session_state
    at.radio(key="predire_source").set_value("upload").run()
    at.file_uploader(key="predire_image").set_value(
        ("photo.tif", b"ceci n'est pas une image", "image/tiff")).run()
    at.button(key="predire_run").click().run()
    assert [e.value for e in at.error] == ["Ce fichier n'est pas une image GeoTIFF lisible."]
    assert "predire_result" not in at.session_state  # …is dropped, not shown as if current
    assert not at.dataframe
    assert list(private_tmp.iterdir()) == []


def test_truncated_upload_french_error(open_app: OpenApp, private_tmp: Path) -> None:
    """The real tile cut at 120 kB: refused in French before any inference, nothing kept."""
    at = open_app("pages/predire.py")
    at.radio(key="predire_source").set_value("upload").run()
    cut = sample_image().image[:120_000]
    at.file_uploader(key="predire_image").set_value(("coupe.tif", cut, "image/tiff")).run()
    at.button(key="predire_run").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "L'image coupe.tif est tronquée ou corrompue : ses pixels ne peuvent pas être lus. "
        "Téléchargez-la ou exportez-la à nouveau."]
    assert "predire_result" not in at.session_state
    assert list(private_tmp.iterdir()) == []


def test_evaluate_section_after_prediction(open_app: OpenApp) -> None:
    """The evaluation runs against the chosen territory's OCS GE; the Montpellier tile does not
    meet Arcachon's polygons, which the page says instead of showing empty scores."""
    at = open_app("pages/predire.py", territoire="commune:33009")
    at.button(key="predire_run").click().run()
    assert at.selectbox(key="predire_eval_year").options
    at.button(key="predire_eval").click().run()
    assert not at.exception and not at.error
    assert any("ne recoupe aucun polygone OCS GE" in i.value for i in at.info)


def test_size_limit_and_territory_clip_engine() -> None:
    """Images above the megapixel limit are refused before inference, in French."""
    with pytest.raises(ImageryError) as err:
        predict_upload(sample_image(), max_megapixels=0.05)  # the tile has 0.0635 Mpx
    assert err.value.user_message.startswith("Image trop grande (0,1 mégapixels)")
    assert "0,05 mégapixels" in err.value.user_message
    montpellier = get_territory("commune:34172").geometry
    clipped = predict_upload(sample_image(), gpd.GeoSeries([montpellier], crs=2154))
    assert (clipped.width_px, clipped.height_px) == (252, 252)
    with pytest.raises(ImageryError, match="empty"):
        predict_upload(ImageSource(b"", "vide.tif"))


def test_test_model_never_offered(tmp_path: Path) -> None:
    """Cards with local weights are listed, except the seeded test model."""
    assert available_models(REPO_ROOT / "data" / "models") == {}  # FLAIR weights not downloaded
    (tmp_path / "tiny_test_unet.yaml").write_text(
        (REPO_ROOT / "data/models/tiny_test_unet.yaml").read_text(encoding="utf-8"),
        encoding="utf-8")
    assert available_models(tmp_path) == {}
