"""Load: 10 concurrent browser sessions on one local Streamlit server, against one session alone.

One chromium, one browser context per simulated visitor. Each visitor loops, for ``--duration``
seconds, over (page, commune) pairs of the demo: it opens
``/<page>?territoire=commune:<code>&de=2015&a=2018`` and waits until the script run is over
(``stApp`` ``notRunning``). A visit counts as an **error** when it times out, when the page shows a
Streamlit exception or a French error box, or when its title does not name the commune asked for
(a session mixed up with another: "something lost"). The same loop is first run by a single
visitor for a baseline.

Prints, for 1 and N sessions: visits, errors, p50 and p95 page time, and the ratio of the p95s
(goal: no error, p95 ≤ 3× the single-session p95 on 2 cores).

Usage::

    .venv/bin/python benchmarks/bench_load.py [--store DIR] [--sessions 10] [--duration 60]
        [--baseline 30]

Builds the demo store into a temporary folder unless ``--store`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402

PAGES = {"portrait": "Portrait", "flux": "Flux", "artificialisation": "Artificialisation",
         "trajectoire": "Trajectoire ZAN"}
COMMUNES = ["33529", "33236", "33009", "33051"]
IDLE = ('[data-testid="stApp"][data-test-script-state="notRunning"]'
        '[data-test-connection-state="CONNECTED"]')
VISIT_TIMEOUT_MS = 60_000


@dataclass
class Tally:
    """Page times and errors of one run."""

    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def line(self, label: str) -> str:
        if not self.times:
            return f"{label}: no visit completed, {len(self.errors)} errors"
        return (f"{label}: {len(self.times) + len(self.errors)} visits, {len(self.errors)} errors, "
                f"p50 {statistics.median(self.times):.2f} s, p95 {self.p95:.2f} s, "
                f"max {max(self.times):.2f} s")

    @property
    def p95(self) -> float:
        """95th percentile, nearest rank (a measured value, never extrapolated)."""
        if not self.times:
            return float("nan")
        ordered = sorted(self.times)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _names() -> dict[str, str]:
    from ocsge_engine.territories import get_territory

    return {code: get_territory(f"commune:{code}").name for code in COMMUNES}


async def _visitor(browser, url: str, seed: int, until: float, names: dict[str, str],  # noqa: ANN001
                   tally: Tally) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    rng = random.Random(seed)
    pairs = list(itertools.product(PAGES, COMMUNES))
    rng.shuffle(pairs)
    for page_name, code in itertools.cycle(pairs):
        if time.monotonic() >= until:
            break
        target = f"{url}/{page_name}?territoire=commune:{code}&de=2015&a=2018"
        start = time.monotonic()
        try:
            await page.goto(target, wait_until="domcontentloaded", timeout=VISIT_TIMEOUT_MS)
            await page.wait_for_selector(IDLE, timeout=VISIT_TIMEOUT_MS)
            # the title is the last thing the script may still be streaming: wait for it
            await page.wait_for_selector("h1", timeout=VISIT_TIMEOUT_MS)
            elapsed = time.monotonic() - start
            title = (await page.locator("h1").first.inner_text(timeout=VISIT_TIMEOUT_MS)).strip()
            if await page.locator('[data-testid="stException"]').count():
                tally.errors.append(f"{page_name} {code}: exception shown")
            elif await page.locator('[data-testid="stAlertContentError"]').count():
                text = await page.locator('[data-testid="stAlertContentError"]').first.inner_text()
                tally.errors.append(f"{page_name} {code}: error box {text[:80]!r}")
            elif names[code] not in title:
                tally.errors.append(f"{page_name} {code}: title {title!r} (lost session?)")
            else:
                tally.times.append(elapsed)
        except Exception as err:  # noqa: BLE001 - a timeout or a crash is an error of the run
            tally.errors.append(f"{page_name} {code}: {type(err).__name__}: {str(err)[:80]}")
    await context.close()


async def _warm(url: str, names: dict[str, str], seconds: float) -> int:
    """Visit every (page, commune) pair once, one session, within ``seconds``: warm caches."""
    from playwright.async_api import async_playwright

    done = 0
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                           headless=True)
        page = await (await browser.new_context()).new_page()
        until = time.monotonic() + seconds
        for page_name, code in itertools.product(PAGES, COMMUNES):
            if time.monotonic() >= until:
                break
            try:
                await page.goto(f"{url}/{page_name}?territoire=commune:{code}&de=2015&a=2018",
                                timeout=VISIT_TIMEOUT_MS)
                await page.wait_for_selector(IDLE, timeout=VISIT_TIMEOUT_MS)
                done += 1
            except Exception:  # noqa: BLE001 - warm-up only
                pass
        await browser.close()
    return done


async def _run(url: str, sessions: int, seconds: float, names: dict[str, str]) -> Tally:
    from playwright.async_api import async_playwright

    tally = Tally()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                           headless=True)
        until = time.monotonic() + seconds
        await asyncio.gather(*(_visitor(browser, url, seed, until, names, tally)
                               for seed in range(sessions)))
        await browser.close()
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the N-session run")
    parser.add_argument("--baseline", type=float, default=30.0, help="seconds of the 1-session run")
    parser.add_argument("--warmup", type=float, default=120.0,
                        help="at most this many seconds visiting each (page, commune) once")
    args = parser.parse_args()
    warmed, load_before, load_after, wall = 0, 0.0, 0.0, 0.0
    with tempfile.TemporaryDirectory(prefix="ocsge_bench_load_") as tmp:
        store = args.store
        if store is None:
            store = Path(tmp) / "store"
            subprocess.run([sys.executable, "-m", "ocsge_engine", "-q", "demo", "--store",
                            str(store)], cwd=REPO_ROOT, check=True, timeout=600)
        names = _names()
        proc, url = start_server(store, Path(tmp) / "streamlit.log")
        try:
            warmed = asyncio.run(_warm(url, names, args.warmup))
            load_before = os.getloadavg()[0]
            single = asyncio.run(_run(url, 1, args.baseline, names))
            start = time.monotonic()
            many = asyncio.run(_run(url, args.sessions, args.duration, names))
            wall = time.monotonic() - start
            load_after = os.getloadavg()[0]
        finally:
            stop_server(proc)
    print(f"warm-up: {warmed} of {len(PAGES) * len(COMMUNES)} (page, commune) pairs; "
          f"load average {load_before:.1f} before, {load_after:.1f} after "
          f"({os.cpu_count()} CPUs); {args.sessions}-session run took {wall:.0f} s "
          "(visits in flight at the end finish)")
    print(single.line("1 session"))
    print(many.line(f"{args.sessions} sessions"))
    ratio = many.p95 / single.p95 if single.times and many.times else float("nan")
    print(f"p95 ratio {args.sessions} sessions / 1 session: {ratio:.2f} (goal <= 3)")
    for error in many.errors[:10] + single.errors[:10]:
        print(f"error: {error}")
    return 0 if not (single.errors or many.errors) else 1


if __name__ == "__main__":
    sys.exit(main())
