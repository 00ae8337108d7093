"""Local data keyed by INSEE code, crossed with the indicators of the communes of the store.

A user brings a CSV (their own figures: housing starts, jobs, tax base…) with one row per
commune. :func:`read_local_csv` validates it strictly and returns a :class:`LocalTable`:

* **bytes**: not empty, at most :data:`MAX_CSV_BYTES`, no NUL byte (a binary file is refused);
* **encoding**: UTF-8 (with or without BOM), else Windows-1252 (Excel's French default); text
  made mostly of control characters is refused;
* **separator**: sniffed among ``;``, ``,``, tab and ``|``;
* **INSEE column**: by name (``code_insee``, ``insee``, ``codgeo``, ``code_commune``, ``depcom``,
  ``com``, ``code``…, case/accents ignored), else the first column whose values look like INSEE
  codes (5 characters, ``2A``/``2B`` for Corsica; 4 digits are zero-padded, as Excel drops the
  leading zero). Rows without a valid code (a « Total » line) are dropped and counted; fewer than
  half valid codes means the column is not an INSEE column. Duplicated codes are refused;
* **numeric columns**: every other column whose non-empty values all parse as numbers (French
  decimal comma and spaces between thousands accepted); at least one is required. Text columns
  are listed in ``ignored_columns``.

:func:`communes_indicators` gives the same per-commune figures as the comparison table
(:func:`ocsge_engine.indicators.compare.commune_row`) for every commune fully covered by the
store, plus the density and the artificialised share; :func:`join_local` joins both on the code.
:func:`population_table` gives a territory's population series with its density.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ocsge_engine.errors import LocalDataError, TerritoryNotFoundError
from ocsge_engine.territories import resolve_territory
from ocsge_engine.indicators.compare import COMPARISON_COLUMNS, commune_row
from ocsge_engine.territories import commune_polygons, get_territory, population

logger = logging.getLogger(__name__)

MAX_CSV_BYTES = 5 * 1024 * 1024
SEPARATORS = ";,\t|"
INSEE_NAMES: tuple[str, ...] = (
    "codeinsee", "insee", "codgeo", "codecommune", "codecommuneinsee", "depcom", "codeinseecommune",
    "inseecom", "com", "cog", "code")
INSEE_RE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
INDICATOR_COLUMNS: tuple[str, ...] = (
    *COMPARISON_COLUMNS, "density_per_km2", "artif_share")
Progress = Callable[[float, str], None]


@dataclass(frozen=True, eq=False)
class LocalTable:
    """A validated local CSV.

    Attributes:
        table: column ``code`` (5-character INSEE code, unique) then the numeric columns (float).
        code_column: name of the INSEE column in the file.
        numeric_columns: the numeric columns kept, in file order.
        ignored_columns: the text columns left out.
        encoding: encoding used to decode the file.
        separator: field separator.
        dropped_rows: rows without a valid INSEE code (e.g. a total line).
    """

    table: pd.DataFrame
    code_column: str
    numeric_columns: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    encoding: str
    separator: str
    dropped_rows: int


# --- reading (pure) -----------------------------------------------------------------------------

def _key(name: str) -> str:
    """Column name as a matching key: no accents, no case, alphanumerics only.

    >>> _key("Code INSEE"), _key("CODGEO")
    ('codeinsee', 'codgeo')
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^0-9a-z]+", "", text)


def normalize_insee(values: pd.Series) -> pd.Series:
    """Upper-case, stripped codes; 4 digits get their leading zero back (``"1004"`` → ``"01004"``).

    >>> normalize_insee(pd.Series([" 33009", "1004", "2a004", "Total"])).tolist()
    ['33009', '01004', '2A004', 'TOTAL']
    """
    codes = values.astype(str).str.strip().str.upper()
    return codes.where(~codes.str.fullmatch(r"\d{4}"), "0" + codes)


