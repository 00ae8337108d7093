"""Server warm-up (pages/_warmup.py) and light pages: the warm-up fills the caches shared by every
commune with the values the pages would compute, survives a failing step, starts once per server
from app.py, and Prédire / Processus open without importing torch or scipy.signal."""

from __future__ import annotations

import ast
import gc
import logging
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ocsge_engine.flows import processes
from ocsge_engine.indicators.local_data import population_table
from ocsge_engine.store import Store
from pages import _shared as shared
from pages import _warmup as warmup

REPO_ROOT = Path(__file__).resolve().parents[2]
OpenApp = Callable[..., AppTest]


@pytest.fixture
def quiet_steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No Chromium and no torch import in the test process (both are tested elsewhere); the heap
    frozen by the warm-up is given back to the collector afterwards."""
    monkeypatch.setattr(warmup, "_chart_renderer", lambda: None)
    monkeypatch.setattr(warmup, "MODEL_MODULES", ())
    yield
    gc.unfreeze()


def test_off_in_tests_and_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not warmup.enabled()  # tests/conftest.py
    assert warmup.start() is None
    assert not any(t.name == warmup.THREAD_NAME for t in threading.enumerate())
    for value, on in (("1", True), ("", True), ("0", False), ("off", False), ("False", False)):
        monkeypatch.setenv(warmup.ENV, value)
        assert warmup.enabled() is on, value
    monkeypatch.delenv(warmup.ENV)
    assert warmup.enabled()  # on by default for the server


def test_page_modules_are_the_pages_engine_imports() -> None:
    modules = warmup.page_modules()
    assert "ocsge_engine.charts.typology" in modules  # Processus
    assert "ocsge_engine.inference.ondemand" in modules  # Prédire
    assert "geopandas" in modules
    assert not any(m.split(".")[0] in ("pages", "streamlit", "__future__") for m in modules)
    # a component package imported outside a script run left Signaler's map blank for 60 s
    assert "streamlit_folium" not in modules
    assert "from streamlit_folium import" in (warmup.PAGES_DIR / "signaler.py").read_text()


def test_warmup_imports_load_no_component_package() -> None:
    """Importing every warm-up module in a fresh process never imports streamlit_folium."""
    code = ("import sys, importlib; from pages import _warmup as w; "
            "[importlib.import_module(m) for m in (*w.page_modules(), *w.EXTRA_MODULES)]; "
            "print('streamlit_folium' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=warmup.PAGES_DIR.parent, check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr


def test_warmup_imports_resolve_the_lazy_map_package() -> None:
    """``ocsge_engine.maps`` imports its names on first use: the warm-up's import of the pages'
    modules still loads the map builders, folium and leafmap (about 2 s a page would pay)."""
    code = ("import sys; from pages import _warmup as w; import ocsge_engine.maps; "
            "before = sorted({'folium', 'leafmap'} & set(sys.modules)); "
            "w._import_all(['ocsge_engine.maps']); "
            "print(before, sorted({'folium', 'leafmap', 'ocsge_engine.maps.folium_map'} "
            "& set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=warmup.PAGES_DIR.parent, check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == (
        "[] ['folium', 'leafmap', 'ocsge_engine.maps.folium_map']"), out.stdout + out.stderr


def test_warmup_fills_the_shared_caches_with_the_pages_values(
        app_store: Path, quiet_steps: None, monkeypatch: pytest.MonkeyPatch) -> None:
    processes.default_process_table.cache_clear()
    gc.unfreeze()
    timings = warmup.run()
    assert list(timings) == [name for name, _ in warmup.steps()]  # every step ran, none failed
    # the objects of the imports and caches left the collector's walks (runner.postScriptGC off)
    assert gc.get_freeze_count() > 100_000
    assert processes.default_process_table.cache_info().currsize == 1
    # the cached values are served without computing again (the engine now raises) …
    import ocsge_engine.batch.figures as batch_figures
    import ocsge_engine.territories as territories

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("computed again: the warm-up did not fill this cache")

    monkeypatch.setattr(batch_figures, "communes_indicators", boom)
    monkeypatch.setattr(territories, "communes_table", boom)
    served = shared.cached_communes_indicators(2015, 2018)
    options = shared.cached_territory_options()
    monkeypatch.undo()
    # … and are what the pages would compute
    expected = batch_figures.communes_indicators(Store.open(app_store), 2015, 2018)
    pd.testing.assert_frame_equal(served, expected)
    assert len(served) == 17  # the SYBARVAL communes
    assert options["commune:33529"] == "La Teste-de-Buch · 33529"
    assert len(population_table(shared.cached_territory(shared.DEFAULT_TERRITORY)))


def test_a_failing_step_is_logged_and_skipped(app_store: Path, quiet_steps: None,
                                              monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(warmup, "_process_table", broken)
    monkeypatch.setattr(warmup, "_communes_indicators", lambda: None)  # fast: not under test
    with caplog.at_level(logging.WARNING, logger="ocsge_app.warmup"):
        timings = warmup.run()
    assert "process table" not in timings
    assert {"territory list", "population table", "chart types"} <= set(timings)  # later steps ran
    assert "warm-up step 'process table' failed: OSError: disk gone" in caplog.text


def test_app_starts_the_warmup_once_per_server(open_app: OpenApp,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ran = threading.Event()
    calls: list[str] = []

    def fake_run() -> dict[str, float]:
        calls.append(threading.current_thread().name)
        ran.set()
        return {}

    monkeypatch.setenv(warmup.ENV, "1")
    monkeypatch.setattr(warmup, "run", fake_run)
    open_app(territoire="commune:33009")
    assert ran.wait(30)
    open_app("pages/croiser.py", territoire="commune:33009")  # a second session, same server
    thread = warmup._start_once()  # noqa: SLF001 - the one cached thread
    thread.join(30)
    assert calls == [warmup.THREAD_NAME]


LIGHT_PAGES = """
import sys
from streamlit.testing.v1 import AppTest
for page, heavy in (("pages/predire.py", ("torch",)),
                    ("pages/processus.py", ("torch", "scipy.signal", "scipy.stats"))):
    at = AppTest.from_file("app.py", default_timeout=300)
    at.query_params.update({"territoire": "commune:33009", "de": "2015", "a": "2018"})
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, page
    print(page, sorted(m for m in heavy if m in sys.modules))
