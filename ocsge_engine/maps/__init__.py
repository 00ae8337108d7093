"""Maps: light OCS GE polygons, folium/leafmap layers with French legends, offline web assets."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocsge_engine.maps.assets import remote_asset_urls, use_local_assets
    from ocsge_engine.maps.changes import changes_from_diff, changes_from_overlay, stored_changes
    from ocsge_engine.maps.layers import COLOURINGS, ColourBy, class_codes, legend_entries
    from ocsge_engine.maps.simplify import dissolve_couples, light_polygons, tolerance_for_extent
    from ocsge_engine.maps.territory_map import drawing_map, territory_map

# Names resolve on first use (PEP 562), so that the change layer of an export
# (``maps.changes``) does not pay for folium/leafmap (seconds of imports).
_HOMES = {
    "remote_asset_urls": "assets", "use_local_assets": "assets",
    "changes_from_diff": "changes", "changes_from_overlay": "changes", "stored_changes": "changes",
    "COLOURINGS": "layers", "ColourBy": "layers", "class_codes": "layers",
    "legend_entries": "layers", "dissolve_couples": "simplify", "light_polygons": "simplify",
    "tolerance_for_extent": "simplify", "drawing_map": "territory_map",
    "territory_map": "territory_map",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"ocsge_engine.maps.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'ocsge_engine.maps' has no attribute {name!r}")


__all__ = ["COLOURINGS", "ColourBy", "changes_from_diff", "changes_from_overlay", "class_codes",
           "dissolve_couples", "legend_entries", "light_polygons", "remote_asset_urls", "stored_changes",
           "drawing_map", "territory_map", "tolerance_for_extent", "use_local_assets"]
