"""A warm chart renderer: one headless Chromium (kaleido 1.x) kept alive for the whole process.

Kaleido's own sync server renders one image at a time and reloads its page (plotly.js, ≈4 MB of
JavaScript) after every image, which costs as much as the render itself. This renderer:

* drives a :class:`kaleido.Kaleido` from its own event-loop thread, so several images (and
  several callers: Streamlit sessions) are in flight at once, each on one of ``TABS`` tabs;
* reloads a tab only every ``RELOAD_EVERY`` images (plotly.js ``toImage`` plots into a detached
  element and purges it, so a tab keeps no figure between renders) and after any failure;
* prints HTML to PDF in the same browser (``Page.printToPDF``), saving Chromium's start-up.

:func:`render_images` is the entry point; :func:`prewarm` starts the browser in the background
(call it before the data work of an export, the start-up then overlaps it). A renderer that
failed is dropped and the next call starts a fresh one.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

logger = logging.getLogger(__name__)

DEFAULT_BROWSER = Path("/usr/bin/chromium")
RELOAD_EVERY = 25
RENDER_TIMEOUT_S = 90.0
START_TIMEOUT_S = 120.0
PDF_PARAMS = {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False}


def default_tabs() -> int:
    """Tabs of the renderer: ``OCSGE_RENDER_TABS``, else 2 (4 on 8 cores or more)."""
    value = os.environ.get("OCSGE_RENDER_TABS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return 4 if (os.cpu_count() or 1) >= 8 else 2


@dataclass(frozen=True)
class ImageJob:
    """One image to render: a figure (or its dict) and its format and size in CSS pixels."""

    fig: Any
    fmt: Literal["png", "svg"]
    width: int = 1100
    height: int = 650
    scale: float = 1.0

    def spec(self) -> dict[str, Any]:
        """The kaleido figure spec (plotly's ``to_image`` sends the same)."""
        import plotly.io as pio

        fig = self.fig if isinstance(self.fig, dict) else self.fig.to_dict()
        return {"fig": fig, "opts": {"format": self.fmt, "width": self.width,
                                     "height": self.height, "scale": self.scale},
                "topojson": pio.defaults.topojson}


def _kaleido_class() -> type:
    import kaleido

    class WarmKaleido(kaleido.Kaleido):  # type: ignore[misc, name-defined]
        """Kaleido whose tabs are reloaded every ``RELOAD_EVERY`` images instead of each one."""

        _uses: dict[int, int]

        async def _return_kaleido_tab(self, tab: Any) -> None:  # kaleido 1.x hook
            uses = getattr(self, "_uses", None)
            if uses is None:
                uses = self._uses = {}
            count = uses.get(id(tab), 0) + 1
            if count >= RELOAD_EVERY:
                await tab.reload()
                count = 0
            uses[id(tab)] = count
            await self.tabs_ready.put(tab)

        async def reload_all(self) -> None:
            """Reload every idle tab (after a failure: a clean page for the next image)."""
            tabs = [await self.tabs_ready.get() for _ in range(self.tabs_ready.qsize())]
            for tab in tabs:
                await tab.reload()
                self._uses[id(tab)] = 0
                await self.tabs_ready.put(tab)

    return WarmKaleido


class Renderer:
    """One Chromium with ``tabs`` kaleido tabs, driven by a private event loop thread."""

    def __init__(self, tabs: int) -> None:
        if not os.environ.get("BROWSER_PATH") and DEFAULT_BROWSER.exists():
            os.environ["BROWSER_PATH"] = str(DEFAULT_BROWSER)
        self.tabs = tabs
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="ocsge-chart-renderer")
        self.thread.start()
        self.kaleido: Any = None
        self.ready: Future[Any] = asyncio.run_coroutine_threadsafe(self._open(), self.loop)
        atexit.register(self.close)  # Chromium ends with the process

    async def _open(self) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.kaleido = _kaleido_class()(n=self.tabs, timeout=RENDER_TIMEOUT_S)
            await self.kaleido.open()
        self.kaleido._uses = {}
        return self.kaleido

    def _run(self, coroutine: Any, timeout: float) -> Any:
        self.ready.result(timeout=START_TIMEOUT_S)
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=timeout)

    def render(self, jobs: Sequence[ImageJob]) -> list[bytes]:
        """Render every job (concurrently on the tabs), in the order given."""
        specs = [job.spec() for job in jobs]

        async def run() -> list[bytes]:
            try:
                return list(await asyncio.gather(*(
                    self.kaleido.calc_fig(s["fig"], opts=s["opts"], topojson=s["topojson"])
                    for s in specs)))
            except BaseException:
                await self.kaleido.reload_all()
                raise

        return self._run(run(), RENDER_TIMEOUT_S * max(1, len(jobs)))

    def pdf(self, url: str, timeout_s: float) -> bytes:
        """Print a page (``file://`` URL) to PDF in a fresh tab of this browser."""

        async def run() -> bytes:
            tab = await self.kaleido.create_tab("")
            try:
                loaded = tab.subscribe_once("Page.loadEventFired")
                await tab.send_command("Page.enable")
                answer = await tab.send_command("Page.navigate", params={"url": url})
                if "error" in answer or answer.get("result", {}).get("errorText"):
                    raise RuntimeError(f"navigation failed: {answer}")
                await loaded
                answer = await tab.send_command("Page.printToPDF", params=PDF_PARAMS)
                if "error" in answer:
                    raise RuntimeError(f"printToPDF failed: {answer['error']}")
                return base64.b64decode(answer["result"]["data"])
            finally:
                await self.kaleido.close_tab(tab.target_id)

        return self._run(run(), timeout_s)

    def close(self) -> None:
        """Close the browser and stop the loop (best effort, once)."""
        atexit.unregister(self.close)
        if not self.loop.is_running():
            return
        try:
            self.ready.result(timeout=START_TIMEOUT_S)
            asyncio.run_coroutine_threadsafe(self.kaleido.close(), self.loop).result(20)
        except Exception as err:  # closing a broken browser: nothing more to do
            logger.debug("renderer close: %s", err)
        self.loop.call_soon_threadsafe(self.loop.stop)


_lock = threading.Lock()
_renderer: Renderer | None = None


def renderer() -> Renderer:
    """The process's renderer, started on first use (non-blocking: start-up runs in its thread)."""
    global _renderer
    with _lock:
        if _renderer is None:
            _renderer = Renderer(default_tabs())
        return _renderer


def prewarm() -> None:
    """Start the browser in the background (no wait); errors surface at the first render."""
    try:
        renderer()
    except Exception as err:  # no event loop/thread: the first render will say why
        logger.debug("renderer prewarm failed: %s", err)


def _drop(failed: Renderer) -> None:
    global _renderer
    with _lock:
        if _renderer is failed:
            _renderer = None
    threading.Thread(target=failed.close, daemon=True).start()


def render_images(jobs: Sequence[ImageJob]) -> list[bytes]:
    """Render images with the warm renderer, concurrently, in the order given.

    Raises:
        Exception: kaleido's or Chromium's error (the renderer is then closed, and the next
            call starts a fresh one).
    """
    if not jobs:
        return []
    current = renderer()
    try:
        return current.render(jobs)
    except Exception:
        _drop(current)  # a crashed or hung browser is not reused: the next call starts one
        raise


def print_pdf(url: str, timeout_s: float) -> bytes:
    """Print a ``file://`` page to PDF in the warm browser.

    Raises:
        Exception: the browser could not print (the caller may fall back to a Chromium run).
    """
    current = renderer()
    try:
        return current.pdf(url, timeout_s)
    except Exception:
        _drop(current)
        raise
