"""Pages draw their charts first as static SVG views (no plotly.js for a page to open), the
interactive chart one toggle away, showing the same figure."""

from __future__ import annotations

import json
import re

import pytest

from tests.app.conftest import chart_count, static_charts

LA_TESTE = {"territoire": "commune:33529", "de": "2015", "a": "2018"}


@pytest.mark.parametrize("page", ["pages/portrait.py", "pages/flux.py",
                                  "pages/artificialisation.py", "pages/processus.py",
                                  "pages/trajectoire.py", "pages/vegetation.py",
                                  "pages/comparer.py", "pages/croiser.py",
                                  "pages/classements.py"])
def test_first_view_draws_no_plotly_chart(open_app, page: str) -> None:
    at = open_app(page, **LA_TESTE)
    assert chart_count(at) >= 1
    assert not at.get("plotly_chart"), page  # every chart of the first view is static


def _values(svg: str, css: str) -> list[float]:
    return sorted(float(v) for v in re.findall(rf'class="{css}"[^>]*data-value="([^"]+)"', svg))


def test_toggle_draws_the_same_sankey_interactive(open_app) -> None:
    at = open_app("pages/flux.py", **LA_TESTE)
    sankey, heatmap = static_charts(at)
    assert 'data-kind="sankey"' in sankey and 'data-kind="heatmap"' in heatmap
    toggle = at.toggle(key="flux_sankey_interactive")
    assert toggle.label == "Graphique interactif" and toggle.value is False
    toggle.set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    plotly = at.get("plotly_chart")
    assert len(plotly) == 1 and static_charts(at) == [heatmap]  # that chart only
    links = json.loads(plotly[0].proto.spec)["data"][0]["link"]
    # the static view drew every flow of the interactive figure, each with its own area
    assert _values(sankey, "sankey-link") == sorted(links["value"])
    at.toggle(key="flux_sankey_interactive").set_value(False).run()
    assert static_charts(at) == [sankey, heatmap] and not at.get("plotly_chart")
