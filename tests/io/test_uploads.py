"""Custom territories from uploads and drawings: round trips with hand-computable areas, bad input."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import box, mapping

from ocsge_engine.errors import ArchiveError, CrsError, EmptyInputError, GeometryError, OcsgeError
from ocsge_engine.io.uploads import save_drawn_territory, save_uploaded_territory
from ocsge_engine.territories import get_territory

# 1 km × 2 km rectangle inside Arcachon (EPSG:2154): 200 ha.
RECT = box(370_000, 6_400_000, 371_000, 6_402_000)


def _geojson_bytes(geometry: shapely.Geometry, crs: str | None = "EPSG:2154", name: str = "Site") -> bytes:
    frame = gpd.GeoDataFrame({"nom": [name]}, geometry=[geometry], crs=crs)
    return frame.to_json().encode() if crs else json.dumps(
        {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                     "geometry": mapping(geometry)}]}).encode()


def _zipped_shapefile(tmp_path: Path, geometry: shapely.Geometry, crs: str | None) -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir()
    gpd.GeoDataFrame({"nom": ["Zone"]}, geometry=[geometry], crs=crs).to_file(folder / "zone.shp")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in sorted(folder.iterdir()):
            archive.write(part, f"zone/{part.name}")
    return buffer.getvalue()


def test_geojson_upload_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "territoires"
    territory = save_uploaded_territory(_geojson_bytes(RECT, name="Projet ZAC"), "zac.geojson", folder)
    assert territory.kind == "polygon" and territory.name == "Projet ZAC"
    assert territory.area_ha == pytest.approx(200.0, rel=1e-9)
    assert territory.departements == ("33",)
    assert territory.id.startswith("contour:") and str(tmp_path) not in territory.id
    again = get_territory(territory.id, contours=folder)  # the id finds it back (shareable URL)
    assert again.area_ha == pytest.approx(200.0, rel=1e-9)
    # Uploading the same contour twice keeps one file.
    save_uploaded_territory(_geojson_bytes(RECT, name="Projet ZAC"), "copie.geojson", folder)
    assert len(list(folder.glob("*.gpkg"))) == 1


def test_zipped_shapefile_upload(tmp_path: Path) -> None:
    territory = save_uploaded_territory(_zipped_shapefile(tmp_path, RECT, "EPSG:2154"), "zone.zip",
                                        tmp_path / "territoires")
    assert territory.area_ha == pytest.approx(200.0, rel=1e-9)
    assert territory.name == "Zone"


def test_drawn_polygon_in_wgs84(tmp_path: Path) -> None:
    drawn = gpd.GeoSeries([RECT], crs=2154).to_crs(4326).iloc[0]
    feature = {"type": "Feature", "properties": {}, "geometry": mapping(drawn)}
    territory = save_drawn_territory(feature, "Mon contour", tmp_path / "territoires")
    expected = gpd.GeoSeries([drawn], crs=4326).to_crs(2154).area.iloc[0] / 10_000
    assert territory.area_ha == pytest.approx(expected, rel=1e-9)
    assert territory.area_ha == pytest.approx(200.0, rel=1e-3)
    assert territory.name == "Mon contour"


@pytest.mark.parametrize(
    ("make", "filename", "error", "french"),
    [
        (lambda tmp: b"", "vide.geojson", EmptyInputError, "vide"),
        (lambda tmp: b"hello", "notes.txt", GeometryError, "Format de contour"),
        (lambda tmp: b"{not json", "casse.geojson", GeometryError, "illisible"),
        (lambda tmp: _geojson_bytes(shapely.Point(370_000, 6_400_000)), "point.geojson",
         GeometryError, "polygones"),
        (lambda tmp: _zipped_shapefile(tmp, RECT, None), "sans_crs.zip", CrsError, "CRS"),
        (lambda tmp: _evil_zip(), "evil.zip", ArchiveError, ""),
        (lambda tmp: _geojson_bytes(shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])),
         "noeud.geojson", GeometryError, "invalide"),
    ],
)
def test_bad_uploads_raise_and_keep_nothing(tmp_path: Path, make, filename, error, french) -> None:
    folder = tmp_path / "territoires"
    with pytest.raises(error) as info:
        save_uploaded_territory(make(tmp_path), filename, folder)
    assert isinstance(info.value, OcsgeError) and french in info.value.user_message
    assert not folder.exists() or list(folder.iterdir()) == []


def _evil_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../escape.shp", b"x")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("geojson", "french"),
    [({}, "Aucun contour"), ({"type": "Point", "coordinates": [-1.1, 44.6]}, "polygone"),
     ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "invalide")],
)
def test_bad_drawings_raise_and_keep_nothing(tmp_path: Path, geojson: dict, french: str) -> None:
    folder = tmp_path / "territoires"
    with pytest.raises(OcsgeError) as info:
        save_drawn_territory(geojson, "x", folder)
    assert french in info.value.user_message
    assert not folder.exists() or list(folder.iterdir()) == []
