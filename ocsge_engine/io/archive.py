"""Safe extraction of IGN delivery archives (``.7z`` with py7zr, ``.zip``).

Every member name is checked before anything is written: an absolute path, a drive letter, a
``..`` component or a link is refused (path traversal, "zip slip"). A corrupt or truncated archive
raises :class:`~ocsge_engine.errors.ArchiveError`, whose French message asks to download it again.

Decompression bombs are refused before anything is written, from the listing alone
(:class:`ArchiveLimits`): too many members, a declared uncompressed total above the cap or above
the free disk space, or a compression ratio above :attr:`ArchiveLimits.max_ratio` (real OCS GE
deliveries compress 3-6x). While extracting, the bytes written are counted and extraction stops
as soon as they pass the declared total or the cap, so a lying header cannot fill the disk.

Extraction folders are made by :func:`private_tempdir` (``<prefix><pid>_<random>`` in the system
temporary folder): always removed on exit, and those of a crashed process (``kill -9``) are
removed by the next run (:func:`clean_stale_tempdirs`).
"""

from __future__ import annotations

import contextlib
import logging
import lzma
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import py7zr
import py7zr.exceptions

from ocsge_engine import fmt
from ocsge_engine.errors import ArchiveError

logger = logging.getLogger(__name__)

ARCHIVE_SUFFIXES: frozenset[str] = frozenset({".7z", ".zip"})
_MIB = 1024 * 1024
_GIB = 1024 * _MIB
_CHUNK = _MIB


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive may expand to (checked before writing, enforced while writing).

    Attributes:
        max_total_bytes: cap on the uncompressed total (declared and written).
        max_members: cap on the number of members (folders included).
        max_ratio: cap on uncompressed total / archive size, checked above ``ratio_floor_bytes``.
        ratio_floor_bytes: below this uncompressed total the ratio is not checked (tiny archives
            of small text files compress very well and are harmless).
        disk_margin_bytes: free space to leave on the destination's filesystem.
    """

    max_total_bytes: int = 40 * _GIB
    max_members: int = 5000
    max_ratio: float = 50.0
    ratio_floor_bytes: int = 64 * _MIB
    disk_margin_bytes: int = 512 * _MIB


# IGN deliveries: a département is at most a few GB uncompressed, a few dozen files.
DELIVERY_LIMITS = ArchiveLimits()
# A zipped shapefile uploaded as a contour (the upload itself is capped at 20 MB).
UPLOAD_LIMITS = ArchiveLimits(max_total_bytes=200 * _MIB, max_members=64, max_ratio=50.0,
                              ratio_floor_bytes=16 * _MIB, disk_margin_bytes=256 * _MIB)
_CORRUPT_ERRORS = (py7zr.exceptions.ArchiveError, lzma.LZMAError, zlib.error, zipfile.BadZipFile,
                   EOFError, OSError, ValueError, KeyError, IndexError, TypeError)


def is_archive(path: Path) -> bool:
    """Whether ``path`` is an archive this module extracts (by suffix)."""
    return path.suffix.lower() in ARCHIVE_SUFFIXES


def check_member_name(name: str, archive: Path) -> PurePosixPath:
    """Return the member's relative path, or raise when it could escape the target folder.

    >>> str(check_member_name("OCS/OCCUPATION_SOL.shp", Path("a.7z")))
    'OCS/OCCUPATION_SOL.shp'

    Raises:
        ArchiveError: absolute path, drive letter or ``..`` component.
    """
    posix = PurePosixPath(name.replace("\\", "/"))
    unsafe = (posix.is_absolute() or ".." in posix.parts
              or (posix.parts and ":" in posix.parts[0]))
    if unsafe or not posix.parts:
        raise ArchiveError(
            f"unsafe member path {name!r} in {archive}",
            f"L'archive {archive.name} contient un chemin dangereux ({name}) : elle est refusée.",
        )
    return posix


def extract_archive(archive: Path, dest: Path,
                    limits: ArchiveLimits = DELIVERY_LIMITS) -> list[Path]:
    """Extract ``archive`` into ``dest`` after checking every member name and the sizes.

    Args:
        archive: a ``.7z`` or ``.zip`` file.
        dest: an existing, empty folder (the caller removes it on failure).
        limits: size, ratio and member-count caps (see :class:`ArchiveLimits`).

    Returns:
        The extracted regular files, sorted.

    Raises:
        ArchiveError: unsafe member names, links, a decompression bomb (limits exceeded, before
            writing or while writing), not enough disk space, or a corrupt/truncated archive.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise ArchiveError(f"archive {archive} not found", f"Archive introuvable : {archive.name}.")
    suffix = archive.suffix.lower()
    try:
        if suffix == ".7z":
            _extract_7z(archive, dest, limits)
        elif suffix == ".zip":
            _extract_zip(archive, dest, limits)
        else:
            raise ArchiveError(f"unsupported archive type {archive}",
                               f"Format d'archive non pris en charge : {archive.name}.")
    except ArchiveError:
        raise
    except _CORRUPT_ERRORS as err:
        raise ArchiveError(
            f"corrupt or truncated archive {archive}: {type(err).__name__}: {err}",
            f"L'archive {archive.name} est illisible ou incomplète : téléchargez-la à nouveau.",
        ) from err
    files = sorted(p for p in dest.rglob("*") if p.is_file())
    logger.info("extracted %d files from %s", len(files), archive.name)
    return files


