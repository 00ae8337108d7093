"""Server-side time of each page's first visit for a commune, and where it goes (issue 15).

Runs ``app.py`` through ``streamlit.testing`` (no browser): one warm-up run of the home page on
La Teste-de-Buch, then each page opened by a deep link on a demo commune that no page has shown
yet in this process (cold per-commune caches, warm imports and store). Prints one line per page;
``--profile N`` also prints the N heaviest functions (cumulative time) of each page's run.

The server warm-up (``pages/_warmup.py``) is off by default, so that the figures are the pages'
own; ``--warmup`` turns it on and waits for it to finish after the home page, as a server that
has been up for a minute.

Usage::

    .venv/bin/python benchmarks/bench_pages_server.py [--store data/store] [--pages flux,cartes]
        [--profile 25] [--warmup]

The browser figure (``bench_app.py --only pages``) adds the frontend's boot and drawing to this.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

PAGES = ["accueil", "flux", "cartes", "artificialisation", "vegetation", "processus", "comparer",
         "croiser", "trajectoire", "zonage", "classements", "signaler", "predire", "exports",
         "contour"]
# the demo's SYBARVAL communes, one per page (La Teste-de-Buch is the warm-up)
FRESH_COMMUNES = ["33005", "33009", "33011", "33019", "33029", "33042", "33051", "33199",
                  "33229", "33236", "33260", "33284", "33436", "33498", "33527", "33555"]


def main() -> None:
    """Time each page's first visit server-side and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=REPO_ROOT / "data" / "store")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated url paths")
    parser.add_argument("--profile", type=int, default=0, help="print the N heaviest functions")
    parser.add_argument("--warmup", action="store_true",
                        help="run the server warm-up after the home page and wait for it")
    args = parser.parse_args()
    os.environ["OCSGE_STORE_DIR"] = str(args.store.resolve())
    os.environ["OCSGE_WARMUP"] = "1" if args.warmup else "0"
    os.chdir(REPO_ROOT)
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    profiles: list[cProfile.Profile] = []  # the script runs in its own thread: profile it there
    original_run_script = script_runner.ScriptRunner._run_script

    def profiled_run_script(self, rerun_data):  # type: ignore[no-untyped-def]
        if not profiles:
            return original_run_script(self, rerun_data)
        profiles[0].enable()
        try:
            return original_run_script(self, rerun_data)
        finally:
            profiles[0].disable()

    script_runner.ScriptRunner._run_script = profiled_run_script

    components: list[object] = []  # the server scans installed components once, at start-up

    def run(page: str, code: str, profile: bool = False) -> tuple[float, str]:
        at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=300)
        if components:
            at._bidi_component_manager = components[0]  # noqa: SLF001 (not per session)
        at.query_params.update({"territoire": f"commune:{code}", "de": "2015", "a": "2018"})
        if page != "accueil":
            at.switch_page(f"pages/{page}.py")
        prof = cProfile.Profile() if profile else None
        profiles[:] = [prof] if prof else []
        t0 = time.perf_counter()
        at.run()
        profiles.clear()
        elapsed = time.perf_counter() - t0
        components[:] = [at._bidi_component_manager]  # noqa: SLF001
        if at.exception:
            raise SystemExit(f"{page}: {[e.value for e in at.exception]}")
        text = ""
        if prof:
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(args.profile)
            text = out.getvalue()
        return elapsed, text

    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, store {args.store}")
    t_warm, _ = run("accueil", "33529")
    print(f"warm-up (home, La Teste-de-Buch, imports included): {t_warm:.2f} s")
    if args.warmup:
        from pages import _warmup

        t0 = time.perf_counter()
        _warmup.start().join()  # the thread app.py started after the home page
        print(f"server warm-up thread: finished {time.perf_counter() - t0:.2f} s after the home page")
    communes = iter(FRESH_COMMUNES * 2)
    for page in args.pages.split(","):
        code = next(communes)
        elapsed, text = run(page, code, profile=args.profile > 0)
        print(f"first visit {page:<18} commune:{code}  {elapsed:6.2f} s"
              f"  {'OK' if elapsed <= 1.0 else 'over 1 s'}", flush=True)
        if text:
            print(text)


if __name__ == "__main__":
    main()
