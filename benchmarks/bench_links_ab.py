"""A/B of pages opened by a link: two checkouts served side by side, visits interleaved.

On a shared 2-core machine the same page opened by a link varies by ±0.5 s between runs, as
much as a change being measured. This benchmark serves two checkouts (``--old``, e.g. a
``git worktree`` of the previous commit, and this one) on the same store, warms both (every page
once with La Teste-de-Buch), then opens each page by its link in one tab per server for a demo
commune that page has not shown yet, alternating which server goes first (the second is slower:
an A/A run of one checkout against itself showed 0.2 s on Cartes when one always went first),
and prints the median per page and server; use an even ``--repeat``. Same-tab links
(``goto``): the frontend's code is in the renderer's cache, as for a link followed from another
page of the app in the same tab.

Usage::

    git worktree add /tmp/old HEAD~1 && ln -s "$PWD/.venv" /tmp/old/.venv
    .venv/bin/python benchmarks/bench_links_ab.py --old /tmp/old --store data/store --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_app import DRAWN, FRESH_COMMUNES  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _healthy, free_port  # noqa: E402

PAGES = ["", "flux", "cartes", "artificialisation", "processus", "comparer", "croiser",
         "trajectoire", "classements", "signaler", "predire", "exports", "contour", "vegetation",
         "zonage"]
QUERY = "de=2015&a=2018"


def _serve(tree: Path, store: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "OCSGE_STORE_DIR": str(store.resolve()), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "scripts/serve.py", "--server.headless", "true", "--server.port",
           str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(480):
        if _healthy(url):
            return proc, url
        time.sleep(0.25)
    proc.kill()
    raise RuntimeError(f"{tree}: streamlit did not start, see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="the other checkout")
    parser.add_argument("--store", type=Path, default=REPO_ROOT / "data" / "store")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pages", default=",".join(PAGES), help="url paths, comma-separated")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    pages = args.pages.split(",")
    trees = {"old": args.old.resolve(), "new": REPO_ROOT}
    servers = {name: _serve(tree, args.store, args.log_dir / f"bench_links_ab_{name}.log")
               for name, tree in trees.items()}
    times: dict[str, dict[str, list[float]]] = {name: {p: [] for p in pages} for name in trees}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            tabs = {}
            for name, (_, url) in servers.items():
                tabs[name] = browser.new_page(viewport={"width": 1440, "height": 900})
                for path in pages:
                    tabs[name].goto(f"{url}/{path}?territoire=commune:33529&{QUERY}")
                    tabs[name].wait_for_function(DRAWN, timeout=180_000)
            time.sleep(20)  # the servers' warm-up threads end
            visit = 0
            for round_ in range(args.repeat):
                for k, path in enumerate(pages):
                    code = FRESH_COMMUNES[visit % 16]  # La Teste (the 17th) was the warm-up's
                    visit += 1
                    # the server visited second is slower (the machine still busy with the
                    # first visit): each page alternates which goes first, round after round
                    for name in (["old", "new"] if (round_ + k) % 2 else ["new", "old"]):
                        url, tab = servers[name][1], tabs[name]
                        t0 = time.perf_counter()
                        tab.goto(f"{url}/{path}?territoire=commune:{code}&{QUERY}")
                        tab.wait_for_timeout(50)
                        tab.wait_for_function(DRAWN, timeout=180_000)
                        times[name][path].append(time.perf_counter() - t0)
            browser.close()
    finally:
        for proc, _ in servers.values():
            proc.terminate()
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    for path in pages:
        old, new = times["old"][path], times["new"][path]
        print(f"/{path or '(portrait)':<18} old median {statistics.median(old):5.2f} s   new "
              f"median {statistics.median(new):5.2f} s   (old: "
              f"{', '.join(f'{v:.2f}' for v in old)}; new: {', '.join(f'{v:.2f}' for v in new)})")


if __name__ == "__main__":
    main()
