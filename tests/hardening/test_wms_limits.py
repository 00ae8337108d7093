"""The WMS client: answers past the byte cap and fetches past the total deadline are refused."""

from __future__ import annotations

import http.server
import time
from pathlib import Path

import pytest

from ocsge_engine.errors import DownloadError
from ocsge_engine.inference.wms import fetch_orthophoto, max_response_bytes
from tests.conftest import local_http_server

BOUNDS = (770_000.0, 6_277_000.0, 770_020.0, 6_277_020.0)  # 20 m: 100 × 100 px at 0.2 m


class _Endless(http.server.BaseHTTPRequestHandler):
    """An "image" that never ends (no Content-Length)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        chunk = b"\0" * 65536
        try:
            for _ in range(10_000):  # 640 MB if the client kept reading
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


class _Slow(http.server.BaseHTTPRequestHandler):
    """A trickle: one byte every 0.2 s (each read is quick, the whole never ends)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        try:
            for _ in range(30):  # 6 s in all
                self.wfile.write(b"\0")
                self.wfile.flush()
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


def test_endless_answer_is_cut_at_the_byte_cap(tmp_path: Path) -> None:
    with local_http_server(_Endless) as url:
        with pytest.raises(DownloadError, match="exceeds") as info:
            fetch_orthophoto(BOUNDS, tmp_path / "o.tif", base_url=url, layers=("L",))
    assert "anormalement grosse" in info.value.user_message
    assert max_response_bytes(100, 100) == 100 * 100 * 4 + 1024 * 1024
    assert not (tmp_path / "o.tif").exists() and not (tmp_path / "o.tif.tmp").exists()


def test_trickling_server_hits_the_total_deadline(tmp_path: Path) -> None:
    with local_http_server(_Slow) as url:
        start = time.monotonic()
        with pytest.raises(DownloadError, match="deadline") as info:
            fetch_orthophoto(BOUNDS, tmp_path / "o.tif", base_url=url, layers=("L",),
                             timeout_s=5, deadline_s=1.0)
        elapsed = time.monotonic() - start
    assert elapsed < 4  # the per-read timeout (5 s) alone would never fire
    assert "délai total" in info.value.user_message
    assert not (tmp_path / "o.tif").exists()
