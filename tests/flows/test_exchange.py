"""exchange_matrix / exchange_chain on a small store written through the Store API."""

from __future__ import annotations

import logging

import pytest

from ocsge_engine.errors import MillesimeError
from ocsge_engine.flows import exchange_chain, exchange_matrix


@pytest.mark.parametrize("by", ["anf", "cs4", "us3", "cs_us", "imper"])
@pytest.mark.parametrize("source", ["overlay", "diff", "auto"])
def test_store_matrix_matches_hand_computed(flow_store, territory, expected, by, source):
    matrix = exchange_matrix(flow_store, territory, 2015, 2018, by=by, source=source)
    got = {(r.code_from, r.code_to): r.area_ha for r in matrix.table.itertuples()}
    assert got == pytest.approx(expected[by], rel=1e-9)
    assert matrix.source == ("diff" if source == "diff" else "overlay")


def test_auto_reports_disagreement_between_paths(flow_store, territory, caplog):
    with caplog.at_level(logging.INFO, logger="ocsge_engine.flows.exchange"):
        matrix = exchange_matrix(flow_store, territory, 2015, 2018, by="anf")
    assert matrix.disagreement is not None
    assert set(matrix.disagreement.columns) >= {"code_from", "code_to", "area_ha",
                                                "area_ha_other", "delta_ha"}
    assert matrix.max_disagreement_ha() == pytest.approx(0.0, abs=1e-9)
    assert "largest cell disagreement 0.000 ha" in caplog.text
    # No DIFF layer for 2018->2021: overlay only, nothing to compare.
    assert exchange_matrix(flow_store, territory, 2018, 2021).disagreement is None


def test_chain_of_three_millesimes(flow_store, territory):
    first, second = exchange_chain(flow_store, territory, [2015, 2018, 2021], by="anf")
    assert (first.year_from, first.year_to, second.year_from, second.year_to) == (2015, 2018, 2018, 2021)
    # B2 (0.4 ha agricole after clipping) gets built between 2018 and 2021.
    assert second.pivot().loc["agricole", "artificialise"] == pytest.approx(0.4)
    assert second.stocks_from.to_dict() == pytest.approx(first.stocks_to.to_dict())
    assert second.stocks_to["artificialise"] == pytest.approx(0.75)


@pytest.mark.parametrize(("years", "message"), [
    ((2018, 2015), "inverted"), ((2015, 2015), "inverted"), ((2012, 2018), "millesime 2012 absent"),
    ((2015, 2024), "no diff layer 2015_2024"),
])
def test_bad_millesimes_raise(flow_store, territory, years, message):
    with pytest.raises(MillesimeError, match=message) as info:
        exchange_matrix(flow_store, territory, *years)
    assert info.value.user_message  # French message for the user


def test_forced_sources_need_their_layers(flow_store, territory):
    with pytest.raises(MillesimeError, match="2018_2021"):
        exchange_matrix(flow_store, territory, 2018, 2021, source="diff")
    with pytest.raises(MillesimeError, match="at least 2 increasing"):
        exchange_chain(flow_store, territory, [2018, 2015])
