"""``ocsge_engine.maps`` imports its names on first use (PEP 562), in a fresh interpreter each."""

from __future__ import annotations

import subprocess
import sys

from ocsge_engine.config import REPO_ROOT


def _run(script: str) -> str:
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[-1]


def test_change_and_light_layers_do_not_load_folium_or_leafmap():
    """The bundle's change layer and the batch's light polygons need geopandas only."""
    out = _run("import sys\n"
               "from ocsge_engine.maps import light_polygons, stored_changes\n"
               "import ocsge_engine.report.bundle\n"
               "print(sorted({m.split('.')[0] for m in sys.modules} & {'folium', 'leafmap', "
               "'branca'}), callable(light_polygons), callable(stored_changes))")
    assert out == "[] True True"


def test_the_batch_page_objects_do_not_load_folium_or_leafmap():
    """A batch worker computes the vegetation map's layers without the map's libraries (leafmap
    alone builds its basemaps for about 2 s at import, in every worker process)."""
    out = _run("import sys\n"
               "import ocsge_engine.batch.pages, ocsge_engine.batch.flows\n"
               "from ocsge_engine.maps.vegetation_layers import vegetation_changes, "
               "vegetation_light\n"
               "import ocsge_engine.maps.vegetation_layers as layers\n"
               "print(sorted({m.split('.')[0] for m in sys.modules} & {'folium', 'leafmap', "
               "'branca'}), callable(vegetation_light), callable(vegetation_changes))")
    assert out == "[] True True"
    # the map module re-exports the same functions
    out = _run("import ocsge_engine.maps.vegetation as v\n"
               "import ocsge_engine.maps.vegetation_layers as l\n"
               "print(all(getattr(v, n) is getattr(l, n) for n in ('vegetated', "
               "'vegetation_changes', 'vegetation_light', 'vegetation_layers', 'CHANGE_KEYS')))")
    assert out == "True"


def test_map_builders_are_functions_whatever_was_imported_first():
    """The submodule of the map builders is not named like a builder: importing it (as the
    vegetation map does) cannot shadow the package's ``territory_map`` function."""
    out = _run("import ocsge_engine.maps.vegetation\n"
               "from ocsge_engine.maps import COLOURINGS, drawing_map, territory_map\n"
               "import ocsge_engine.maps as maps, ocsge_engine.maps.layers as layers\n"
               "print(territory_map.__module__, drawing_map.__module__,\n"
               "      COLOURINGS is layers.COLOURINGS, sorted(set(maps.__all__) - set(dir(maps))))")
    assert out == ("ocsge_engine.maps.folium_map ocsge_engine.maps.folium_map True []")


def test_unknown_name_is_an_attribute_error():
    out = _run("import ocsge_engine.maps as maps\n"
               "try:\n    maps.nothing_here\nexcept AttributeError as err:\n    print(err)")
    assert out == "module 'ocsge_engine.maps' has no attribute 'nothing_here'"
