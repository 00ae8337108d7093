"""``evaluate``: OCS GE rasterised on the prediction grid, confusion matrix, IoU, overall accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from ocsge_engine.cli import main
from ocsge_engine.errors import ImageryError
from ocsge_engine.inference.checkpoints import card_summary, load_model_card
from ocsge_engine.inference.evaluate import evaluate_prediction, map_reference_code
from ocsge_engine.inference.fallback import FALLBACK_CARD

X0, Y0 = 700000.0, 6600004.0
RULES_TABLE = card_summary(FALLBACK_CARD)["class_table"]  # 0 CS2, 1 CS1.2.2, 2 CS1


def _prediction(path: Path, classes: np.ndarray, table: list[dict[str, object]], res: float = 1.0,
                origin: tuple[float, float] = (X0, Y0)) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=classes.shape[1], height=classes.shape[0], count=1,
                       dtype="uint8", nodata=255, crs="EPSG:2154",
                       transform=from_origin(origin[0], origin[1], res, res)) as ds:
        ds.write(classes, 1)
        ds.update_tags(OCSGE_CLASSES=json.dumps(table), OCSGE_MODEL="fallback_rules", OCSGE_METHOD="fallback_rules")
    return path


def _reference() -> gpd.GeoDataFrame:
    """Columns 0-4: lawn CS2.2.1; 5-7: building CS1.1.1.1; 8: water CS1.2.2; 9: no polygon."""
    return gpd.GeoDataFrame({"code_cs": ["CS2.2.1", "CS1.1.1.1", "CS1.2.2"]},
                            geometry=[box(X0, Y0 - 4, X0 + 5, Y0), box(X0 + 5, Y0 - 4, X0 + 8, Y0),
                                      box(X0 + 8, Y0 - 4, X0 + 9, Y0)], crs=2154)


def _hand_prediction() -> np.ndarray:
    pred = np.full((4, 10), 2, np.uint8)   # non végétal everywhere…
    pred[:, :5] = 0                         # …vegetation on the lawn
    pred[0, 4] = 2                          # one lawn pixel missed
    pred[3, 0] = 255                        # one lawn pixel outside the territory (nodata)
    pred[0, 5] = 0                          # one building pixel called vegetation
    pred[:2, 8] = 1                         # half the water column found
    return pred


def test_confusion_matrix_by_hand(tmp_path: Path) -> None:
    """Hand count (rows OCS GE, columns prediction; order CS2, CS1.2.2, CS1):

    lawn 20 px - 1 nodata = 19: 18 CS2, 1 CS1; water 4: 2 water, 2 CS1; building 12: 1 CS2, 11 CS1;
    column 9 (4 px) has no OCS GE. Overall accuracy 31 / 35; IoU CS2 18 / (19 + 19 - 18) = 0.9,
    water 2 / (4 + 2 - 2) = 0.5, CS1 11 / (12 + 14 - 11) = 11 / 15.
    """
    ev = evaluate_prediction(_prediction(tmp_path / "p.tif", _hand_prediction(), RULES_TABLE), _reference())
    assert ev.codes == ["CS2", "CS1.2.2", "CS1"]
    assert ev.confusion.to_numpy().tolist() == [[18, 0, 1], [0, 2, 2], [1, 0, 11]]
    assert ev.overall_accuracy == pytest.approx(31 / 35)
    assert ev.per_class["iou"].tolist() == pytest.approx([0.9, 0.5, 11 / 15])
    assert ev.per_class["reference_px"].tolist() == [19, 4, 12]
    assert ev.per_class["predicted_px"].tolist() == [19, 2, 14]
    assert (ev.evaluated_px, ev.unmapped_px, ev.uncovered_px) == (35, 0, 4)
    csv = pd.read_csv(pd.io.common.StringIO(ev.confusion_csv()), index_col=0)
    assert csv.index.name == "reference_code_cs" and csv.loc["CS1", "CS2"] == 1


def test_flair_classes_merge_and_unmapped_codes(tmp_path: Path) -> None:
    """FLAIR card: herbaceous (9) and agricultural land (10) are both CS2.2.1 → one class; an OCS GE
    CS1.1.2.2 polygon (no FLAIR class) is unmapped, not counted as an error; the WGS84 reference
    is reprojected."""
    table = card_summary(load_model_card(Path(__file__).resolve().parents[2] / "data" / "models"
                                         / "flair_inc_rgb_15cl_resnet34_unet.yaml"))["class_table"]
    pred = np.zeros((4, 10), np.uint8)     # building everywhere…
    pred[:, :5] = 9                         # …herbaceous on the left, agricultural on its bottom row
    pred[3, :5] = 10
    ref = gpd.GeoDataFrame({"code_cs": ["CS2.2.1", "CS1.1.2.2"]},
                           geometry=[box(X0, Y0 - 4, X0 + 5, Y0), box(X0 + 5, Y0 - 4, X0 + 10, Y0)],
                           crs=2154).to_crs(4326)
    ev = evaluate_prediction(_prediction(tmp_path / "p.tif", pred, table), ref)
    k = ev.codes.index("CS2.2.1")
    assert ev.per_class.loc[k, "correct_px"] == 20 and ev.per_class.loc[k, "iou"] == 1.0
    assert ev.overall_accuracy == 1.0 and ev.evaluated_px == 20
    assert ev.unmapped_px == 20
    assert map_reference_code("CS2.1.1.3", ev.codes) is None  # mixed forest: inactive in FLAIR-INC


def test_prediction_without_tags_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.tif"
    with rasterio.open(plain, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8", crs="EPSG:2154",
                       transform=from_origin(X0, Y0, 1, 1)) as ds:
        ds.write(np.zeros((4, 4), np.uint8), 1)
    with pytest.raises(ImageryError) as err:
        evaluate_prediction(plain, _reference())
    assert "n'est pas un raster de classes" in err.value.user_message


def test_cli_evaluate_round_trip_on_demo_store(demo_store_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A "prediction" that is the store's own OCS GE (rasterised, mapped to the rule classes by the
    CS prefix) scores 1.0 everywhere; the CSV matrix is diagonal and sums to the evaluated pixels."""
    from ocsge_engine.store import Store
    from ocsge_engine.territories import get_territory

    store = Store.open(demo_store_dir)
    territory = get_territory("commune:33009")
    year = int(store.millesimes(territory)[-1])
    polygons = store.polygons(territory, year)
    cx, cy = territory.geometry.representative_point().coords[0]
    x0, y0 = float(np.floor(cx)) - 100, float(np.floor(cy)) + 100
    window = polygons[polygons.intersects(box(x0, y0 - 200, x0 + 200, y0))]
    codes = window["code_cs"].astype(str)
    values = np.where(codes.str.startswith("CS2"), 0, np.where(codes == "CS1.2.2", 1, 2))
    from rasterio.features import rasterize

    pred = rasterize(zip(window.geometry, values, strict=True), out_shape=(100, 100),
                     transform=from_origin(x0, y0, 2.0, 2.0), fill=255, dtype="uint8")
    path = _prediction(tmp_path / "classes.tif", pred, RULES_TABLE, res=2.0, origin=(x0, y0))
    code = main(["-q", "evaluate", "--prediction", str(path), "--store", str(demo_store_dir),
                 "--territory", "commune:33009", "--year", str(year)])
    assert code == 0
    stdout = capsys.readouterr().out
    assert "overall accuracy: 1.0000" in stdout
    matrix = pd.read_csv(tmp_path / f"confusion_{year}.csv", index_col=0)
    assert int(matrix.to_numpy().sum()) == int(np.trace(matrix.to_numpy())) == int((pred != 255).sum())
    bad = main(["-q", "evaluate", "--prediction", str(path), "--store", str(demo_store_dir),
                "--territory", "commune:33009", "--year", "1990"])
    assert bad == 2 and "erreur :" in capsys.readouterr().err
