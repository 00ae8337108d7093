"""On-demand prediction: image → class raster (COG) → OCS GE polygons and statistics.

Stages (IGNF/FLAIR-HUB ``flair_zonal_detection``): slicing (:mod:`.tiling`), reading
(:mod:`.imagery`), inference (this module: :class:`ModelPredictor` or the rule-based
:class:`~.fallback.FallbackPredictor`), post-processing (:mod:`.vectorize`). Settings travel in a
frozen :class:`PredictSettings`.

Memory: windows are read, predicted and written one batch at a time into a tiled GeoTIFF, then
converted to a Cloud-Optimised GeoTIFF; the only full-area array is the uint8 class map read back
for vectorisation (1 byte per pixel, bounded by ``max_pixels``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio
import rasterio.shutil
import torch
from rasterio.features import geometry_mask, geometry_window
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry

from ocsge_engine.errors import GeometryError, ImageryError
from ocsge_engine.inference.checkpoints import LoadedModel, ModelCard, load_checkpoint, resolve_card
from ocsge_engine.inference.fallback import FALLBACK_CARD, FallbackPredictor
from ocsge_engine.inference.imagery import BandStack, open_band_stack
from ocsge_engine.inference.tiling import Tile, TileGrid, crop_core, pad_window
from ocsge_engine.inference.vectorize import POLYGON_COLUMNS, class_stats, polygonize

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
Device = Literal["auto", "cpu", "cuda", "mps"]
NODATA = 255


class Predictor(Protocol):
    """Turns a raw ``(B, bands, S, S)`` float32 batch (0-255) into classes and confidence."""

    card: ModelCard
    device: str

    def __call__(self, batch: npt.NDArray[np.float32]
                 ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]: ...


@dataclass(frozen=True)
class PredictSettings:
    """Frozen settings of one prediction run.

    Attributes:
        window_px: model window side (FLAIR: 512).
        margin_px: discarded border of each window (FLAIR: 128).
        batch_size: windows per forward pass (halved on out-of-memory).
        device: ``auto`` picks cuda, then mps, then cpu.
        confidence: also write the max softmax probability (0-100 %) as a second COG.
        min_area_m2: polygons smaller than this are sieved into their neighbours.
        max_pixels: refuse areas larger than this (vectorisation holds one byte per pixel).
        vectorize: build the polygons (``False``: empty polygon layer, stats only; benchmarks).
    """

    window_px: int = 512
    margin_px: int = 128
    batch_size: int = 4
    device: Device = "auto"
    confidence: bool = False
    min_area_m2: float = 10.0
    max_pixels: int = 200_000_000
    vectorize: bool = True


@dataclass
class PredictionResult:
    """Outputs of :func:`predict_image`.

    Attributes:
        classes_path: uint8 COG of class indices (nodata 255 outside the territory).
        confidence_path: uint8 COG of the winning probability in %, or ``None``.
        polygons_path: GeoPackage of the polygons.
        polygons: GeoDataFrame ``class_id, class_name, code_cs, code_us, area_ha, geometry``.
        stats: table per class ``class_id, class_name, code_cs, pixels, area_ha, share``.
        method: ``"model"`` or ``"fallback_rules"`` (coarse map, label it so).
        model_name: card name.
        checkpoint_sha256: SHA-256 of the weights, ``None`` for the fallback.
        checkpoint_verified: whether that hash matched the model card.
        device: device used.
        n_windows: windows predicted.
        elapsed_s: wall time.
        notes: English notes (missing bands filled, unverified checkpoint…).
        metadata_path: JSON with all of the above except the tables.
        timings_s: seconds per stage (``inference`` = read + predict + write windows,
            ``postprocess`` = sieve, polygons, stats, COG conversion).
    """

    classes_path: Path
    confidence_path: Path | None
    polygons_path: Path
    polygons: gpd.GeoDataFrame
    stats: pd.DataFrame
    method: str
    model_name: str
    checkpoint_sha256: str | None
    checkpoint_verified: bool
    device: str
    n_windows: int
    elapsed_s: float
    notes: list[str] = field(default_factory=list)
    metadata_path: Path | None = None
    timings_s: dict[str, float] = field(default_factory=dict)


def select_device(device: Device = "auto") -> str:
    """Return ``cuda``, ``mps`` or ``cpu``; ``auto`` picks the first available."""
    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


@dataclass
class ModelPredictor:
    """Normalise, run the network (mixed precision on GPU) and argmax, masking inactive logits.

    Attributes:
        loaded: model and card.
        device: torch device string.
    """

    loaded: LoadedModel
    device: str = "cpu"
    _mean: torch.Tensor = field(init=False, repr=False)
    _std: torch.Tensor = field(init=False, repr=False)
    _inactive: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        card = self.loaded.card
        self.loaded.model.to(self.device).eval()
        self._mean = torch.tensor(card.means, device=self.device).view(1, -1, 1, 1)
        self._std = torch.tensor(card.stds, device=self.device).view(1, -1, 1, 1)
        self._inactive = torch.tensor([not c.active for c in card.classes], device=self.device)

    @property
    def card(self) -> ModelCard:
        """The model card."""
        return self.loaded.card

    def logits(self, batch: npt.NDArray[np.float32]) -> torch.Tensor:
        """Return float32 logits ``(B, classes, S, S)`` with inactive classes at -inf."""
        x = (torch.from_numpy(batch).to(self.device) - self._mean) / self._std
        with torch.inference_mode(), torch.autocast(device_type="cuda", dtype=torch.float16,
                                                    enabled=self.device == "cuda"):
            out = self.loaded.model(x).float()
        return out.masked_fill(self._inactive.view(1, -1, 1, 1), float("-inf"))

    def __call__(self, batch: npt.NDArray[np.float32]
                 ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]:
        """Return classes ``(B, S, S)`` and confidence in % ``(B, S, S)`` (uint8)."""
        logits = self.logits(batch)
        prob, idx = torch.softmax(logits, dim=1).max(dim=1)
        conf = torch.round(prob * 100).to(torch.uint8)
        return idx.to(torch.uint8).cpu().numpy(), conf.cpu().numpy()


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def run_batch(predictor: Predictor, batch: npt.NDArray[np.float32]
              ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]:
    """Predict a batch, halving it recursively on out-of-memory (back-off down to one window).

    Raises:
        ImageryError: out of memory even for a single window.
    """
    try:
        return predictor(batch)
    except (RuntimeError, torch.OutOfMemoryError) as err:
        if not _is_oom(err):
            raise
        if predictor.device == "cuda":
            torch.cuda.empty_cache()
        if len(batch) == 1:
            raise ImageryError(f"out of memory on {predictor.device} for one window",
                               "Mémoire insuffisante pour la prédiction, même fenêtre par fenêtre.") from err
        half = len(batch) // 2
        logger.warning("out of memory on %s with batch %d: retrying with %d", predictor.device, len(batch), half)
        a_cls, a_conf = run_batch(predictor, batch[:half])
        b_cls, b_conf = run_batch(predictor, batch[half:])
        conf = None if a_conf is None or b_conf is None else np.concatenate([a_conf, b_conf])
        return np.concatenate([a_cls, b_cls]), conf


ReadFn = Callable[[int, int, int, int], npt.NDArray[np.float32]]


def iter_tiled(grid: TileGrid, read: ReadFn, predictor: Predictor, batch_size: int = 4
               ) -> Iterator[tuple[Tile, npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]]:
    """Yield ``(tile, classes_core, confidence_core)`` for every tile of ``grid``, batch by batch.

    The next batch is read and padded in one background thread while the current one is
    predicted (GDAL releases the GIL), so I/O overlaps compute; ``read`` is only ever called from
    that one thread.

    Args:
        grid: tiling of the area.
        read: ``read(row, col, height, width) -> (bands, height, width)`` float32 for the area.
        predictor: window predictor.
        batch_size: windows per call to the predictor.
    """
    tiles = list(grid)
    chunks = [tiles[i:i + batch_size] for i in range(0, len(tiles), batch_size)]

    def prepare(chunk: list[Tile]) -> npt.NDArray[np.float32]:
        return np.stack([pad_window(read(t.read_row, t.read_col, t.read_height, t.read_width), t) for t in chunk])

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(prepare, chunks[0]) if chunks else None
        for k, chunk in enumerate(chunks):
            assert pending is not None
            batch = pending.result()
            pending = pool.submit(prepare, chunks[k + 1]) if k + 1 < len(chunks) else None
            classes, conf = run_batch(predictor, batch)
            for j, tile in enumerate(chunk):
                yield tile, crop_core(classes[j], tile), None if conf is None else crop_core(conf[j], tile)


def predict_array(predictor: Predictor, array: npt.NDArray[np.float32], tiled: bool = True,
                  window_px: int = 512, margin_px: int = 128, batch_size: int = 4) -> npt.NDArray[np.uint8]:
    """Predict an in-memory ``(bands, H, W)`` image, tiled or in one shot (tests, small images).

    One shot mirror-pads the whole image by ``margin_px`` then up to a multiple of 32 and runs a
    single forward pass; tiled runs the same windows as :func:`predict_image`.

    Returns:
        ``(H, W)`` uint8 classes.
    """
    _, h, w = array.shape
    if tiled:
        out = np.empty((h, w), dtype=np.uint8)
        grid = TileGrid(h, w, window_px, margin_px)
        for tile, cls, _ in iter_tiled(grid, lambda r, c, hh, ww: array[:, r:r + hh, c:c + ww],
                                       predictor, batch_size):
            out[tile.core_row:tile.core_row + tile.core_height, tile.core_col:tile.core_col + tile.core_width] = cls
        return out
    ph, pw = -(h + 2 * margin_px) % 32, -(w + 2 * margin_px) % 32
    padded = np.pad(array, ((0, 0), (margin_px, margin_px + ph), (margin_px, margin_px + pw)), mode="reflect")
    classes, _ = predictor(padded[None])
    return classes[0, margin_px:margin_px + h, margin_px:margin_px + w]


def _aoi_window(stack: BandStack, geometry: BaseGeometry | None) -> Window:
    full = Window(0, 0, stack.width, stack.height)
    if geometry is None:
        return full
    if geometry.is_empty:
        raise GeometryError("territory geometry is empty", "Le territoire choisi est vide.")

    class _Shim:  # geometry_window needs .transform / .height / .width
        transform, height, width = stack.transform, stack.height, stack.width

    try:
        win = geometry_window(_Shim(), [geometry]).round_offsets().round_lengths()  # type: ignore[arg-type]
        win = win.intersection(full)
    except (rasterio.errors.WindowError, ValueError) as err:
        raise GeometryError(f"territory does not intersect the image: {err}",
                            "Le territoire choisi ne recoupe pas l'image.") from err
    if win.width < 1 or win.height < 1:
        raise GeometryError("territory does not intersect the image", "Le territoire choisi ne recoupe pas l'image.")
    return Window(int(win.col_off), int(win.row_off), int(win.width), int(win.height))


def _to_image_crs(geometry: Any, crs: rasterio.crs.CRS) -> BaseGeometry | None:
    """Accept a shapely geometry (assumed in the image CRS) or a GeoSeries/GeoDataFrame with CRS."""
    if geometry is None or isinstance(geometry, BaseGeometry):
        return geometry
    series = geometry.geometry if isinstance(geometry, gpd.GeoDataFrame) else geometry
    if series.crs is not None:
        series = series.to_crs(crs)
    return series.union_all()


def _profile(stack: BandStack, win: Window, window_px: int) -> dict[str, Any]:
    block = 256 if min(win.width, win.height) >= 256 else 16 * max(1, int(min(win.width, win.height)) // 16)
    return dict(driver="GTiff", dtype="uint8", count=1, nodata=NODATA, width=int(win.width),
                height=int(win.height), crs=stack.crs, transform=rasterio.windows.transform(win, stack.transform),
                tiled=True, blockxsize=block, blockysize=block, compress="deflate")


def _to_cog(src: Path, dst: Path) -> None:
    """Convert a tiled GeoTIFF to a COG next to ``dst``, then rename it onto ``dst``."""
    tmp = dst.with_name(f".{dst.name}.tmp.tif")
    rasterio.shutil.copy(src, tmp, driver="COG", compress="DEFLATE", overview_resampling="nearest")
    os.replace(tmp, dst)


def _write_rasters(stack: BandStack, win: Window, geometry: BaseGeometry | None, predictor: Predictor,
                   settings: PredictSettings, cls_tmp: Path, conf_tmp: Path | None,
                   progress: Progress | None) -> int:
    grid = TileGrid(int(win.height), int(win.width), settings.window_px, settings.margin_px)
    profile = _profile(stack, win, settings.window_px)
    aoi_transform = profile["transform"]

    def read(r: int, c: int, h: int, w: int) -> npt.NDArray[np.float32]:
        return stack.read(Window(int(win.col_off) + c, int(win.row_off) + r, w, h))

    with rasterio.open(cls_tmp, "w", **profile) as cls_ds, \
            (rasterio.open(conf_tmp, "w", **profile) if conf_tmp else _null()) as conf_ds:
        for n, (tile, cls, conf) in enumerate(iter_tiled(grid, read, predictor, settings.batch_size), start=1):
            core = Window(tile.core_col, tile.core_row, tile.core_width, tile.core_height)
            if geometry is not None:
                outside = geometry_mask([geometry], out_shape=cls.shape,
                                        transform=rasterio.windows.transform(core, aoi_transform))
                cls = np.where(outside, NODATA, cls).astype(np.uint8)
                conf = None if conf is None else np.where(outside, NODATA, conf).astype(np.uint8)
            cls_ds.write(cls, 1, window=core)
            if conf_ds is not None and conf is not None:
                conf_ds.write(conf, 1, window=core)
            if progress is not None:
                progress(0.9 * n / len(grid), f"fenêtre {n}/{len(grid)}")
    return len(grid)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _make_predictor(checkpoint: ModelCard | Path | str | None, stack: BandStack, device: str,
                    notes: list[str]) -> tuple[Predictor, LoadedModel | None]:
    card = resolve_card(checkpoint)
    if card is None:
        notes.append("no checkpoint: rule-based fallback (coarse map, not a model prediction)")
        logger.warning("no checkpoint given: using the rule-based fallback")
        return FallbackPredictor(has_height=stack.has_elevation), None
    if card.spec.in_channels != len(stack.bands):
        raise ImageryError(f"model {card.name} expects {card.spec.in_channels} bands, image gives {len(stack.bands)}",
                           f"Le modèle attend {card.spec.in_channels} bandes, l'image en fournit {len(stack.bands)}.")
    loaded = load_checkpoint(card)
    if not loaded.verified:
        notes.append(f"checkpoint sha256 {loaded.sha256} not recorded in the model card (unverified)")
    return ModelPredictor(loaded, device), loaded


def predict_image(image_path: Path | str, territory_geometry: Any = None,
                  checkpoint: ModelCard | Path | str | None = None, out_dir: Path | str = "prediction",
                  progress: Progress | None = None, *, nir_path: Path | str | None = None,
                  elevation_path: Path | str | None = None, crs: str | None = None,
                  settings: PredictSettings = PredictSettings()) -> PredictionResult:
    """Predict land cover on an image (clipped to a territory) and map it to OCS GE couverture.

    Args:
        image_path: GeoTIFF/VRT with R, G, B (+ NIR, + elevation) bands, 8-bit.
        territory_geometry: shapely geometry in the image CRS, or a GeoSeries/GeoDataFrame with a
            CRS (reprojected); ``None`` = whole image.
        checkpoint: model card (object, path or name in ``data/models``), bare weights file, or
            ``None`` for the documented rule-based fallback.
        out_dir: output folder (created); files are written to temporaries then renamed.
        progress: ``progress(fraction, message_fr)`` callback.
        nir_path: IRC image whose band 1 is NIR, when ``image_path`` is RGB only.
        elevation_path: height raster (8-bit FLAIR units of 0.2 m, or float metres).
        crs: CRS to assume when the image has none.
        settings: window, margin, batch, device, confidence, sieve and size settings.

    Returns:
        A :class:`PredictionResult`: COG paths, polygons with ``code_cs``/``code_us``, class stats.

    Raises:
        ImageryError: unreadable/corrupt image, wrong band count, image too small or too large.
        CrsError: image without CRS (and no ``crs``).
        GeometryError: territory empty or outside the image.
        CheckpointError: missing/corrupt/mismatched checkpoint.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    notes: list[str] = []
    require = ("red", "green", "blue", "nir")
    with open_band_stack(image_path, nir_path, elevation_path, crs, require) as stack:
        notes += stack.notes
        geometry = _to_image_crs(territory_geometry, stack.crs)
        win = _aoi_window(stack, geometry)
        if int(win.width) * int(win.height) > settings.max_pixels:
            raise ImageryError(f"area of {int(win.width)}x{int(win.height)} px exceeds {settings.max_pixels}",
                               "La zone est trop grande pour une prédiction à la demande : réduisez-la.")
        device = select_device(settings.device)
        predictor, loaded = _make_predictor(checkpoint, stack, device, notes)
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out, prefix=".predict-") as tmp:
            cls_tmp = Path(tmp) / "classes.tif"
            conf_tmp = Path(tmp) / "confidence.tif" if settings.confidence and loaded else None
            t1 = time.perf_counter()
            n_windows = _write_rasters(stack, win, geometry, predictor, settings, cls_tmp, conf_tmp, progress)
            t2 = time.perf_counter()
            if progress:
                progress(0.92, "vectorisation")
            polygons, stats = _postprocess(cls_tmp, predictor.card, settings)
            classes_path, conf_path = out / "classes.tif", (out / "confidence.tif" if conf_tmp else None)
            _to_cog(cls_tmp, classes_path)
            if conf_tmp and conf_path:
                _to_cog(conf_tmp, conf_path)
            polygons_path = _write_vector(polygons, out / "polygons.gpkg", Path(tmp))
            _write_csv(stats, out / "stats.csv", Path(tmp))
            t3 = time.perf_counter()
    result = PredictionResult(
        classes_path=classes_path, confidence_path=conf_path, polygons_path=polygons_path, polygons=polygons,
        stats=stats, method=predictor.card.method, model_name=predictor.card.name,
        checkpoint_sha256=loaded.sha256 if loaded else None, checkpoint_verified=bool(loaded and loaded.verified),
        device=device, n_windows=n_windows, elapsed_s=time.perf_counter() - t0, notes=notes,
        timings_s={"setup": t1 - t0, "inference": t2 - t1, "postprocess": t3 - t2})
    result.metadata_path = _write_metadata(result, out)
    if progress:
        progress(1.0, "terminé")
    logger.info("prediction of %s: %d windows on %s in %.1f s (%s)", image_path, n_windows, device,
                result.elapsed_s, result.method)
    return result


