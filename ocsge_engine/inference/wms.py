"""IGN orthophotos fetched online from the Géoplateforme WMS-R into a 4-band GeoTIFF.

:func:`fetch_orthophoto` builds WMS 1.3.0 ``GetMap`` requests on ``https://data.geopf.fr/wms-r``
(``CRS=EPSG:2154``; for Lambert-93 the WMS 1.3.0 axis order is easting, northing, so
``BBOX=xmin,ymin,xmax,ymax``, as in the Géoplateforme documentation), one per block of at most
``max_px_per_request`` pixels per side and per layer:

* ``ORTHOIMAGERY.ORTHOPHOTOS``: natural colour, bands 1-3 of the output (R, G, B);
* ``ORTHOIMAGERY.ORTHOPHOTOS.IRC``: false colour infrared (NIR, R, G); its band 1 becomes band 4
  (NIR) of the output, so :func:`~ocsge_engine.inference.predict.predict_image` gets R, G, B, NIR.

Grid: the bounds are snapped outward to multiples of ``resolution_m`` (the BD ORTHO grid at
20 cm), the output transform is ``(resolution_m, 0, xmin, 0, -resolution_m, ymax)`` and block
``(row, col, h, w)`` is requested with exactly the bbox of those pixels, so mosaicking needs no
resampling. Blocks are written one at a time into ``<out>.tmp`` (never the whole area in memory),
renamed to ``out_path`` at the end; any failure removes the temporary file.

The size is checked before any request: above ``max_megapixels`` → :class:`ImageryError`.
Each answer is read in chunks and refused past :func:`max_response_bytes` (an uncompressed
RGBA image of the block plus 1 MiB), and the whole fetch has a total deadline
(``deadline_s``, default :data:`DEFAULT_DEADLINE_S`): a slow or endless server cannot hold the
dashboard or fill the memory.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
import requests
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from rasterio.windows import Window

from ocsge_engine.errors import DownloadError, GeometryError, ImageryError

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None] | None

BASE_URL = "https://data.geopf.fr/wms-r"
LAYER_RGB = "ORTHOIMAGERY.ORTHOPHOTOS"
LAYER_IRC = "ORTHOIMAGERY.ORTHOPHOTOS.IRC"
DEFAULT_MAX_MEGAPIXELS = 25.0
DEFAULT_DEADLINE_S = 600.0
_CHUNK = 1 << 16
# Projected bounds of EPSG:2154 (area of use: metropolitan France), with a margin: coordinates
# outside are not Lambert-93 (typically longitude/latitude given by mistake).
L93_X_RANGE = (-400_000.0, 1_400_000.0)
L93_Y_RANGE = (6_000_000.0, 7_300_000.0)
BAND_NAMES = ("red", "green", "blue", "nir")
_SNAP_EPS = 1e-6


def fetch_orthophoto(bounds_2154: Sequence[float], out_path: Path | str, resolution_m: float = 0.2,
                     layers: Sequence[str] = (LAYER_RGB, LAYER_IRC), base_url: str = BASE_URL,
                     max_px_per_request: int = 4096, progress: Progress = None,
                     timeout_s: float = 30, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
                     image_format: str = "image/jpeg",
                     deadline_s: float = DEFAULT_DEADLINE_S) -> Path:
    """Download the IGN orthophoto of a Lambert-93 bbox as a georeferenced GeoTIFF.

    Args:
        bounds_2154: ``(xmin, ymin, xmax, ymax)`` in EPSG:2154 metres.
        out_path: GeoTIFF to write (replaced atomically).
        resolution_m: pixel size (0.2 m is the BD ORTHO and FLAIR resolution).
        layers: the natural-colour layer (bands 1-3 kept), then optionally a false-colour IRC
            layer whose band 1 (near infrared) becomes band 4.
        base_url: WMS endpoint.
        max_px_per_request: largest side of one ``GetMap`` image.
        progress: ``progress(fraction, message_fr)``, called after each request.
        timeout_s: connect/read timeout of each request.
        max_megapixels: refuse larger areas before any request.
        image_format: ``image/jpeg`` (smaller) or ``image/png`` (lossless).
        deadline_s: total time allowed for all the requests.

    Returns:
        ``out_path``: uint8 GeoTIFF, EPSG:2154, 3 bands (R, G, B) or 4 (R, G, B, NIR).

    Raises:
        GeometryError: bbox malformed, empty, inverted or outside Lambert-93.
        ImageryError: area above ``max_megapixels``.
        DownloadError: offline, timeout, total deadline passed, answer too large, HTTP error,
            WMS exception or undecodable image (nothing is left at ``out_path``).

    Notes:
        Memory: one block (``max_px_per_request``² × 3 bytes per layer) at a time.
    """
    if not layers or len(layers) > 2:
        raise ValueError(f"layers must be 1 or 2 WMS layer names, got {layers!r}")
    if resolution_m <= 0 or max_px_per_request < 1:
        raise ValueError("resolution_m and max_px_per_request must be positive")
    xmin, ymin, xmax, ymax = snap_bounds(bounds_2154, resolution_m)
    width = round((xmax - xmin) / resolution_m)
    height = round((ymax - ymin) / resolution_m)
    _check_size(width, height, resolution_m, max_megapixels)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    blocks = list(_blocks(width, height, max_px_per_request))
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 3 + (len(layers) - 1),
               "dtype": "uint8", "crs": "EPSG:2154",
               "transform": from_origin(xmin, ymax, resolution_m, resolution_m),
               "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate",
               "interleave": "pixel"}
    logger.info("fetching %s over %.1f,%.1f,%.1f,%.1f: %dx%d px at %g m, %d block(s)",
                "+".join(layers), xmin, ymin, xmax, ymax, width, height, resolution_m, len(blocks))
    deadline = time.monotonic() + deadline_s
    try:
        with requests.Session() as session, rasterio.open(tmp, "w", **profile) as dst:
            for i, (row, col, h, w) in enumerate(blocks):
                bbox = (xmin + col * resolution_m, ymax - (row + h) * resolution_m,
                        xmin + (col + w) * resolution_m, ymax - row * resolution_m)
                rgb = _get_map(session, base_url, layers[0], bbox, w, h, image_format, timeout_s,
                               deadline)
                dst.write(rgb[:3], indexes=[1, 2, 3], window=Window(col, row, w, h))
                if len(layers) == 2:
                    irc = _get_map(session, base_url, layers[1], bbox, w, h, image_format,
                                   timeout_s, deadline)
                    dst.write(irc[0], indexes=4, window=Window(col, row, w, h))
                if progress is not None:
                    progress((i + 1) / len(blocks),
                             f"Orthophoto IGN : bloc {i + 1} sur {len(blocks)} téléchargé")
            for index, name in enumerate(BAND_NAMES[:profile["count"]], start=1):
                dst.set_band_description(index, name)
            dst.update_tags(source=base_url, layers=",".join(layers))
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.info("orthophoto written to %s", out_path)
    return out_path


def snap_bounds(bounds_2154: Sequence[float], resolution_m: float) -> tuple[float, float, float, float]:
    """Validate a Lambert-93 bbox and snap it outward to multiples of ``resolution_m``.

    Raises:
        GeometryError: not 4 finite numbers, empty or inverted, or outside Lambert-93.

    >>> snap_bounds((770549.9, 6277549.85, 770575.05, 6277575), 0.2)
    (770549.8, 6277549.8, 770575.2, 6277575.0)
    """
    try:
        values = [float(v) for v in bounds_2154]
    except (TypeError, ValueError) as err:
        raise _bad_bbox(f"non-numeric bbox {bounds_2154!r}") from err
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise _bad_bbox(f"bbox must be 4 finite numbers, got {bounds_2154!r}")
    xmin, ymin, xmax, ymax = values
    if xmin >= xmax or ymin >= ymax:
        raise _bad_bbox(f"empty or inverted bbox {values}")
    if not (L93_X_RANGE[0] <= xmin and xmax <= L93_X_RANGE[1]
            and L93_Y_RANGE[0] <= ymin and ymax <= L93_Y_RANGE[1]):
        raise GeometryError(f"bbox {values} is outside EPSG:2154 bounds",
                            "Emprise hors de France métropolitaine : les coordonnées doivent être "
                            "en Lambert-93 (EPSG:2154), en mètres.")

    def down(v: float) -> float:
        return round(math.floor(v / resolution_m + _SNAP_EPS) * resolution_m, 6)

    def up(v: float) -> float:
        return round(math.ceil(v / resolution_m - _SNAP_EPS) * resolution_m, 6)

    return down(xmin), down(ymin), up(xmax), up(ymax)


def territory_bounds_2154(geometry: Any) -> tuple[float, float, float, float]:
    """Lambert-93 bounds of a shapely geometry (assumed EPSG:2154) or a GeoSeries/GeoDataFrame.

    Raises:
        GeometryError: empty geometry.
    """
    if hasattr(geometry, "to_crs"):
        if geometry.crs is not None:
            geometry = geometry.to_crs(2154)
        bounds = tuple(float(v) for v in geometry.total_bounds)
    else:
        bounds = tuple(float(v) for v in geometry.bounds)
    if len(bounds) != 4 or not all(math.isfinite(v) for v in bounds):
        raise GeometryError("empty territory geometry", "Le territoire n'a pas de géométrie.")
    return bounds  # type: ignore[return-value]


def fetch_territory_orthophoto(territory_geometry: Any, out_path: Path | str, *,
                               resolution_m: float = 0.2,
                               max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
                               progress: Progress = None, base_url: str | None = None,
                               timeout_s: float = 30) -> Path:
    """:func:`fetch_orthophoto` over the bbox of a territory (RGB + IRC → 4 bands).

    Args:
        territory_geometry: GeoSeries/GeoDataFrame with a CRS, or shapely in EPSG:2154.
        out_path: GeoTIFF to write.
        resolution_m, max_megapixels, progress, timeout_s: see :func:`fetch_orthophoto`.
        base_url: WMS endpoint; ``None``: :data:`BASE_URL` (read at call time).

    Raises:
        GeometryError: no territory, or a bbox outside Lambert-93.
        ImageryError, DownloadError: see :func:`fetch_orthophoto`.
    """
    if territory_geometry is None:
        raise GeometryError("online orthophoto needs a territory",
                            "Choisissez un territoire (--territory) : l'orthophoto en ligne "
                            "couvre son emprise.")
    return fetch_orthophoto(territory_bounds_2154(territory_geometry), out_path, resolution_m,
                            base_url=base_url or BASE_URL, progress=progress, timeout_s=timeout_s,
                            max_megapixels=max_megapixels)


def orthophoto_source(territory_geometry: Any, *, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
                      progress: Progress = None, base_url: str | None = None) -> Any:
    """The territory's online orthophoto as an in-memory ``ImageSource`` (for the dashboard).

    Fetched into a private temporary folder, read back as bytes, folder removed whatever happens.

    Returns:
        :class:`ocsge_engine.inference.ondemand.ImageSource` (4 bands, EPSG:2154).

    Raises:
        GeometryError, ImageryError, DownloadError: see :func:`fetch_territory_orthophoto`.
    """
    from ocsge_engine.inference.ondemand import ImageSource  # lazy: loads torch

    with tempfile.TemporaryDirectory(prefix="ocsge-wms-") as tmp:
        path = fetch_territory_orthophoto(territory_geometry, Path(tmp) / "orthophoto_ign.tif",
                                          max_megapixels=max_megapixels, progress=progress,
                                          base_url=base_url)
        return ImageSource(path.read_bytes(), path.name, crs="EPSG:2154")


def _bad_bbox(message: str) -> GeometryError:
    return GeometryError(message, "Emprise invalide : il faut XMIN < XMAX et YMIN < YMAX, en mètres "
                                  "Lambert-93 (EPSG:2154).")


def _check_size(width: int, height: int, resolution_m: float, max_megapixels: float) -> None:
    megapixels = width * height / 1e6
    if megapixels > max_megapixels:
        area_km2 = width * height * resolution_m ** 2 / 1e6
        raise ImageryError(
            f"orthophoto of {width}x{height} px ({megapixels:.1f} Mpx) exceeds {max_megapixels} Mpx",
            f"Zone trop grande pour l'orthophoto en ligne : {_fr(megapixels)} mégapixels "
            f"({_fr(area_km2, 2)} km² à {_fr(resolution_m, 2)} m), la limite est de "
            f"{_fr(max_megapixels)} mégapixels. Choisissez un territoire plus petit "
            "(ou dessinez une zone).")


def _fr(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}".rstrip("0").rstrip(".").replace(".", ",")


def _blocks(width: int, height: int, size: int) -> Iterator[tuple[int, int, int, int]]:
    """``(row, col, h, w)`` blocks of at most ``size`` px per side, covering the grid once.

    >>> list(_blocks(5, 3, 4))
    [(0, 0, 3, 4), (0, 4, 3, 1)]
    """
    for row in range(0, height, size):
        for col in range(0, width, size):
            yield row, col, min(size, height - row), min(size, width - col)


def getmap_params(layer: str, bbox: Sequence[float], width: int, height: int,
                  image_format: str = "image/jpeg") -> dict[str, str]:
    """Query parameters of one WMS 1.3.0 ``GetMap`` in EPSG:2154 (x, y axis order).

    >>> getmap_params("L", (1, 2, 3, 4), 10, 20)["BBOX"]
    '1,2,3,4'
    """
    return {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": layer,
            "STYLES": "", "CRS": "EPSG:2154", "BBOX": ",".join(f"{v:.6f}".rstrip("0").rstrip(".")
                                                              for v in bbox),
            "WIDTH": str(width), "HEIGHT": str(height), "FORMAT": image_format}


def max_response_bytes(width: int, height: int) -> int:
    """Largest answer accepted for a ``width`` × ``height`` block: raw RGBA plus 1 MiB.

    >>> max_response_bytes(100, 100)
    1088576
    """
    return width * height * 4 + (1 << 20)


def _get_map(session: requests.Session, base_url: str, layer: str, bbox: Sequence[float],
             width: int, height: int, image_format: str, timeout_s: float,
             deadline: float | None = None) -> npt.NDArray[np.uint8]:
    """One ``GetMap`` decoded to ``(3, height, width)`` uint8, within the deadline and byte cap."""
    params = getmap_params(layer, bbox, width, height, image_format)
    limit = max_response_bytes(width, height)
    try:
        response = session.get(base_url, params=params, timeout=_timeout(timeout_s, deadline),
                               stream=True)
        with response:
            if response.status_code != 200:
                raise DownloadError(f"HTTP {response.status_code} from WMS {response.url}",
                                    f"Le service d'orthophotos de l'IGN a répondu une erreur "
                                    f"{response.status_code} : réessayez plus tard.")
            content_type = response.headers.get("Content-Type", "")
            body = _read_capped(response, limit, deadline, layer)
    except requests.RequestException as err:
        raise DownloadError(f"cannot reach WMS {base_url}: {err}",
                            "Le service d'orthophotos de l'IGN est injoignable "
                            "(pas de connexion internet ?) : réessayez plus tard ou déposez "
                            "votre propre image.") from err
    if not content_type.startswith("image/"):
        raise DownloadError(f"WMS {layer} answered {content_type!r}: "
                            f"{body[:300].decode('utf-8', 'replace')}",
                            f"Le service d'orthophotos de l'IGN a refusé la requête (couche "
                            f"{layer}) : réessayez plus tard.")
    return _decode(body, width, height, layer)


def _timeout(timeout_s: float, deadline: float | None) -> float:
    """Per-request timeout: ``timeout_s``, cut to the time left before the deadline."""
    if deadline is None:
        return timeout_s
    left = deadline - time.monotonic()
    if left <= 0:
        raise _too_slow()
    return min(timeout_s, left)


def _read_capped(response: requests.Response, limit: int, deadline: float | None,
                 layer: str) -> bytes:
    """The body, read in chunks; refused past ``limit`` bytes or past the deadline."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(layer, int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    # read1: whatever has arrived (up to a chunk), so a trickling server meets the deadline
    while chunk := response.raw.read1(_CHUNK, decode_content=True):
        size += len(chunk)
        if size > limit:
            raise _too_large(layer, size, limit)
        if deadline is not None and time.monotonic() > deadline:
            raise _too_slow()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(layer: str, size: int, limit: int) -> DownloadError:
    return DownloadError(f"WMS {layer} answer of {size} bytes exceeds {limit}",
                         "Le service d'orthophotos a renvoyé une réponse anormalement grosse : "
                         "elle est refusée. Réessayez plus tard.")


