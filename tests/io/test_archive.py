"""Safe archive extraction: member checks and corrupt archives."""

from __future__ import annotations

import zipfile
from pathlib import Path

import py7zr
import pytest

from ocsge_engine.errors import ArchiveError
from ocsge_engine.io.archive import check_member_name, extract_archive


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "a/../../b", "C:/x", "..\\x"])
def test_unsafe_member_names_are_refused(name):
    with pytest.raises(ArchiveError, match="unsafe member path") as info:
        check_member_name(name, Path("d.7z"))
    assert "chemin dangereux" in info.value.user_message


def test_7z_round_trip(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"x" * 5000)
    with py7zr.SevenZipFile(tmp_path / "a.7z", "w") as zf:
        zf.write(tmp_path / "a.txt", "dir/a.txt")
    out = tmp_path / "out"
    out.mkdir()
    assert extract_archive(tmp_path / "a.7z", out) == [out / "dir" / "a.txt"]
    assert (out / "dir" / "a.txt").read_bytes() == b"x" * 5000


def test_zip_slip_refused_before_writing(tmp_path):
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr("../evil.txt", "pwned")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveError, match="evil"):
        extract_archive(tmp_path / "z.zip", out)
    assert list(out.iterdir()) == [] and not (tmp_path / "evil.txt").exists()


def test_truncated_zip_is_an_archive_error(tmp_path):
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as zf:
        zf.writestr("a.txt", "a" * 10_000)
    data = (tmp_path / "z.zip").read_bytes()
    (tmp_path / "z.zip").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveError, match="corrupt or truncated") as info:
        extract_archive(tmp_path / "z.zip", out)
    assert "téléchargez-la à nouveau" in info.value.user_message