def parse_number(values: pd.Series) -> pd.Series:
    """Numbers written the French or the English way; empty cells become NaN, others must parse.

    Returns:
        float Series; a value that does not parse is NaN and the caller decides.

    >>> parse_number(pd.Series(["1 234,5", "12.5", "", "1.234,5", "-3"])).tolist()
    [1234.5, 12.5, nan, 1234.5, -3.0]
    """
    text = (values.astype(str).str.strip()
            .str.replace(r"[\s\u00a0\u202f]", "", regex=True))
    both = text.str.contains(",", regex=False) & text.str.contains(".", regex=False)
    text = text.where(~both, text.str.replace(".", "", regex=False))
    text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text.replace("", np.nan), errors="coerce").astype(float)


def _decode(data: bytes) -> tuple[str, str]:
    if b"\x00" in data[:65536]:
        raise LocalDataError("binary file (NUL bytes)",
                             "Ce fichier n'est pas un fichier texte CSV (contenu binaire).")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise LocalDataError("neither UTF-8 nor Windows-1252",
                             "Encodage du fichier non reconnu : enregistrez-le en UTF-8.")
    controls = sum(1 for ch in text[:65536] if unicodedata.category(ch) == "Cc"
                   and ch not in "\t\r\n")
    if controls > 0.01 * min(len(text), 65536):
        raise LocalDataError(f"{controls} control characters: not text",
                             "Ce fichier n'est pas un fichier texte CSV (contenu illisible).")
    return text, encoding


def _separator(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=SEPARATORS).delimiter
    except csv.Error:
        header = text.splitlines()[0] if text.strip() else ""
        counts = {sep: header.count(sep) for sep in SEPARATORS}
        best = max(counts, key=lambda s: counts[s])
        if counts[best] == 0:
            raise LocalDataError("no separator found in the header",
                                 "Séparateur de colonnes introuvable : le fichier doit avoir au "
                                 "moins deux colonnes séparées par « ; », « , » ou une "
                                 "tabulation.") from None
        return best


def _code_column(frame: pd.DataFrame) -> str:
    by_name = {_key(c): c for c in frame.columns}
    for name in INSEE_NAMES:
        if name in by_name:
            return str(by_name[name])
    for column in frame.columns:
        codes = normalize_insee(frame[column])
        filled = codes[codes != ""]
        if len(filled) and filled.str.fullmatch(INSEE_RE).mean() >= 0.9:
            return str(column)
    raise LocalDataError(
        f"no INSEE code column among {list(frame.columns)}",
        "Aucune colonne de code INSEE trouvée : ajoutez une colonne « code_insee » (codes "
        "communes à 5 caractères, par exemple 33009).")


