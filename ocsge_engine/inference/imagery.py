"""Input imagery: open, validate and read aligned band stacks window by window.

A :class:`BandStack` assembles the bands a model expects (``red, green, blue, nir, elevation``)
from one to three aligned rasters (GeoTIFF, VRT, any GDAL format):

* main image with ≥ 5 bands: bands 1-5 are R, G, B, NIR, elevation;
* 4 bands: R, G, B, NIR (elevation filled with 0, i.e. flat ground);
* 3 bands: R, G, B, plus NIR from ``nir_path`` (band 1, as in IGN IRC images: NIR, R, G);
* an ``elevation_path`` (band 1) replaces the elevation band: 8-bit values are FLAIR units
  (0.2 m), float values are metres (divided by 0.2, clipped to 0-255).

Reads return float32 ``(bands, h, w)`` for one window only; nothing holds the full raster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ocsge_engine.errors import CrsError, ImageryError

logger = logging.getLogger(__name__)

MIN_SIDE_PX = 32
ELEVATION_UNIT_M = 0.2
_FR = {"red": "rouge", "green": "vert", "blue": "bleu", "nir": "proche infrarouge", "elevation": "hauteur"}


@dataclass
class _Band:
    dataset: rasterio.io.DatasetReader | None  # None: constant zero band
    index: int = 1
    scale: float = 1.0


@dataclass
class BandStack:
    """Aligned bands read window by window, in model order.

    Attributes:
        paths: opened files.
        bands: per model band, where to read it.
        width, height: raster size (px).
        transform: affine transform of the grid.
        crs: coordinate reference system.
        has_elevation: whether the elevation band holds real heights.
        notes: English notes for the run metadata (missing bands filled with zeros…).
    """

    paths: list[Path]
    bands: list[_Band]
    width: int
    height: int
    transform: rasterio.Affine
    crs: CRS
    has_elevation: bool
    notes: list[str] = field(default_factory=list)
    _datasets: list[rasterio.io.DatasetReader] = field(default_factory=list, repr=False)

    def read(self, window: Window) -> npt.NDArray[np.float32]:
        """Read one window as float32 ``(bands, h, w)`` on the 0-255 scale."""
        h, w = int(window.height), int(window.width)
        out = np.zeros((len(self.bands), h, w), dtype=np.float32)
        for i, band in enumerate(self.bands):
            if band.dataset is not None:
                data = band.dataset.read(band.index, window=window, out_dtype=np.float32)
                np.clip(data * band.scale if band.scale != 1.0 else data, 0.0, 255.0, out=out[i])
        return out

    def close(self) -> None:
        """Close the underlying datasets."""
        for ds in self._datasets:
            ds.close()

    def __enter__(self) -> BandStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(path: Path) -> rasterio.io.DatasetReader:
    if not Path(path).exists():
        raise ImageryError(f"image {path} does not exist", f"Image introuvable : {path}.")
    try:
        return rasterio.open(path)
    except RasterioIOError as err:
        raise ImageryError(f"cannot open image {path}: {err}",
                           f"L'image {Path(path).name} est illisible ou corrompue "
                           "(GeoTIFF, VRT ou JPEG2000 attendu).") from err


def _check_grid(main: rasterio.io.DatasetReader, other: rasterio.io.DatasetReader) -> None:
    if (other.width, other.height) != (main.width, main.height) or \
            not other.transform.almost_equals(main.transform, precision=1e-6):
        raise ImageryError(
            f"{other.name} is not on the grid of {main.name} "
            f"({other.width}x{other.height} {other.transform} vs {main.width}x{main.height} {main.transform})",
            f"Les images {Path(main.name).name} et {Path(other.name).name} ne sont pas superposables "
            "(taille ou géoréférencement différents).")


def _resolve_crs(ds: rasterio.io.DatasetReader, crs: str | CRS | None) -> CRS:
    if crs is not None:
        return CRS.from_user_input(crs)
    if ds.crs is None:
        raise CrsError(f"image {ds.name} has no CRS",
                       f"L'image {Path(ds.name).name} n'a pas de système de coordonnées (CRS) : "
                       "fournissez un GeoTIFF géoréférencé (Lambert-93).")
    return ds.crs


def _elevation_scale(ds: rasterio.io.DatasetReader) -> float:
    return 1.0 if np.dtype(ds.dtypes[0]).kind in "ui" else 1.0 / ELEVATION_UNIT_M


def open_band_stack(image: Path | str, nir_path: Path | str | None = None,
                    elevation_path: Path | str | None = None, crs: str | CRS | None = None,
                    require: tuple[str, ...] = ("red", "green", "blue", "nir")) -> BandStack:
    """Open and validate the input rasters of a prediction.

    Args:
        image: main raster (RGB, RGBN or RGBNE).
        nir_path: raster whose band 1 is near-infrared (IGN IRC), for a 3-band main image.
        elevation_path: raster whose band 1 is the height above ground.
        crs: CRS to assume when the file has none (else a missing CRS is an error).
        require: bands that must be present (``elevation`` may always be zero-filled).

    Returns:
        An open :class:`BandStack` (use it as a context manager).

    Raises:
        ImageryError: missing/corrupt file, misaligned rasters, too few bands, image too small.
        CrsError: no CRS and none given.
    """
    main = _open(Path(image))
    datasets = [main]
    try:
        ref_crs = _resolve_crs(main, crs)
        if min(main.width, main.height) < MIN_SIDE_PX:
            raise ImageryError(f"image {image} is {main.width}x{main.height} px, below {MIN_SIDE_PX} px",
                               f"L'image est trop petite ({main.width}×{main.height} px) : "
                               f"au moins {MIN_SIDE_PX}×{MIN_SIDE_PX} px sont nécessaires.")
        notes: list[str] = []
        bands = [_Band(main, i + 1) for i in range(min(main.count, 5))]
        if len(bands) < 4 and nir_path is not None:
            nir = _open(Path(nir_path))
            datasets.append(nir)
            _check_grid(main, nir)
            bands = bands[:3] + [_Band(nir, 1)]
        names = ("red", "green", "blue", "nir", "elevation")[:len(bands)]
        missing = [b for b in require if b not in names]
        if missing:
            raise ImageryError(
                f"image {image} has {main.count} band(s); model needs {', '.join(require)} (missing {missing})",
                f"L'image a {main.count} bande(s) alors que le modèle attend {len(require)} bandes "
                f"({', '.join(_FR[b] for b in require)}) : ajoutez le proche infrarouge (image IRC).")
        while len(bands) < 4:
            bands.append(_Band(None))
        has_elevation = len(bands) == 5
        if elevation_path is not None:
            elev = _open(Path(elevation_path))
            datasets.append(elev)
            _check_grid(main, elev)
            bands = bands[:4] + [_Band(elev, 1, _elevation_scale(elev))]
            has_elevation = True
        elif len(bands) == 4:
            bands.append(_Band(None))
            notes.append("no elevation band: filled with 0 (flat ground)")
            logger.warning("no elevation band for %s: filled with zeros", image)
        for ds in datasets:
            if ds.dtypes[0] != "uint8":
                notes.append(f"{Path(ds.name).name} is {ds.dtypes[0]}, values clipped to 0-255")
        return BandStack(paths=[Path(d.name) for d in datasets], bands=bands, width=main.width,
                         height=main.height, transform=main.transform, crs=ref_crs,
                         has_elevation=has_elevation, notes=notes, _datasets=datasets)
    except BaseException:
        for ds in datasets:
            ds.close()
        raise
