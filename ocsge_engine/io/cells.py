"""Spreadsheet formula neutralisation for CSV and XLSX exports (OWASP "CSV injection").

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return may be run as
a formula by a spreadsheet (``=HYPERLINK(…)``, ``=cmd|' /C calc'!A0``). Exports prefix such
texts with an apostrophe, as OWASP recommends, in the cells and in the column names. Numbers stay
numbers (``-12.5`` is a float, untouched), and so does a text that is a plain signed number
(``"-12,5"``, ``"+3 %"``): a spreadsheet reads it as a number, never as a formula.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "csv_text", "neutralise", "neutralise_frame"]

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9][0-9\s\u202f\u00a0.,]*\s?%?")


def neutralise(value: Any) -> Any:
    """One cell made inert: a risky text gets a leading apostrophe; anything else is returned.

    >>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("@SUM(A1)"), neutralise(-3.5)
    ('\\'=HYPERLINK("http://x")', "'@SUM(A1)", -3.5)
    >>> neutralise("-12,5"), neutralise("-1+2"), neutralise("CS2.2.1")
    ('-12,5', "'-1+2", 'CS2.2.1')
    """
    if (isinstance(value, str) and value.startswith(FORMULA_PREFIXES)
            and not _PLAIN_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with risky text cells and column names neutralised.

    Only object/string columns are scanned; numeric, boolean and date columns are kept as they
    are (same dtypes).
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            out[column] = series.map(neutralise)
    if not isinstance(out.columns, pd.MultiIndex):
        out.columns = [neutralise(c) for c in out.columns]
    return out


def _no_bare_cr(value: Any) -> Any:
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def csv_text(frame: pd.DataFrame, **kwargs: Any) -> str:
    """CSV text of ``frame`` (no index, ``\\n`` line ends) where no cell can split a row.

    Python 3.11's csv writer quotes a cell holding the line terminator (``\\n``) but not a bare
    carriage return, which Excel and LibreOffice read as a row break. Carriage returns in text
    cells are written as ``\\n`` (so the cell is quoted and stays one cell); other keyword
    arguments go to :meth:`pandas.DataFrame.to_csv`.

    >>> csv_text(pd.DataFrame({"a": ["x\\ry", "z"]}))
    'a\\n"x\\ny"\\nz\\n'
    """
    out = frame
    text_positions = [i for i, dtype in enumerate(frame.dtypes)
                      if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)]
    if text_positions:
        out = frame.copy()
        for i in text_positions:
            out.isetitem(i, out.iloc[:, i].map(_no_bare_cr))
    if not isinstance(out.columns, pd.MultiIndex):
        out = out.set_axis([_no_bare_cr(c) for c in out.columns], axis=1)
    kwargs.setdefault("index", False)
    kwargs.setdefault("lineterminator", "\n")
    return out.to_csv(**kwargs)