def read_local_csv(data: bytes, name: str = "") -> LocalTable:
    """Validate and parse a CSV of local data keyed by INSEE code (module docstring).

    Args:
        data: the file's bytes.
        name: file name, for the logs.

    Returns:
        The :class:`LocalTable`.

    Raises:
        LocalDataError: empty, too large, binary or undecodable file, no separator, malformed
            CSV, no INSEE column, duplicated codes, no numeric column.
    """
    if not data or not data.strip():
        raise LocalDataError(f"empty file {name!r}", "Le fichier est vide.")
    if len(data) > MAX_CSV_BYTES:
        raise LocalDataError(f"{name!r} has {len(data)} bytes > {MAX_CSV_BYTES}",
                             f"Le fichier dépasse {MAX_CSV_BYTES // 1024 // 1024} Mo.")
    text, encoding = _decode(data)
    sep = _separator(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            skipinitialspace=True)
    except (pd.errors.ParserError, csv.Error, ValueError) as err:
        raise LocalDataError(f"malformed CSV {name!r}: {err}",
                             "Le fichier CSV est mal formé (nombre de colonnes irrégulier ?).") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.shape[1] < 2 or frame.empty:
        raise LocalDataError(f"{name!r}: {frame.shape} table",
                             "Le fichier doit contenir au moins une ligne et deux colonnes "
                             "(le code INSEE et une valeur).")
    code_col = _code_column(frame)
    codes = normalize_insee(frame[code_col])
    valid = codes.str.fullmatch(INSEE_RE)
    if valid.mean() < 0.5:
        raise LocalDataError(f"column {code_col!r} holds {valid.mean():.0%} valid INSEE codes",
                             f"La colonne « {code_col} » ne contient pas des codes INSEE de "
                             "communes (5 caractères, par exemple 33009).")
    frame, codes = frame[valid], codes[valid]
    duplicated = codes[codes.duplicated()].unique().tolist()
    if duplicated:
        raise LocalDataError(f"duplicated INSEE codes {duplicated[:5]}",
                             f"Le code INSEE {duplicated[0]} apparaît sur plusieurs lignes : une "
                             "ligne par commune est attendue.")
    numeric: dict[str, pd.Series] = {}
    ignored: list[str] = []
    for column in frame.columns:
        if column == code_col:
            continue
        values = parse_number(frame[column])
        filled = frame[column].astype(str).str.strip() != ""
        if filled.any() and values[filled].notna().all():
            numeric[column] = values
        else:
            ignored.append(column)
    if not numeric:
        raise LocalDataError(f"no numeric column in {name!r} (text columns: {ignored})",
                             "Aucune colonne numérique dans le fichier : au moins une colonne de "
                             "valeurs (nombres) est nécessaire.")
    table = pd.DataFrame({"code": codes.to_numpy(), **{k: v.to_numpy() for k, v in numeric.items()}})
    dropped = int((~valid).sum())
    logger.info("local CSV %s: %d rows, code column %r, %d numeric columns, %d rows dropped (%s, %r)",
                name, len(table), code_col, len(numeric), dropped, encoding, sep)
    return LocalTable(table.reset_index(drop=True), code_col, tuple(numeric), tuple(ignored),
                      encoding, sep, dropped)


# --- indicators of the communes of the store ------------------------------------------------------

def _commune_polygons_of(departements: set[str]) -> tuple[np.ndarray, np.ndarray]:
    """Codes and polygons of the communes of some départements (one read of the COG polygons)."""
    polygons = commune_polygons(departements)
    return polygons["code"].to_numpy(), polygons.geometry.to_numpy()


def store_communes(store: Any, year_from: int, year_to: int, min_share: float = 0.5) -> list[str]:
    """INSEE codes of the communes that the store's OCCUPATION_SOL covers (candidates).

    A feature of ``year_to`` belongs to the commune holding a point on its surface; a commune is a
    candidate when the features it holds add up to at least ``min_share`` of its area (slivers of
    neighbours at the edge of a delivery are left out). Full coverage of both millésimes is then
    checked row by row by :func:`communes_indicators` (``available``).
    """
    catalog = store.catalog()
    layer = catalog[catalog["layer"] == "occupation_sol"]
    deps = sorted({str(d) for d in layer["departement"]
                   if {str(year_from), str(year_to)}
                   <= set(layer.loc[layer["departement"] == d, "millesime"].astype(str))})
    found: list[str] = []
    for dep in deps:
        codes, polygons = _commune_polygons_of({dep})
        features = store.polygons(get_territory(f"departement:{dep}"), year_to, clip=False,
                                  columns=[]).geometry.to_numpy()
        points = shapely.point_on_surface(features)
        # "point within commune" asked as "commune contains points": GEOS then prepares each
        # commune polygon once (the other way round, every pair re-walks the polygon, ~30x
        # slower); sorted by feature as the other way round, so that the sums are the same
        commune_idx, feature_idx = shapely.STRtree(points).query(polygons, predicate="contains")
        order = np.lexsort((commune_idx, feature_idx))
        feature_idx, commune_idx = feature_idx[order], commune_idx[order]
        covered = np.bincount(commune_idx, weights=shapely.area(features[feature_idx]),
                              minlength=len(codes))
        share = covered / shapely.area(polygons)
        found += [str(c) for c in codes[share >= min_share]]
    logger.info("store communes %d-%d: %d", year_from, year_to, len(found))
    return found


