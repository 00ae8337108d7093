"""Exchange matrices of the official artificialisation status (the figures layer's flows).

Flux shows its « familles » (agricole / naturel / forestier / artificialisé) and « artificialisé
ou non » levels from these matrices, so that the hectares « naturel → artificialisé » of a
Sankey are the ones of the Portrait and of the Artificialisation page: the decree matrix **and**
its 2 500 m² / 50 m² thresholds, applied to each millésime's stock (rules §2–§4). The couple
levels (CS, US, CS×US) stay the plain overlay, which has no status to threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ocsge_engine.flows.levels import class_order

if TYPE_CHECKING:
    from ocsge_engine.flows.matrix import ExchangeMatrix
    from ocsge_engine.portrait.figures import PortraitFigures

__all__ = ["OFFICIAL_LEVELS", "official_matrix"]

OFFICIAL_LEVELS: tuple[str, ...] = ("anf", "artif")
_ARTIFICIAL = "artificialise"


def _status_of_family(family: Any) -> str:
    return _ARTIFICIAL if family == _ARTIFICIAL else "non_artificialise"


def official_matrix(figures: PortraitFigures, by: str) -> ExchangeMatrix:
    """The A/N/F (``"anf"``) or artificialised/not (``"artif"``) matrix of the official status.

    Args:
        figures: the territory's figures (:func:`~ocsge_engine.portrait.portrait_figures`).
        by: ``"anf"`` or ``"artif"``.

    Returns:
        An :class:`~ocsge_engine.flows.matrix.ExchangeMatrix` whose « artificialisé » gains,
        losses and stocks are the figures layer's gross gain, de-artificialisation and stock.

    Raises:
        ValueError: ``by`` is not one of :data:`OFFICIAL_LEVELS`.
    """
    from ocsge_engine.flows.matrix import ExchangeMatrix

    if by not in OFFICIAL_LEVELS:
        raise ValueError(f"official matrices exist for {OFFICIAL_LEVELS}; got {by!r}")
    families = figures.family_matrix()
    if by == "anf":
        return families
    table = families.table.assign(code_from=families.table["code_from"].map(_status_of_family),
                                  code_to=families.table["code_to"].map(_status_of_family))
    table = table.groupby(["code_from", "code_to"], as_index=False)["area_ha"].sum()
    order = class_order([_ARTIFICIAL, "non_artificialise"], "artif")
    rank = {code: i for i, code in enumerate(order)}
    table = table.sort_values(["code_from", "code_to"], key=lambda s: s.map(rank),
                              ignore_index=True)
    table = table[table["area_ha"] > 0].reset_index(drop=True)

    def stocks(series: pd.Series) -> pd.Series:
        return series.groupby(series.index.map(_status_of_family)).sum().reindex(order,
                                                                                fill_value=0.0)

    return ExchangeMatrix(table, "artif", families.year_from, families.year_to, families.source,
                          stocks(families.stocks_from), stocks(families.stocks_to))
