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


# ---------------------------------------------------------------------------------------------
# Tables: French column labels with units, French cells ("—" for missing)
# ---------------------------------------------------------------------------------------------

# Raw column name → (French label, unit). The unit goes in the header, not in each cell; "%"
# columns hold shares 0..1 shown as percentages. Columns not listed keep their name, with a unit
# guessed from their suffix (:func:`column_unit`).
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "code": ("Code", ""), "name": ("Nom", ""), "nom": ("Nom", ""), "role": ("Rôle", ""),
    "libelle": ("Libellé", ""), "label_fr": ("Libellé", ""),
    "libelle_cs": ("Couverture", ""), "libelle_us": ("Usage", ""),
    "libelle_cs_from": ("Couverture de départ", ""),
    "libelle_cs_to": ("Couverture d'arrivée", ""),
    "libelle_us_from": ("Usage de départ", ""), "libelle_us_to": ("Usage d'arrivée", ""),
    "libelle_famille": ("Famille (libellé)", ""),
    "code_from": ("Code de départ", ""), "code_to": ("Code d'arrivée", ""),
    "libelle_from": ("Classe de départ", ""), "libelle_to": ("Classe d'arrivée", ""),
    "code_cs": ("Code CS", ""), "code_us": ("Code US", ""),
    "code_cs_from": ("CS de départ", ""), "code_us_from": ("US de départ", ""),
    "code_cs_to": ("CS d'arrivée", ""), "code_us_to": ("US d'arrivée", ""),
    "code_cs_current": ("CS actuelle", ""), "code_us_current": ("US actuelle", ""),
    "code_cs_proposed": ("CS proposée", ""), "code_us_proposed": ("US proposée", ""),
    "from_family": ("Famille de départ", ""), "to_family": ("Famille d'arrivée", ""),
    "family_from": ("Famille de départ", ""), "family_to": ("Famille d'arrivée", ""),
    "famille": ("Famille", ""), "process": ("Processus", ""), "rule": ("Règle", ""),
    "regle": ("Règle", ""), "commune": ("Code INSEE", ""), "departement": ("Département", ""),
    "territory_id": ("Territoire", ""), "id": ("Identifiant", ""),
    "polygon_id": ("Polygone", ""), "status": ("Statut", ""), "comment": ("Commentaire", ""),
    "created_at": ("Créé le", ""), "territoire": ("Territoire", ""), "source": ("Source", ""),
    "available": ("Données OCS GE", ""), "complete": ("Couverture complète", ""),
    "rank": ("Rang", "n"), "year": ("Année", "year"), "millesime": ("Millésime", "year"),
    "year_from": ("Millésime de départ", "year"), "year_to": ("Millésime d'arrivée", "year"),
    "population_year": ("Année de population", "year"), "pixels": ("Pixels", "n"),
    "population": ("Population", "hab"), "pop_stock": ("Population", "hab"),
    "area_ha": ("Surface", "ha"), "territory_ha": ("Surface", "ha"),
    "covered_ha": ("Surface couverte", "ha"), "area_m2": ("Surface", "m²"),
    "area_ha_other": ("Surface (autre source)", "ha"), "delta_ha": ("Écart", "ha"),
    "artif_stock_ha": ("Surface artificialisée", "ha"),
    "gross_gain_ha": ("Artificialisation brute", "ha"),
    "gross_loss_ha": ("Désartificialisation", "ha"),
    "gain_ha": ("Gain", "ha"), "loss_ha": ("Perte", "ha"), "net_ha": ("Solde net", "ha"),
    "artif_net_ha": ("Artificialisation nette", "ha"),
    "net_m2_per_ha": ("Artificialisation nette par ha de commune", "m²/ha"),
    "artif_m2_per_inhabitant": ("Surface artificialisée par habitant", "m²/hab"),
    "net_m2_per_inhabitant": ("Artificialisation nette par habitant", "m²/hab"),
    "density_per_km2": ("Densité", "hab/km²"), "artif_share": ("Part artificialisée", "%"),
    "share": ("Part", "%"), "coverage_share": ("Couverture", "%"),
    "stock_from_ha": ("Stock de départ", "ha"), "stock_to_ha": ("Stock d'arrivée", "ha"),
    "observed_ha": ("Consommation", "ha"), "observed_cumulative_ha": ("Cumul observé", "ha"),
    "projected_cumulative_ha": ("Cumul projeté", "ha"),
    "target_cumulative_ha": ("Objectif cumulé", "ha"),
    "a_verifier_ha": ("À vérifier", "ha"), "value": ("Valeur", ""),
    "net_m2_per_new_inhabitant": ("Artificialisation nette par nouvel habitant", "m²/hab"),
    "artif_net_share": ("Artificialisation nette rapportée à la surface", "%"),
}
# Suffix → unit, for columns missing from COLUMN_LABELS (longest suffix first).
_SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_m2_per_inhabitant", "m²/hab"), ("_m2_per_ha", "m²/ha"), ("_per_km2", "hab/km²"),
    ("_share", "%"), ("_ha", "ha"), ("_m2", "m²"), ("_km2", "km²"), ("_m", "m"),
)
# Unit → decimals of a table cell (display) and of an exported value (analysts: finer).
_TABLE_DECIMALS: dict[str, int] = {"ha": 2, "%": 1, "m²": 0, "m²/ha": 1, "m²/hab": 1,
                                   "hab": 0, "hab/km²": 1, "km²": 2, "m": 0, "n": 0, "": 2}
