"""Maps: light OCS GE polygons, folium/leafmap layers with French legends, offline web assets."""

from ocsge_engine.maps.assets import remote_asset_urls, use_local_assets
from ocsge_engine.maps.changes import changes_from_diff, changes_from_overlay, stored_changes
from ocsge_engine.maps.layers import COLOURINGS, ColourBy, class_codes, legend_entries
from ocsge_engine.maps.simplify import dissolve_couples, light_polygons, tolerance_for_extent
from ocsge_engine.maps.territory_map import drawing_map, territory_map

__all__ = ["COLOURINGS", "ColourBy", "changes_from_diff", "changes_from_overlay", "class_codes",
           "dissolve_couples", "legend_entries", "light_polygons", "remote_asset_urls", "stored_changes",
           "drawing_map", "territory_map", "tolerance_for_extent", "use_local_assets"]