def _check_crc(bad: str | None, archive: Path) -> None:
    """Raise :class:`ArchiveError` when ``testzip()`` named a member with a bad CRC."""
    if bad is not None:
        raise ArchiveError(f"CRC error on {bad!r} in {archive}",
                           f"L'archive {archive.name} est corrompue ({bad}) : "
                           "téléchargez-la à nouveau.")


def check_sizes(archive: Path, n_members: int, declared_bytes: int, dest: Path,
                limits: ArchiveLimits) -> int:
    """Refuse an archive from its listing alone; return the byte budget of the extraction.

    Args:
        archive: the archive (its size is the compressed size).
        n_members: number of members (folders included).
        declared_bytes: sum of the members' declared uncompressed sizes.
        dest: where it would be extracted (for the free disk space).
        limits: the caps.

    Returns:
        The most bytes extraction may write: ``declared_bytes`` (a member that writes more than
        it declared is a lie, refused while writing).

    Raises:
        ArchiveError: too many members, too large, too compressed, or not enough disk space.
    """
    size = max(archive.stat().st_size, 1)
    ratio = declared_bytes / size
    name = archive.name
    if n_members > limits.max_members:
        raise _bomb(f"{n_members} members > {limits.max_members}", archive,
                    f"elle contient {n_members} fichiers (au plus {limits.max_members})")
    if declared_bytes > limits.max_total_bytes:
        raise _bomb(f"declared {declared_bytes} bytes > {limits.max_total_bytes}", archive,
                    f"elle se décompresse en {_human(declared_bytes)} "
                    f"(au plus {_human(limits.max_total_bytes)})")
    if declared_bytes > limits.ratio_floor_bytes and ratio > limits.max_ratio:
        raise _bomb(f"compression ratio {ratio:.0f} > {limits.max_ratio:.0f} "
                    f"({declared_bytes} bytes from {size})", archive,
                    f"elle se décompresse en {_human(declared_bytes)} pour {_human(size)}, "
                    f"un taux de compression anormal ({fmt.number(ratio, 0)} pour 1)")
    free = shutil.disk_usage(dest).free
    if declared_bytes > free - limits.disk_margin_bytes:
        raise ArchiveError(
            f"not enough disk space to extract {archive}: {declared_bytes} bytes needed, "
            f"{free} free in {dest}",
            f"Espace disque insuffisant pour décompresser {name} : {_human(declared_bytes)} "
            f"nécessaires, {_human(free)} libres.")
    logger.debug("%s: %d members, %d bytes declared, ratio %.1f", name, n_members,
                 declared_bytes, ratio)
    return declared_bytes


