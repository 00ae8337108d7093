"""Territories: lookups against the real COG 2026 tables, geometry, population, custom polygons."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from ocsge_engine import territories as T
from ocsge_engine.errors import CrsError, EmptyInputError, GeometryError, TerritoryNotFoundError

SYBARVAL = T.get_settings().data_dir / "demo" / "Communes_SYBARVAL.shp"


@pytest.mark.parametrize("text", ["lege cap ferret", "LÈGE-CAP-FERRET", "Lege Cap-Ferret", "legecapferret"])
def test_search_by_normalised_name(text: str) -> None:
    hits = T.search_territories(text)
    assert hits.loc[0, ["id", "kind", "code", "name", "departement"]].tolist() == [
        "commune:33236", "commune", "33236", "Lège-Cap-Ferret", "33"]


def test_search_code_prefix_and_kinds() -> None:
    hits = T.search_territories("3300", limit=50)
    expected = T.communes_table().query("code.str.startswith('3300')")["code"]
    assert sorted(hits["code"]) == sorted(expected) and "commune:33009" in set(hits["id"])
    assert T.search_territories("33009").loc[0, "name"] == "Arcachon"
    assert T.search_territories("gironde").loc[0, "id"] == "departement:33"
    assert T.search_territories("cobas").loc[0, "id"] == "epci:243300563"
    assert T.search_territories("St Magne").loc[0, "id"] == "commune:33436"
    assert T.search_territories("   ").empty
    assert T.search_territories("zzzzqqq").empty


def test_commune_lookup_uses_exact_sybarval_polygon() -> None:
    commune = T.get_territory("commune:33236")
    assert (commune.kind, commune.code, commune.name, commune.departements) == (
        "commune", "33236", "Lège-Cap-Ferret", ("33",))
    assert commune.id == "commune:33236"
    source = gpd.read_file(SYBARVAL).set_index("CODE_INSEE")
    assert commune.geometry.equals_exact(source.loc["33236", "geometry"], tolerance=0.0)
    assert commune.area_ha == pytest.approx(source.loc["33236", "geometry"].area / 1e4, rel=1e-6)
    assert round(commune.area_ha) == pytest.approx(source.loc["33236", "Surface"], abs=15)
    assert T.get_territory("commune:Lège-Cap-Ferret") == commune
    assert T.get_territory("com:33236") is commune  # cached


def test_epci_cobas_is_union_of_members() -> None:
    epci = T.get_territory("epci:243300563")
    assert epci.name == "CA Bassin d'Arcachon Sud (COBAS)"
    members = T.communes_table().query("siren_epci == '243300563'")["code"].tolist()
    assert sorted(members) == ["33009", "33199", "33527", "33529"]
    arcachon = T.get_territory("commune:33009")
    assert epci.geometry.contains(arcachon.geometry.representative_point())
    total = sum(T.get_territory(f"commune:{code}").area_ha for code in members)
    assert epci.area_ha == pytest.approx(total, rel=1e-6)


def test_departement_polygon_and_area() -> None:
    gironde = T.get_territory("departement:33")
    assert gironde.name == "Gironde" and gironde.departements == ("33",)
    # SOURCE.md of communes_geojson_2018: Gironde 1,037,437 ha (simplified 2018 polygons).
    assert gironde.area_ha == pytest.approx(1_037_437, rel=2e-3)


def test_communes_table_and_population() -> None:
    table = T.communes_table()
    assert list(table.columns) == ["code", "name", "departement", "siren_epci", "nom_epci",
                                   "pop_2019", "pop_2020", "pop_2022", "pop_2023", "has_geometry"]
    assert len(table) == 34_969
    assert table["has_geometry"].sum() == 1_599
    assert T.population("33009") == {2019: 11630, 2020: 11076, 2022: 10895, 2023: 11092}
    assert T.population("commune:69123")[2020] == 522_228  # Lyon, equals the sparte INSEE figure
    assert T.population("32107")[2023] == 6473  # Condom
    cobas = T.population("epci:243300563")
    members = table.query("siren_epci == '243300563'")
    assert cobas[2023] == int(members["pop_2023"].sum())
    assert T.population("33")[2019] == int(table.query("departement == '33'")["pop_2019"].sum())


def test_population_omits_years_without_data() -> None:
    table = T.communes_table()
    missing = table[table["pop_2019"].isna()].iloc[0]
    assert 2019 not in T.population(missing["code"])


def test_contours_have_no_population() -> None:
    # A drawn or uploaded contour (``contour:<hex>``) or a file polygon has no census: the
    # engine says so (TerritoryNotFoundError, French message) instead of failing on the kind.
    for territory_id in ("contour:0123456789abcdef", "polygon:/tmp/x.geojson"):
        with pytest.raises(T.TerritoryNotFoundError) as caught:
            T.population(territory_id)
        assert "contour libre" in caught.value.user_message


def test_nearest_communes_by_centroid() -> None:
    nearest = T.nearest_communes("33009", n=3)
    assert len(nearest) == 3 and "33009" not in nearest
    polygons = gpd.read_parquet(T.get_settings().data_dir / "territories" / "communes.parquet")
    polygons = polygons.set_index("code")
    centroids = polygons.geometry.centroid
    distances = centroids.distance(centroids.loc["33009"]).drop("33009").sort_values()
    assert nearest == distances.index[:3].tolist()
    assert nearest[:2] == ["33199", "33529"]  # Gujan-Mestras, then La Teste-de-Buch (huge, far centroid)


@pytest.mark.parametrize("bad", ["commune:99999", "epci:123", "33009", "pays:FR", "commune:",
                                 "commune:75056"])
def test_unknown_territories(bad: str) -> None:
    with pytest.raises(TerritoryNotFoundError) as info:
        T.get_territory(bad)
    assert any(word in info.value.user_message for word in ("introuvable", "invalide", "disponible"))


def _square_geojson(path: Path, crs: str | None = "EPSG:2154") -> Path:
    square = shapely.box(400_000, 6_400_000, 401_000, 6_402_000)  # 1 km × 2 km = 200 ha, in Gironde
    with warnings.catch_warnings():  # pyogrio warns when writing a file without CRS, on purpose here
        warnings.simplefilter("ignore", UserWarning)
        gpd.GeoDataFrame({"nom": ["Mon secteur"]}, geometry=[square], crs=crs).to_file(path)
    return path


def test_polygon_file_round_trip(tmp_path: Path) -> None:
    path = _square_geojson(tmp_path / "secteur.gpkg")
    territory = T.get_territory(f"polygon:{path}")
    assert territory.kind == "polygon" and territory.code == "secteur"
    assert territory.name == "Mon secteur"
    assert territory.area_ha == pytest.approx(200.0, abs=1e-6)
    assert territory.departements == ("33",)
    assert territory.id == f"polygon:{path.resolve()}"
    assert T.get_territory(territory.id).area_ha == pytest.approx(200.0, abs=1e-6)


def test_polygon_file_is_reprojected(tmp_path: Path) -> None:
    square = gpd.GeoSeries([shapely.box(400_000, 6_400_000, 401_000, 6_402_000)], crs=2154)
    path = tmp_path / "wgs84.geojson"
    gpd.GeoDataFrame(geometry=square.to_crs(4326)).to_file(path, driver="GeoJSON")
    territory = T.territory_from_file(path)
    assert territory.area_ha == pytest.approx(200.0, rel=1e-4)
    assert territory.geometry.bounds[0] == pytest.approx(400_000, abs=1.0)


def test_polygon_file_errors(tmp_path: Path) -> None:
    with pytest.raises(CrsError, match="no CRS"):
        T.territory_from_file(_square_geojson(tmp_path / "nocrs.gpkg", crs=None))
    empty = tmp_path / "empty.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(EmptyInputError):
        T.territory_from_file(empty)
    bowtie = tmp_path / "bowtie.geojson"
    ring = [[-0.5, 44.6], [-0.4, 44.7], [-0.4, 44.6], [-0.5, 44.7], [-0.5, 44.6]]
    bowtie.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    with pytest.raises(GeometryError, match="invalid") as info:
        T.territory_from_file(bowtie)
    assert "invalide" in info.value.user_message
    points = tmp_path / "points.geojson"
    gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=4326).to_file(points)
    with pytest.raises(GeometryError, match="Point"):
        T.territory_from_file(points)
    garbage = tmp_path / "garbage.geojson"
    garbage.write_text("not json at all")
    with pytest.raises(GeometryError, match="cannot read"):
        T.territory_from_file(garbage)
    with pytest.raises(GeometryError, match="unsupported"):
        T.territory_from_file(garbage.rename(tmp_path / "garbage.txt"))
    with pytest.raises(TerritoryNotFoundError):
        T.get_territory(f"polygon:{tmp_path / 'missing.geojson'}")


def test_commune_polygons_bulk_accessor() -> None:
    """Same rows as the communes table's ``has_geometry``, same geometry objects as get_territory."""
    gironde = T.commune_polygons(["33"])
    table = T.communes_table()
    expected = table.loc[(table["departement"] == "33") & table["has_geometry"], "code"]
    assert list(gironde.columns) == ["code", "name", "departement", "geometry"]
    assert gironde["code"].tolist() == expected.tolist() == sorted(expected)
    assert len(gironde) == 534 and gironde.crs.to_epsg() == 2154
    arcachon = gironde.set_index("code").loc["33009"]
    assert arcachon["name"] == "Arcachon" and arcachon["departement"] == "33"
    assert arcachon["geometry"].equals_exact(T.get_territory("commune:33009").geometry, 0)
    both = T.commune_polygons(("32", "33"))
    assert set(both["departement"]) == {"32", "33"} and len(both) == 534 + 458
    assert len(T.commune_polygons()) == int(table["has_geometry"].sum())
    assert T.commune_polygons(["99"]).empty
    gironde.loc[0, "name"] = "changed"  # a copy: the cache is not touched
    assert T.commune_polygons(["33"]).loc[0, "name"] == "Abzac"


