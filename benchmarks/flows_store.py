"""Write a synthetic 2-millésime store and a cutting territory for the CLI flows benchmark.

The layers come from :func:`synthetic_flows.layer_pair` (jittered lattice, seeded), written through
:meth:`ocsge_engine.store.Store.write_layer` as département 33, millésimes 2015 and 2018. The
territory is an octagon inset from the lattice's edges, so that it cuts cells along oblique and
straight lines (``polygon:FILE`` territory).

Usage::

    .venv/bin/python benchmarks/flows_store.py OUT_DIR --nx 500 --ny 400 --changed 0.1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import shapely

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from synthetic_flows import CELL_M, ORIGIN, layer_pair  # noqa: E402

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
    path = out / "territory.geojson"
    gpd.GeoDataFrame({"nom": ["zone"]}, geometry=[territory_polygon(nx, ny)],
                     crs="EPSG:2154").to_file(path)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--nx", type=int, default=500)
    parser.add_argument("--ny", type=int, default=400)
    parser.add_argument("--changed", type=float, default=0.1)
    args = parser.parse_args()
    print(write_store(args.out, args.nx, args.ny, args.changed))
