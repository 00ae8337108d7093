"""Végétation page: the figures shown are the CLI's ``indicators`` vegetation block, formatted.

The expectation comes from the CLI (``indicators --format json`` on the same store), not from the
page's own call: each metric must show that JSON value through ``Figure.display``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ocsge_engine import cli
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
    # the neighbour comparison lists Arcachon first, with its own figures
    table = next(df.value for df in at.dataframe if "Couvert arboré (part)" in df.value.columns)
    assert table.iloc[0]["Commune"] == "Arcachon" and len(table) > 1
    assert table.iloc[0]["Couvert arboré (part)"] == f"{100 * tree['share_to']:.1f}\u202f%".replace(
        ".", ",")
    # map and charts drawn without error; every chart has its downloads
    assert not at.exception
    keys = {b.key for b in at.get("download_button")}
    assert keys == {f"vegetation_{chart}_{ext}" for chart in ("stocks", "changes", "sankey",
                                                             "compare")
                    for ext in ("png", "svg", "csv", "xlsx")}

