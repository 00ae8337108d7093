"""On-demand prediction: image → class raster (COG) → OCS GE polygons and statistics.

Stages (IGNF/FLAIR-HUB ``flair_zonal_detection``): slicing (:mod:`.tiling`), reading
(:mod:`.imagery`), inference (this module: :class:`ModelPredictor` or the rule-based
:class:`~.fallback.FallbackPredictor`), post-processing (:mod:`.vectorize`). Settings travel in a
frozen :class:`PredictSettings`.

Pipeline (:func:`iter_tiled`, :func:`_write_rasters`), stages overlapping one another:

* reader threads, each with its own dataset handles, assemble whole batches: the windows of one
  row are read as one block (neighbours overlap by twice the margin) then sliced and
  mirror-padded, as bytes when the bands are 8-bit;
* the predictor gets the batches in row-major order (the same batches as a window-by-window
  loop, so the same classes); on CUDA from pinned memory, normalised on the device, the next
  batch queued before the current result (uint8 classes) comes back;
* a writer thread masks the cores outside the territory, counts classes and writes them into a
  tiled GeoTIFF, converted at the end to a Cloud-Optimised GeoTIFF.

Memory: a few batch buffers and one block per reader, bounded queues, GDAL's block cache capped
(:data:`GDAL_CACHE_BYTES`): flat whatever the area. The only full-area array is the uint8 class
map read back for polygons (1 byte per pixel, bounded by ``max_pixels``); without polygons the
class table comes from the streamed counts.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import queue
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio
import rasterio.shutil
import shapely
from rasterio.features import geometry_mask, geometry_window
from rasterio.windows import Window
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from ocsge_engine.errors import GeometryError, ImageryError
from ocsge_engine.inference.checkpoints import (
    LoadedModel,
    ModelCard,
    card_summary,
    check_test_model,
    load_checkpoint,
    resolve_card,
    select_auto_card,
)
from ocsge_engine.inference.fallback import FALLBACK_LABEL_FR, FallbackPredictor, fallback_notes
from ocsge_engine.inference.imagery import BAND_NAMES, BandStack, bands_fr, open_band_stack
from ocsge_engine.inference.tiling import Tile, TileGrid, crop_core, pad_window
from ocsge_engine.inference.vectorize import POLYGON_COLUMNS, class_stats_from_counts, polygonize

if TYPE_CHECKING:  # torch is imported where a model runs: the page and the rules do not load it
    import torch

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
Device = Literal["auto", "cpu", "cuda", "mps"]
Precision = Literal["auto", "fp32", "bf16"]
NODATA = 255
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
CPUINFO = Path("/proc/cpuinfo")
CONFIDENT = 80  # "confident" pixels: max softmax probability > 0.8 (confidence COG stores 0-100 %)


class Predictor(Protocol):
    """Turns a raw ``(B, bands, S, S)`` batch (0-255, float32 or uint8) into classes and confidence.

    The result must not be a view of ``batch``: batch buffers are reused.
    """

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
        confidence: for a model, also write the max softmax probability (0-100 %) as a second COG.
        min_area_m2: polygons smaller than this are sieved into their neighbours.
        max_pixels: refuse areas larger than this (vectorisation holds one byte per pixel).
        vectorize: build the polygons (``False``: empty polygon layer, stats only; benchmarks).
        readers: reader threads, each with its own dataset handles (0 = auto: 1 on CPU, where
            the model is the bottleneck, else ``min(8, cores - 2)``).
        precision: ``fp32``, ``bf16`` (CPU: bfloat16 autocast and channels_last; falls back to
            fp32, with a note, on a CPU without AMX / AVX512-BF16) or ``auto`` (bf16 when the CPU
            has it, else fp32; float16 autocast on CUDA).
        allow_test_model: run a ``test_only`` card (random weights) outside tests.
    """

    window_px: int = 512
    margin_px: int = 128
    batch_size: int = 4
    device: Device = "auto"
    confidence: bool = True
    min_area_m2: float = 10.0
    max_pixels: int = 200_000_000
    vectorize: bool = True
    readers: int = 0
    precision: Precision = "auto"
    allow_test_model: bool = False


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
        notes_fr: the same notes in French (page, CLI).
        label_fr: « carte grossière (règles) » or « prédiction du modèle NAME ».
        card: what ran (:func:`~.checkpoints.card_summary`: bands, classes, licence, SHA-256…).
        precision: ``fp32``, ``bf16`` or ``fp16`` (CUDA autocast); ``rules`` for the fallback.
        confidence_share: share of the predicted pixels whose confidence is above 0.8 (``None``
            without a confidence map).
        draft_flags_allowed: whether this result may become draft flags against OCS GE (a model
            whose card pinned SHA-256 was verified, not a test model, not the rules).
        metadata_path: JSON with all of the above except the tables.
        timings_s: seconds per stage (``inference`` = read + predict + write windows,
            ``postprocess`` = sieve, polygons, stats, COG conversion).
        stages_s: seconds inside the inference stage: ``read`` / ``read_cpu`` (wall / CPU time
            summed over reader threads), ``wait_read`` (predictor idle, waiting for data),
            ``predict``, ``write`` / ``write_cpu`` (writer thread: masks, counts, windowed
            writes), ``wait_write`` (writer queue full).
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
    notes_fr: list[str] = field(default_factory=list)
    label_fr: str = ""
    card: dict[str, Any] = field(default_factory=dict)
    precision: str = "fp32"
    confidence_share: float | None = None
    draft_flags_allowed: bool = False
    metadata_path: Path | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    stages_s: dict[str, float] = field(default_factory=dict)