EXPORT_DECIMALS: dict[str, int] = {"ha": 4, "%": 2, "m²": 1, "m²/ha": 2, "m²/hab": 2, "hab": 0,
                                   "hab/km²": 2, "km²": 4, "m": 1, "n": 0, "": 4}
YES, NO = "oui", "non"


def column_unit(name: str) -> str:
    """Unit of a raw column (``"ha"``, ``"%"``, ``"year"``…; ``""`` when unknown).

    >>> column_unit("gross_gain_ha"), column_unit("coverage_share"), column_unit("rule")
    ('ha', '%', '')
    """
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name][1]
    return next((unit for suffix, unit in _SUFFIX_UNITS if name.endswith(suffix)), "")


def column_label(name: str, label: str | None = None) -> str:
    """French header of a raw column, with its unit in brackets.

    Args:
        name: raw column name (``net_m2_per_ha``).
        label: French label overriding :data:`COLUMN_LABELS` (the unit is still added).

    >>> column_label("net_m2_per_ha")
    'Artificialisation nette par ha de commune (m²/ha)'
    >>> column_label("area_ha", "Surface 2018"), column_label("year"), column_label("autre")
    ('Surface 2018 (ha)', 'Année', 'autre')
    """
    text = label or COLUMN_LABELS.get(name, (name, ""))[0]
    unit = column_unit(name)
    return f"{text} ({unit})" if unit and unit not in ("year", "n") else text


def cell(value: Any, unit: str = "", decimals: int | None = None) -> str:
    """One table cell in French: number without its unit (the header has it), "—" if missing.

    Shares (``unit == "%"``) are shown ×100; years without a thousands separator; booleans as
    « oui » / « non »; text unchanged.

    >>> cell(1067.642, "ha"), cell(0.5, "%"), cell(2018, "year"), cell(None, "ha"), cell(True)
    ('1\u202f067,64', '50,0', '2018', '—', 'oui')
    """
    if is_missing(value):
        return MISSING
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return YES if value else NO
    if isinstance(value, str):
        return value if value.strip() else MISSING
    if unit == "year":
        return str(int(value))
    if hasattr(value, "strftime"):  # dates and timestamps
        return str(value.strftime("%d/%m/%Y %H:%M" if hasattr(value, "hour") else "%d/%m/%Y"))
    try:
        number_value = float(value)
    except (TypeError, ValueError):
        return str(value)
    places = _TABLE_DECIMALS.get(unit, 2) if decimals is None else decimals
    return number(100 * number_value if unit == "%" else number_value, places)


