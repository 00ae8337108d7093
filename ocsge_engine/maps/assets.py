"""Offline web assets of the maps: Leaflet and its plugins served from ``static/vendor``.

folium, branca and leafmap link Leaflet, jQuery, Bootstrap, Font Awesome and the plugins from
public CDNs (``default_js`` / ``default_css`` of every :class:`folium.elements.JSCSSMixin`
subclass). Offline, such a map stays blank with no error. :func:`use_local_assets` rewrites those
URLs to the copies committed under ``static/vendor/`` (fetched from the npm registry by
``static/vendor/fetch.sh``, with their licences). Streamlit serves ``./static`` at
``/app/static/`` when ``server.enableStaticServing`` is on (``.streamlit/config.toml``);
streamlit-folium's iframe reads the same ``default_js`` / ``default_css`` lists, so it loads the
local copies too.

Two CDN stylesheets of :class:`folium.Map` have no npm package and are dropped: the Bootstrap 3
glyphicons (only used by ``folium.Icon(prefix="glyphicon")``: use ``prefix="fa"``) and folium's
``leaflet.awesome.rotate`` CSS (only used by rotated awesome-marker icons).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import folium
import folium.elements
import folium.plugins  # noqa: F401  (registers the plugin classes to patch)

from ocsge_engine.config import REPO_ROOT

logger = logging.getLogger(__name__)

VENDOR_DIR: Path = REPO_ROOT / "static" / "vendor"
DEFAULT_BASE_URL = "/app/static/vendor"

# CDN URL -> path under static/vendor (None: dropped, see the module docstring).
LOCAL_ASSETS: dict[str, str | None] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet@1.9.3/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet@1.9.3/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery@3.7.1/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "bootstrap@5.2.2/js/bootstrap.bundle.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        "bootstrap@5.2.2/css/bootstrap.min.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "fontawesome-free@6.2.0/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
    "leaflet.awesome-markers.js": "leaflet.awesome-markers@2.0.2/leaflet.awesome-markers.js",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
    "leaflet.awesome-markers.css": "leaflet.awesome-markers@2.0.2/leaflet.awesome-markers.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": None,
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
    "leaflet.awesome.rotate.min.css": None,
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js":
        "leaflet.fullscreen@3.0.0/Control.FullScreen.js",
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css":
        "leaflet.fullscreen@3.0.0/Control.FullScreen.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.js":
        "leaflet.draw@1.0.2/leaflet.draw.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.css":
        "leaflet.draw@1.0.2/leaflet.draw.css",
}

# Original (name, url) lists of each patched class, so that patching is idempotent.
_ORIGINALS: dict[type, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}
_REMOTE_ASSET_RE = re.compile(
    r"""<script[^>]*\bsrc=["'](https?://[^"']+)["']"""
    r"""|<link[^>]*\bhref=["'](https?://[^"']+)["']"""
    r"""|url\(\s*["']?(https?://[^"')]+)""",
    re.IGNORECASE,
)


def _mixin_classes() -> list[type]:
    """Every JSCSSMixin subclass currently imported (folium, its plugins, leafmap if loaded)."""
    found: list[type] = []
    stack = [folium.elements.JSCSSMixin]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return found


def _rewrite(links: list[tuple[str, str]], base_url: str) -> tuple[list[tuple[str, str]], bool]:
    out: list[tuple[str, str]] = []
    changed = False
    for name, url in links:
        if url not in LOCAL_ASSETS:
            out.append((name, url))
            continue
        changed = True
        local = LOCAL_ASSETS[url]
        if local is not None:
            out.append((name, f"{base_url}/{local}"))
    return out, changed


def use_local_assets(base_url: str = DEFAULT_BASE_URL) -> list[str]:
    """Point every known folium/leafmap asset URL to the vendored copy under ``base_url``.

    Patches ``default_js`` / ``default_css`` of each imported JSCSSMixin subclass whose lists
    hold a URL of :data:`LOCAL_ASSETS`. Idempotent; calling it again with another ``base_url``
    re-patches from the original CDN URLs.

    Args:
        base_url: URL prefix where ``static/vendor`` is served (``/app/static/vendor`` under
            Streamlit; a ``file://`` URL for standalone HTML files).

    Returns:
        The CDN URLs still referenced by patched-or-not classes that we have no copy of
        (assets of folium plugins this project does not use).
    """
    base_url = base_url.rstrip("/")
    remaining: list[str] = []
    for cls in _mixin_classes():
        own = cls.__dict__
        if cls not in _ORIGINALS and ("default_js" in own or "default_css" in own):
            _ORIGINALS[cls] = (list(own.get("default_js", [])), list(own.get("default_css", [])))
        if cls not in _ORIGINALS:
            continue
        js, css = _ORIGINALS[cls]
        new_js, js_changed = _rewrite(js, base_url)
        new_css, css_changed = _rewrite(css, base_url)
        if js_changed or "default_js" in own:
            cls.default_js = new_js  # type: ignore[attr-defined]
        if css_changed or "default_css" in own:
            cls.default_css = new_css  # type: ignore[attr-defined]
        remaining += [url for _, url in new_js + new_css if url.startswith(("http:", "https:"))]
    logger.debug("local assets under %s; %d CDN URLs of unused plugins left", base_url,
                 len(remaining))
    return sorted(set(remaining))


def remote_asset_urls(html: str) -> list[str]:
    """Return the http(s) URLs of scripts, stylesheets and CSS ``url()`` in ``html``.

    >>> remote_asset_urls('<script src="https://x.org/a.js"></script><link href="/b.css">')
    ['https://x.org/a.js']
    """
    return [next(g for g in match.groups() if g) for match in _REMOTE_ASSET_RE.finditer(html)]


def missing_vendor_files() -> list[str]:
    """Vendored paths of :data:`LOCAL_ASSETS` and the files their CSS ``url()`` point to, if absent.

    Returns:
        Relative paths under :data:`VENDOR_DIR` that do not exist (empty when complete).
    """
    missing: list[str] = []
    for local in filter(None, LOCAL_ASSETS.values()):
        path = VENDOR_DIR / local
        if not path.is_file():
            missing.append(local)
            continue
        if path.suffix == ".css":
            missing += _missing_css_refs(path)
    return missing


def _missing_css_refs(css_path: Path) -> list[str]:
    text = css_path.read_text(encoding="utf-8")
    missing = []
    for ref in re.findall(r"""url\(\s*["']?([^"')]+)""", text):
        if ref.startswith(("data:", "#", "http:", "https:")):
            continue
        target = (css_path.parent / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():
            missing.append(str(target.relative_to(VENDOR_DIR.resolve())))
    return missing
