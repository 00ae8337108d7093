"""Build ``data/territories/`` from the shared real data (run once; deterministic, no randomness).

Inputs (read-only, see each folder's SOURCE.md):

* ``/work/shared/data/communes_geojson_2018/communes_france_2018.parquet``: COG 2018 commune
  polygons (simplified, EPSG:4326), from gregoiredavid/france-geojson (ADMIN EXPRESS, Licence Ouverte).
* ``/work/shared/data/decoupage_administratif/``: COG 2026 (``data/communes.json``,
  ``data/departements.json``), population 2019-2023 and commune -> EPCI CSVs (Licence Ouverte, MIT code).
* ``/work/shared/data/ocsge_sybarval_2015_2018/Communes_SYBARVAL.shp``: the exact commune polygons
  of the SYBARVAL OCS GE source (17 communes), which replace the simplified ones.

Outputs: ``communes.parquet`` (GeoParquet, EPSG:2154, columns ``code``, ``name``, ``departement``,
``geometry_source``, ``geometry``) for départements 32, 33, 34 and 69 in the COG 2026 code list; the
2026 geometry of a commune is the union of the 2018 polygons of its code and of its ``anciensCodes``
(communes merged since 2018), so that e.g. 69114 Porte des Pierres Dorées = 2018 69159 + 69101.
The CSVs and ``departements.json`` are copied unchanged.

Usage: ``.venv/bin/python data/territories/make_territories.py [SHARED_DATA_DIR]``
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

DEPARTEMENTS = ("32", "33", "34", "69")
HERE = Path(__file__).resolve().parent


def main(shared: Path) -> None:
    """Write the territory tables next to this script."""
    cog_dir = shared / "decoupage_administratif"
    communes = json.loads((cog_dir / "data" / "communes.json").read_text(encoding="utf-8"))
    actual = [c for c in communes if c["type"] == "commune-actuelle" and c["departement"] in DEPARTEMENTS]
    geo2018 = gpd.read_parquet(shared / "communes_geojson_2018" / "communes_france_2018.parquet")
    geo2018 = geo2018[geo2018["code"].str[:2].isin(DEPARTEMENTS)].to_crs(2154).set_index("code")

    rows, used = [], set()
    for commune in sorted(actual, key=lambda c: c["code"]):
        codes = [commune["code"], *commune.get("anciensCodes", [])]
        present = [code for code in dict.fromkeys(codes) if code in geo2018.index and code not in used]
        if not present:
            print(f"no geometry for {commune['code']} {commune['nom']}")
            continue
        used.update(present)
        geometry = shapely.union_all(geo2018.loc[present, "geometry"].to_numpy())
        source = "admin_express_2018_simplifie" if len(present) == 1 else "admin_express_2018_simplifie_union"
        rows.append({"code": commune["code"], "name": commune["nom"],
                     "departement": commune["departement"], "geometry_source": source,
                     "geometry": geometry})
    table = gpd.GeoDataFrame(rows, geometry="geometry", crs=2154)
    table["geometry"] = shapely.make_valid(shapely.set_precision(table.geometry.to_numpy(), 0.01))

    sybarval = gpd.read_file(shared / "ocsge_sybarval_2015_2018" / "Communes_SYBARVAL.shp",
                             encoding="utf-8").set_index("CODE_INSEE")
    exact = table["code"].isin(sybarval.index)
    table.loc[exact, "geometry"] = sybarval.loc[table.loc[exact, "code"], "geometry"].to_numpy()
    table.loc[exact, "geometry_source"] = "ocsge_sybarval_communes"
    assert exact.sum() == len(sybarval), "every SYBARVAL commune must be in the COG 2026 list"
    table.to_parquet(HERE / "communes.parquet", compression="zstd", write_covering_bbox=True)
    print(f"{len(table)} communes written, unused 2018 codes: {sorted(set(geo2018.index) - used)}")

    for name in ("population_communes_2019_2020_2022_2023.csv", "communes_epci_2026.csv", "LICENSE"):
        shutil.copyfile(cog_dir / name, HERE / (name if name != "LICENSE" else "LICENSE_decoupage_administratif_MIT"))
    shutil.copyfile(cog_dir / "data" / "departements.json", HERE / "departements.json")
    counts = pd.Series(table["departement"]).value_counts().sort_index()
    print(counts.to_dict())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data"))