def _bomb(reason: str, archive: Path, detail_fr: str) -> ArchiveError:
    return ArchiveError(f"decompression bomb refused: {archive}: {reason}",
                        f"L'archive {archive.name} est refusée : {detail_fr}.")


def _human(n_bytes: float) -> str:
    """French size text: ``'1,0 Go'``, ``'150 ko'``.

    >>> _human(1024 ** 3), _human(150 * 1024)
    ('1,0 Go', '150 ko')
    """
    for unit, scale in (("Go", _GIB), ("Mo", _MIB)):
        if n_bytes >= scale:
            return f"{fmt.number(n_bytes / scale, 1)} {unit}"
    return f"{fmt.number(max(1, round(n_bytes / 1024)), 0)} ko"


def _extract_7z(archive: Path, dest: Path, limits: ArchiveLimits) -> None:
    with py7zr.SevenZipFile(archive, mode="r") as zf:
        infos = zf.list()
        for info in infos:
            check_member_name(info.filename, archive)
            if info.is_symlink:
                _refuse_link(info.filename, archive)
        declared = sum(int(info.uncompressed or 0) for info in infos if not info.is_directory)
        budget = check_sizes(archive, len(infos), declared, dest, limits)
        # testzip() reads every stream and checks its CRC: a truncated archive fails here,
        # before any file is written. py7zr never decompresses past a member's declared size.
        _check_crc(zf.testzip(), archive)
    # a fresh reader whose decompressor also stops past the budget (a forged header)
    with py7zr.SevenZipFile(archive, mode="r", max_extract_size=budget) as zf:
        try:
            zf.extractall(path=dest)
        except py7zr.exceptions.DecompressionBombError as err:
            raise _bomb(f"more than the {budget} declared bytes written", archive,
                        "elle écrit plus que la taille annoncée") from err


def _extract_zip(archive: Path, dest: Path, limits: ArchiveLimits) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            check_member_name(info.filename, archive)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                _refuse_link(info.filename, archive)
        budget = check_sizes(archive, len(infos), sum(i.file_size for i in infos), dest,
                             limits)
        _check_crc(zf.testzip(), archive)
        written = 0
        for info in infos:
            target = dest.joinpath(*check_member_name(info.filename, archive).parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                while chunk := src.read(_CHUNK):
                    written += len(chunk)
                    if written > budget:
                        raise _bomb(f"more than the {budget} declared bytes written", archive,
                                    "elle écrit plus que la taille annoncée")
                    out.write(chunk)


# --- private temporary folders ------------------------------------------------------------------

@contextlib.contextmanager
def private_tempdir(prefix: str) -> Iterator[Path]:
    """A temporary folder ``<tmp>/<prefix><pid>_<random>``, removed on exit whatever happens.

    Folders with the same prefix left by a dead process (``kill -9``) are removed first.

    Args:
        prefix: e.g. ``"ocsge_extract_"``.
    """
    clean_stale_tempdirs(prefix)
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}_"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def clean_stale_tempdirs(prefix: str, root: Path | None = None) -> list[Path]:
    """Remove ``<root>/<prefix><pid>_*`` folders whose process is gone; return them.

    Only folders owned by this user, whose name carries a pid that no longer runs, are removed.
    """
    root = Path(root or tempfile.gettempdir())
    removed: list[Path] = []
    for path in root.glob(f"{prefix}*"):
        match = re.match(rf"{re.escape(prefix)}(\d+)_", path.name)
        if not match or not path.is_dir() or path.is_symlink():
            continue
        with contextlib.suppress(OSError):
            if path.stat().st_uid != os.getuid() or _pid_alive(int(match.group(1))):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
            logger.warning("removed %s, left by a crashed process", path)
    return removed


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _refuse_link(name: str, archive: Path) -> None:
    raise ArchiveError(f"link member {name!r} in {archive}",
                       f"L'archive {archive.name} contient un lien ({name}) : elle est refusée.")