def test_departements_of_matches_commune_polygons() -> None:
    # _departements_of reads only the bbox column and the polygons near the geometry; its answer
    # must be that of intersecting every embedded commune polygon (the former implementation,
    # recomputed here by brute force on data/territories/communes.parquet).
    polygons = gpd.read_parquet(T.get_settings().data_dir / "territories" / "communes.parquet")
    geoms = polygons.geometry.to_numpy()

    def brute(geometry: shapely.Geometry) -> tuple[str, ...]:
        return tuple(sorted(set(polygons["code"][shapely.intersects(geoms, geometry)].str[:2])))

    samples = [geoms[k] for k in range(0, len(geoms), 37)]  # 44 communes of the 4 départements
    samples += [g.buffer(2_000) for g in samples[::4]]       # grown across their neighbours
    gironde, gers = polygons.set_index("code").geometry.loc[["33005", "32013"]]
    samples += [shapely.box(*gironde.bounds), shapely.box(*gers.bounds),
                shapely.box(300_000, 6_200_000, 600_000, 6_500_000),  # 32 and 33 (and more)
                shapely.box(100_000, 6_000_000, 110_000, 6_010_000),  # the Atlantic: none
                shapely.Point(*gironde.representative_point().coords[0]).buffer(10)]
    for geometry in samples:
        assert T._departements_of(geometry) == brute(geometry)
    assert T._departements_of(samples[-2]) == ()
    assert T._departements_of(shapely.box(300_000, 6_200_000, 600_000, 6_500_000))[:2] == (
        "32", "33")


