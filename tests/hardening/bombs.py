"""Hostile files built on the fly: decompression bombs that cost a few kB on disk."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import py7zr

GIB = 1 << 30


class Zeros(io.BufferedIOBase):
    """A seekable stream of ``n`` zero bytes that never holds them in memory."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.pos = n, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else self.n + offset
        return self.pos

    def read(self, size: int | None = -1) -> bytes:
        left = self.n - self.pos
        k = left if size is None or size < 0 else min(size, left)
        self.pos += k
        return bytes(k)

    read1 = read


def zeros_7z(path: Path, n_bytes: int = GIB, member: str = "D033_2018/OCCUPATION_SOL.shp") -> Path:
    """A .7z holding ``n_bytes`` zeros (1 GiB: about 33 kB with Zstandard, built in ~2 s)."""
    with py7zr.SevenZipFile(path, "w", filters=[{"id": py7zr.FILTER_ZSTD, "level": 1}]) as zf:
        zf.writef(Zeros(n_bytes), member)
    return path


def zeros_zip(n_bytes: int, member: str = "zone/zone.shp") -> bytes:
    """A .zip (deflate) holding ``n_bytes`` zeros (1,000x smaller)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open(member, "w", force_zip64=True) as out:
            chunk = bytes(1 << 20)
            for _ in range(n_bytes // len(chunk)):
                out.write(chunk)
    return buffer.getvalue()


def many_members_zip(n: int) -> bytes:
    """A .zip of ``n`` empty members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(n):
            zf.writestr(f"m{i}.txt", b"")
    return buffer.getvalue()
