"""Maps: light OCS GE polygons, folium/leafmap layers with French legends, offline web assets.

Names are imported on first use (PEP 562): the change layers and the light polygons are plain
geopandas, and a command that only writes them (the bundle's GeoPackage, the batch) does not pay
for folium and leafmap (leafmap builds its 121 basemap layers at import, about 2 s).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "remote_asset_urls": "assets", "use_local_assets": "assets",
    "changes_from_diff": "changes", "changes_from_overlay": "changes",
    "stored_changes": "changes",
    "COLOURINGS": "layers", "ColourBy": "layers", "class_codes": "layers",
    "legend_entries": "layers",
    "dissolve_couples": "simplify", "light_polygons": "simplify",
    "tolerance_for_extent": "simplify",
    "drawing_map": "folium_map", "territory_map": "folium_map",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Import ``name`` from its submodule the first time it is asked for."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
