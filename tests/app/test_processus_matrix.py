"""Processus page: its couple-level matrix is the national batch's (the one Flux reads), never
an overlay when the batch has it, and its Sankey carries the engine's process flows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ocsge_engine.flows as flows_package
import ocsge_engine.flows.exchange as exchange
from ocsge_engine.flows import exchange_matrix
from ocsge_engine.flows.processes import process_flows
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory
from tests.app.conftest import interactive

LA_TESTE = {"territoire": "commune:33529", "de": "2015", "a": "2018"}
COBAN = "epci:243301504"  # CA du Bassin d'Arcachon Nord: the sum of its communes' matrices


def _no_overlay(*args: object, **kwargs: object) -> None:
    raise AssertionError("the page overlaid a pair the batch had precomputed")


def _links(at) -> list[float]:  # type: ignore[no-untyped-def]
    sankey = json.loads(interactive(at).get("plotly_chart")[0].proto.spec)["data"][0]
    assert sankey["type"] == "sankey"
    return sorted(sankey["link"]["value"])


def test_processus_reads_the_batch_matrix_and_shows_the_engine_flows(
        open_app, national_app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:  # the batch holds the pair: nothing is overlaid
        patch.setattr(exchange, "exchange_matrix", _no_overlay)
        patch.setattr(flows_package, "exchange_matrix", _no_overlay)
        at = open_app("pages/processus.py", **LA_TESTE)
        epci = open_app("pages/processus.py", territoire=COBAN, de="2015", a="2018")
    for page in (at, epci):
        assert not page.exception and not page.error, [e.value for e in page.error]
    # the engine's flows on the same store, overlaid here: family -> process -> family links
    matrix = exchange_matrix(Store.open(national_app_store), get_territory(LA_TESTE["territoire"]),
                             2015, 2018, by="cs_us")
    flows = process_flows(matrix)
    moved = flows[flows["process"] != "stable"]
    left = moved.groupby(["family_from", "process"])["area_ha"].sum()
    right = moved.groupby(["process", "family_to"])["area_ha"].sum()
    expected = sorted(v for v in [*left, *right] if v > 0)
    assert _links(at) == pytest.approx(expected, rel=1e-9)
    assert sum(left) > 50  # La Teste changed tens of hectares between 2015 and 2018
    assert len(_links(epci)) > 0


def test_changes_to_check_are_listed_once_opened(open_app, national_app_store: Path) -> None:
    """The list of changes to check is a closed section: its count and area are said; the
    table, sent once opened, holds the engine's implausible transitions (same rows, same area
    to the hundredth of a hectare)."""
    from ocsge_engine.fmt import cell
    from ocsge_engine.indicators.pseudo_change import pseudo_change

    at = open_app("pages/processus.py", **LA_TESTE)
    expected = pseudo_change(exchange_matrix(Store.open(national_app_store),
                                             get_territory(LA_TESTE["territoire"]), 2015, 2018,
                                             by="cs_us")).implausible
    assert len(expected) > 0  # the real SYBARVAL changes hold implausible transitions here
    n = len(expected)
    said = f"{n} transition{'s' * (n > 1)} invraisemblable{'s' * (n > 1)}"
    assert any(c.value.startswith(said) for c in at.caption), [c.value for c in at.caption]
    assert not at.dataframe  # closed: not sent
    at.session_state["processus_suspect_open"] = True  # what a click on the expander does
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert len(table) == n
    assert table["Surface (ha)"].tolist() == [cell(v, "ha") for v in expected["area_ha"]]
