"""Batch prediction of a large image set on Dask: blocks of windows → COG tiles → a VRT.

Each image is cut into **blocks** of ``block_px`` pixels (a multiple of the window stride
``window_px - 2 * margin_px``). A block is one Dask task: it runs the windows of the image's
*global* :class:`~ocsge_engine.inference.tiling.TileGrid` whose cores fall in the block, reading
their margins from the whole image (mirror padding only at the image's own border), so the mosaic
is bit-identical to predicting the whole image in one process
(:func:`ocsge_engine.inference.predict.predict_array` with ``tiled=True``) whatever the block
size. The block is written as a uint8 COG tile (temp then rename: an existing tile is finished and
skipped on a rerun), and the driver writes one VRT per image and a ``mosaic.vrt`` over every
tile, as VRT XML (no ``gdalbuildvrt`` needed).

Each worker process loads the model **once** (:func:`_predictor`, a per-process cache keyed by
checkpoint and device) and uses CUDA when it has a GPU (``device="auto"``); with
``gpu=True`` the tasks ask the scheduler for the worker resource ``GPU`` (``dask worker
--resources GPU=1``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from ocsge_engine.inference.checkpoints import load_checkpoint, resolve_card
from ocsge_engine.inference.fallback import FallbackPredictor
from ocsge_engine.inference.imagery import open_band_stack
from ocsge_engine.inference.predict import (
    NODATA,
    ModelPredictor,
    Predictor,
    PredictSettings,
    iter_tiled,
    select_device,
)
from ocsge_engine.inference.tiling import Tile, TileGrid
from ocsge_engine.io.atomic import atomic_path, atomic_write_bytes

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
DEFAULT_BLOCK_PX = 4096
TILES_DIR = "tiles"
_PREDICTORS: dict[tuple[str, str, bool], Predictor] = {}
_PREDICTORS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Block:
    """One task: a rectangle of an image, in pixels, aligned on the window stride.

    Attributes:
        image: path of the image.
        row, col: top-left pixel of the block.
        height, width: size of the block (px).
    """

    image: str
    row: int
    col: int
    height: int
    width: int

    def tile_name(self) -> str:
        """File name of the block's COG tile, e.g. ``ortho_r000000_c004096.tif``."""
        return f"{Path(self.image).stem}_r{self.row:06d}_c{self.col:06d}.tif"


@dataclass(frozen=True)
class BatchPredictReport:
    """Outcome of :func:`predict_batch`.

    Attributes:
        tiles: the COG tiles, written now or before.
        vrts: one VRT per image plus ``mosaic.vrt``.
        n_done: blocks predicted now.
        n_skipped: blocks whose tile already existed.
        failed: ``(tile name, error)`` of the blocks that failed.
        dashboard_link: the Dask dashboard URL.
        elapsed_s: wall time.
    """

    tiles: tuple[Path, ...]
    vrts: tuple[Path, ...]
    n_done: int
    n_skipped: int
    failed: tuple[tuple[str, str], ...]
    dashboard_link: str | None
    elapsed_s: float


