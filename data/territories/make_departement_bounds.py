"""Build ``departements_bbox.csv``: the longitude/latitude extent of every département.

Source: ``communes_france_2018.parquet`` (IGN ADMIN EXPRESS COG 2018 via
gregoiredavid/france-geojson, EPSG:4326, see ``/work/shared/data/communes_geojson_2018/SOURCE.md``).
The extent of a département is the union of its communes' bounds, rounded outward to 0.001°.
Used by the ingest to check that a layer's declared CRS puts it in its département.

Usage: ``python data/territories/make_departement_bounds.py [communes_france_2018.parquet]``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import geopandas as gpd

DEFAULT_SOURCE = Path("/work/shared/data/communes_geojson_2018/communes_france_2018.parquet")


def main(source: Path = DEFAULT_SOURCE) -> None:
    communes = gpd.read_parquet(source)
    dep = communes["code"].str[:2].where(communes["code"].str[:2] != "97", communes["code"].str[:3])
    bounds = communes.geometry.bounds.assign(departement=dep.to_numpy())
    table = bounds.groupby("departement").agg(lon_min=("minx", "min"), lat_min=("miny", "min"),
                                              lon_max=("maxx", "max"), lat_max=("maxy", "max"))
    for col, rounding in (("lon_min", math.floor), ("lat_min", math.floor),
                          ("lon_max", math.ceil), ("lat_max", math.ceil)):
        table[col] = [rounding(v * 1000) / 1000 for v in table[col]]
    out = Path(__file__).with_name("departements_bbox.csv")
    table.reset_index().to_csv(out, index=False, lineterminator="\n")
    print(f"{out}: {len(table)} départements")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
