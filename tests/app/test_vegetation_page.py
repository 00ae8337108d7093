"""Végétation page: the figures shown are the CLI's ``indicators`` vegetation block, formatted.

The expectation comes from the CLI (``indicators --format json`` on the same store), not from the
page's own call: each metric must show that JSON value through ``Figure.display``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ocsge_engine import cli, fmt
from ocsge_engine.indicators.vegetation import vegetation
from ocsge_engine.report.vegetation import vegetation_sentence
from ocsge_engine.store import Store

ARCACHON = "commune:33009"


def test_vegetation_page_shows_the_cli_figures(open_app: Callable[..., AppTest], app_store: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-q", "indicators", "--store", str(app_store), "--territory", ARCACHON,
                     "--from", "2015", "--to", "2018", "--format", "json"]) == 0
    block = json.loads(capsys.readouterr().out)["vegetation"]
    at = open_app("pages/vegetation.py", territoire=ARCACHON, de="2015", a="2018")
    assert at.title[0].value == "Végétation : Arcachon"
    assert "fond synthétique" in at.info[0].value  # synthetic background stated
    result = vegetation(Store.open(app_store), ARCACHON, 2015, 2018)
    assert result.to_dict() == block  # the page's engine call is the CLI's block
    shown = {m.label: m.value for m in at.metric}
    tree = block["classes"]["tree"]
    expected = {
        "Couvert arboré en 2018": tree["stock_to_ha"],
        "Couvert arboré : pertes 2015–2018": tree["loss_ha"],
        "Couvert arboré : gains 2015–2018": tree["gain_ha"],
        "Couvert arboré : solde net 2015–2018": tree["net_ha"],
        "Nature en ville en 2018": block["urban_nature"]["stock_to_ha"],
    }
    for label, value in expected.items():
        fig = next(f for f in result.figures() if f.label == label)
        assert fig.value == pytest.approx(value, abs=1e-9)
        text = fig.with_value(value).display(signed=fig.key.endswith("net_ha")).replace("-", "−")
        assert shown[label] == text, label
    assert shown["Couvert arboré : solde net 2015–2018"].startswith("−")  # Arcachon lost trees
    share = block["urban_nature"]["share_to"]
    assert shown["Nature en ville : part des espaces urbains en 2018"] == (
        f"{100 * share:.1f}\u202f%".replace(".", ","))
    sentence = vegetation_sentence(result, "commune")
    assert sentence.startswith("Entre 2015 et 2018, la commune a perdu ")
    assert any(md.value == sentence for md in at.markdown)
    # the neighbour comparison lists Arcachon first, with its own figures (a closed section,
    # sent once opened)
    table = _comparison_shown(at)
    assert table.iloc[0]["Commune"] == "Arcachon" and len(table) > 1
    assert table.iloc[0]["Couvert arboré (part)"] == f"{100 * tree['share_to']:.1f}\u202f%".replace(
        ".", ",")
    # map and charts drawn without error; every chart has its downloads
    assert not at.exception
    keys = {b.key for b in at.get("download_button")}
    assert keys == {f"vegetation_{chart}_{ext}" for chart in ("stocks", "changes", "sankey",
                                                             "compare")
                    for ext in ("png", "svg", "csv", "xlsx")}



def _comparison_shown(at: AppTest) -> pd.DataFrame:
    """The neighbours' table, in its closed section: not sent until opened (opened here as a
    click would)."""
    assert not any("Couvert arboré (part)" in df.value.columns for df in at.dataframe)
    at.session_state["vegetation_compare_open"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return next(df.value for df in at.dataframe if "Couvert arboré (part)" in df.value.columns)


def _shown(at: AppTest) -> tuple[dict[str, str], pd.DataFrame, str]:
    metrics = {m.label: m.value for m in at.metric}
    table = _comparison_shown(at)
    caption = next(c.value for c in at.caption if c.value.startswith("Végétation 2018 colorée"))
    return metrics, table, caption


def _no_overlay(*args: object, **kwargs: object) -> None:
    raise AssertionError("the page overlaid a pair the batch had precomputed")


def test_page_from_the_batch_objects_shows_the_on_the_fly_figures(
        open_app: Callable[..., AppTest], app_store: Path, national_app_store: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Same metrics, comparison and map counts whether the page reads the batch or computes."""
    from ocsge_engine.batch.pages import stored_object
    from ocsge_engine.indicators import pair as pair_module
    from ocsge_engine.indicators.pair import load_pair
    from ocsge_engine.maps import light_polygons
    from ocsge_engine.maps.vegetation import vegetated, vegetation_changes
    from ocsge_engine.territories import resolve_territory

    monkeypatch.setenv("OCSGE_STORE_DIR", str(national_app_store))  # app_store was set last
    st.cache_data.clear()
    st.cache_resource.clear()
    store = Store.open(national_app_store)
    territory = resolve_territory(ARCACHON)
    stored = stored_object(store, territory, 2015, 2018, "vegetation")
    assert stored is not None  # the page below reads the batch's objects
    assert vegetation(store, ARCACHON, 2015, 2018) is stored
    with monkeypatch.context() as patch:  # no layer is read nor overlaid: all comes stored
        patch.setattr(pair_module, "_read_pair", _no_overlay)
        at = open_app("pages/vegetation.py", territoire=ARCACHON, de="2015", a="2018")
    assert not at.error, [e.value for e in at.error]
    metrics, table, caption = _shown(at)
    # the same page where nothing is precomputed (demo store without national results)
    monkeypatch.setenv("OCSGE_STORE_DIR", str(app_store))
    st.cache_data.clear()
    st.cache_resource.clear()
    fly_metrics, fly_table, fly_caption = _shown(open_app("pages/vegetation.py",
                                                          territoire=ARCACHON, de="2015",
                                                          a="2018"))
    assert metrics == fly_metrics and len(metrics) >= 9
    pd.testing.assert_frame_equal(table, fly_table)
    assert table["Commune"].tolist()[0] == "Arcachon" and len(table) == 6
    assert caption == fly_caption
    # the counts are those of the engine's layers computed on the fly
    pair = load_pair(Store.open(app_store), territory, 2015, 2018)
    n_light = len(light_polygons(vegetated(pair.layer_to)))  # as the page drew it before
    n_changes = len(vegetation_changes(pair))
    assert f"({n_light} polygones" in caption and f"({n_changes} zones)" in caption


