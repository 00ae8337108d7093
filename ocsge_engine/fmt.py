"""French formatting of figures for people: comma decimals, narrow no-break spaces, units, "—".

One helper for every page, chart, table and export (``docs/DESIGN.md``). Pure functions, no
Streamlit. Values that are missing (``None``, NaN) are shown as « — », never ``None``/``nan``.
"""

from __future__ import annotations

import math
from typing import Any

NNBSP = "\u202f"  # narrow no-break space (thousands, before % and units)
MISSING = "—"

# Unit → default decimals when none is given.
_DECIMALS: dict[str, int] = {"ha": 2, "%": 1, "m²": 0, "m²/hab": 0, "m²/hab/an": 0, "hab": 0,
                             "hab/km²": 0, "km²": 2, "": 1, "ha/an": 2}


def is_missing(value: Any) -> bool:
    """True for ``None``, NaN and pandas' NA."""
    if value is None:
        return True
    try:
        return bool(math.isnan(value))
    except (TypeError, ValueError):
        return False


def number(value: Any, decimals: int = 1, signed: bool = False) -> str:
    """French number: decimal comma, narrow no-break space between thousands.

    >>> number(12345.678)
    '12\u202f345,7'
    >>> number(-0.004, 2)
    '0,00'
    >>> number(2.5, 1, signed=True), number(None)
    ('+2,5', '—')
    """
    if is_missing(value):
        return MISSING
    value = float(value)
    if round(value, decimals) == 0:
        value = 0.0  # no "-0,00"
    text = f"{value:{'+' if signed and value != 0 else ''},.{decimals}f}"
    return text.replace(",", NNBSP).replace(".", ",")


def with_unit(value: Any, unit: str, decimals: int | None = None, signed: bool = False) -> str:
    """A number with its unit (``%`` takes a share 0..1 when ``unit == "%"``).

    >>> with_unit(1234.5, "ha", 1)
    '1\u202f234,5\u202fha'
    >>> with_unit(0.1234, "%")
    '12,3\u202f%'
    >>> with_unit(None, "ha")
    '—'
    """
    if is_missing(value):
        return MISSING
    places = _DECIMALS.get(unit, 1) if decimals is None else decimals
    shown = 100 * float(value) if unit == "%" else value
    text = number(shown, places, signed)
    return f"{text}{NNBSP}{unit}" if unit else text


def hectares(value: Any, signed: bool = False) -> str:
    """Hectares, two decimals under 10 ha, one above.

    >>> hectares(0.256), hectares(1234.5)
    ('0,26\u202fha', '1\u202f234,5\u202fha')
    """
    if is_missing(value):
        return MISSING
    return with_unit(value, "ha", 2 if abs(float(value)) < 10 else 1, signed)


def percent(share: Any, decimals: int = 1) -> str:
    """A share (0..1) as a French percentage.

    >>> percent(0.1234)
    '12,3\u202f%'
    """
    return with_unit(share, "%", decimals)
