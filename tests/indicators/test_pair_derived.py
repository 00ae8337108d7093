"""Results derived from one pair (matrices, fluxes, sprawl) are computed once and shared.

A 100 m × 100 m town (CS1.1.1.1 × US5) whose field neighbour [100,130]×[0,100] (3,000 m² ≥
2,500 m², official thresholds) becomes a road in 2018; the rest is field.
"""

from __future__ import annotations

import pytest

from indicator_shapes import box, layer
from ocsge_engine.indicators import flux_from_pair, sprawl_from_pair
from ocsge_engine.indicators.artif import NO_THRESHOLDS
from ocsge_engine.indicators.pair import pair_from_layers

FIELD, TOWN, ROAD = ("CS2.2.1", "US1.1"), ("CS1.1.1.1", "US5"), ("CS1.1.1.2", "US4.1.1")


def _pair():
    town, new, rest = box(0, 0, 100, 100), box(100, 0, 130, 100), box(130, 0, 400, 100)
    y2015 = layer([(town, *TOWN), (new, *FIELD), (rest, *FIELD)])
    y2018 = layer([(town, *TOWN), (new, *ROAD), (rest, *FIELD)])
    return pair_from_layers(y2015, y2018, 2015, 2018)


def test_matrix_flux_and_sprawl_are_computed_once_per_pair_and_arguments() -> None:
    pair = _pair()
    assert pair.matrix("cs4") is pair.matrix("cs4")
    assert pair.matrix("anf") is not pair.matrix("cs4")
    artif = flux_from_pair(pair)
    assert artif.gross_gain_ha == pytest.approx(0.3)  # the road, 3,000 m²
    assert flux_from_pair(pair, "artif", "decree") is artif
    raw = flux_from_pair(pair, thresholds=NO_THRESHOLDS)
    assert raw is not artif and raw.thresholds is None and raw.gross_gain_ha == pytest.approx(0.3)
    imper = flux_from_pair(pair, "imper")
    assert imper is not artif and flux_from_pair(pair, "imper", "cs1.1") is imper
    assert imper.gross_gain_ha == pytest.approx(0.3)  # CS1.1.1.2 is impermeable
    sprawl = sprawl_from_pair(pair, artif)
    assert sprawl_from_pair(pair, artif) is sprawl
    assert sprawl.new_area_ha == pytest.approx(0.3) and sprawl.contiguous_share == 1.0
    # another artificialisation object (even equal) gets its own sprawl
    other = sprawl_from_pair(pair, raw)
    assert other is not sprawl and other.new_area_ha == pytest.approx(0.3)
    # a new pair of the same layers starts afresh, with equal results
    again = _pair()
    assert flux_from_pair(again) is not artif
    assert flux_from_pair(again).gross_gain_ha == artif.gross_gain_ha
