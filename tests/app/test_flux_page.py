"""Flux page: the flows table (a section sent once opened) equals the engine's exchange matrix;
the URL restores territory, years, level."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ocsge_engine.flows import exchange_matrix
from ocsge_engine.fmt import cell
from ocsge_engine.portrait import portrait_figures
from ocsge_engine.portrait.matrices import OFFICIAL_LEVELS, official_matrix
from ocsge_engine.store import Store
from ocsge_engine.territories import resolve_territory
from tests.app.conftest import static_charts

PARAMS = {"territoire": "commune:33529", "de": "2015", "a": "2018"}


def _engine_table(store_dir: Path, territory: str, by: str) -> pd.DataFrame:
    """The engine's flows: the official status (figures layer) for the family and artif levels."""
    if by in OFFICIAL_LEVELS:
        figures = portrait_figures(Store.open(store_dir), resolve_territory(territory), 2015, 2018)
        return official_matrix(figures, by).table.reset_index(drop=True)
    matrix = exchange_matrix(Store.open(store_dir), territory, 2015, 2018, by=by)  # type: ignore[arg-type]
    return matrix.table.reset_index(drop=True)


def _flows_shown(at) -> pd.DataFrame:
    """The flows table, in its section sent once opened (opened here as a click would)."""
    if "flux_table_open" not in at.session_state or not at.session_state["flux_table_open"]:
        assert not at.dataframe  # closed: not sent
        at.session_state["flux_table_open"] = True
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at.dataframe[0].value


def _assert_same_flows(shown: pd.DataFrame, expected: pd.DataFrame) -> None:
    """The page's French table (codes, then hectares to 0,01 with a decimal comma) = the engine."""
    assert list(shown["Code 2015"]) == list(expected["code_from"])
    assert list(shown["Code 2018"]) == list(expected["code_to"])
    assert list(shown["Surface (ha)"]) == [cell(v, "ha") for v in expected["area_ha"]]
    assert all("," in v and "." not in v for v in shown["Surface (ha)"])


@pytest.mark.parametrize("level", ["cs2", "artif"])
def test_deep_link_restores_level_and_table_equals_engine(open_app, app_store: Path,
                                                          level: str) -> None:
    at = open_app("pages/flux.py", niveau=level, **PARAMS)
    assert at.title[0].value == "Flux : La Teste-de-Buch"
    assert at.selectbox(key="flux_by").value == level
    assert at.session_state["years"] == (2015, 2018)
    _assert_same_flows(_flows_shown(at), _engine_table(app_store, "commune:33529", level))
    assert dict(at.query_params) == {**PARAMS, "niveau": level}
    assert len(static_charts(at)) == 2 and not at.get("plotly_chart")  # Sankey + heat map, static
    assert "fond synthétique" in at.info[0].value


def test_switching_level_updates_table_and_url(open_app, app_store: Path) -> None:
    at = open_app("pages/flux.py", **PARAMS)
    assert at.selectbox(key="flux_by").value == "anf"
    anf = _engine_table(app_store, "commune:33529", "anf")
    _assert_same_flows(_flows_shown(at), anf)
    # One figure, one definition: the hectares that became artificialised in the families Sankey
    # are the figures layer's gross artificialisation (the Portrait's and Artificialisation's).
    became = anf[(anf["code_to"] == "artificialise") & (anf["code_from"] != "artificialise")]
    figures = portrait_figures(Store.open(app_store), resolve_territory("commune:33529"), 2015, 2018)
    assert became["area_ha"].sum() == pytest.approx(
        figures["artificialisation.gross_gain_ha"].value, abs=1e-9)
    assert any("mesure officielle" in c.value for c in at.caption)
    at.selectbox(key="flux_by").set_value("us1").run()
    _assert_same_flows(_flows_shown(at), _engine_table(app_store, "commune:33529", "us1"))
    assert at.query_params["niveau"] == "us1"


def test_bad_level_in_url_falls_back_to_families(open_app) -> None:
    at = open_app("pages/flux.py", niveau="nimporte", **PARAMS)
    assert at.selectbox(key="flux_by").value == "anf"
    assert at.query_params["niveau"] == "anf"


def test_territory_without_data_warns_in_french(open_app) -> None:
    at = open_app("pages/flux.py", territoire="commune:34172")  # Montpellier: not in the demo
    assert not at.dataframe
    assert "pas deux millésimes" in at.warning[0].value


def test_replaced_partition_is_seen_on_the_next_rerun(open_app, app_store: Path,
                                                      demo_store_dir: Path) -> None:
    """A partition replaced while the server runs (a corrected delivery, ``ingest --force``)
    shows at the next run: the page caches are dropped when the catalogue changes."""
    import shutil

    for name in ("catalog.duckdb", "layers"):  # a private copy: this test writes to it
        (app_store / name).unlink()
        copy = shutil.copytree if (demo_store_dir / name).is_dir() else shutil.copy2
        copy(demo_store_dir / name, app_store / name)
    at = open_app("pages/flux.py", niveau="cs2", **PARAMS)
    before = _flows_shown(at)
    _assert_same_flows(before, _engine_table(app_store, "commune:33529", "cs2"))
    store = Store.open(app_store)
    layer = store.read_layer("occupation_sol", "33", 2018)
    store.write_layer(layer.assign(code_cs="CS1.1.1.1"), layer="occupation_sol",
                      departement="33", millesime=2018, source_file="corrigee.gpkg",
                      source_sha256="1" * 64)
    at.run()
    assert not at.exception
    after = _flows_shown(at)
    # every 2018 polygon is now built: all flows end in CS1.1, as the engine now says
    assert set(after["Code 2018"]) == {"CS1.1"}
    _assert_same_flows(after, _engine_table(app_store, "commune:33529", "cs2"))
    assert not after.equals(before)
