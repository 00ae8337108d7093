"""Input imagery: open, validate and read aligned band stacks window by window.

A :class:`BandStack` assembles the bands a model expects (``red, green, blue, nir, elevation``)
from one to three aligned rasters (GeoTIFF, VRT, any GDAL format):

* main image with ≥ 5 bands: bands 1-5 are R, G, B, NIR, elevation;
* 4 bands: R, G, B, NIR (elevation filled with 0, i.e. flat ground);
* 3 bands: R, G, B, plus NIR from ``nir_path`` (band 1, as in IGN IRC images: NIR, R, G); without
  ``nir_path`` and when ``nir`` is not required, the NIR band is a zero filler and
  :attr:`BandStack.has_nir` is ``False`` (plain BD ORTHO RGB);
* an ``elevation_path`` (band 1) replaces the elevation band: 8-bit values are FLAIR units
  (0.2 m), float values are metres (divided by 0.2, clipped to 0-255).

Reads return ``(bands, h, w)`` for one window (or one block of windows) only; nothing holds the
full raster. A model reads only its card's bands (:meth:`BandStack.use_bands`). A read that fails
(truncated or corrupt file) raises :class:`~ocsge_engine.errors.ImageryError`; the last row of
each file is read when it is opened, so a truncated file is refused before any inference.
Reads are float32 by default; :attr:`BandStack.native_dtype` is ``uint8`` when every
band is stored as 8-bit and unscaled, so the values can travel as bytes (4× less memory and
host→device traffic) and be converted on the device, with the same values.

Threads: a rasterio dataset must not be used by two threads at once. :meth:`BandStack.reader`
returns a read function that opens one set of dataset handles per calling thread (GDAL releases
the GIL while it reads, so several reader threads read in parallel).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.crs import CRS
from rasterio.errors import RasterioError, RasterioIOError
from rasterio.windows import Window

from ocsge_engine.errors import CrsError, ImageryError

logger = logging.getLogger(__name__)

MIN_SIDE_PX = 32
ELEVATION_UNIT_M = 0.2
BAND_NAMES = ("red", "green", "blue", "nir", "elevation")
_FR = {"red": "rouge", "green": "vert", "blue": "bleu", "nir": "proche infrarouge", "elevation": "hauteur"}


def bands_fr(names: tuple[str, ...] | list[str]) -> str:
    """French list of band names.

    >>> bands_fr(("red", "green", "blue", "nir"))
    'rouge, vert, bleu, proche infrarouge'
    """
    return ", ".join(_FR.get(b, b) for b in names)


def _read_error(ds: rasterio.io.DatasetReader, err: Exception) -> ImageryError:
    name = Path(ds.name).name
    return ImageryError(f"cannot read pixels of {ds.name}: {err}",
                        f"L'image {name} est tronquée ou corrompue : ses pixels ne peuvent pas être "
                        "lus. Téléchargez-la ou exportez-la à nouveau.")


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
        notes_fr: the same notes in French, for the page and the CLI.
        has_nir: whether the NIR band holds real values (else a zero filler).
        band_names: names of :attr:`bands`, in order (see :meth:`use_bands`).
    """

    paths: list[Path]
    bands: list[_Band]
    width: int
    height: int
    transform: rasterio.Affine
    crs: CRS
    has_elevation: bool
    notes: list[str] = field(default_factory=list)
    notes_fr: list[str] = field(default_factory=list)
    has_nir: bool = True
    band_names: tuple[str, ...] = BAND_NAMES
    _datasets: list[rasterio.io.DatasetReader] = field(default_factory=list, repr=False)
    _clones: list[BandStack] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def available(self) -> tuple[str, ...]:
        """Bands holding real values (fillers excluded), in :data:`BAND_NAMES` order."""
        real = {"red", "green", "blue"} | ({"nir"} if self.has_nir else set()) | (
            {"elevation"} if self.has_elevation else set())
        return tuple(b for b in BAND_NAMES if b in real)

    def use_bands(self, names: tuple[str, ...], for_model: bool = True) -> None:
        """Keep only the bands ``names`` (a model card's bands), in that order.

        Args:
            names: band names, a subset of :data:`BAND_NAMES`.
            for_model: a model will read them: a zero-filled elevation is noted, a zero-filled
                NIR refused (the rule-based fallback knows its fillers and passes ``False``).

        Raises:
            ValueError: a name the stack never had, or a filler NIR for a model.
        """
        index = {n: i for i, n in enumerate(self.band_names)}
        missing = [n for n in names if n not in index]
        if missing:
            raise ValueError(f"unknown bands {missing}")
        self.bands = [self.bands[index[n]] for n in names]
        self.band_names = tuple(names)
        if for_model and "elevation" in names and not self.has_elevation:
            self.notes.append("no elevation band: filled with 0 (flat ground)")
            self.notes_fr.append("pas de bande de hauteur : remplacée par 0 (sol plat), le modèle a été "
                                 "entraîné avec des hauteurs réelles")
            logger.warning("no elevation band for %s: filled with zeros", self.paths[0])
        if for_model and "nir" in names and not self.has_nir:
            raise ValueError("the NIR band is a filler: a model needing NIR cannot use this image")

    @property
    def native_dtype(self) -> np.dtype[np.uint8] | np.dtype[np.float32]:
        """``uint8`` when every band is an unscaled 8-bit band (or a zero filler), else ``float32``."""
        exact = all(b.dataset is None or (b.scale == 1.0 and b.dataset.dtypes[b.index - 1] == "uint8")
                    for b in self.bands)
        return np.dtype(np.uint8) if exact else np.dtype(np.float32)

    def read(self, window: Window, dtype: npt.DTypeLike = np.float32) -> npt.NDArray[np.generic]:
        """Read one window as ``(bands, h, w)`` on the 0-255 scale.

        Args:
            window: pixel window of the raster.
            dtype: ``float32`` (default, any input) or ``uint8`` (only when :attr:`native_dtype`
                is ``uint8``: the values are then the same, stored on one byte).

        Raises:
            ValueError: ``uint8`` asked for bands that are not 8-bit.
        """
        h, w = int(window.height), int(window.width)
        out = np.zeros((len(self.bands), h, w), dtype=dtype)
        if out.dtype == np.uint8:
            if self.native_dtype != np.uint8:
                raise ValueError("uint8 reads need unscaled 8-bit bands")
            self._read_bytes(window, out)
            return out
        for i, band in enumerate(self.bands):
            if band.dataset is not None:
                try:
                    data = band.dataset.read(band.index, window=window, out_dtype=np.float32)
                except RasterioError as err:
                    raise _read_error(band.dataset, err) from err
                np.clip(data * band.scale if band.scale != 1.0 else data, 0.0, 255.0, out=out[i])
        return out

    def _read_bytes(self, window: Window, out: npt.NDArray[np.uint8]) -> None:
        """Fill ``out`` with one GDAL call per run of consecutive bands of the same dataset."""
        i = 0
        while i < len(self.bands):
            band = self.bands[i]
            j = i + 1
            while (j < len(self.bands) and band.dataset is not None and self.bands[j].dataset is band.dataset
                   and self.bands[j].index == self.bands[j - 1].index + 1):
                j += 1
            if band.dataset is not None:
                try:
                    band.dataset.read(list(range(band.index, band.index + j - i)), window=window, out=out[i:j])
                except RasterioError as err:
                    raise _read_error(band.dataset, err) from err
            i = j

    def reader(self, dtype: npt.DTypeLike = np.float32) -> Callable[[int, int, int, int], npt.NDArray[np.generic]]:
        """A thread-safe ``read(row, col, height, width)`` with one set of dataset handles per thread.

        The handles are opened on a thread's first call and closed with this stack.

        Args:
            dtype: as in :meth:`read`.
        """
        local = threading.local()

        def read(row: int, col: int, height: int, width: int) -> npt.NDArray[np.generic]:
            stack = getattr(local, "stack", None)
            if stack is None:
                stack = local.stack = self._clone()
            return stack.read(Window(col, row, width, height), dtype=dtype)

        return read

    def _clone(self) -> BandStack:
        """The same stack on freshly opened handles (for another thread)."""
        opened = [rasterio.open(ds.name) for ds in self._datasets]
        try:
            bands = [_Band(None) if b.dataset is None else
                     _Band(opened[self._datasets.index(b.dataset)], b.index, b.scale) for b in self.bands]
        except BaseException:
            for ds in opened:
                ds.close()
            raise
        clone = BandStack(paths=self.paths, bands=bands, width=self.width, height=self.height,
                          transform=self.transform, crs=self.crs, has_elevation=self.has_elevation,
                          notes=list(self.notes), notes_fr=list(self.notes_fr), has_nir=self.has_nir,
                          band_names=self.band_names, _datasets=opened)
        with self._lock:
            self._clones.append(clone)
        return clone

    def close(self) -> None:
        """Close the underlying datasets and those opened for reader threads."""
        with self._lock:
            clones, self._clones = self._clones, []
        for clone in clones:
            clone.close()
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
        ds = rasterio.open(path)
    except (RasterioIOError, RasterioError) as err:
        raise ImageryError(f"cannot open image {path}: {err}",
                           f"L'image {Path(path).name} est illisible ou corrompue "
                           "(GeoTIFF, VRT ou JPEG2000 attendu).") from err
    try:
        _check_last_row(ds)
    except BaseException:
        ds.close()
        raise
    return ds