def french_table(table: Any, columns: Any = None) -> Any:
    """A table for people: French headers with units, French cells, "—" for missing values.

    Args:
        table: a pandas DataFrame with raw column names (``gross_gain_ha``, ``rule``…).
        columns: which columns, in which order: a sequence of raw names, or a mapping
            ``{raw name: French label}`` overriding :data:`COLUMN_LABELS` (the unit is added
            from the raw name); ``None`` keeps every column.

    Returns:
        A new DataFrame of strings (same row order, fresh 0..n index).

    >>> import pandas as pd
    >>> t = pd.DataFrame({"rule": ["r1", None], "gross_gain_ha": [1067.642, float("nan")]})
    >>> french_table(t).to_dict("list")
    {'Règle': ['r1', '—'], 'Artificialisation brute (ha)': ['1\u202f067,64', '—']}
    """
    import pandas as pd

    wanted = dict(columns) if isinstance(columns, dict) else \
        {name: None for name in (table.columns if columns is None else columns)}
    out: dict[str, list[str]] = {}
    for name, label in wanted.items():
        header = _unique(column_label(name, label), name, out)
        out[header] = [cell(v, column_unit(name)) for v in table[name]]
    return pd.DataFrame(out, columns=list(out))


def _unique(header: str, name: str, taken: Any) -> str:
    """``header``, or ``header [name]`` when another column already has that header."""
    return header if header not in taken else f"{header} [{name}]"


def export_table(table: Any, columns: Any = None) -> Any:
    """A table for a CSV/XLSX download: French headers with units, numbers rounded, codes kept.

    Numbers stay numbers (rounded per unit, :data:`EXPORT_DECIMALS`; shares become
    percentages), so a spreadsheet can compute with them; missing values stay empty.

    Args:
        table: a pandas DataFrame with raw column names.
        columns: as in :func:`french_table`.

    Returns:
        A new DataFrame.

    >>> import pandas as pd
    >>> export_table(pd.DataFrame({"code": ["CS1.1"], "area_ha": [2317.666123456]})).to_dict("list")
    {'Code': ['CS1.1'], 'Surface (ha)': [2317.6661]}
    """
    import pandas as pd

    wanted = dict(columns) if isinstance(columns, dict) else \
        {name: None for name in (table.columns if columns is None else columns)}
    out = {}
    for name, label in wanted.items():
        unit, values = column_unit(name), table[name]
        if pd.api.types.is_bool_dtype(values):
            values = values.map({True: YES, False: NO})
        elif pd.api.types.is_numeric_dtype(values) and unit != "year":
            scaled = values.astype(float) * (100 if unit == "%" else 1)
            values = scaled.round(EXPORT_DECIMALS.get(unit, 4))
            if unit in ("n", "hab") and not values.isna().any():
                values = values.astype("int64")
        out[_unique(column_label(name, label), name, out)] = list(values)
    return pd.DataFrame(out, columns=list(out))


def parse_number(text: str) -> float | None:
    """Read back a number written by :func:`number` or :func:`cell` (``None`` for « — »).

    >>> parse_number("1\u202f067,64"), parse_number("—")
    (1067.64, None)
    """
    if text.strip() in (MISSING, ""):
        return None
    return float(text.replace(NNBSP, "").replace("\xa0", "").replace(" ", "").replace(",", "."))


_MARKDOWN_SPECIALS = frozenset("\\`*_{}[]()#+-.!|~$<>:&=\"'")


def markdown_text(text: object) -> str:
    """A text shown literally inside Streamlit Markdown (captions, bold lines).

    Every Markdown/LaTeX/shortcode character gets a backslash, so a source label or a file name
    that came from outside (``ingest-conso --source``, an uploaded file's name) cannot render an
    image, a link, a formula or a colour; control characters become spaces.

    >>> markdown_text("![x](http://evil/i.png) :red[a] $x$")
    '\\\\!\\\\[x\\\\]\\\\(http\\\\://evil/i\\\\.png\\\\) \\\\:red\\\\[a\\\\] \\\\$x\\\\$'
    >>> markdown_text("Cerema (fichiers fonciers)")
    'Cerema \\\\(fichiers fonciers\\\\)'
    """
    out = []
    for ch in str(text):
        if ch in _MARKDOWN_SPECIALS:
            out.append("\\" + ch)
        elif ch in "\r\n\t" or ord(ch) < 32:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)