GDAL_CACHE_BYTES = 128 * 2**20  # windows are read by blocks, not through GDAL's cache: keep it small


def select_device(device: Device = "auto") -> str:
    """Return ``cuda``, ``mps`` or ``cpu``; ``auto`` picks the first available."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def cpu_bf16_support(cpuinfo: Path | str | None = None) -> bool:
    """Whether the CPU runs bfloat16 natively (AMX-BF16 or AVX512-BF16 in ``/proc/cpuinfo`` flags).

    Returns ``False`` when the file is missing (non-Linux): bf16 is then never chosen by ``auto``.
    """
    try:
        text = Path(cpuinfo or CPUINFO).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    return any(f in flags for f in CPU_BF16_FLAGS)


def resolve_precision(requested: Precision, device: str, cpuinfo: Path | str | None = None
                      ) -> tuple[str, list[tuple[str, str]]]:
    """Precision actually used for ``requested`` on ``device``, and the notes to show (en, fr).

    On CPU, ``bf16`` needs AMX or AVX512-BF16 (emulated bf16 is slower than fp32): without them a
    ``bf16`` request runs in fp32 and says so; ``auto`` picks bf16 only when supported. On CUDA,
    ``auto`` is float16 autocast, ``bf16`` bfloat16 autocast, ``fp32`` no autocast.

    >>> resolve_precision("fp32", "cpu")
    ('fp32', [])
    >>> resolve_precision("bf16", "cpu", cpuinfo="/nonexistent")[0]
    'fp32'
    """
    if device == "cuda":
        return {"auto": "fp16", "bf16": "bf16", "fp32": "fp32"}[requested], []
    if device != "cpu" or requested == "fp32":
        return "fp32", []
    if cpu_bf16_support(cpuinfo):
        return "bf16", []
    if requested == "bf16":
        return "fp32", [("bf16 requested but the CPU has neither AMX-BF16 nor AVX512-BF16: ran in fp32",
                         "bf16 demandé, mais ce processeur n'a ni AMX ni AVX512-BF16 : calcul en fp32 "
                         "(pas d'accélération)")]
    return "fp32", []


@dataclass
class ModelPredictor:
    """Normalise, run the network (mixed precision on GPU) and argmax, masking inactive logits.

    Attributes:
        loaded: model and card.
        device: torch device string.
        precision: ``fp32``; ``bf16`` (bfloat16 autocast; on CPU with channels_last tensors);
            ``fp16`` (CUDA float16 autocast); ``auto`` (fp16 on CUDA, else fp32, no CPU detection).
            Use :func:`resolve_precision` to choose it from the user's request.
    """

    loaded: LoadedModel
    device: str = "cpu"
    precision: str = "auto"
    _mean: torch.Tensor = field(init=False, repr=False)
    _std: torch.Tensor = field(init=False, repr=False)
    _inactive: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        import torch

        card = self.loaded.card
        if self.precision == "auto":  # callers that do not choose keep the former behaviour
            self.precision = "fp16" if self.device == "cuda" else "fp32"
        self.loaded.model.to(self.device).eval()
        if self.device == "cpu" and self.precision == "bf16":
            self.loaded.model.to(memory_format=torch.channels_last)
        self._mean = torch.tensor(card.means, device=self.device).view(1, -1, 1, 1)
        self._std = torch.tensor(card.stds, device=self.device).view(1, -1, 1, 1)
        self._inactive = torch.tensor([not c.active for c in card.classes], device=self.device)

    @property
    def card(self) -> ModelCard:
        """The model card."""
        return self.loaded.card

    def logits(self, batch: npt.NDArray[np.generic] | torch.Tensor) -> torch.Tensor:
        """Return float32 logits ``(B, classes, S, S)`` with inactive classes at -inf.

        ``batch`` is float32 or uint8 (0-255), numpy or a (pinned) CPU tensor: it is copied to the
        device as it is (``non_blocking``), then converted to float32 and normalised there.
        """
        import torch

        x = batch if isinstance(batch, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(batch))
        x = x.to(self.device, non_blocking=True).float()
        x = (x - self._mean) / self._std
        autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        device_type = "cuda" if self.device == "cuda" else "cpu"
        if device_type == "cpu" and autocast_dtype is not None:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(device_type=device_type, dtype=autocast_dtype or torch.float32,
                                                    enabled=autocast_dtype is not None):
            out = self.loaded.model(x).float()
        return out.masked_fill(self._inactive.view(1, -1, 1, 1), float("-inf"))

    def _classify(self, batch: npt.NDArray[np.generic] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        with torch.inference_mode():
            prob, idx = torch.softmax(self.logits(batch), dim=1).max(dim=1)
            return idx.to(torch.uint8), torch.round(prob * 100).to(torch.uint8)

    def __call__(self, batch: npt.NDArray[np.generic] | torch.Tensor
                 ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]:
        """Return classes ``(B, S, S)`` and confidence in % ``(B, S, S)`` (uint8)."""
        idx, conf = self._classify(batch)
        return idx.cpu().numpy(), conf.cpu().numpy()

    def submit(self, batch: npt.NDArray[np.generic] | torch.Tensor, confidence: bool = True
               ) -> Callable[[], tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]]:
        """Start predicting a batch; the returned function waits for and returns ``__call__``'s result.

        On CUDA the kernels and the device→host copies (uint8, into pinned memory) are only queued,
        so the next batch can be queued while this one runs; ``batch`` must stay untouched until
        the result is collected. Elsewhere the same steps run at once.

        Args:
            batch: as in :meth:`logits`.
            confidence: also bring back the confidence (else ``None``).
        """
        import torch

        cuda = self.device == "cuda"
        with torch.inference_mode():
            idx, prob = self._classify(batch)
            idx_host = torch.empty(idx.shape, dtype=torch.uint8, pin_memory=cuda)
            idx_host.copy_(idx, non_blocking=cuda)
            conf_host = None
            if confidence:
                conf_host = torch.empty(prob.shape, dtype=torch.uint8, pin_memory=cuda)
                conf_host.copy_(prob, non_blocking=cuda)
        done = torch.cuda.Event() if cuda else None
        if done is not None:
            done.record()

        def collect() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]:
            if done is not None:
                done.synchronize()
            return idx_host.numpy(), None if conf_host is None else conf_host.numpy()

        return collect


def _is_oom(err: BaseException) -> bool:
    torch = sys.modules.get("torch")  # no torch loaded: no torch error (the rules run without it)
    return ((torch is not None and isinstance(err, torch.OutOfMemoryError))
            or "out of memory" in str(err).lower())


def run_batch(predictor: Predictor, batch: npt.NDArray[np.float32]
              ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]:
    """Predict a batch, halving it recursively on out-of-memory (back-off down to one window).

    Raises:
        ImageryError: out of memory even for a single window.
    """
    try:
        return predictor(batch)
    except RuntimeError as err:  # torch.OutOfMemoryError is a RuntimeError
        if not _is_oom(err):
            raise
        if predictor.device == "cuda":
            import torch

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


ReadFn = Callable[[int, int, int, int], npt.NDArray[Any]]
MAX_RUN_WINDOWS = 16  # windows of one row read as one block (bounds a reader's block to ~16 windows)


def _runs(chunk: list[Tile]) -> list[list[Tile]]:
    """Split a row-major chunk of tiles into runs of consecutive windows of the same window row."""
    runs: list[list[Tile]] = []
    for tile in chunk:
        last = runs[-1][-1] if runs else None
        if (last is None or len(runs[-1]) >= MAX_RUN_WINDOWS or (last.read_row, last.read_height)
                != (tile.read_row, tile.read_height) or tile.read_col < last.read_col):
            runs.append([tile])
        else:
            runs[-1].append(tile)
    return runs


def _assemble(chunk: list[Tile], read: ReadFn, out: npt.NDArray[Any]) -> tuple[float, float]:
    """Fill ``out[:len(chunk)]`` with the padded windows of ``chunk``; return wall and CPU seconds.

    Neighbouring windows overlap by twice the margin: each run of windows of one row is read as
    one block (one read per band set instead of one per window, each pixel read once per row of
    windows instead of twice), then sliced and mirror-padded window by window.
    """
    t0, c0 = time.perf_counter(), time.thread_time()
    j = 0
    for run in _runs(chunk):
        first, last = run[0], run[-1]
        block = read(first.read_row, first.read_col, first.read_height,
                     last.read_col + last.read_width - first.read_col)
        for tile in run:
            c = tile.read_col - first.read_col
            out[j] = pad_window(block[:, :, c:c + tile.read_width], tile)
            j += 1
    return time.perf_counter() - t0, time.thread_time() - c0


@dataclass
class _Buffers:
    """Batch buffers reused round-robin (pinned host memory when the predictor is on CUDA)."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    pinned: bool
    free: list[tuple[npt.NDArray[Any], torch.Tensor | None]] = field(default_factory=list)

    def take(self) -> tuple[npt.NDArray[Any], torch.Tensor | None]:
        if self.free:
            return self.free.pop()
        if self.pinned:
            import torch

            tensor = torch.empty(self.shape, dtype=torch.from_numpy(np.empty(0, self.dtype)).dtype,
                                 pin_memory=True)
            return tensor.numpy(), tensor
        return np.empty(self.shape, dtype=self.dtype), None

    def give(self, buf: tuple[npt.NDArray[Any], torch.Tensor | None]) -> None:
        self.free.append(buf)