def _check_last_row(ds: rasterio.io.DatasetReader) -> None:
    """Read the first and last pixel rows: a truncated file fails here, before any inference.

    Raises:
        ImageryError: the rows cannot be read (truncated or corrupt file).
    """
    try:
        for row in (0, ds.height - 1):
            ds.read(window=Window(0, row, ds.width, 1))
    except RasterioError as err:
        raise _read_error(ds, err) from err


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
        require: bands that must be present (``elevation`` may always be zero-filled; ``nir``
            too when it is not required: :attr:`BandStack.has_nir` is then ``False``).

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
        if len(bands) < 3:
            raise ImageryError(f"image {image} has {main.count} band(s), at least R, G, B needed",
                               f"L'image a {main.count} bande(s) : au moins trois bandes (rouge, vert, "
                               "bleu) sont nécessaires.")
        names = BAND_NAMES[:len(bands)]
        missing = [b for b in require if b not in names and b != "elevation"]
        if missing:
            raise ImageryError(
                f"image {image} has {main.count} band(s); model needs {', '.join(require)} (missing {missing})",
                f"L'image a {main.count} bande(s) alors que le modèle attend {len(require)} bandes "
                f"({bands_fr(require)}) : ajoutez le proche infrarouge (image IRC).")
        has_nir = len(bands) >= 4
        notes_fr: list[str] = []
        if not has_nir:
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
        for ds in datasets:
            if ds.dtypes[0] != "uint8":
                notes.append(f"{Path(ds.name).name} is {ds.dtypes[0]}, values clipped to 0-255")
                notes_fr.append(f"{Path(ds.name).name} n'est pas en 8 bits : valeurs ramenées à 0-255")
        return BandStack(paths=[Path(d.name) for d in datasets], bands=bands, width=main.width,
                         height=main.height, transform=main.transform, crs=ref_crs,
                         has_elevation=has_elevation, notes=notes, notes_fr=notes_fr, has_nir=has_nir,
                         _datasets=datasets)
    except BaseException:
        for ds in datasets:
            ds.close()
        raise
