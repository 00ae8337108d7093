"""Safe extraction of IGN delivery archives (``.7z`` with py7zr, ``.zip``).

Every member name is checked before anything is written: an absolute path, a drive letter, a
``..`` component or a link is refused (path traversal, "zip slip"). A corrupt or truncated archive
raises :class:`~ocsge_engine.errors.ArchiveError`, whose French message asks to download it again.
"""

from __future__ import annotations

import logging
import lzma
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import py7zr
import py7zr.exceptions

from ocsge_engine.errors import ArchiveError

logger = logging.getLogger(__name__)

ARCHIVE_SUFFIXES: frozenset[str] = frozenset({".7z", ".zip"})
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


def extract_archive(archive: Path, dest: Path) -> list[Path]:
    """Extract ``archive`` into ``dest`` after checking every member name.

    Args:
        archive: a ``.7z`` or ``.zip`` file.
        dest: an existing, empty folder (the caller removes it on failure).

    Returns:
        The extracted regular files, sorted.

    Raises:
        ArchiveError: unsafe member names, links, or a corrupt/truncated archive.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise ArchiveError(f"archive {archive} not found", f"Archive introuvable : {archive}.")
    suffix = archive.suffix.lower()
    try:
        if suffix == ".7z":
            _extract_7z(archive, dest)
        elif suffix == ".zip":
            _extract_zip(archive, dest)
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


def _extract_7z(archive: Path, dest: Path) -> None:
    with py7zr.SevenZipFile(archive, mode="r") as zf:
        for info in zf.list():
            check_member_name(info.filename, archive)
            if info.is_symlink:
                _refuse_link(info.filename, archive)
        # testzip() reads every stream and checks its CRC: a truncated archive fails here,
        # before any file is written.
        _check_crc(zf.testzip(), archive)
        zf.reset()
        zf.extractall(path=dest)


def _extract_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            check_member_name(info.filename, archive)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                _refuse_link(info.filename, archive)
        _check_crc(zf.testzip(), archive)
        zf.extractall(dest)


def _refuse_link(name: str, archive: Path) -> None:
    raise ArchiveError(f"link member {name!r} in {archive}",
                       f"L'archive {archive.name} contient un lien ({name}) : elle est refusée.")
