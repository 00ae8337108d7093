"""Offline assets: no CDN URL left in our maps, in standalone HTML or in streamlit-folium's iframe."""

from __future__ import annotations

import json
import folium
import folium.plugins
import pytest

from ocsge_engine.maps.assets import (
    DEFAULT_BASE_URL,
    LOCAL_ASSETS,
    VENDOR_DIR,
    missing_vendor_files,
    remote_asset_urls,
    use_local_assets,
)
from ocsge_engine.maps.simplify import light_polygons
from ocsge_engine.maps.folium_map import territory_map


@pytest.fixture(autouse=True)
def _restore_default_base():
    yield
    use_local_assets(DEFAULT_BASE_URL)


def test_vendored_files_complete():
    # every local path of the mapping exists, and so does every file its CSS url() points to
    # (Leaflet images, Font Awesome webfonts, leaflet.draw sprites, fullscreen icon)
    assert missing_vendor_files() == []


def test_every_vendored_package_has_licence():
    for package in sorted(p for p in VENDOR_DIR.iterdir() if p.is_dir()):
        licence_files = [f for f in package.iterdir() if f.name.upper().startswith("LICENSE")]
        meta = json.loads((package / "package.json").read_text())
        declared = meta.get("license") or meta.get("licenses")
        assert licence_files or declared, package.name


def test_cdn_urls_match_folium_defaults():
    # a folium upgrade that changes an asset URL must show up here, not as a blank map offline
    use_local_assets()
    originals = {url for cls in (folium.Map, folium.plugins.Fullscreen, folium.plugins.Draw)
                 for url in LOCAL_ASSETS if url in _flat_original(cls)}
    assert originals == set(LOCAL_ASSETS)


def _flat_original(cls: type) -> set[str]:
    from ocsge_engine.maps.assets import _ORIGINALS
    js, css = _ORIGINALS[cls]
    return {url for _, url in js + css}


def test_use_local_assets_rewrites_and_is_idempotent():
    use_local_assets("/x/vendor")
    use_local_assets("/x/vendor")
    assert dict(folium.Map.default_js)["leaflet"] == "/x/vendor/leaflet@1.9.3/leaflet.js"
    assert "glyphicons_css" not in dict(folium.Map.default_css)
    use_local_assets(DEFAULT_BASE_URL)
    urls = [u for _, u in folium.Map.default_js + folium.Map.default_css
            + folium.plugins.Draw.default_js + folium.plugins.Fullscreen.default_css]
    assert all(u.startswith(DEFAULT_BASE_URL + "/") for u in urls), urls


def test_remote_asset_urls_detects_each_kind():
    html = ('<script src="https://a.org/x.js"></script><link rel="stylesheet" href="http://b.org/y.css"/>'
            '<style>i{background:url("https://c.org/z.png")}</style><script src="/app/static/l.js">')
    assert remote_asset_urls(html) == ["https://a.org/x.js", "http://b.org/y.css",
                                       "https://c.org/z.png"]


def test_plain_folium_map_is_remote_without_patch():
    # guard: the detector does see folium's CDN links when they are present
    from ocsge_engine.maps import assets
    saved = {cls: (cls.__dict__.get("default_js"), cls.__dict__.get("default_css"))
             for cls in assets._ORIGINALS}
    try:
        for cls, (js, css) in assets._ORIGINALS.items():
            cls.default_js, cls.default_css = js, css
        assert remote_asset_urls(folium.Map(tiles=None).get_root().render())
    finally:
        for cls, (js, css) in saved.items():
            cls.default_js, cls.default_css = js, css


def test_territory_map_has_no_remote_asset(grid):
    html = territory_map(light_polygons(grid), "cs").get_root().render()
    assert remote_asset_urls(html) == []
    assert f'src="{DEFAULT_BASE_URL}/leaflet@1.9.3/leaflet.js"' in html


def test_streamlit_folium_iframe_gets_local_links(grid, monkeypatch):
    """st_folium sends default_js/default_css to its iframe: they must all be local."""
    import streamlit_folium

    sent: dict = {}
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kw: sent.update(kw))
    fmap = territory_map(light_polygons(grid), "famille")
    streamlit_folium.st_folium(fmap, returned_objects=[])
    links = sent["js_links"] + sent["css_links"]
    assert links and all(link.startswith(DEFAULT_BASE_URL + "/") for link in links), links
    for link in links:  # each link is a committed file
        assert (VENDOR_DIR / link.removeprefix(DEFAULT_BASE_URL + "/")).is_file(), link
    assert remote_asset_urls(sent["header"] + sent["html"]) == []
    assert "L.control" in sent["script"] and "Artificialis" in sent["script"]  # legend included

