"""Contour uploads: bombs refused before writing, validation before anything lands in the
contours folder, French messages that never name an internal file."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box, mapping

import ocsge_engine.io.uploads as uploads
from ocsge_engine.errors import ArchiveError, CrsError, GeometryError, OcsgeError
from ocsge_engine.io.uploads import save_drawn_territory, save_uploaded_territory
from tests.hardening.bombs import many_members_zip, zeros_zip

RECT = box(370_000, 6_400_000, 371_000, 6_402_000)  # 200 ha in Arcachon, EPSG:2154


def _empty(folder: Path) -> bool:
    return not folder.exists() or list(folder.iterdir()) == []


def test_zip_bomb_contour_refused_before_any_decompression(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    data = zeros_zip(48 * 1024 * 1024)  # 48 MiB of zeros in ~50 kB: under the 20 MB cap
    assert len(data) < 200_000
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):  # noqa: ANN001, ANN202
        opened.append(str(name))
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    monkeypatch.setattr(uploads.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    folder = tmp_path / "territoires"
    with pytest.raises(ArchiveError, match="compression ratio") as info:
        save_uploaded_territory(data, "zone.zip", folder)
    assert opened == []  # not one member was decompressed
    assert "zone.zip est refusée" in info.value.user_message
    assert _empty(folder) and list((tmp_path / "tmp").iterdir()) == []


def test_many_members_zip_refused(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="members"):
        save_uploaded_territory(many_members_zip(500), "zone.zip", tmp_path / "territoires")
    assert _empty(tmp_path / "territoires")


def test_lambert93_geojson_without_crs_is_refused_in_french(tmp_path: Path) -> None:
    """GDAL reads a GeoJSON without "crs" as WGS 84: Lambert-93 metres are not degrees."""
    data = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nom": "ZAC"}, "geometry": mapping(RECT)}]}).encode()
    folder = tmp_path / "territoires"
    with pytest.raises(CrsError, match="bounds") as info:
        save_uploaded_territory(data, "zac.geojson", folder)
    message = info.value.user_message
    assert "zac.geojson" in message and "WGS 84" in message and "upload" not in message
    assert _empty(folder)


def test_huge_drawn_coordinates_refused_without_internal_names(tmp_path: Path) -> None:
    polygon = {"type": "Polygon", "coordinates": [[[0, 0], [1e9, 0], [1e9, 1e9], [0, 0]]]}
    folder = tmp_path / "territoires"
    with pytest.raises(GeometryError) as info:
        save_drawn_territory(polygon, "Énorme", folder)
    message = info.value.user_message
    assert "limites" in message and ".gpkg" not in message and "inf" not in message.lower()
    assert _empty(folder)


def test_invalid_contour_found_at_read_back_never_lands(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation of the written file fails: nothing in the folder, no staging left."""
    def broken(path):  # noqa: ANN001, ANN202
        raise GeometryError("bad read back", "Le contour est invalide.")

    monkeypatch.setattr(uploads, "territory_from_file", broken)
    folder = tmp_path / "territoires"
    with pytest.raises(OcsgeError):
        save_drawn_territory(mapping(gpd.GeoSeries([RECT], crs=2154).to_crs(4326).iloc[0]),
                             "x", folder)
    assert list(folder.iterdir()) == []  # no .gpkg, no .staging_ folder


def test_markup_in_contour_name_is_plain_text(tmp_path: Path) -> None:
    name = '![x](http://evil.invalid/p.png) <script>alert(1)</script> Zone $x$ =1+2'
    data = gpd.GeoDataFrame({"nom": [name]}, geometry=[RECT], crs=2154).to_json().encode()
    territory = save_uploaded_territory(data, "z.geojson", tmp_path / "territoires")
    assert territory.name == "xhttp://evil.invalid/p.png scriptalert1/script Zone x 12"
    assert territory.id.startswith("contour:") and "territoires" not in territory.id
    assert territory.source_path is None
