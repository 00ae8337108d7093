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

__all__ = ["FORMULA_PREFIXES", "neutralise", "neutralise_frame"]

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