def iter_tiled(grid: Iterable[Tile], read: ReadFn, predictor: Predictor, batch_size: int = 4, *,
               readers: int = 1, dtype: npt.DTypeLike = np.float32, confidence: bool = True,
               stages: dict[str, float] | None = None
               ) -> Iterator[tuple[Tile, npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]]:
    """Yield ``(tile, classes_core, confidence_core)`` for every tile of ``grid``, in order.

    Stages, each overlapping the others:

    * **read**: ``readers`` background threads each assemble a whole batch (windows read by runs
      of one window row, sliced, mirror-padded) into a reused buffer, at most ``readers`` batches
      ahead (memory does not grow with the area); with ``readers > 1``, ``read`` is called from
      several threads at once and must be thread-safe (:meth:`~.imagery.BandStack.reader`);
    * **predict**: batches go to the predictor in row-major order, in chunks of ``batch_size``
      (the same batches as one window at a time); a predictor with a ``submit`` method (the
      :class:`ModelPredictor`) gets the next batch queued on the GPU before the current result is
      collected, from pinned buffers;
    * the caller consumes the cores (writes them) while the next batches are read and predicted.

    Args:
        grid: tiling of the area, or any row-major sequence of its tiles.
        read: ``read(row, col, height, width) -> (bands, height, width)`` for the area.
        predictor: window predictor.
        batch_size: windows per call to the predictor.
        readers: reader threads.
        dtype: dtype of the batches (``uint8`` when ``read`` returns 8-bit values).
        confidence: collect the confidence when the predictor gives one.
        stages: when given, seconds are added under ``read`` and ``read_cpu`` (wall and CPU time,
            summed over reader threads), ``wait_read`` (prediction waiting for data) and ``predict``.

    Notes:
        Memory: ``readers + 2`` batch buffers plus one block per reader thread, whatever the area.
    """
    tiles = list(grid)
    if not tiles:
        return
    chunks = [tiles[i:i + batch_size] for i in range(0, len(tiles), batch_size)]
    first = tiles[0]
    depth = max(1, readers)
    readers_pool = ThreadPoolExecutor(max_workers=depth, thread_name_prefix="ocsge-read")
    # band count from a 1-px read in a reader thread (``read`` may hold per-thread handles)
    try:
        bands = readers_pool.submit(read, first.read_row, first.read_col, 1, 1).result().shape[0]
    except BaseException:
        readers_pool.shutdown(wait=True)
        raise
    size = first.read_height + first.pad_top + first.pad_bottom
    submit = getattr(predictor, "submit", None)
    pinned = submit is not None and predictor.device == "cuda"
    buffers = _Buffers((batch_size, bands, size, size), np.dtype(dtype), pinned)
    timing = stages if stages is not None else {}
    for key in ("read", "read_cpu", "wait_read", "predict"):
        timing.setdefault(key, 0.0)
    pending: deque[tuple[list[Tile], tuple[npt.NDArray[Any], torch.Tensor | None],
                         Future[tuple[float, float]]]] = deque()
    next_chunk = 0

    def fill() -> None:
        nonlocal next_chunk
        while len(pending) < depth and next_chunk < len(chunks):
            chunk, buf = chunks[next_chunk], buffers.take()
            pending.append((chunk, buf, readers_pool.submit(_assemble, chunk, read, buf[0])))
            next_chunk += 1

    def start(chunk: list[Tile], buf: tuple[npt.NDArray[Any], torch.Tensor | None]
              ) -> Callable[[], tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]]:
        n = len(chunk)
        batch = buf[0][:n] if buf[1] is None else buf[1][:n]
        if submit is not None:
            try:
                return submit(batch, confidence)  # type: ignore[no-any-return]
            except RuntimeError as err:  # torch.OutOfMemoryError is a RuntimeError
                if not _is_oom(err):
                    raise
        result = run_batch(predictor, batch)  # type: ignore[arg-type]
        return lambda: result

    try:
        fill()
        inflight: tuple[list[Tile], tuple[npt.NDArray[Any], torch.Tensor | None], Callable[..., Any]] | None = None
        while pending or inflight is not None:
            current = None
            if pending:
                chunk, buf, future = pending.popleft()
                t0 = time.perf_counter()
                wall, cpu = future.result()
                timing["read"] += wall
                timing["read_cpu"] += cpu
                t1 = time.perf_counter()
                timing["wait_read"] += t1 - t0
                current = (chunk, buf, start(chunk, buf))
                timing["predict"] += time.perf_counter() - t1
                fill()
            if inflight is not None:
                done_chunk, done_buf, collect = inflight
                t0 = time.perf_counter()
                classes, conf = collect()
                timing["predict"] += time.perf_counter() - t0
                buffers.give(done_buf)
                fill()
                for j, tile in enumerate(done_chunk):
                    yield tile, crop_core(classes[j], tile), None if conf is None else crop_core(conf[j], tile)
            inflight = current
    finally:
        for _, _, future in pending:
            future.cancel()
        readers_pool.shutdown(wait=True)


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
                tiled=True, blockxsize=block, blockysize=block)  # temporary: uncompressed, fast writes


