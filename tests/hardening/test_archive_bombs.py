"""Decompression bombs: refused from the listing, before anything is written; byte budget while
writing; private temporary folders cleaned after a crash."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import py7zr
import pytest

from ocsge_engine.errors import ArchiveError
from ocsge_engine.io import archive as archive_mod
from ocsge_engine.io.archive import (
    UPLOAD_LIMITS, ArchiveLimits, clean_stale_tempdirs, extract_archive, private_tempdir,
)
from tests.hardening.bombs import GIB, many_members_zip, zeros_7z, zeros_zip

REPO = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


@pytest.fixture(scope="module")
def gib_7z(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .7z of 1 GiB of zeros (about 33 kB) named like an IGN delivery."""
    folder = tmp_path_factory.mktemp("bomb")
    return zeros_7z(folder / "OCS-GE_2-0__SHP_LAMB93_D033_2018-01-01.7z")


def _tree_bytes(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:  # removed while walking
            pass
    return total


def test_gib_7z_refused_before_writing(gib_7z: Path, tmp_path: Path) -> None:
    assert gib_7z.stat().st_size < 200_000
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveError, match="compression ratio") as info:
        extract_archive(gib_7z, out)
    assert "taux de compression anormal" in info.value.user_message
    assert "1,0 Go" in info.value.user_message
    assert list(out.iterdir()) == []


def test_cli_ingest_of_gib_7z_exits_2_and_tmp_stays_small(gib_7z: Path, tmp_path: Path) -> None:
    """Must show: exit 2, one French line, no traceback, /tmp never grows by 200 MB."""
    tmp_root = tmp_path / "tmp"
    tmp_root.mkdir()
    peak = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_bytes(tmp_root))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    env = {**os.environ, "TMPDIR": str(tmp_root)}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ocsge_engine", "-q", "ingest", str(gib_7z), "--store",
             str(tmp_path / "store")], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=300)
    finally:
        done.set()
        watcher.join()
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("erreur : L'archive")
    assert "refusée" in lines[0] and "Traceback" not in result.stderr
    assert peak[0] < 200 * MB
    assert list(tmp_root.iterdir()) == []  # the extraction folder is gone
    assert not (tmp_path / "store").exists()


def test_member_count_refused_before_writing(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    path.write_bytes(many_members_zip(6000))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveError, match="6000 members") as info:
        extract_archive(path, out)
    assert "6000 fichiers (au plus 5000)" in info.value.user_message
    assert list(out.iterdir()) == []


def test_declared_total_over_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w") as zf:  # stored: ratio 1, only the size cap can refuse
        zf.writestr("a.bin", os.urandom(3 * MB))
    limits = ArchiveLimits(max_total_bytes=2 * MB)
    with pytest.raises(ArchiveError, match="declared 3145728 bytes") as info:
        extract_archive(path, tmp_path, limits)
    assert "3,0 Mo (au plus 2,0 Mo)" in info.value.user_message


def test_not_enough_disk_space_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.bin", os.urandom(MB))
    monkeypatch.setattr(archive_mod.shutil, "disk_usage",
                        lambda _: type("U", (), {"free": 512 * MB + MB // 2})())  # margin: 512
    with pytest.raises(ArchiveError, match="not enough disk space") as info:
        extract_archive(path, tmp_path)
    assert "Espace disque insuffisant" in info.value.user_message


@pytest.mark.parametrize("suffix", [".7z", ".zip"])
def test_byte_budget_stops_a_member_writing_more_than_declared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    """A header that under-declares: extraction stops at the budget, not at the real size."""
    path = tmp_path / f"a{suffix}"
    data = os.urandom(4 * MB)
    if suffix == ".7z":
        with py7zr.SevenZipFile(path, "w") as zf:
            zf.writestr(data, "a.bin")
    else:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("a.bin", data)
    monkeypatch.setattr(archive_mod, "check_sizes", lambda *args: 1 * MB)  # a lying header
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveError, match="more than the 1048576 declared bytes") as info:
        extract_archive(path, out)
    assert "plus que la taille annoncée" in info.value.user_message
    assert _tree_bytes(out) <= 2 * MB


def test_small_real_archives_still_extract(tmp_path: Path) -> None:
    """A 1 MB text file compressing 100x stays under the ratio floor: accepted."""
    path = tmp_path / "ok.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("d/a.dbf", b" " * MB)
    out = tmp_path / "out"
    out.mkdir()
    assert extract_archive(path, out) == [out / "d" / "a.dbf"]


def test_zip_bomb_ratio_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    path.write_bytes(zeros_zip(48 * MB))
    with pytest.raises(ArchiveError, match="compression ratio"):
        extract_archive(path, tmp_path, UPLOAD_LIMITS)  # 48 MiB: over the upload ratio floor


def test_stale_private_tempdirs_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f"ocsge_extract_{dead_pid}_abc"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "big.shp").write_bytes(b"x" * 1000)
    alive = tmp_path / f"ocsge_extract_{os.getpid()}_def"
    alive.mkdir()
    other = tmp_path / "ocsge_extract_notapid"
    other.mkdir()
    assert clean_stale_tempdirs("ocsge_extract_", tmp_path) == [stale]
    assert not stale.exists() and alive.exists() and other.exists()


def test_private_tempdir_is_removed_on_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    monkeypatch.setattr(archive_mod.tempfile, "tempdir", str(tmp_path))
    with pytest.raises(RuntimeError), private_tempdir("ocsge_extract_") as folder:
        assert folder.name.startswith(f"ocsge_extract_{os.getpid()}_")
        (folder / "x").write_bytes(b"x")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_bomb_builder_really_holds_a_gib(gib_7z: Path) -> None:
    """The fixture is what it claims (so the refusal tests can fail)."""
    with py7zr.SevenZipFile(gib_7z) as zf:
        assert sum(i.uncompressed for i in zf.list()) == GIB
