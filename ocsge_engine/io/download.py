"""Download IGN OCS GE deliveries listed in ``data/reference/ocsge_millesimes_by_departement.csv``.

Downloads are resumable and size-checked: bytes go to ``<name>.part``; a new attempt asks the
server for the rest with an HTTP ``Range`` header; the file is renamed to its final name only
when its size equals the announced ``Content-Length`` (plus the resumed offset). Any network
failure raises :class:`~ocsge_engine.errors.DownloadError` with a French message, and keeps the
``.part`` so that the next attempt resumes.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from ocsge_engine.config import get_settings
from ocsge_engine.errors import DownloadError

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None] | None

URL_LIST = "ocsge_millesimes_by_departement.csv"
CHUNK_BYTES = 1 << 20
TIMEOUT_S = 30.0
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


def delivery_urls(departement: str, millesime: str | int,
                  product: str = "occupation_du_sol_et_zone_construite",
                  url_list: Path | None = None) -> list[str]:
    """URLs of one département, millésime (``2018`` or ``2018_2021``) and product.

    Raises:
        DownloadError: no delivery listed for that choice.
    """
    from ocsge_engine.store.catalog import normalize_departement

    table = pd.read_csv(url_list or get_settings().reference_dir / URL_LIST, dtype=str)
    dep = normalize_departement(departement)
    key = str(millesime).replace("-", "_")
    rows = table[(table["departement"] == dep) & (table["product"] == product)
                 & (table["millesime_or_period"] == key)]
    if rows.empty:
        available = sorted(table.loc[(table["departement"] == dep) & (table["product"] == product),
                                     "millesime_or_period"])
        raise DownloadError(
            f"no {product} delivery for D{dep} {key} (available: {available})",
            f"Aucune livraison « {product} » pour le département {dep} en {key} "
            f"(disponibles : {', '.join(available) or 'aucune'}).",
        )
    return rows["download_url"].tolist()


def download_delivery(departement: str, millesime: str | int,
                      product: str = "occupation_du_sol_et_zone_construite",
                      dest_dir: Path = Path("downloads"), progress: Progress = None) -> list[Path]:
    """Download every archive of one delivery into ``dest_dir`` (resumable).

    Returns:
        The local paths of the downloaded archives.

    Raises:
        DownloadError: nothing listed, offline, HTTP error or size mismatch.
    """
    urls = delivery_urls(departement, millesime, product)
    paths = []
    for i, url in enumerate(urls):
        def sub(fraction: float, message: str, i: int = i) -> None:
            if progress is not None:
                progress((i + fraction) / len(urls), message)
        paths.append(download_file(url, Path(dest_dir) / Path(urlparse(url).path).name, sub))
    return paths


def download_file(url: str, dest: Path, progress: Progress = None,
                  timeout_s: float = TIMEOUT_S) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``, resuming a previous attempt.

    Args:
        url: HTTP(S) URL.
        dest: final path; when it exists already it is returned as is.
        progress: ``(fraction, message)`` callback.
        timeout_s: socket timeout.

    Returns:
        ``dest``.

    Raises:
        DownloadError: connection failure, HTTP error, or fewer/more bytes than announced
            (the ``.part`` is kept for the next attempt).
    """
    dest = Path(dest)
    if dest.exists():
        logger.info("%s already downloaded", dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            total, offset = _expected_total(response, offset, part)
            _stream(response, part, offset, total, progress, dest.name)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing left to fetch: the .part is complete
            os.replace(part, dest)
            return dest
        raise DownloadError(f"HTTP {err.code} for {url}",
                            f"Le serveur IGN a répondu une erreur {err.code} pour "
                            f"{dest.name} : réessayez plus tard.") from err
    except (urllib.error.URLError, socket.timeout, http.client.HTTPException, OSError) as err:
        if isinstance(err, DownloadError):
            raise
        raise DownloadError(f"cannot download {url}: {err}",
                            f"Le téléchargement de {dest.name} a échoué (pas de connexion ?) : "
                            "relancez la commande, il reprendra où il s'est arrêté.") from err
    size = part.stat().st_size
    if total is not None and size != total:
        raise DownloadError(f"{dest.name}: got {size} bytes, expected {total}",
                            f"Le fichier {dest.name} est incomplet ({size} octets sur {total}) : "
                            "relancez la commande pour reprendre le téléchargement.")
    os.replace(part, dest)
    logger.info("downloaded %s (%d bytes)", dest, size)
    return dest


def _expected_total(response: object, offset: int, part: Path) -> tuple[int | None, int]:
    """Final size announced by the server and the offset to write at (0 if it restarts)."""
    status = getattr(response, "status", 200)
    headers = response.headers  # type: ignore[attr-defined]
    length = headers.get("Content-Length")
    if status == 206:
        match = _CONTENT_RANGE.match(headers.get("Content-Range", ""))
        if match and match.group(3) != "*":
            return int(match.group(3)), int(match.group(1))
        return (offset + int(length) if length else None), offset
    if offset:
        logger.info("server ignored the Range header: restarting %s", part.name)
    return (int(length) if length else None), 0


def _stream(response: object, part: Path, offset: int, total: int | None, progress: Progress,
            name: str) -> None:
    mode = "ab" if offset else "wb"
    done = offset
    with open(part, mode) as fh:
        if offset:
            fh.truncate(offset)
        while chunk := response.read(CHUNK_BYTES):  # type: ignore[attr-defined]
            fh.write(chunk)
            done += len(chunk)
            if progress is not None and total:
                progress(done / total, name)