def _to_cog(src: Path, dst: Path) -> None:
    """Convert a tiled GeoTIFF to a COG next to ``dst``, then rename it onto ``dst``."""
    tmp = dst.with_name(f".{dst.name}.tmp.tif")
    rasterio.shutil.copy(src, tmp, driver="COG", compress="DEFLATE", overview_resampling="nearest",
                         num_threads="ALL_CPUS")
    os.replace(tmp, dst)


def _readers(settings: PredictSettings, device: str) -> int:
    if settings.readers > 0:
        return settings.readers
    return 1 if device == "cpu" else max(1, min(8, (os.cpu_count() or 1) - 2))


class _Writer:
    """Writer thread: territory mask, class counts and windowed writes of the cores.

    Fed through a bounded queue (memory stays flat); an error in the thread is raised again in the
    caller at the next :meth:`put` or at :meth:`close`.
    """

    def __init__(self, cls_ds: Any, conf_ds: Any, geometry: BaseGeometry | None, aoi_transform: Any,
                 capacity: int) -> None:
        self.cls_ds, self.conf_ds, self.geometry, self.aoi_transform = cls_ds, conf_ds, geometry, aoi_transform
        self.counts = np.zeros(256, dtype=np.int64)
        self.confident = 0  # pixels inside the territory with confidence > CONFIDENT %
        self.busy_s = 0.0
        self.cpu_s = 0.0
        self.wait_s = 0.0
        self.error: BaseException | None = None
        self._queue: queue.Queue[tuple[Tile, Any, Any] | None] = queue.Queue(maxsize=capacity)
        if geometry is not None:
            shapely.prepare(geometry)
        self._thread = threading.Thread(target=self._run, name="ocsge-write", daemon=True)
        self._thread.start()

    def put(self, tile: Tile, cls: npt.NDArray[np.uint8], conf: npt.NDArray[np.uint8] | None) -> None:
        t0 = time.perf_counter()
        self._queue.put((tile, cls, conf))
        self.wait_s += time.perf_counter() - t0
        if self.error is not None:
            self.close()

    def close(self) -> None:
        """Wait for the queued writes; raise the writer's error if any."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.error is not None:
                continue  # drain so that the producer never blocks
            try:
                t0, c0 = time.perf_counter(), time.thread_time()
                self._write(*item)
                self.busy_s += time.perf_counter() - t0
                self.cpu_s += time.thread_time() - c0
            except BaseException as err:  # noqa: BLE001 - re-raised in the caller
                self.error = err

    def _write(self, tile: Tile, cls: npt.NDArray[np.uint8], conf: npt.NDArray[np.uint8] | None) -> None:
        core = Window(tile.core_col, tile.core_row, tile.core_width, tile.core_height)
        outside = self._outside(core, cls.shape)
        if outside is not None:
            cls = np.where(outside, NODATA, cls).astype(np.uint8)
            conf = None if conf is None else np.where(outside, NODATA, conf).astype(np.uint8)
        self.counts += np.bincount(cls.reshape(-1), minlength=256)
        self.cls_ds.write(cls, 1, window=core)
        if self.conf_ds is not None and conf is not None:
            self.confident += int(((conf > CONFIDENT) & (cls != NODATA)).sum())
            self.conf_ds.write(conf, 1, window=core)

    def _outside(self, core: Window, shape: tuple[int, ...]) -> npt.NDArray[np.bool_] | None:
        """Pixels of the core whose centre is outside the territory, ``None`` when none is.

        A core inside the territory needs no rasterisation (every pixel centre is inside), nor
        one outside it (every centre is outside): only cores crossing its border are rasterised.
        """
        if self.geometry is None:
            return None
        transform = rasterio.windows.transform(core, self.aoi_transform)
        cell = box(*rasterio.windows.bounds(Window(0, 0, core.width, core.height), transform))
        if self.geometry.contains(cell):
            return None
        if not self.geometry.intersects(cell):
            return np.ones(shape, dtype=bool)
        return geometry_mask([self.geometry], out_shape=shape, transform=transform)


def _write_rasters(stack: BandStack, win: Window, geometry: BaseGeometry | None, predictor: Predictor,
                   settings: PredictSettings, cls_tmp: Path, conf_tmp: Path | None,
                   progress: Progress | None, stages: dict[str, float] | None = None,
                   tags: dict[str, str] | None = None) -> tuple[int, npt.NDArray[np.int64], int]:
    """Predict every window of ``win`` into ``cls_tmp`` (and ``conf_tmp``).

    Returns:
        Windows predicted; pixels per class value (256 bins, ``NODATA`` included) of what was
        written; pixels with a confidence above :data:`CONFIDENT` % (0 without confidence).
    """
    grid = TileGrid(int(win.height), int(win.width), settings.window_px, settings.margin_px)
    profile = _profile(stack, win, settings.window_px)
    readers = _readers(settings, predictor.device)
    dtype = stack.native_dtype
    read_window = stack.reader(dtype) if readers > 1 else (
        lambda r, c, h, w: stack.read(Window(c, r, w, h), dtype=dtype))
    col0, row0 = int(win.col_off), int(win.row_off)

    def read(r: int, c: int, h: int, w: int) -> npt.NDArray[Any]:
        return read_window(row0 + r, col0 + c, h, w)

    timing = stages if stages is not None else {}
    with rasterio.open(cls_tmp, "w", **profile) as cls_ds, \
            (rasterio.open(conf_tmp, "w", **profile) if conf_tmp else _null()) as conf_ds:
        if tags:
            cls_ds.update_tags(**tags)
            if conf_ds is not None:
                conf_ds.update_tags(OCSGE_CONFIDENCE="max softmax probability in % (0-100), 255 outside",
                                    OCSGE_MODEL=tags.get("OCSGE_MODEL", ""))
        writer = _Writer(cls_ds, conf_ds, geometry, profile["transform"], capacity=4 * settings.batch_size)
        try:
            tiled = iter_tiled(grid, read, predictor, settings.batch_size, readers=readers, dtype=dtype,
                               confidence=conf_ds is not None, stages=timing)
            for n, (tile, cls, conf) in enumerate(tiled, start=1):
                writer.put(tile, cls, conf)
                if progress is not None:
                    progress(0.9 * n / len(grid), f"fenêtre {n}/{len(grid)}")
        finally:
            writer.close()
        timing["write"] = writer.busy_s
        timing["write_cpu"] = writer.cpu_s
        timing["wait_write"] = writer.wait_s
    logger.debug("inference stages %s with %d reader(s), %s batches", timing, readers, dtype)
    return len(grid), writer.counts, writer.confident


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass
class _Run:
    """Notes of one run, in English (metadata, logs) and French (page, CLI)."""

    notes: list[str] = field(default_factory=list)
    notes_fr: list[str] = field(default_factory=list)

    def add(self, en: str, fr: str) -> None:
        self.notes.append(en)
        self.notes_fr.append(fr)


def _make_predictor(checkpoint: ModelCard | Path | str | None, stack: BandStack, device: str,
                    settings: PredictSettings, run: _Run) -> tuple[Predictor, LoadedModel | None, str]:
    """Build the predictor for ``checkpoint`` and select the stack's bands; return it, the loaded
    model (``None`` for the rules) and the precision used.

    ``checkpoint="auto"``: the installed card with the most bands the image has
    (:func:`~.checkpoints.select_auto_card`), else the rules, saying which card would fit.

    Raises:
        ImageryError: the image lacks a band of the card.
        CheckpointError: test model not allowed, missing/corrupt weights.
    """
    if isinstance(checkpoint, str) and checkpoint == "auto":
        card, best = select_auto_card(stack.available)
        if card is None:
            if best is not None:
                run.add(f"auto: best card for bands {', '.join(stack.available)} is {best.name}, "
                        "whose weights are not installed",
                        f"modèle automatique : le modèle adapté aux bandes de l'image ({bands_fr(stack.available)}) "
                        f"est {best.name}, dont les poids ne sont pas installés")
        else:
            run.add(f"auto: card {card.name} chosen for bands {', '.join(stack.available)}",
                    f"modèle automatique : {card.name}, choisi pour les bandes {bands_fr(card.bands)}")
    else:
        card = resolve_card(checkpoint)
    if card is None:
        stack.use_bands(BAND_NAMES, for_model=False)
        for en, fr in zip(*fallback_notes(stack.has_nir), strict=True):
            run.add(en, fr)
        logger.warning("no checkpoint: using the rule-based fallback")
        return FallbackPredictor(has_height=stack.has_elevation, has_nir=stack.has_nir), None, "rules"
    check_test_model(card, settings.allow_test_model)
    lacking = [b for b in card.bands if b not in stack.available and b != "elevation"]
    if lacking or len(card.bands) != card.spec.in_channels:
        raise ImageryError(
            f"model {card.name} needs bands {', '.join(card.bands)}, image has {', '.join(stack.available)}",
            f"Le modèle {card.name} attend les bandes {bands_fr(card.bands)} ; l'image n'a que "
            f"{bands_fr(stack.available)}. Ajoutez le proche infrarouge (image IRC) ou choisissez un "
            "modèle RVB.")
    stack.use_bands(card.bands)
    if card.test_only:
        run.add(f"{card.name} is a test model with random weights: its map means nothing",
                f"{card.name} est un modèle de test aux poids aléatoires : sa carte ne veut rien dire")
    loaded = load_checkpoint(card)
    if loaded.sha256_source == "first_use":
        run.add(f"model card has no sha256: recorded {loaded.sha256} at first use (unverified)",
                f"empreinte SHA-256 des poids inconnue de la fiche : enregistrée à cette première "
                f"utilisation ({loaded.sha256[:12]}…), non vérifiée")
    elif loaded.sha256_source == "recorded":
        run.add(f"checkpoint sha256 {loaded.sha256} matches the hash recorded at first use (unverified)",
                "poids identiques à ceux de la première utilisation, mais non vérifiés par une empreinte "
                "publiée")
    precision, precision_notes = resolve_precision(settings.precision, device)
    for en, fr in precision_notes:
        run.add(en, fr)
    return ModelPredictor(loaded, device, precision), loaded, precision


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
        checkpoint: model card (object, path or name in ``data/models``), bare weights file,
            ``"auto"`` (best installed card for the image's bands, else the rules), or ``None``
            for the documented rule-based fallback (« carte grossière (règles) »).
        out_dir: output folder (created); files are written to temporaries then renamed.
        progress: ``progress(fraction, message_fr)`` callback.
        nir_path: IRC image whose band 1 is NIR, when ``image_path`` is RGB only.
        elevation_path: height raster (8-bit FLAIR units of 0.2 m, or float metres).
        crs: CRS to assume when the image has none.
        settings: window, margin, batch, device, precision, confidence, sieve and size settings.

    Returns:
        A :class:`PredictionResult`: COG paths, polygons with ``code_cs``/``code_us``, class stats,
        what ran (card, notes, precision) and the confidence summary.

    Raises:
        ImageryError: unreadable/corrupt/truncated image, bands missing for the model, image too
            small or too large.
        CrsError: image without CRS (and no ``crs``).
        GeometryError: territory empty or outside the image.
        CheckpointError: missing/corrupt/mismatched checkpoint, test model not allowed.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    run = _Run()
    with open_band_stack(image_path, nir_path, elevation_path, crs, ("red", "green", "blue")) as stack:
        geometry = _to_image_crs(territory_geometry, stack.crs)
        win = _aoi_window(stack, geometry)
        if int(win.width) * int(win.height) > settings.max_pixels:
            raise ImageryError(f"area of {int(win.width)}x{int(win.height)} px exceeds {settings.max_pixels}",
                               "La zone est trop grande pour une prédiction à la demande : réduisez-la.")
        device = select_device(settings.device)
        predictor, loaded, precision = _make_predictor(checkpoint, stack, device, settings, run)
        run.notes[:0], run.notes_fr[:0] = stack.notes, stack.notes_fr
        card = predictor.card
        summary = card_summary(card, loaded)
        if loaded is None:  # the rules read what the image has (never the elevation)
            summary["bands"] = [b for b in stack.available if b != "elevation"]
        label_fr = FALLBACK_LABEL_FR if loaded is None else f"prédiction du modèle {card.name}"
        tags = _tags(summary, label_fr, precision)
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out, prefix=".predict-") as tmp:
            cls_tmp = Path(tmp) / "classes.tif"
            conf_tmp = Path(tmp) / "confidence.tif" if settings.confidence and loaded else None
            t1 = time.perf_counter()
            stages: dict[str, float] = {}
            with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
                n_windows, counts, confident = _write_rasters(stack, win, geometry, predictor, settings, cls_tmp,
                                                              conf_tmp, progress, stages, tags)
                t2 = time.perf_counter()
                if progress:
                    progress(0.92, "vectorisation")
                polygons, stats = _postprocess(cls_tmp, card, settings, counts)
                stats = stats.assign(method=card.method, label_fr=label_fr)
                classes_path, conf_path = out / "classes.tif", (out / "confidence.tif" if conf_tmp else None)
                _to_cog(cls_tmp, classes_path)
                if conf_tmp and conf_path:
                    _to_cog(conf_tmp, conf_path)
            polygons_path = _write_vector(polygons, out / "polygons.gpkg", Path(tmp))
            _write_csv(stats, out / "stats.csv", Path(tmp))
            t3 = time.perf_counter()
    valid = int(counts.sum() - counts[NODATA])
    confidence_share = confident / valid if conf_tmp is not None and valid else None
    result = PredictionResult(
        classes_path=classes_path, confidence_path=conf_path, polygons_path=polygons_path, polygons=polygons,
        stats=stats, method=card.method, model_name=card.name,
        checkpoint_sha256=loaded.sha256 if loaded else None, checkpoint_verified=bool(loaded and loaded.verified),
        device=device, n_windows=n_windows, elapsed_s=time.perf_counter() - t0, notes=run.notes,
        notes_fr=run.notes_fr, label_fr=label_fr, card=summary, precision=precision,
        confidence_share=confidence_share,
        draft_flags_allowed=bool(loaded and loaded.verified and not card.test_only),
        timings_s={"setup": t1 - t0, "inference": t2 - t1, "postprocess": t3 - t2},
        stages_s={k: round(v, 3) for k, v in stages.items()})
    result.metadata_path = _write_metadata(result, out)
    if progress:
        progress(1.0, "terminé")
    logger.info("prediction of %s: %d windows on %s (%s) in %.1f s (%s)", image_path, n_windows, device,
                precision, result.elapsed_s, result.method)
    return result


def _tags(summary: dict[str, Any], label_fr: str, precision: str) -> dict[str, str]:
    """GeoTIFF tags of the class COG: what produced it, and the class table (for ``evaluate``)."""
    return {
        "OCSGE_METHOD": str(summary["method"]), "OCSGE_LABEL": label_fr, "OCSGE_MODEL": str(summary["name"]),
        "OCSGE_BANDS": ",".join(summary["bands"]), "OCSGE_LICENCE": str(summary["licence"]),
        "OCSGE_SHA256": str(summary["sha256"] or ""), "OCSGE_VERIFIED": str(summary["verified"]).lower(),
        "OCSGE_PRECISION": precision,
        "OCSGE_CLASSES": json.dumps(summary.get("class_table", []), ensure_ascii=False),
    }


def confidence_text(share: float | None) -> str:
    """French summary line of the confidence map.

    >>> confidence_text(0.6234)
    '62 % des pixels avec une confiance > 0,8'
    >>> confidence_text(None)
    'pas de carte de confiance (carte par règles)'
    """
    if share is None:
        return "pas de carte de confiance (carte par règles)"
    return f"{round(100 * share)} % des pixels avec une confiance > 0,8"


def _postprocess(cls_path: Path, card: ModelCard, settings: PredictSettings, counts: npt.NDArray[np.int64]
                 ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Polygons (when ``settings.vectorize``) and the class table from the streamed ``counts``.

    Notes:
        Without polygons the class raster is never read back whole: memory does not grow with
        the area. Polygons need the whole uint8 raster (1 byte per pixel, plus the sieve's copy).
    """
    with rasterio.open(cls_path) as ds:
        transform, crs = ds.transform, ds.crs
        classes = ds.read(1) if settings.vectorize else None
    pixel_m2 = abs(transform.a * transform.e)
    min_pixels = max(1, int(round(settings.min_area_m2 / pixel_m2)))
    if classes is not None:
        polygons = polygonize(classes, transform, crs, card, min_pixels=min_pixels, nodata=NODATA)
    else:
        polygons = gpd.GeoDataFrame(columns=POLYGON_COLUMNS, geometry="geometry", crs=crs)
    return polygons, class_stats_from_counts(counts, card, pixel_m2, NODATA)


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