def communes_indicators(store: Any, year_from: int, year_to: int,
                        codes: list[str] | None = None,
                        progress: Progress | None = None,
                        row: Callable[..., dict[str, Any]] | None = None) -> pd.DataFrame:
    """Artificialisation, population and density of each commune of the store.

    Args:
        store: an open store.
        year_from: first millésime.
        year_to: second millésime.
        codes: communes to compute (default :func:`store_communes`).
        progress: ``progress(fraction, message_fr)`` callback, once per commune.
        row: ``row(store, code, year_from, year_to, role)`` giving one comparison row (default
            :func:`~ocsge_engine.indicators.compare.commune_row`; the batch passes a reader of
            its national results).

    Returns:
        Columns :data:`INDICATOR_COLUMNS`: the comparison columns (``role = "base"``), plus
        ``density_per_km2 = population / (area_ha / 100)`` and ``artif_share = artif_stock_ha /
        area_ha``; only communes with ``available = True``, sorted by code.
    """
    codes = store_communes(store, year_from, year_to) if codes is None else list(codes)
    rows = []
    for k, code in enumerate(codes):
        if progress is not None:
            progress(k / max(1, len(codes)), f"commune {code} ({k + 1}/{len(codes)})")
        rows.append((row or commune_row)(store, code, year_from, year_to, "base"))
    table = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    table = table[table["available"].astype(bool)].copy()
    area_km2 = table["area_ha"].astype(float) / 100
    table["density_per_km2"] = table["population"].astype(float) / area_km2
    table["artif_share"] = table["artif_stock_ha"].astype(float) / table["area_ha"].astype(float)
    if progress is not None:
        progress(1.0, "terminé")
    return table.sort_values("code").reset_index(drop=True)[list(INDICATOR_COLUMNS)]


@dataclass(frozen=True, eq=False)
class JoinResult:
    """Indicators joined with local data.

    Attributes:
        table: indicator columns then the local numeric columns, one row per commune present in
            both.
        unmatched: codes of the file absent from the communes of the store.
        missing: communes of the store absent from the file.
        local_columns: names of the local numeric columns in ``table`` (suffixed ``_local`` when
            they clash with an indicator column).
    """

    table: pd.DataFrame
    unmatched: list[str]
    missing: list[str]
    local_columns: list[str]


def join_local(indicators: pd.DataFrame, local: LocalTable) -> JoinResult:
    """Join the store's commune indicators and a local table on the INSEE code.

    Local columns whose name clashes with an indicator column get the suffix ``_local``.

    Raises:
        LocalDataError: no code of the file is a commune of the store.
    """
    renamed = {c: f"{c}_local" for c in local.numeric_columns if c in indicators.columns}
    right = local.table.rename(columns=renamed)
    table = indicators.merge(right, on="code", how="inner")
    if table.empty:
        sample = ", ".join(local.table["code"].head(3))
        raise LocalDataError(
            f"no code of the file among the {len(indicators)} store communes",
            f"Aucun code INSEE du fichier ({sample}…) ne correspond aux communes couvertes par "
            "la base OCS GE.")
    unmatched = sorted(set(local.table["code"]) - set(indicators["code"]))
    missing = sorted(set(indicators["code"]) - set(local.table["code"]))
    return JoinResult(table.reset_index(drop=True), unmatched, missing,
                      [renamed.get(c, c) for c in local.numeric_columns])


def population_table(territory: Any) -> pd.DataFrame:
    """Population series of a territory with its density.

    Returns:
        Columns ``year, population, density_per_km2`` (``population / (area_ha / 100)``); empty
        for a drawn or uploaded polygon (no census figure).
    """
    resolved = resolve_territory(territory)
    try:
        series = population(resolved.id) if resolved.kind != "polygon" else {}
    except TerritoryNotFoundError:
        series = {}
    years = sorted(series)
    values = [series[y] for y in years]
    area_km2 = resolved.area_ha / 100
    return pd.DataFrame({"year": years, "population": values,
                         "density_per_km2": [v / area_km2 for v in values]},
                        columns=["year", "population", "density_per_km2"])