def test_all_figures_section_is_built_once_opened(open_app: Callable[..., AppTest]) -> None:
    """The closed « Tous les chiffres » section costs nothing until opened, then lists them all."""
    at = open_app("pages/vegetation.py", territoire=ARCACHON, de="2015", a="2018")
    columns = [list(df.value.columns) for df in at.dataframe]
    assert ["Indicateur", "Valeur", "Source"] not in columns
    at.session_state["vegetation_all_open"] = True  # what a click on the expander does
    at.run()
    table = next(df.value for df in at.dataframe
                 if list(df.value.columns) == ["Indicateur", "Valeur", "Source"])
    result = vegetation(Store.open(os.environ["OCSGE_STORE_DIR"]), ARCACHON, 2015, 2018)
    assert table["Indicateur"].tolist() == [f.label for f in result.figures()]


def test_gains_and_losses_by_couple_are_built_once_opened(
        open_app: Callable[..., AppTest]) -> None:
    """The closed section by couple: no table until opened; then the tree cover's gains and
    losses by CS × US couple, which add up to the engine's gain and loss of that class."""
    at = open_app("pages/vegetation.py", territoire=ARCACHON, de="2015", a="2018")
    assert not any(list(df.value.columns) == ["Couverture", "Usage", "Surface"]
                   for df in at.dataframe)
    at.session_state["vegetation_where_open"] = True  # what a click on the expander does
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="vegetation_class").value == "tree"
    tables = [df.value for df in at.dataframe
              if list(df.value.columns) == ["Couverture", "Usage", "Surface"]]
    result = vegetation(Store.open(os.environ["OCSGE_STORE_DIR"]), ARCACHON, 2015, 2018)
    tree = result.classes["tree"]
    expected = [t for t in (tree.gains_from, tree.losses_to) if not t.empty]
    assert len(tables) == len(expected) >= 1
    for shown, engine in zip(tables, expected):
        assert shown["Surface"].tolist() == [fmt.hectares(a) for a in engine["area_ha"]]
    assert tree.loss_ha == pytest.approx(float(tree.losses_to["area_ha"].sum()), abs=1e-9)
