"""The CS×US matrix of décret n° 2023-1096 as a table, for display and export.

Reads ``data/reference/artificialisation_matrix.csv`` (one row per CS×US couple: ``code_cs``,
``code_us``, ``artificialise_matrice`` 0/1, ``impermeable`` 0/1, ``note``), the same table the
classifiers of :mod:`ocsge_engine.nomenclature` apply. Rules and sources:
``data/reference/artificialisation_rules.md``.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import pandas as pd

from ocsge_engine import nomenclature as nom
from ocsge_engine.config import get_settings

logger = logging.getLogger(__name__)

MATRIX_FILE = "artificialisation_matrix.csv"


@lru_cache(maxsize=1)
def _matrix_rows() -> pd.DataFrame:
    path = get_settings().data_dir / "reference" / MATRIX_FILE
    return pd.read_csv(path, dtype={"code_cs": str, "code_us": str, "note": str},
                       keep_default_na=False)


def coded_label(code: str) -> str:
    """``"CS1.1.1.1 Zones bâties"``: the code and its nomenclature label.

    >>> coded_label("US1.1")[:6]
    'US1.1 '
    """
    try:
        return f"{code} {nom.label(code)}"
    except KeyError:
        return code


def decree_matrix(column: str = "artificialise_matrice", labels: bool = True) -> pd.DataFrame:
    """The matrix as a wide boolean table: one row per CS code, one column per US code.

    Args:
        column: ``"artificialise_matrice"`` (artificialised status) or ``"impermeable"``.
        labels: index and columns as :func:`coded_label` (``False``: bare codes).

    Returns:
        A DataFrame of booleans, rows and columns in the nomenclature order of the file.
    """
    rows = _matrix_rows()
    wide = rows.pivot(index="code_cs", columns="code_us", values=column).astype(bool)
    wide = wide.loc[list(dict.fromkeys(rows["code_cs"])), list(dict.fromkeys(rows["code_us"]))]
    if labels:
        wide = wide.rename(index=coded_label, columns=coded_label)
    wide.index.name, wide.columns.name = "couverture", "usage"
    return wide