def _too_slow() -> DownloadError:
    return DownloadError("WMS total deadline passed",
                         "Le service d'orthophotos de l'IGN est trop lent : le délai total de "
                         "téléchargement est dépassé. Réessayez plus tard ou choisissez une "
                         "zone plus petite.")


def _decode(data: bytes, width: int, height: int, layer: str) -> npt.NDArray[np.uint8]:
    """PNG/JPEG bytes → ``(3, h, w)`` uint8 (grey and palette images expanded to RGB)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with MemoryFile(data) as mem, mem.open() as src:
                if (src.width, src.height) != (width, height):
                    raise DownloadError(f"WMS {layer} image is {src.width}x{src.height}, "
                                        f"asked {width}x{height}",
                                        "Le service d'orthophotos de l'IGN a renvoyé une image de "
                                        "taille inattendue : réessayez plus tard.")
                if src.count >= 3:
                    return src.read([1, 2, 3], out_dtype=np.uint8)
                band = src.read(1)
                try:
                    colormap = src.colormap(1)
                except ValueError:
                    return np.repeat(band[None].astype(np.uint8), 3, axis=0)
                lut = np.array([colormap.get(i, (0, 0, 0, 0))[:3] for i in range(256)], dtype=np.uint8)
                return np.moveaxis(lut[band], -1, 0)
    except RasterioIOError as err:
        raise DownloadError(f"undecodable WMS {layer} image: {err}",
                            "Le service d'orthophotos de l'IGN a renvoyé une image illisible : "
                            "réessayez plus tard.") from err