def plan_blocks(image: Path | str, height: int, width: int, block_px: int,
                settings: PredictSettings) -> list[Block]:
    """Blocks covering an ``height × width`` image, their side rounded to the window stride.

    >>> [(b.row, b.col, b.height, b.width) for b in plan_blocks("a.tif", 300, 200, 128,
    ...  PredictSettings(window_px=128, margin_px=32))][:3]
    [(0, 0, 128, 128), (0, 128, 128, 72), (128, 0, 128, 128)]
    """
    stride = settings.window_px - 2 * settings.margin_px
    side = max(stride, block_px // stride * stride)
    return [Block(str(image), r, c, min(side, height - r), min(side, width - c))
            for r in range(0, height, side) for c in range(0, width, side)]


def block_tiles(grid: TileGrid, block: Block) -> list[Tile]:
    """The windows of the image's global grid whose cores lie in ``block``."""
    return [t for t in grid if block.row <= t.core_row < block.row + block.height
            and block.col <= t.core_col < block.col + block.width]


def _predictor(checkpoint: str | None, device: str, has_elevation: bool) -> Predictor:
    """The worker's model, loaded once per process (a cached loader, thread-safe)."""
    key = (str(checkpoint), device, has_elevation)
    with _PREDICTORS_LOCK:
        if key not in _PREDICTORS:
            card = resolve_card(checkpoint)
            _PREDICTORS[key] = (FallbackPredictor(has_height=has_elevation) if card is None
                                else ModelPredictor(load_checkpoint(card), device))
            logger.info("worker %d loaded model %s on %s", os.getpid(),
                        _PREDICTORS[key].card.name, device)
        return _PREDICTORS[key]


def predict_block(block: Block, checkpoint: str | None, out_dir: str,
                  settings: PredictSettings = PredictSettings()) -> tuple[str, bool]:
    """Predict one block and write it as a COG tile (a Dask task; callable directly).

    Returns:
        ``(tile path, computed)``; ``computed`` is false when the tile already existed.

    Raises:
        ImageryError, CrsError: unreadable image. CheckpointError: bad checkpoint.
    """
    target = Path(out_dir) / TILES_DIR / block.tile_name()
    if target.exists():
        return str(target), False
    target.parent.mkdir(parents=True, exist_ok=True)
    with open_band_stack(block.image) as stack:
        predictor = _predictor(checkpoint, select_device(settings.device), stack.has_elevation)
        grid = TileGrid(stack.height, stack.width, settings.window_px, settings.margin_px)

        def read(r: int, c: int, h: int, w: int) -> np.ndarray:
            return stack.read(Window(c, r, w, h))

        profile = dict(driver="GTiff", dtype="uint8", count=1, nodata=NODATA, width=block.width,
                       height=block.height, crs=stack.crs, tiled=True, blockxsize=256,
                       blockysize=256, compress="deflate",
                       transform=rasterio.windows.transform(
                           Window(block.col, block.row, block.width, block.height),
                           stack.transform))
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".block-") as tmp:
            raw = Path(tmp) / "raw.tif"
            with rasterio.open(raw, "w", **profile) as dst:
                for tile, classes, _ in iter_tiled(block_tiles(grid, block), read,  # type: ignore[arg-type]
                                                   predictor, settings.batch_size):
                    dst.write(classes, 1, window=Window(tile.core_col - block.col,
                                                        tile.core_row - block.row,
                                                        tile.core_width, tile.core_height))
            with atomic_path(target, suffix=".tif") as cog:
                rasterio.shutil.copy(raw, cog, driver="COG", compress="DEFLATE",
                                     overview_resampling="nearest")
    return str(target), True


def write_vrt(tiles: Iterable[Path], path: Path) -> Path:
    """Write a VRT mosaic of single-band uint8 tiles sharing a CRS and a pixel size.

    Args:
        tiles: COG tiles (paths).
        path: the VRT to write (sources are stored relative to it); written atomically.

    Returns:
        ``path``.

    Raises:
        ValueError: no tile, or tiles with different CRS or pixel sizes.
    """
    infos = []
    for tile in sorted(Path(t) for t in tiles):
        with rasterio.open(tile) as ds:
            infos.append((tile, ds.transform, ds.width, ds.height, ds.crs))
    if not infos:
        raise ValueError("no tile to mosaic")
    res = (infos[0][1].a, infos[0][1].e)
    if any((t.a, t.e) != res or crs != infos[0][4] for _, t, _, _, crs in infos):
        raise ValueError("tiles differ in CRS or pixel size: cannot mosaic them in one VRT")
    x0 = min(t.c for _, t, _, _, _ in infos)
    y0 = max(t.f for _, t, _, _, _ in infos)
    offsets = [(round((t.c - x0) / res[0]), round((t.f - y0) / res[1])) for _, t, _, _, _ in infos]
    width = max(dx + w for (dx, _), (_, _, w, _, _) in zip(offsets, infos))
    height = max(dy + h for (_, dy), (_, _, _, h, _) in zip(offsets, infos))
    sources = "".join(
        f'    <SimpleSource>\n'
        f'      <SourceFilename relativeToVRT="1">'
        f'{escape(os.path.relpath(tile, path.parent))}</SourceFilename>\n'
        f'      <SourceBand>1</SourceBand>\n'
        f'      <SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>\n'
        f'      <DstRect xOff="{dx}" yOff="{dy}" xSize="{w}" ySize="{h}"/>\n'
        f'    </SimpleSource>\n'
        for (tile, _, w, h, _), (dx, dy) in zip(infos, offsets))
    xml = (f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">\n'
           f'  <SRS>{escape(infos[0][4].to_wkt())}</SRS>\n'
           f'  <GeoTransform>{x0!r}, {res[0]!r}, 0.0, {y0!r}, 0.0, {res[1]!r}</GeoTransform>\n'
           f'  <VRTRasterBand dataType="Byte" band="1">\n'
           f'    <NoDataValue>{NODATA}</NoDataValue>\n{sources}'
           f'  </VRTRasterBand>\n</VRTDataset>\n')
    atomic_write_bytes(path, xml.encode("utf-8"))
    return path


