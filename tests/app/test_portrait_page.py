"""Portrait (home) page: the figures shown are the CLI's, no data shows no figure.

The expected values are the ``indicators --format json`` output of the CLI on the same demo
store (one figure, one definition): the page must show them at its displayed rounding.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ocsge_engine import fmt
from ocsge_engine.report.summary import change_sentence
from ocsge_engine.portrait import portrait_figures
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory

REPO = Path(__file__).resolve().parents[2]


def _cli_json(store: Path, territory: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "ocsge_engine", "-q", "indicators", "--store", str(store),
         "--territory", territory, "--from", "2015", "--to", "2018", "--format", "json"],
        capture_output=True, text=True, cwd=REPO, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("code", ["33005", "33236"])
def test_portrait_metrics_equal_cli_json(open_app, app_store: Path, code: str) -> None:
    at = open_app(territoire=f"commune:{code}", de="2015", a="2018")
    cli = _cli_json(app_store, f"commune:{code}")
    metrics = {m.label: m.value for m in at.metric}
    net = cli["artificialisation"]["net_ha"]
    net_label = next(label for label in metrics if label.startswith("Artificialisation nette"))
    assert metrics[net_label] == fmt.hectares(net, signed=True)
    per_new = cli["per_inhabitant"]["net_m2_per_new_inhabitant"]
    assert metrics["m² artificialisés (nets) par nouvel habitant"] == fmt.with_unit(
        per_new, "m²/hab", 0)
    # the CLI block and the figures block are the same numbers
    assert cli["figures"]["artificialisation.net_ha"]["value"] == pytest.approx(net, abs=1e-9)
    assert cli["synthetic"] is True and "synthétique" in cli["source"]
    figures = portrait_figures(Store.open(app_store), get_territory(f"commune:{code}"), 2015, 2018)
    assert any(change_sentence(figures) in m.value for m in at.markdown)
    # the four answers: artificialisation, neighbours (link to Comparer), ZAN, per inhabitant
    text = " ".join(m.value for m in at.markdown)
    assert "voisines" in text and "Trajectoire ZAN" in text
    assert "None" not in text and "nan" not in text.split()


def test_andernos_zan_says_no_data_after_2018(open_app) -> None:
    at = open_app(territoire="commune:33005", de="2015", a="2018")
    text = " ".join(m.value for m in at.markdown)
    # the SYBARVAL series stops in 2018 (data/reference/sybarval_2009_2018): no "0 ha consumed"
    assert "pas de données après 2018" in text
    assert "0,00\u202fha" not in text.split("consommé")[-1][:40]


def test_territory_outside_the_store_shows_no_figure(open_app) -> None:
    at = open_app(territoire="commune:33063", de="2015", a="2018")  # Bordeaux, not in the demo
    warnings = " ".join(w.value for w in at.warning)
    assert "non couvert" in warnings
    assert not at.metric  # no confident zero
    shown = " ".join(m.value for m in at.markdown)
    assert "0,0\u202f%" not in shown and "+0,00" not in shown


def test_unknown_territory_shows_french_error_and_falls_back(open_app) -> None:
    at = open_app(territoire="commune:99999")
    assert any("introuvable" in e.value.lower() for e in at.error)
    assert at.title[0].value.startswith("La Teste-de-Buch")  # default territory, app still up


def test_epci_portrait_from_its_communes_sums_shows_the_computed_figures(
        open_app, app_store: Path, national_app_store: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """COBAN on the batched store is the sum of its 8 communes' rows; on the plain store it is
    overlaid: the page shows the same figures and the same sentence either way."""
    import streamlit as st

    from ocsge_engine.batch.pages import summed_figures

    epci = get_territory("epci:243301504")
    assert summed_figures(Store.open(national_app_store), epci, 2015, 2018) is not None
    assert summed_figures(Store.open(app_store), epci, 2015, 2018) is None  # no batch there
    shown = []
    for store in (national_app_store, app_store):
        monkeypatch.setenv("OCSGE_STORE_DIR", str(store))
        st.cache_data.clear()
        st.cache_resource.clear()
        at = open_app(territoire=epci.id, de="2015", a="2018")
        assert not at.error, [e.value for e in at.error]
        shown.append(({m.label: m.value for m in at.metric},
                      [m.value for m in at.markdown if "artificialis" in m.value]))
    assert shown[0] == shown[1]
    metrics = shown[0][0]
    net = next(label for label in metrics if label.startswith("Artificialisation nette"))
    figures = portrait_figures(Store.open(app_store), epci, 2015, 2018)  # the overlay's
    assert metrics[net] == fmt.hectares(figures["artificialisation.net_ha"].value, signed=True)
