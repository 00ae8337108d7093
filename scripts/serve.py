"""Start the dashboard with the engine warmed up (``python scripts/serve.py [streamlit args]``).

``streamlit run`` executes no project code before the first visitor, so the first page paid
for the scientific imports (numpy, pandas, geopandas, duckdb, scipy…) and for loading the
territory tables. This launcher does that work first, in the server's own process (Streamlit
runs the scripts in threads of this process, so the modules and the cached tables are reused),
then hands over to Streamlit's CLI with the same arguments.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

logger = logging.getLogger("ocsge_app.serve")


def warm_up() -> float:
    """Import the engine modules of the first page and load the territory tables; return seconds."""
    start = time.perf_counter()
    import ocsge_engine.indicators.portrait  # noqa: F401  (flows, artif, scipy, geopandas)
    import ocsge_engine.report.summary  # noqa: F401
    from ocsge_engine.store import Store  # noqa: F401
    from ocsge_engine.territories import get_territory, search_territories

    from ocsge_engine.config import get_settings
    from ocsge_engine.errors import OcsgeError
    from ocsge_engine.indicators.portrait import portrait_figures

    territory = get_territory("commune:33529")  # the default territory of the home page
    search_territories("a", limit=1)  # builds the name index used by the sidebar search
    try:  # first use of the store's readers, DuckDB, GEOS overlays and scipy labelling
        store = Store.open(get_settings().store_dir)
        years = store.millesimes(territory)
        if len(years) >= 2:
            portrait_figures(store, territory, years[0], years[-1])
    except OcsgeError as err:  # no store yet: the app says so in French on its first page
        logger.warning("warm-up skipped the store: %s", err)
    return time.perf_counter() - start


def main() -> int:
    """Warm up, then run ``streamlit run app.py`` with the given arguments."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logger.info("engine warmed up in %.2f s", warm_up())
    from streamlit.web import cli as streamlit_cli

    from pages._warmup import freeze_heap

    freeze_heap()  # the imports' objects leave the collector's walks (runner.postScriptGC off)

    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *sys.argv[1:]]
    return int(streamlit_cli.main() or 0)


if __name__ == "__main__":
    sys.exit(main())
