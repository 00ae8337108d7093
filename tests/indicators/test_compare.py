"""Peer rankings on toy sets."""

from __future__ import annotations

import pandas as pd

from ocsge_engine.indicators import rank_by_distance, rank_by_population


def test_rank_by_distance_toy() -> None:
    xy = pd.DataFrame({"x": [0, 3, -1, 0, 10], "y": [0, 4, 0, 2, 10]},
                      index=["t", "a", "b", "c", "d"])
    assert rank_by_distance("t", xy, 3) == ["b", "c", "a"]  # distances 1, 2, 5
    assert rank_by_distance("t", xy, 8) == ["b", "c", "a", "d"]


def test_rank_by_population_log_scale() -> None:
    pops = pd.Series({"t": 1000, "half": 500, "double": 2000, "near": 1200, "tiny": 10, "zero": 0})
    ranked = rank_by_population("t", pops, 5)
    assert ranked[0] == "near"
    assert set(ranked[1:3]) == {"half", "double"}  # |ln 2| either way
    assert ranked[-1] == "tiny" and "zero" not in ranked
