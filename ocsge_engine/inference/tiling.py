"""Tiling geometry: cut a raster into fixed-size model windows with an overlap margin.

Each model window is ``size`` px square. Only its centre, ``size - 2 * margin`` px wide, is kept
(IGN FLAIR detection uses 512 px windows and a 128 px margin): predictions near a window's border
see truncated context and are discarded, so neighbouring windows meet without seams. A **core**
is the part of the output a window writes; cores tile the area of interest exactly once.

Formulas, for an area of ``H × W`` px, ``stride = size - 2 * margin``:

* core rows start at ``r0 = 0, stride, 2·stride, …`` and end at ``min(r0 + stride, H)``;
* the window reads rows ``[r0 - margin, r0 - margin + size)`` clipped to ``[0, H)``; the clipped
  part is padded (mirror) so the model always sees ``size × size``;
* the core sits in the window at offset ``margin`` (minus nothing: padding keeps it there).

Pure functions of integers (no I/O), as ``tile_to_chips`` in torchgeo.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Tile:
    """One model window and the core it writes (all in pixels of the area of interest).

    Attributes:
        read_row, read_col, read_height, read_width: the part of the raster to read.
        pad_top, pad_left, pad_bottom, pad_right: mirror padding to reach ``size × size``.
        core_row, core_col, core_height, core_width: the output block this window writes.
        offset_row, offset_col: position of the core inside the padded window.
    """

    read_row: int
    read_col: int
    read_height: int
    read_width: int
    pad_top: int
    pad_left: int
    pad_bottom: int
    pad_right: int
    core_row: int
    core_col: int
    core_height: int
    core_width: int
    offset_row: int
    offset_col: int


@dataclass(frozen=True)
class TileGrid:
    """The set of windows covering an ``height × width`` area.

    Attributes:
        height, width: size of the area in px.
        size: model window side (px).
        margin: discarded border of each window (px).
    """

    height: int
    width: int
    size: int = 512
    margin: int = 128

    def __post_init__(self) -> None:
        if self.size <= 2 * self.margin:
            raise ValueError(f"window size {self.size} must exceed twice the margin {self.margin}")
        if self.height <= 0 or self.width <= 0:
            raise ValueError(f"empty area {self.height}x{self.width}")

    @property
    def stride(self) -> int:
        """Core side: ``size - 2 * margin``."""
        return self.size - 2 * self.margin

    @property
    def shape(self) -> tuple[int, int]:
        """Number of window rows and columns.

        >>> TileGrid(1000, 300, size=512, margin=128).shape
        (4, 2)
        """
        return math.ceil(self.height / self.stride), math.ceil(self.width / self.stride)

    def __len__(self) -> int:
        rows, cols = self.shape
        return rows * cols

    def __iter__(self) -> Iterator[Tile]:
        rows, cols = self.shape
        for i in range(rows):
            r = _axis(i * self.stride, self.stride, self.height, self.size, self.margin)
            for j in range(cols):
                c = _axis(j * self.stride, self.stride, self.width, self.size, self.margin)
                yield Tile(read_row=r[0], read_col=c[0], read_height=r[1], read_width=c[1],
                           pad_top=r[2], pad_left=c[2], pad_bottom=r[3], pad_right=c[3],
                           core_row=r[4], core_col=c[4], core_height=r[5], core_width=c[5],
                           offset_row=self.margin, offset_col=self.margin)


def _axis(start: int, stride: int, length: int, size: int, margin: int) -> tuple[int, int, int, int, int, int]:
    """Return (read_start, read_len, pad_before, pad_after, core_start, core_len) along one axis."""
    core_len = min(stride, length - start)
    lo, hi = start - margin, start - margin + size
    read_lo, read_hi = max(lo, 0), min(hi, length)
    return read_lo, read_hi - read_lo, read_lo - lo, hi - read_hi, start, core_len


def pad_window(array: npt.NDArray[np.float32], tile: Tile) -> npt.NDArray[np.float32]:
    """Mirror-pad a ``(bands, read_height, read_width)`` array to the full window.

    Mirror padding (``numpy.pad`` mode ``reflect``, repeated when the pad exceeds the data) makes
    the window independent of where the image border falls, so a tiled and a one-shot prediction
    of the same image see the same values.

    Args:
        array: window data as read.
        tile: its tile.

    Returns:
        ``(bands, size, size)`` array.

    >>> a = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    >>> t = Tile(0, 0, 2, 3, 0, 1, 0, 2, 0, 0, 2, 3, 0, 1)
    >>> pad_window(a, t)[0, 0].tolist()
    [1.0, 0.0, 1.0, 2.0, 1.0, 0.0]
    """
    pads = ((0, 0), (tile.pad_top, tile.pad_bottom), (tile.pad_left, tile.pad_right))
    if not any(p for pair in pads for p in pair):
        return array
    mode = "reflect" if array.shape[1] > 1 and array.shape[2] > 1 else "edge"
    return np.pad(array, pads, mode=mode)


def crop_core(prediction: npt.NDArray[np.generic], tile: Tile) -> npt.NDArray[np.generic]:
    """Keep the core of a ``(..., size, size)`` window prediction."""
    return prediction[..., tile.offset_row:tile.offset_row + tile.core_height,
                      tile.offset_col:tile.offset_col + tile.core_width]


def seam_edge_rate(classes: npt.NDArray[np.generic], stride: int) -> tuple[float, float]:
    """Measure how visible window seams are in a class map.

    For every pair of horizontally / vertically adjacent pixel columns / rows, the *edge rate* is
    the share of pixel pairs whose classes differ. A seam shows up as a much higher edge rate on
    the lines between two cores (``stride, 2·stride, …``) than on the other lines.

    Args:
        classes: ``(H, W)`` class map.
        stride: core side of the tiling that produced it.

    Returns:
        ``(seam_rate, other_rate)``: mean edge rate on core borders and on all other lines.

    >>> m = np.zeros((4, 4), dtype=np.uint8); m[:, 2:] = 1
    >>> seam_edge_rate(m, 2)
    (0.5, 0.0)
    """
    seams, others = [], []
    for axis in (0, 1):
        rate = (np.diff(classes, axis=axis) != 0).mean(axis=1 - axis)
        border = np.zeros(rate.shape[0], dtype=bool)
        border[np.arange(stride, classes.shape[axis], stride) - 1] = True
        seams.append(rate[border])
        others.append(rate[~border])
    seam, other = np.concatenate(seams), np.concatenate(others)
    return (float(seam.mean()) if seam.size else 0.0, float(other.mean()) if other.size else 0.0)
