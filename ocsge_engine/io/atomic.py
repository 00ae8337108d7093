"""Atomic writes: write to a temporary sibling, then ``os.replace`` it onto the target.

A reader never sees a half-written file: either the previous version or the new one. The temporary
file lives in the target's folder so that the final rename stays on one filesystem (POSIX rename
is atomic there). On any exception the temporary is removed and the target is left untouched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_path(target: Path | str, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``target``; move it onto ``target`` on success.

    Args:
        target: final file path. Its parent folder is created if needed.
        suffix: suffix of the temporary name (some writers infer the format from it).

    Yields:
        A path that does not exist yet; the caller writes the whole file there.

    Raises:
        Whatever the caller's block raises; the temporary file is then deleted and ``target``
        keeps its previous content.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f"{suffix}.tmp",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        _remove(tmp)
        raise


def atomic_write_bytes(target: Path | str, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (fsync before the rename)."""
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


@contextlib.contextmanager
def atomic_dir(target: Path | str) -> Iterator[Path]:
    """Yield a temporary folder next to ``target``; swap it in place of ``target`` on success.

    The swap renames the previous folder aside, renames the new one in, then deletes the old one,
    so a failure before the swap leaves ``target`` untouched.

    Args:
        target: final folder path.

    Yields:
        An empty temporary folder to fill.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old",
                                        dir=target.parent))
            os.replace(target, old / "prev")
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: Path) -> None:
    """Delete a file or folder, ignoring a missing one."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
