"""A tiny synthetic 4-band orthophoto (R, G, B, NIR; 20 cm, EPSG:2154) over a demo OCS GE polygon.

The image is 200 × 200 pixels (40 m × 40 m) centred on the representative point of a large
polygon of the demo store whose couverture is neither ``CS1.1.1.2`` nor ``CS2.2.1`` (a forest
polygon of the synthetic background), entirely inside it. Its left 120 columns are grey
(R = G = B = 120, NIR = 100: NDVI < 0, not blue → « non végétal » ``CS1`` under the rule-based
map), its right 80 columns green with a high NIR (NDVI 0.6 → « végétation » ``CS2``).
So the rule-based prediction disagrees with OCS GE over the whole image and its majority code
is ``CS1`` over 120 × 200 × 0.04 m² = 0.096 ha (``CS2``: 0.064 ha).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import rasterio
import shapely
from affine import Affine

SIZE_PX = 200
RESOLUTION_M = 0.2
GREY_COLUMNS = 120
GREY = (120, 120, 120, 100)
GREEN = (50, 100, 50, 200)


@dataclass(frozen=True)
class SyntheticOrtho:
    """The GeoTIFF bytes and the official polygon it lies in."""

    tiff: bytes
    polygon_id: str
    code_cs: str
    code_us: str


def ortho_over(store, territory, year: int, rank: int = 0) -> SyntheticOrtho:
    """The image over the ``rank``-th largest eligible polygon of ``territory`` at ``year``."""
    layer = store.polygons(territory, year, columns=["id", "code_cs", "code_us"])
    layer = layer.assign(area=layer.geometry.area).sort_values(["area", "id"], ascending=False)
    half = SIZE_PX * RESOLUTION_M / 2
    found = 0
    for row in layer.itertuples():
        if row.code_cs in ("CS1.1.1.2", "CS2.2.1"):
            continue
        x, y = (round(v) for v in shapely.get_coordinates(row.geometry.representative_point())[0])
        if not row.geometry.contains(shapely.box(x - half, y - half, x + half, y + half)):
            continue
        if found == rank:
            return SyntheticOrtho(_tiff(x - half, y + half), str(row.id), row.code_cs,
                                  row.code_us)
        found += 1
    raise AssertionError("no eligible polygon")


def _tiff(west: float, north: float) -> bytes:
    image = np.empty((4, SIZE_PX, SIZE_PX), dtype=np.uint8)
    image[:, :, :GREY_COLUMNS] = np.array(GREY, dtype=np.uint8)[:, None, None]
    image[:, :, GREY_COLUMNS:] = np.array(GREEN, dtype=np.uint8)[:, None, None]
    buffer = io.BytesIO()
    with rasterio.open(buffer, "w", driver="GTiff", width=SIZE_PX, height=SIZE_PX, count=4,
                       dtype="uint8", crs="EPSG:2154",
                       transform=Affine(RESOLUTION_M, 0.0, west, 0.0, -RESOLUTION_M,
                                                north)) as ds:
        ds.write(image)
    return buffer.getvalue()
