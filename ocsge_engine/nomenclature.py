"""CNIG nomenclature of OCS GE: couverture (CS) and usage (US) codes.

CS has 23 codes (14 leaves, levels 1-4), US has 24 codes (20 leaves, levels 1-3), read from
``data/reference/ocsge_couverture.csv`` and ``ocsge_usage.csv`` (official French labels and
colours). This module normalises the code variants met in real deliveries, rolls any code up to
any level, and classifies CS×US couples, vectorised over pandas Series:

* artificialised by the CS×US matrix of décret n° 2023-1096 (``artificialisation_rules.md`` §3);
* impermeable (CS1.1.1.1 or CS1.1.1.2, §5);
* the four families ``artificialise``, ``agricole``, ``forestier``, ``naturel`` (§6). The A/N/F
  split is a team heuristic, not a regulatory figure: anything showing it must say it is an estimate.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

from ocsge_engine.config import get_settings
from ocsge_engine.errors import UnknownCodeError

logger = logging.getLogger(__name__)

Kind = Literal["cs", "us"]
Family = Literal["artificialise", "agricole", "forestier", "naturel"]

FAMILIES: tuple[str, ...] = ("artificialise", "agricole", "forestier", "naturel")
FAMILY_LABELS: dict[str, str] = {
    "artificialise": "Artificialisé",
    "agricole": "Agricole",
    "forestier": "Forestier",
    "naturel": "Naturel",
}
FAMILY_COLORS: dict[str, str] = {
    "artificialise": "#E6004D",
    "agricole": "#F2D16B",
    "forestier": "#2E7D32",
    "naturel": "#8FD16A",
}
# Binary classes (artif / imper levels of the flows engine).
BINARY_LABELS: dict[str, dict[str, str]] = {
    "artif": {"artificialise": "Artificialisé", "non_artificialise": "Non artificialisé"},
    "imper": {"impermeable": "Imperméable", "permeable": "Non imperméable"},
}
BINARY_COLORS: dict[str, str] = {
    "artificialise": "#E6004D",
    "non_artificialise": "#8FD16A",
    "impermeable": "#FF377A",
    "permeable": "#CCF24D",
}

IMPERMEABLE_CS: frozenset[str] = frozenset({"CS1.1.1.1", "CS1.1.1.2"})
_ARTIF_CS_ALWAYS = frozenset({"CS1.1.1.1", "CS1.1.1.2", "CS1.1.2.2"})
_ARTIF_HERBACEOUS_CS = frozenset({"CS2.2.1", "CS2.2.2"})
_ARTIF_HERBACEOUS_US_PREFIXES = ("US2", "US3", "US5", "US235", "US4", "US6.1", "US6.2")
_AGRICOLE_US = frozenset({"US1.1", "US1.4"})
_FORESTIER_US = frozenset({"US1.2"})

MAX_LEVEL: dict[str, int] = {"cs": 4, "us": 3}

# US level-1 codes that are leaves (production secondaire, tertiaire, résidentiel and v1.1 US235).
_CODE_RE = re.compile(r"^(CS|US)?\s*([0-9]+(?:\.[0-9]+)*)$")
# Variants of "unknown usage" seen in real deliveries (v1.1 SYBARVAL: INDETERMINE).
_US_UNKNOWN_ALIASES = frozenset({"INDETERMINE", "INDÉTERMINÉ", "INCONNU", "NC"})


@dataclass(frozen=True)
class Nomenclature:
    """One nomenclature (CS or US) as an indexed table.

    Attributes:
        kind: ``"cs"`` or ``"us"``.
        table: DataFrame indexed by code with ``parent_code``, ``level``, ``label_fr``,
            ``label_en``, ``color_hex`` (filled for every code) and ``is_leaf``.
    """

    kind: str
    table: pd.DataFrame

    @property
    def codes(self) -> list[str]:
        """All codes, in table order."""
        return list(self.table.index)

    @property
    def leaves(self) -> list[str]:
        """Leaf codes, in table order."""
        return list(self.table.index[self.table["is_leaf"]])

    def ancestors(self, code: str) -> list[str]:
        """Return ``code`` and its ancestors, from the code up to its level-1 root.

        >>> get_nomenclature("cs").ancestors("CS2.2.1")
        ['CS2.2.1', 'CS2.2', 'CS2']
        """
        chain = [code]
        parent = self.table.at[code, "parent_code"]
        while isinstance(parent, str) and parent:
            chain.append(parent)
            parent = self.table.at[parent, "parent_code"]
        return chain


def _load_table(kind: Kind) -> pd.DataFrame:
    path = get_settings().reference_dir / f"ocsge_{'couverture' if kind == 'cs' else 'usage'}.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False).set_index("code")
    table["level"] = table["level"].astype(int)
    parents = set(table["parent_code"]) - {""}
    table["is_leaf"] = ~table.index.isin(parents)
    table["color_hex"] = [_fill_color(table, code) for code in table.index]
    return table


def _fill_color(table: pd.DataFrame, code: str) -> str:
    """Give a colourless parent code the colour of its first coloured descendant."""
    color = table.at[code, "color_hex"]
    if color:
        return str(color)
    children = table.index[table["parent_code"] == code]
    for child in children:
        found = _fill_color(table, child)
        if found:
            return found
    return "#999999"


@lru_cache(maxsize=2)
def get_nomenclature(kind: Kind) -> Nomenclature:
    """Return the CS or US nomenclature (cached).

    Args:
        kind: ``"cs"`` or ``"us"``.
    """
    if kind not in ("cs", "us"):
        raise ValueError(f"kind must be 'cs' or 'us', got {kind!r}")
    return Nomenclature(kind, _load_table(kind))


def _normalize_one(raw: object, kind: Kind) -> str | None:
    """Return the canonical code for one raw value, or ``None`` when it is not a code."""
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return None
    text = str(raw).strip().upper().replace(",", ".")
    if kind == "us" and text in _US_UNKNOWN_ALIASES:
        return "US6.6"
    match = _CODE_RE.match(text)
    if not match:
        return None
    prefix, digits = match.groups()
    if prefix and prefix.lower() != kind:
        return None
    code = f"{kind.upper()}{digits}"
    return code if code in get_nomenclature(kind).table.index else None


def normalize_codes(values: pd.Series | list[object], kind: Kind) -> pd.Series:
    """Normalise raw codes to canonical ones (``CS2.2.1``, ``US6.6``); unknown values give NA.

    Accepts case variants (``cs2.2.1``), bare digits (``2.2.1``), v1.1 codes (``US235``,
    ``US6.6``) and ``INDETERMINE`` for usage (mapped to ``US6.6``, usage inconnu).

    >>> normalize_codes(["cs2.2.1", " US235", "INDETERMINE", "XX"], "us").tolist()
    [nan, 'US235', 'US6.6', nan]
    """
    series = pd.Series(values, dtype="object")
    uniques = pd.unique(series)
    mapping = {value: _normalize_one(value, kind) for value in uniques}
    return series.map(mapping).astype("object").where(lambda s: s.notna(), np.nan)


def unknown_code_counts(values: pd.Series, kind: Kind) -> dict[str, int]:
    """Count raw values that are not codes of the nomenclature (empty when all are known)."""
    normalized = normalize_codes(values, kind)
    bad = pd.Series(values, dtype="object")[normalized.isna().to_numpy()]
    return {str(k): int(v) for k, v in bad.astype(str).value_counts().items()}


def require_known(values: pd.Series, kind: Kind, source: str = "") -> pd.Series:
    """Normalise codes; raise :class:`UnknownCodeError` listing unknown values with counts."""
    normalized = normalize_codes(values, kind)
    if normalized.isna().any():
        counts = unknown_code_counts(values, kind)
        listing = ", ".join(f"{code} ({n})" for code, n in sorted(counts.items()))
        raise UnknownCodeError(
            f"unknown {kind.upper()} codes in {source or 'input'}: {listing}",
            f"Codes {kind.upper()} inconnus dans {source or 'le fichier'} : {listing}.",
        )
    return normalized


def roll_up(codes: pd.Series, kind: Kind, level: int) -> pd.Series:
    """Roll each canonical code up to ``level``; codes already at or above it are kept.

    >>> roll_up(pd.Series(["CS1.1.1.1", "CS2.2.1"]), "cs", 2).tolist()
    ['CS1.1', 'CS2.2']
    """
    if not 1 <= level <= MAX_LEVEL[kind]:
        raise ValueError(f"level for {kind} must be in 1..{MAX_LEVEL[kind]}, got {level}")
    nom = get_nomenclature(kind)
    mapping = {}
    for code in nom.codes:
        chain = nom.ancestors(code)
        at_level = [c for c in chain if nom.table.at[c, "level"] == level]
        mapping[code] = at_level[0] if at_level else code
    return pd.Series(codes, dtype="object").map(mapping)


def is_artificial_couple(cs: str, us: str) -> bool:
    """Apply the decree matrix to one CS×US couple (rules of ``artificialisation_rules.md`` §3).

    >>> is_artificial_couple("CS1.1.2.1", "US1.3"), is_artificial_couple("CS2.2.1", "US5")
    (False, True)
    """
    if cs in _ARTIF_CS_ALWAYS:
        return True
    if cs == "CS1.1.2.1":
        return us != "US1.3"
    if cs in _ARTIF_HERBACEOUS_CS:
        return any(us == p or us.startswith(p + ".") for p in _ARTIF_HERBACEOUS_US_PREFIXES)
    return False


def _couple_lookup(cs: pd.Series, us: pd.Series, func: object) -> np.ndarray:
    frame = pd.DataFrame({"cs": np.asarray(cs, dtype=object), "us": np.asarray(us, dtype=object)})
    pairs = frame.drop_duplicates()
    values = {(c, u): func(c, u) for c, u in zip(pairs["cs"], pairs["us"])}  # type: ignore[operator]
    return np.fromiter((values[(c, u)] for c, u in zip(frame["cs"], frame["us"])), dtype=bool,
                       count=len(frame))


def is_artificial(cs: pd.Series, us: pd.Series) -> np.ndarray:
    """Vectorised decree matrix: True where the CS×US couple is artificialised."""
    return _couple_lookup(cs, us, is_artificial_couple)


def is_impermeable(cs: pd.Series) -> np.ndarray:
    """Vectorised sealing status: True where CS is CS1.1.1.1 or CS1.1.1.2 (§5)."""
    return np.isin(np.asarray(cs, dtype=object), list(IMPERMEABLE_CS))


def family_of_couple(cs: str, us: str, artificial: bool | None = None) -> str:
    """Family of one couple: ``artificialise`` when artificialised, else the A/N/F estimate (§6).

    Args:
        cs: canonical CS code.
        us: canonical US code.
        artificial: status from IGN's ``artif`` field when known; else the decree matrix decides.
    """
    if artificial is None:
        artificial = is_artificial_couple(cs, us)
    if artificial:
        return "artificialise"
    if us in _AGRICOLE_US:
        return "agricole"
    if us in _FORESTIER_US:
        return "forestier"
    return "naturel"


def family(cs: pd.Series, us: pd.Series, artificial: pd.Series | np.ndarray | None = None
           ) -> np.ndarray:
    """Vectorised family of each couple (see :func:`family_of_couple`)."""
    if artificial is None:
        artificial = is_artificial(cs, us)
    artificial = np.asarray(artificial, dtype=bool)
    us_arr = np.asarray(us, dtype=object)
    out = np.full(len(us_arr), "naturel", dtype=object)
    out[np.isin(us_arr, list(_FORESTIER_US))] = "forestier"
    out[np.isin(us_arr, list(_AGRICOLE_US))] = "agricole"
    out[artificial] = "artificialise"
    return out


@lru_cache(maxsize=8192)
def label(code: str) -> str:
    """French label of any CS/US code, family or binary class code.

    Memoised: map cards and tooltips ask for the same few hundred codes thousands of times (a
    DataFrame lookup each, ~0.5 ms).
    """
    if code in FAMILY_LABELS:
        return FAMILY_LABELS[code]
    for labels in BINARY_LABELS.values():
        if code in labels:
            return labels[code]
    if "_" in code and code.startswith("CS"):  # CS×US couple "CS2.2.1_US1.1"
        cs, us = code.split("_", 1)
        return f"{label(cs)} × {label(us)}"
    kind: Kind = "cs" if code.startswith("CS") else "us"
    return str(get_nomenclature(kind).table.at[code, "label_fr"])


def color(code: str) -> str:
    """Official colour (hex) of any CS/US code, family or binary class code."""
    if code in FAMILY_COLORS:
        return FAMILY_COLORS[code]
    if code in BINARY_COLORS:
        return BINARY_COLORS[code]
    if "_" in code and code.startswith("CS"):
        return color(code.split("_", 1)[0])
    kind: Kind = "cs" if code.startswith("CS") else "us"
    return str(get_nomenclature(kind).table.at[code, "color_hex"])