def _postprocess(cls_path: Path, card: ModelCard, settings: PredictSettings
                 ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    with rasterio.open(cls_path) as ds:
        classes = ds.read(1)
        transform, crs = ds.transform, ds.crs
    pixel_m2 = abs(transform.a * transform.e)
    min_pixels = max(1, int(round(settings.min_area_m2 / pixel_m2)))
    if settings.vectorize:
        polygons = polygonize(classes, transform, crs, card, min_pixels=min_pixels, nodata=NODATA)
    else:
        polygons = gpd.GeoDataFrame(columns=POLYGON_COLUMNS, geometry="geometry", crs=crs)
    stats = class_stats(classes, card, pixel_m2, nodata=NODATA)
    return polygons, stats


def _write_vector(gdf: gpd.GeoDataFrame, dst: Path, tmp_dir: Path) -> Path:
    tmp = tmp_dir / dst.name
    gdf.to_file(tmp, driver="GPKG", layer="prediction")
    shutil.move(str(tmp), dst.with_name(f".{dst.name}.tmp"))
    os.replace(dst.with_name(f".{dst.name}.tmp"), dst)
    return dst


def _write_csv(df: pd.DataFrame, dst: Path, tmp_dir: Path) -> None:
    tmp = tmp_dir / dst.name
    df.to_csv(tmp, index=False)
    shutil.move(str(tmp), dst.with_name(f".{dst.name}.tmp"))
    os.replace(dst.with_name(f".{dst.name}.tmp"), dst)


def _write_metadata(result: PredictionResult, out: Path) -> Path:
    meta = {k: (str(v) if isinstance(v, Path) else v) for k, v in result.__dict__.items()
            if k not in ("polygons", "stats", "metadata_path")}
    dst = out / "metadata.json"
    tmp = out / ".metadata.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, dst)
    return dst


def resolve_territory(spec: str | None) -> Any:
    """Turn a territory argument into a geometry for :func:`predict_image`.

    Args:
        spec: ``None`` (whole image); ``bbox:XMIN,YMIN,XMAX,YMAX`` in the image CRS, or
            ``bbox:XMIN,YMIN,XMAX,YMAX,EPSG`` in that EPSG; any territory id of
            :func:`ocsge_engine.territories.get_territory` (``commune:34172``, ``polygon:FILE``…).

    Returns:
        ``None``, a shapely box (image CRS) or a GeoSeries with its CRS.

    Raises:
        GeometryError: malformed bbox.
        TerritoryNotFoundError: unknown territory id.
    """
    if spec is None:
        return None
    if spec.startswith("bbox:"):
        from shapely.geometry import box

        try:
            values = [float(v) for v in spec[5:].split(",")]
            if len(values) not in (4, 5) or values[0] >= values[2] or values[1] >= values[3]:
                raise ValueError(spec)
        except ValueError as err:
            raise GeometryError(f"malformed bbox {spec!r}",
                                "Emprise invalide : utilisez bbox:XMIN,YMIN,XMAX,YMAX[,EPSG].") from err
        geom = box(*values[:4])
        return gpd.GeoSeries([geom], crs=f"EPSG:{int(values[4])}") if len(values) == 5 else geom
    from ocsge_engine.territories import get_territory  # lazy: heavy tables

    territory = get_territory(spec)
    return gpd.GeoSeries([territory.geometry], crs="EPSG:2154")
