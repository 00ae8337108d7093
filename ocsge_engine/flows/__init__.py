"""Exchange matrices between millésimes (see docs/DESIGN.md).

``exchange_matrix(store, territory, year_from, year_to, by=...)`` reads the store; the pure
functions ``exchange_matrix_from_layers`` (exact overlay) and ``exchange_matrix_from_diff``
(IGN DIFF layer) compute on in-memory GeoDataFrames.
"""

from ocsge_engine.flows.diff import exchange_matrix_from_diff, transitions_from_diff
from ocsge_engine.flows.exchange import exchange_chain, exchange_matrix
from ocsge_engine.flows.levels import BY_VALUES, By, all_classes, class_order, classify
from ocsge_engine.flows.matrix import (
    ExchangeMatrix,
    FlowCheckError,
    Transitions,
    build_matrix,
    class_stocks,
    compare_matrices,
    couple_stocks,
)
from ocsge_engine.flows.overlay import (
    exchange_matrix_from_layers,
    identical_pairs,
    overlay_pieces,
    transitions_from_layers,
)

__all__ = [
    "BY_VALUES", "By", "ExchangeMatrix", "FlowCheckError", "Transitions", "all_classes",
    "build_matrix", "class_order", "class_stocks", "classify", "compare_matrices",
    "couple_stocks", "exchange_chain", "exchange_matrix", "exchange_matrix_from_diff",
    "exchange_matrix_from_layers", "identical_pairs", "overlay_pieces", "transitions_from_diff",
    "transitions_from_layers",
]
