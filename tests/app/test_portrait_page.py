"""Portrait page: the figures shown equal the engine's, the deep link restores the view."""

from __future__ import annotations

from pathlib import Path

from ocsge_engine.charts.style import fr_ha, fr_percent
from ocsge_engine.indicators.portrait import portrait_figures
from ocsge_engine.report.summary import change_sentence
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory


def test_portrait_metrics_equal_engine(open_app, app_store: Path) -> None:
    at = open_app(territoire="commune:33236", de="2015", a="2018")
    figures = portrait_figures(Store.open(app_store), get_territory("commune:33236"), 2015, 2018)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Superficie"] == fr_ha(figures.area_ha)
    assert metrics["Part artificialisée (2018)"] == fr_percent(figures.artificialised_share)
    # Same numbers as the Artificialisation page: IGN fields or decree matrix with thresholds.
    assert figures.method == "decree_matrix_official_thresholds"
    assert 0 < figures.artificialised_share < 1
    net = figures.net_artificialisation_ha
    assert metrics["Artificialisation nette 2015–2018"] == ("+" if net >= 0 else "−") + fr_ha(
        abs(net))
    assert metrics["Population (2023)"] == f"{figures.population[2023]:,}".replace(",", " ")
    assert any(change_sentence(figures) in m.value for m in at.markdown)
    assert at.title[0].value == "Portrait : Lège-Cap-Ferret"
    assert "fond synthétique" in at.info[0].value


def test_unknown_territory_shows_french_error_and_falls_back(open_app) -> None:
    at = open_app(territoire="commune:99999")
    assert any("introuvable" in e.value.lower() for e in at.error)
    assert at.title[0].value == "Portrait : La Teste-de-Buch"  # default territory, app still up