"""


def test_predire_and_processus_open_without_torch_or_scipy_signal(app_store: Path) -> None:
    """A fresh process opens Prédire and Processus (typology off) without those imports."""
    proc = subprocess.run([sys.executable, "-c", LIGHT_PAGES], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines()[-2:] == ["pages/predire.py []", "pages/processus.py []"]


def test_processus_uses_the_validated_default_table_when_unedited(
        open_app: OpenApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unedited editor gives back the default table's CSV: no second validation."""
    default = processes.default_process_table()
    validated: list[object] = []
    real = processes.read_process_table

    def counting(source: object) -> processes.ProcessTable:
        validated.append(source)
        return real(source)  # type: ignore[arg-type]

    monkeypatch.setattr(processes, "read_process_table", counting)
    at = open_app("pages/processus.py", territoire="commune:33009", de="2015", a="2018")
    assert validated == []
    # the page's totals are those of the default table
    from ocsge_engine.flows import exchange_matrix
    from ocsge_engine.territories import get_territory

    matrix = exchange_matrix(shared.get_store(), get_territory("commune:33009"), 2015, 2018,
                             by="cs_us")
    totals = processes.process_totals(matrix, default)
    changed = float(totals.loc[totals["process"] != "stable", "area_ha"].sum())
    from ocsge_engine.charts.style import fr_ha

    assert any(c.value.startswith(f"{fr_ha(changed)} ont changé entre 2015 et 2018")
               for c in at.caption)


def test_page_scripts_compiled_into_the_server_script_cache(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """On a server, every page script is in Streamlit's script cache after the warm-up."""
    from types import SimpleNamespace

    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    cache = ScriptCache()
    monkeypatch.setattr(Runtime, "exists", classmethod(lambda cls: True))
    monkeypatch.setattr(Runtime, "instance", classmethod(lambda cls: SimpleNamespace(
        _script_cache=cache)))
    warmup._compile_pages()  # noqa: SLF001
    compiled = {Path(p).name for p in cache._cache}  # noqa: SLF001
    assert {"predire.py", "processus.py", "croiser.py", "portrait.py"} <= compiled
    assert not any(name.startswith("_") for name in compiled)


def test_torch_only_with_an_installed_model_and_chromium_waited_for(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from concurrent.futures import Future
    from types import SimpleNamespace

    import ocsge_engine.inference.ondemand as ondemand
    from ocsge_engine.charts import render

    imported: list[tuple[str, ...]] = []
    monkeypatch.setattr(warmup, "_import_all", lambda modules: imported.append(tuple(modules)))
    monkeypatch.setattr(ondemand, "available_models", lambda: {})
    with caplog.at_level(logging.INFO, logger="ocsge_app.warmup"):
        warmup._model_imports()  # noqa: SLF001
    assert imported == [] and "torch not imported" in caplog.text
    monkeypatch.setattr(ondemand, "available_models", lambda: {"card.yaml": "FLAIR"})
    warmup._model_imports()  # noqa: SLF001
    assert imported == [("torch", "ocsge_engine.inference.model")]
    # Chromium: the step waits for the renderer and reports a browser that cannot start
    broken: Future[object] = Future()
    broken.set_exception(FileNotFoundError("chromium"))
    monkeypatch.setattr(render, "prewarm", lambda: None)
    monkeypatch.setattr(render, "renderer", lambda: SimpleNamespace(ready=broken))
    with pytest.raises(FileNotFoundError):
        warmup._chart_renderer()  # noqa: SLF001 (run() logs it and goes on)


def test_pages_need_no_magic_and_the_server_skips_its_per_run_collection() -> None:
    """``runner.magicEnabled = false`` may only change nothing: no page or app statement is a bare
    expression that « magic » would have written (only calls and docstrings stand alone)."""
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"] == {"magicEnabled": False, "postScriptGC": False}
    scripts = [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "pages").glob("*.py"))]
    assert len(scripts) > 15
    bare = []
    for path in scripts:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            blocks = [getattr(node, field, None) for field in ("body", "orelse", "finalbody")]
            statements = [(i, stmt, block is blocks[0]) for block in blocks
                          if isinstance(block, list) for i, stmt in enumerate(block)]
            for i, stmt, in_body in statements:
                if not isinstance(stmt, ast.Expr) or isinstance(stmt.value, (ast.Call, ast.Await)):
                    continue
                docstring = (in_body and i == 0 and isinstance(stmt.value, ast.Constant)
                             and isinstance(stmt.value.value, str)
                             and isinstance(node, (ast.Module, ast.FunctionDef,
                                                   ast.AsyncFunctionDef, ast.ClassDef)))
                if not docstring:
                    bare.append(f"{path.name}:{stmt.lineno}")
    assert bare == []
