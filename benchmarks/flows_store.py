"""Write a synthetic 2-millésime store and a cutting territory for the CLI flows benchmark.

The layers come from :func:`synthetic_flows.layer_pair` (jittered lattice, seeded), written through
:meth:`ocsge_engine.store.Store.write_layer` as département 33, millésimes 2015 and 2018. The
territory is an octagon inset from the lattice's edges, so that it cuts cells along oblique and
straight lines (``polygon:FILE`` territory).

:func:`write_delivery` writes the same pair as an **IGN delivery** instead, to be ingested as a
user would: 2015 as a shapefile folder with upper-case fields (``ID``, ``CODE_CS``, ``CODE_US``),
2018 as a GeoPackage with lower-case fields (``id``, ``code_cs``, ``code_us``) and MultiPolygon
geometries as IGN's GeoPackages declare them; the 2018 layer also merges some pairs of
neighbouring cells into one polygon and splits some cells in two (:func:`synthetic_flows.
merge_and_split`).

Usage::

    .venv/bin/python benchmarks/flows_store.py OUT_DIR --nx 500 --ny 400 --changed 0.1
    .venv/bin/python benchmarks/flows_store.py OUT_DIR --delivery   # IGN layout, not ingested
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import shapely

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from synthetic_flows import CELL_M, ORIGIN, layer_pair, merge_and_split  # noqa: E402

YEARS = (2015, 2018)


def territory_polygon(nx: int, ny: int) -> shapely.Polygon:
    """Octagon inset by 1.3 cells, corners cut by a quarter of the shorter side."""
    x0, y0 = ORIGIN[0] + 1.3 * CELL_M, ORIGIN[1] + 1.3 * CELL_M
    x1, y1 = ORIGIN[0] + (nx - 1.3) * CELL_M, ORIGIN[1] + (ny - 1.3) * CELL_M
    c = 0.25 * min(x1 - x0, y1 - y0)
    return shapely.Polygon([(x0 + c, y0), (x1 - c, y0), (x1, y0 + c), (x1, y1 - c),
                            (x1 - c, y1), (x0 + c, y1), (x0, y1 - c), (x0, y0 + c)])


def write_store(out: Path, nx: int, ny: int, changed: float, seed: int = 42) -> Path:
    """Write ``out/store`` and ``out/territory.geojson``; return the territory file."""
    from ocsge_engine.store import Store

    gdf_from, gdf_to = layer_pair(nx, ny, changed, seed=seed)
    store = Store.open(out / "store", create=True)
    for year, gdf in zip(YEARS, (gdf_from, gdf_to)):
        gdf = gdf.copy()
        gdf.insert(0, "id", [f"OCSGE{year}{i:08d}" for i in range(len(gdf))])
        gdf["millesime"], gdf["departement"] = year, "33"
        store.write_layer(gdf, layer="occupation_sol", departement="33", millesime=year,
                          source_file=f"synthetic_{year}.gpkg",
                          source_sha256=f"{year}{nx}{ny}{int(changed * 1000)}".rjust(64, "0"),
                          synthetic=True)
    return write_territory(out, nx, ny)


def write_territory(out: Path, nx: int, ny: int) -> Path:
    """Write the octagon of :func:`territory_polygon` to ``out/territory.geojson``; return it."""
    path = out / "territory.geojson"
    gpd.GeoDataFrame({"nom": ["zone"]}, geometry=[territory_polygon(nx, ny)],
                     crs="EPSG:2154").to_file(path)
    return path


def write_delivery(out: Path, nx: int, ny: int, changed: float, seed: int = 42,
                   merged: float = 0.02, split: float = 0.02) -> tuple[list[Path], Path]:
    """Write both millésimes in IGN layout under ``out``; return (delivery paths, territory).

    2015: ``OCS-GE_2-0__SHP_LAMB93_D033_2015-01-01/OCCUPATION_SOL/OCCUPATION_SOL.shp``, fields
    ``ID``, ``CODE_CS``, ``CODE_US``; 2018: ``OCS-GE_2-0__GPKG_LAMB93_D033_2018-01-01.gpkg``,
    layer ``OCCUPATION_SOL``, fields ``id``, ``code_cs``, ``code_us``, MultiPolygon.
    """
    gdf_from, gdf_to = layer_pair(nx, ny, changed, seed=seed)
    gdf_to = merge_and_split(gdf_to, ny, merged=merged, split=split, seed=seed + 1)
    shp_dir = out / "OCS-GE_2-0__SHP_LAMB93_D033_2015-01-01" / "OCCUPATION_SOL"
    shp_dir.mkdir(parents=True, exist_ok=True)
    _ign_fields(gdf_from, YEARS[0], upper=True).to_file(shp_dir / "OCCUPATION_SOL.shp",
                                                        engine="pyogrio")
    gpkg = out / "OCS-GE_2-0__GPKG_LAMB93_D033_2018-01-01.gpkg"
    _ign_fields(gdf_to, YEARS[1], upper=False).to_file(
        gpkg, layer="OCCUPATION_SOL", engine="pyogrio", promote_to_multi=True)
    return [shp_dir.parent, gpkg], write_territory(out, nx, ny)


def _ign_fields(gdf: gpd.GeoDataFrame, year: int, upper: bool) -> gpd.GeoDataFrame:
    """``gdf``'s codes under IGN's field names (``ID``/``CODE_CS``/``CODE_US``, or lower case)."""
    names = ("ID", "CODE_CS", "CODE_US") if upper else ("id", "code_cs", "code_us")
    return gpd.GeoDataFrame({names[0]: [f"OCSGE{year}{i:08d}" for i in range(len(gdf))],
                             names[1]: gdf["code_cs"], names[2]: gdf["code_us"]},
                            geometry=gdf.geometry, crs="EPSG:2154")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--nx", type=int, default=500)
    parser.add_argument("--ny", type=int, default=400)
    parser.add_argument("--changed", type=float, default=0.1)
    parser.add_argument("--delivery", action="store_true", help="IGN layout, not a store")
    args = parser.parse_args()
    if args.delivery:
        print(write_delivery(args.out, args.nx, args.ny, args.changed))
    else:
        print(write_store(args.out, args.nx, args.ny, args.changed))