def test_simple_geojson_reader_matches_gdal(tmp_path: Path) -> None:
    # Plain GeoJSON contours are read without GDAL; the frame must be what gpd.read_file gives.
    square = shapely.box(380_000, 6_400_000, 381_000, 6_401_000)
    lambert = tmp_path / "lambert.geojson"
    gpd.GeoDataFrame({"nom": ["Secteur"], "n": [3]}, geometry=[square],
                     crs="EPSG:2154").to_file(lambert)
    wgs84 = tmp_path / "wgs84.geojson"  # no crs member: RFC 7946 longitudes/latitudes
    wgs84.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "a"},
         "geometry": shapely.geometry.mapping(shapely.box(-1.2, 44.6, -1.1, 44.7))},
        {"type": "Feature", "properties": {"name": "b"}, "geometry": None}]}))
    for path in (lambert, wgs84):
        ours, gdal = T._read_simple_geojson(path), gpd.read_file(path)
        assert ours is not None and ours.crs == gdal.crs
        assert list(ours.columns) == list(gdal.columns) and len(ours) == len(gdal)
        assert all((a is None and b is None) or a.equals(b)
                   for a, b in zip(ours.geometry, gdal.geometry))
        assert (ours.drop(columns="geometry").to_dict(orient="records")
                == gdal.drop(columns="geometry").to_dict(orient="records"))  # values, not dtypes
    single = tmp_path / "single.geojson"  # a bare Feature: left to GDAL
    single.write_text(json.dumps({"type": "Feature", "properties": {},
                                  "geometry": shapely.geometry.mapping(square)}))
    assert T._read_simple_geojson(single) is None
    (tmp_path / "broken.geojson").write_text("{not json")
    assert T._read_simple_geojson(tmp_path / "broken.geojson") is None
