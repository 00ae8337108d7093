"""Download: offline failure, resumable Range requests and size checks against a local server."""

from __future__ import annotations

import http.server
from collections.abc import Iterator

import pytest

from ocsge_engine.errors import DownloadError
from ocsge_engine.io.download import delivery_urls, download_file
from tests.conftest import closed_port, local_http_server

PAYLOAD = bytes(range(256)) * 1000  # 256,000 bytes


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /file.7z with Range support; /short.7z announces more than it sends."""

    requests: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).requests.append(self.headers.get("Range"))
        if self.path == "/missing.7z":
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.removeprefix("bytes=").split("-")[0])
        body = PAYLOAD[start:]
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if self.path == "/short.7z" else body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    _RangeHandler.requests = []
    with local_http_server(_RangeHandler) as url:
        yield url


def test_offline_raises_french_download_error(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/x.7z"
    with pytest.raises(DownloadError, match="cannot download") as info:
        download_file(url, tmp_path / "x.7z", timeout_s=2)
    assert "a échoué" in info.value.user_message
    assert not (tmp_path / "x.7z").exists()


def test_full_download(tmp_path, server):
    seen = []
    path = download_file(f"{server}/file.7z", tmp_path / "f.7z",
                         progress=lambda f, m: seen.append(f))
    assert path.read_bytes() == PAYLOAD and seen[-1] == 1.0
    assert _RangeHandler.requests == [None]


def test_resume_from_part_file_uses_range(tmp_path, server):
    (tmp_path / "f.7z.part").write_bytes(PAYLOAD[:100_000])
    path = download_file(f"{server}/file.7z", tmp_path / "f.7z")
    assert path.read_bytes() == PAYLOAD
    assert _RangeHandler.requests == ["bytes=100000-"]
    assert not (tmp_path / "f.7z.part").exists()


def test_short_body_is_refused_and_part_kept_for_resume(tmp_path, server):
    with pytest.raises(DownloadError) as info:
        download_file(f"{server}/short.7z", tmp_path / "s.7z")
    assert "incomplet" in info.value.user_message or "échoué" in info.value.user_message
    assert not (tmp_path / "s.7z").exists()
    kept = (tmp_path / "s.7z.part").read_bytes()
    assert kept == PAYLOAD[: len(kept)] and 0 < len(kept) < len(PAYLOAD)
    # The server now serves the whole file: the download resumes from the kept bytes.
    download_file(f"{server}/file.7z", tmp_path / "s.7z")
    assert (tmp_path / "s.7z").read_bytes() == PAYLOAD
    assert _RangeHandler.requests[-1] == f"bytes={len(kept)}-"


def test_http_error(tmp_path, server):
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        download_file(f"{server}/missing.7z", tmp_path / "m.7z")
    assert "erreur 404" in info.value.user_message


def test_url_list_lookup():
    (url,) = delivery_urls("33", 2018)
    assert url.endswith("OCS-GE_2-0__SHP_LAMB93_D033_2018-01-01.7z")
    (diff,) = delivery_urls("33", "2018-2021", product="difference")
    assert "DIFF_SHP_LAMB93_D033_2018-2021" in diff
    with pytest.raises(DownloadError, match="no occupation_du_sol") as info:
        delivery_urls("33", 2015)
    assert "disponibles : 2018, 2021" in info.value.user_message