def predict_batch(images: list[Path | str], out_dir: Path | str,
                  checkpoint: str | None = None, *, scheduler: str | None = None,
                  client: Any = None, block_px: int = DEFAULT_BLOCK_PX,
                  settings: PredictSettings = PredictSettings(), gpu: bool = False,
                  retries: int = 2, progress: Progress | None = None,
                  n_workers: int | None = None) -> BatchPredictReport:
    """Predict every block of every image on Dask; write COG tiles and VRTs into ``out_dir``.

    Args:
        images: GeoTIFF/VRT images with R, G, B, NIR (+ elevation) bands, 8-bit.
        out_dir: output folder (``tiles/``, ``<image stem>.vrt``, ``mosaic.vrt``).
        checkpoint: model card path or name (``None``: the rule-based fallback).
        scheduler: existing scheduler address (``None``: a LocalCluster).
        client: existing :class:`distributed.Client`.
        block_px: block side (rounded down to a multiple of the window stride).
        settings: window, margin, batch size and device of the model.
        gpu: ask for the worker resource ``GPU`` (one task per GPU at a time).
        retries: automatic retries of a failed block.
        progress: callback ``(fraction, message)``.
        n_workers: local workers.

    Returns:
        The :class:`BatchPredictReport`; failed blocks are listed, the other tiles kept.

    Raises:
        ImageryError, CrsError: an image cannot be opened (checked on the driver first).
    """
    from distributed import as_completed

    from ocsge_engine.batch.cluster import dask_client

    t0 = time.perf_counter()
    out = Path(out_dir).resolve()
    (out / TILES_DIR).mkdir(parents=True, exist_ok=True)
    blocks: list[Block] = []
    for image in images:
        with open_band_stack(image) as stack:
            blocks += plan_blocks(Path(image).resolve(), stack.height, stack.width, block_px,
                                  settings)
    done = skipped = 0
    failed: list[tuple[str, str]] = []
    with dask_client(scheduler, client, n_workers=n_workers) as dask:
        link = getattr(dask, "dashboard_link", None)
        logger.info("batch predict: %d blocks of %d image(s); Dask dashboard %s", len(blocks),
                    len(images), link)
        futures = {dask.submit(predict_block, b, checkpoint, str(out), settings, retries=retries,
                               pure=False, resources={"GPU": 1} if gpu else None): b
                   for b in blocks}
        for n, future in enumerate(as_completed(list(futures)), start=1):
            block = futures[future]
            if future.status == "finished":
                _, computed = future.result()
                done, skipped = done + computed, skipped + (not computed)
            else:
                failed.append((block.tile_name(), repr(future.exception())))
                logger.warning("block %s failed: %s", block.tile_name(), future.exception())
            if progress is not None:
                progress(n / len(blocks), block.tile_name())
    tiles = tuple(sorted(p for p in (out / TILES_DIR).glob("*.tif")))
    groups = {out / f"{Path(i).stem}.vrt": [t for t in tiles if t.name.startswith(f"{Path(i).stem}_r")]
              for i in images}
    groups[out / "mosaic.vrt"] = list(tiles)
    vrts = []
    for vrt, members in groups.items():
        try:
            vrts.append(write_vrt(members, vrt))
        except ValueError as err:  # no tile (all failed) or images on different grids
            logger.warning("no VRT %s: %s", vrt.name, err)
    return BatchPredictReport(tiles, tuple(vrts), done, skipped, tuple(failed), link,
                              time.perf_counter() - t0)
