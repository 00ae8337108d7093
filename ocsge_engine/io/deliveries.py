"""IGN OCS GE deliveries: find the layers of a delivery, tell their kind, normalise field names.

A delivery is a folder (often extracted from an IGN ``.7z``) holding shapefiles or GeoPackages.
The kind of a layer is told by its name (``OCCUPATION_SOL``, ``ZONE_CONSTRUITE``, ``DIFF``,
``ARTIFICIALISATION``…) and confirmed by its fields; a layer named nothing known is recognised by
its fields alone (``cs_2015``/``us_2015``/``cs_2018``/``us_2018`` is a difference layer).

Field variants met in real deliveries, mapped to the canonical columns of docs/DESIGN.md:

* ``CODE_CS`` / ``code_cs`` / ``couverture`` / ``cs`` -> ``code_cs`` (same for US);
* ``ID`` / ``id`` -> ``id``;
* differences: ``CS_<y1>, US_<y1>, CS_<y2>, US_<y2>`` (years in the field names) or
  ``cs_avant, us_avant, cs_apres, us_apres`` (years from the file name, e.g. ``DIFF_2018_2021``);
* ``artif`` (``'artif'`` / ``'non artif'``), ``crit_seuil``; ``artificialisation`` (+1 / -1;
  ``ARTIFICIAL`` in shapefiles, whose field names are cut at 10 characters).

Département and millésime come from names such as
``OCS-GE_2-0__SHP_LAMB93_D033_2018-01-01`` (``D033``, ``2018``) or ``DIFF-2018-2021``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from ocsge_engine.errors import SchemaError

logger = logging.getLogger(__name__)

LayerKind = Literal["occupation_sol", "zone_construite", "diff", "artif", "artif_diff"]
VECTOR_SUFFIXES: frozenset[str] = frozenset({".shp", ".gpkg"})

_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "id_ocsge", "identifiant"),
    "code_cs": ("code_cs", "couverture", "cs", "code_couverture"),
    "code_us": ("code_us", "usage", "us", "code_usage"),
    "millesime": ("millesime", "millésime", "annee"),
    "artif": ("artif",),
    "crit_seuil": ("crit_seuil",),
    # Shapefiles truncate field names to 10 characters.
    "artificialisation": ("artificialisation", "artificial"),
}
_DIFF_YEAR_FIELD = re.compile(r"^(cs|us)_((?:19|20)\d{2})$")
_DIFF_WORD_FIELDS = {"cs_avant": "code_cs_from", "us_avant": "code_us_from",
                     "cs_apres": "code_cs_to", "us_apres": "code_us_to"}
_DEP_RE = re.compile(r"(?<![A-Z0-9])D(0[0-9][0-9AB]|9[78][0-9]|2[AB]|[0-9]{2})(?![0-9A-Z])")
_PERIOD_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})[_\-]((?:19|20)\d{2})(?!\d)")
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:-\d{2}-\d{2})?(?!\d)")


@dataclass(frozen=True)
class LayerRef:
    """One vector layer of a delivery.

    Attributes:
        path: the ``.shp`` or ``.gpkg`` file.
        layer: layer name inside a GeoPackage (``None`` for a shapefile).
    """

    path: Path
    layer: str | None = None

    @property
    def name(self) -> str:
        """Layer name used for kind detection (GPKG layer name or file stem)."""
        return self.layer or self.path.stem

    def label(self) -> str:
        """Human-readable ``file[:layer]``."""
        return self.path.name + (f":{self.layer}" if self.layer else "")


def find_layers(files: Iterable[Path]) -> list[LayerRef]:
    """List the vector layers among ``files`` (every layer of each GeoPackage)."""
    import pyogrio

    refs: list[LayerRef] = []
    for path in sorted(files):
        suffix = path.suffix.lower()
        if suffix == ".shp":
            refs.append(LayerRef(path))
        elif suffix == ".gpkg" and path.stat().st_size > 0:
            refs += [LayerRef(path, str(name)) for name, _ in pyogrio.list_layers(path)]
        elif suffix == ".gpkg":
            refs.append(LayerRef(path, None))
    return refs


def detect_kind(name: str, fields: Iterable[str]) -> LayerKind | None:
    """Tell the layer kind from its name, then its fields; ``None`` when it is not OCS GE.

    >>> detect_kind("OCCUPATION_SOL", ["ID", "CODE_CS", "CODE_US"])
    'occupation_sol'
    >>> detect_kind("A_B_2015_2018", ["cs_2015", "us_2015", "cs_2018", "us_2018"])
    'diff'
    >>> detect_kind("ARTIFICIALISATION_DIFF", ["artificialisation"])
    'artif_diff'
    """
    lower = {f.lower() for f in fields}
    upper = name.upper()
    if _find(lower, "artificialisation"):
        return "artif_diff"
    if "artif" in lower or ("ARTIF" in upper and "DIFF" not in upper):
        return "artif"
    if "ARTIF" in upper:
        return "artif_diff"
    if _diff_fields(lower) or "DIFF" in upper:
        return "diff"
    if "ZONE_CONSTRUITE" in upper or "ZONE-CONSTRUITE" in upper:
        return "zone_construite"
    if "OCCUPATION_SOL" in upper or "OCCUPATION-SOL" in upper or "OCS" in upper:
        return "occupation_sol"
    if _find(lower, "code_cs") and _find(lower, "code_us"):
        return "occupation_sol"
    return None


def departement_from_names(names: Iterable[str]) -> str | None:
    """First département code (``D033`` -> ``"33"``) found in ``names``, innermost first.

    >>> departement_from_names(["OCCUPATION_SOL", "OCS-GE_2-0__SHP_LAMB93_D033_2018-01-01"])
    '33'
    """
    for name in names:
        match = _DEP_RE.search(name.upper())
        if match:
            code = match.group(1)
            return code if not code.isdigit() else f"{int(code):02d}"
    return None


def years_from_names(names: Iterable[str], period: bool) -> str | None:
    """A year (``"2018"``) or period (``"2018_2021"``) found in ``names``, innermost first.

    >>> years_from_names(["DIFF-2018-2021"], period=True), years_from_names(["X_D033_2018-01-01"], False)
    ('2018_2021', '2018')
    """
    for name in names:
        if period:
            match = _PERIOD_RE.search(name)
            if match:
                return f"{match.group(1)}_{match.group(2)}"
        else:
            cleaned = _DEP_RE.sub("", name.upper())
            years = _YEAR_RE.findall(cleaned)
            if years:
                return years[-1]
    return None


def diff_years_from_fields(fields: Iterable[str]) -> tuple[int, int] | None:
    """``(y1, y2)`` from ``CS_<y1>, US_<y1>, CS_<y2>, US_<y2>`` fields, else ``None``."""
    return _diff_fields({f.lower() for f in fields})


def normalize_fields(df: pd.DataFrame, kind: LayerKind, source: str,
                     period: tuple[int, int] | None = None) -> pd.DataFrame:
    """Rename the raw fields of a ``kind`` layer to canonical names; keep only those.

    Args:
        df: raw attributes (any case); the geometry column, if any, is kept.
        kind: layer kind.
        source: label of the layer, for messages.
        period: ``(y1, y2)`` of a difference layer using ``CS_<y>`` fields.

    Returns:
        Raw values under canonical names (``id``, ``code_cs``… ``code_cs_from``…,
        ``millesime`` when the layer has one); ``id`` is the row number when absent.

    Raises:
        SchemaError: a required field (CS/US codes, artif flag…) is missing.
    """
    lower_map = {c.lower(): c for c in df.columns}
    wanted = _required(kind)
    rename: dict[str, str] = {}
    if kind == "diff":
        rename.update(_diff_rename(lower_map, period))
    for canonical in [*wanted, "id", "millesime", "crit_seuil"]:
        raw = _find(lower_map, canonical)
        if raw is not None and canonical not in rename.values():
            rename[lower_map[raw]] = canonical
    missing = [c for c in wanted if c not in rename.values()]
    if missing:
        raise SchemaError(
            f"{source}: {kind} layer lacks fields {missing} (has {list(df.columns)})",
            f"La couche {source} ne contient pas les champs attendus ({', '.join(missing)}) : "
            "ce n'est pas une livraison OCS GE complète.",
        )
    keep = list(rename) + ([df.geometry.name] if hasattr(df, "geometry") else [])
    out = df[keep].rename(columns=rename)
    if "id" not in out.columns:
        out.insert(0, "id", [str(i) for i in range(len(out))])
    return out


def _required(kind: LayerKind) -> list[str]:
    return {
        "occupation_sol": ["code_cs", "code_us"],
        "zone_construite": [],
        "diff": ["code_cs_from", "code_us_from", "code_cs_to", "code_us_to"],
        "artif": ["code_cs", "code_us", "artif"],
        "artif_diff": ["artificialisation"],
    }[kind]


def _find(lower_fields: Iterable[str], canonical: str) -> str | None:
    """The lower-case raw field matching a canonical column, if any."""
    fields = set(lower_fields)
    for alias in _ALIASES.get(canonical, (canonical,)):
        if alias in fields:
            return alias
    return None


def _diff_fields(lower: set[str]) -> tuple[int, int] | None:
    years: dict[str, set[int]] = {"cs": set(), "us": set()}
    for field in lower:
        match = _DIFF_YEAR_FIELD.match(field)
        if match:
            years[match.group(1)].add(int(match.group(2)))
    common = sorted(years["cs"] & years["us"])
    return (common[0], common[-1]) if len(common) >= 2 else None


def _diff_rename(lower_map: dict[str, str], period: tuple[int, int] | None) -> dict[str, str]:
    rename = {lower_map[raw]: canonical for raw, canonical in _DIFF_WORD_FIELDS.items()
              if raw in lower_map}
    if period is not None:
        y1, y2 = period
        for prefix in ("cs", "us"):
            for year, side in ((y1, "from"), (y2, "to")):
                raw = f"{prefix}_{year}"
                if raw in lower_map:
                    rename[lower_map[raw]] = f"code_{prefix}_{side}"
    return rename
