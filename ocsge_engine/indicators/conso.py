"""Consumption of NAF land from the Cerema national file (fichiers fonciers), imported in the store.

The Cerema publishes one CSV row per commune: ``idcom`` (INSEE code) and, for each year *y*
(from 1 January *y* to 1 January *y*+1, written ``YY``/``ZZ`` = *y* and *y*+1 on two digits):

* ``nafYYartZZ``: NAF land consumed that year, in m²;
* ``artYYactZZ``, ``artYYhabZZ``, ``artYYmixZZ``, ``artYYrouZZ``, ``artYYferZZ``, ``artYYincZZ``:
  the same by destination (activité, habitat, mixte, route, ferroviaire, inconnu).

Column names may be upper or lower case; the window of years moves between editions, so the
years are read from the ``naf…`` columns present (every one of them needs its six destination
columns). Other columns (names, EPCI, surfaces, period totals) are ignored. Any other layout is
refused with a French message naming the expected columns.

:func:`ingest_conso` validates the whole file first, then replaces, in one store transaction,
the rows of the communes it contains in the table ``conso_cerema`` (long format, m², with the
source label, file name, SHA-256 and import date on every row). :func:`cerema_consumption` sums
the communes of a commune, EPCI or département into a :class:`ConsumptionSeries` (ha), refusing a
territory when some of its communes are missing from the file.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ocsge_engine.errors import ConsumptionNotFoundError, LocalDataError, StoreError
from ocsge_engine.indicators.local_data import _decode, _separator, normalize_insee, parse_number
from ocsge_engine.indicators.zan import DESTINATIONS, ConsumptionSeries
from ocsge_engine.store.db import CATALOG_FILE, _connect
from ocsge_engine.territories import communes_table

logger = logging.getLogger(__name__)

TABLE = "conso_cerema"
DEFAULT_SOURCE = "Cerema, consommation d'espaces NAF (fichiers fonciers)"
DESTINATION_CODES: dict[str, str] = {"act": "activite", "hab": "habitat", "mix": "mixte",
                                     "rou": "route", "fer": "ferroviaire", "inc": "inconnu"}
EXPECTED_COLUMNS = ("idcom, puis pour chaque année nafAAartBB (total, m²) et artAAactBB, "
                    "artAAhabBB, artAAmixBB, artAArouBB, artAAferBB, artAAincBB (par destination, "
                    "m²), par exemple naf11art12, art11hab12")
_NAF_RE = re.compile(r"^naf(\d{2})art(\d{2})$")
_INSEE_RE = r"\d[\dAB]\d{3}"
_NOT_IMPORTED = ("Aucun fichier de consommation d'espaces n'a été importé (python -m "
                 "ocsge_engine ingest-conso FICHIER.csv).")
TABLE_COLUMNS: tuple[str, ...] = ("idcom", "year", "total_m2", *[f"{d}_m2" for d in DESTINATIONS],
                                  "source", "source_file", "source_sha256", "imported_at")


@dataclass(frozen=True)
class ConsoImport:
    """What :func:`ingest_conso` stored.

    Attributes:
        communes: number of communes imported.
        years: the years read (first to last).
        source: the source label stored on every row.
        source_file: the file name.
        source_sha256: SHA-256 of the file.
    """

    communes: int
    years: tuple[int, ...]
    source: str
    source_file: str
    source_sha256: str


def _years_of(columns: list[str]) -> list[int]:
    """Years of the ``nafYYartZZ`` columns (ZZ = YY + 1), checked."""
    years = []
    for column in columns:
        match = _NAF_RE.match(column)
        if match is None:
            continue
        first, second = int(match.group(1)), int(match.group(2))
        if (first + 1) % 100 != second:
            raise LocalDataError(
                f"column {column}: years {first} and {second} are not consecutive",
                f"Colonne « {column} » : les deux années doivent se suivre (par exemple "
                "naf11art12).")
        years.append(2000 + first)
    return sorted(years)


def _column(year: int, prefix: str, code: str) -> str:
    """Cerema column name: ``naf11art12`` / ``art11hab12`` (lower case)."""
    a, b = year % 100, (year + 1) % 100
    return f"naf{a:02d}art{b:02d}" if prefix == "naf" else f"art{a:02d}{code}{b:02d}"


def parse_cerema(frame: pd.DataFrame, name: str = "") -> pd.DataFrame:
    """Validate a Cerema table (text cells) and return it in long format (m²).

    Args:
        frame: the file as read, every cell a string.
        name: file name, for messages.

    Returns:
        Columns ``idcom, year, total_m2`` and one ``<destination>_m2`` per destination.

    Raises:
        LocalDataError: no ``idcom`` column, no year column, a missing destination column,
            a non-numeric or negative value, an invalid or duplicated INSEE code, no row.
    """
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    columns = list(frame.columns)
    if "idcom" not in columns:
        raise LocalDataError(f"{name}: no idcom column in {columns[:10]}",
                                   f"Colonne « idcom » absente du fichier {name}. Colonnes "
                                   f"attendues : {EXPECTED_COLUMNS}.")
    years = _years_of(columns)
    if not years:
        raise LocalDataError(f"{name}: no nafYYartZZ column",
                                   f"Aucune colonne annuelle nafAAartBB dans le fichier {name}. "
                                   f"Colonnes attendues : {EXPECTED_COLUMNS}.")
    missing = [_column(y, "art", c) for y in years for c in DESTINATION_CODES
               if _column(y, "art", c) not in columns]
    if missing:
        raise LocalDataError(f"{name}: missing destination columns {missing[:6]}",
                                   f"Colonnes par destination absentes : {', '.join(missing[:6])}"
                                   f"{' …' if len(missing) > 6 else ''}. Colonnes attendues : "
                                   f"{EXPECTED_COLUMNS}.")
    if frame.empty:
        raise LocalDataError(f"{name}: no row", f"Le fichier {name} ne contient aucune "
                                   "commune.")
    codes = normalize_insee(frame["idcom"])
    bad = ~codes.str.fullmatch(_INSEE_RE)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise LocalDataError(f"{name}: invalid idcom {codes[bad].iloc[0]!r} line {row}",
                                   f"Code commune (idcom) invalide « {codes[bad].iloc[0]} » à la "
                                   f"ligne {row}.")
    duplicated = codes[codes.duplicated()].unique().tolist()
    if duplicated:
        raise LocalDataError(f"{name}: duplicated idcom {duplicated[:5]}",
                                   f"La commune {duplicated[0]} apparaît sur plusieurs lignes : "
                                   "une ligne par commune est attendue.")
    blocks = []
    for year in years:
        block = {"idcom": codes.to_numpy(), "year": np.full(len(frame), year, dtype=np.int16)}
        for target, column in [("total_m2", _column(year, "naf", ""))] + [
                (f"{d}_m2", _column(year, "art", c)) for c, d in DESTINATION_CODES.items()]:
            block[target] = _numbers(frame[column], column, name, target == "total_m2")
        blocks.append(pd.DataFrame(block))
    long = pd.concat(blocks, ignore_index=True)
    logger.info("Cerema file %s: %d communes, years %d-%d", name, len(frame), years[0], years[-1])
    return long


def _numbers(values: pd.Series, column: str, name: str, total: bool) -> np.ndarray:
    """Parse one year column, empty cells as 0 (the Cerema leaves none empty).

    Totals must be ≥ 0; destinations may hold the Cerema's rounding residues (−1 or −2 m² in
    ``artYYincZZ``, e.g. 20 Lyon communes in 2010).
    """
    text = values.astype(str).str.strip()
    parsed = pd.to_numeric(text.replace("", np.nan), errors="coerce").astype(float)
    if (parsed.isna() & (text != "")).any():  # French decimals, thousands separators…
        parsed = parse_number(text)
    wrong = parsed.isna() & (text != "")
    if wrong.any():
        row = int(np.flatnonzero(wrong.to_numpy())[0]) + 2
        raise LocalDataError(f"{name}: non-numeric {text[wrong].iloc[0]!r} in {column}",
                                   f"Valeur non numérique « {text[wrong].iloc[0]} » dans la "
                                   f"colonne {column} (ligne {row}) : les surfaces sont en m².")
    if total and (parsed < 0).any():
        raise LocalDataError(f"{name}: negative value in {column}",
                                   f"Valeur négative dans la colonne {column} : une consommation "
                                   "est positive ou nulle.")
    return parsed.fillna(0.0).to_numpy(dtype=float)


def read_cerema_csv(data: bytes, name: str = "") -> pd.DataFrame:
    """Decode, split and validate a Cerema CSV (``;``, ``,`` or tab separated, UTF-8 or cp1252).

    Returns:
        The long table of :func:`parse_cerema`.

    Raises:
        LocalDataError: see :func:`parse_cerema`; also an empty, malformed, binary or
            undecodable file, or no separator.
    """
    if not data or not data.strip():
        raise LocalDataError(f"empty file {name!r}", f"Le fichier {name} est vide.")
    text, _encoding = _decode(data)
    sep = _separator(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as err:
        raise LocalDataError(f"malformed CSV {name!r}: {err}",
                                   f"Le fichier {name} est mal formé (nombre de colonnes "
                                   "irrégulier ?).") from err
    return parse_cerema(frame, name)


def ingest_conso(store: Any, path: Path | str, source: str = DEFAULT_SOURCE) -> ConsoImport:
    """Validate a Cerema file and store it (rows of its communes replaced, one transaction).

    Args:
        store: an open :class:`~ocsge_engine.store.Store`.
        path: the CSV file.
        source: source label stored with the rows and shown with every figure.

    Returns:
        The :class:`ConsoImport`.

    Raises:
        LocalDataError: the file is not a valid Cerema file (nothing is
            stored).
        StoreError: the file cannot be read.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise StoreError(f"cannot read {path}: {err}",
                         f"Fichier illisible ou introuvable : {path.name}.") from err
    long = read_cerema_csv(data, path.name)
    digest = hashlib.sha256(data).hexdigest()
    long = long.assign(source=source, source_file=path.name, source_sha256=digest,
                       imported_at=datetime.now(UTC).replace(tzinfo=None))
    try:
        existing = store.read_table(TABLE)
        existing = existing[~existing["idcom"].isin(set(long["idcom"]))]
        table = pd.concat([existing, long], ignore_index=True)
    except StoreError:
        table = long
    store.write_table(TABLE, table[list(TABLE_COLUMNS)])
    years = tuple(sorted(int(y) for y in long["year"].unique()))
    result = ConsoImport(int(long["idcom"].nunique()), years, source, path.name, digest)
    logger.info("imported %s: %d communes, %d-%d", path.name, result.communes, years[0], years[-1])
    return result


def member_communes(territory: Any) -> list[str]:
    """INSEE codes (COG of the embedded table) of a commune, EPCI or département."""
    if territory.kind == "commune":
        return [str(territory.code)]
    table = communes_table()
    column = {"epci": "siren_epci", "departement": "departement"}.get(territory.kind)
    if column is None:
        raise ConsumptionNotFoundError(f"no consumption for a {territory.kind}",
                                       "La consommation d'espaces est connue par commune : "
                                       "choisissez une commune, un EPCI ou un département.")
    return table.loc[table[column] == str(territory.code), "code"].astype(str).tolist()


def _rows_of(store: Any, codes: list[str]) -> pd.DataFrame:
    """Rows of ``conso_cerema`` for some communes (filtered in DuckDB when the store allows).

    Raises:
        StoreError: nothing imported yet.
    """
    path = getattr(store, "path", None)
    if path is None or not (Path(path) / CATALOG_FILE).exists():
        table = store.read_table(TABLE)
        return table[table["idcom"].isin(codes)]
    names = getattr(store, "table_names", None)
    if names is not None and TABLE not in names():  # cached per store stamp: no connection
        raise StoreError(f"no table {TABLE} in {store.path}", _NOT_IMPORTED)
    con = _connect(Path(path) / CATALOG_FILE, read_only=True)  # no spatial extension needed
    try:
        return con.execute(f"SELECT * FROM {TABLE} WHERE idcom IN (SELECT unnest(?))",
                           [codes]).df()
    except duckdb.CatalogException as err:
        raise StoreError(f"no table {TABLE} in {store.path}", _NOT_IMPORTED) from err
    finally:
        con.close()


def cerema_consumption(store: Any, territory: Any) -> ConsumptionSeries:
    """Yearly consumption (ha) of a territory summed over its communes, with destinations.

    Args:
        store: the store holding ``conso_cerema``.
        territory: a commune, EPCI or département ``Territory``.

    Returns:
        The series (``key="cerema"``), its source naming the file and the import date.

    Raises:
        StoreError: nothing imported yet.
        ConsumptionNotFoundError: a commune of the territory is not in the imported file.
    """
    members = member_communes(territory)
    rows = _rows_of(store, members)
    absent = sorted(set(members) - set(rows["idcom"]))
    if not members or absent:
        raise ConsumptionNotFoundError(
            f"{territory.kind}:{territory.code}: {len(absent)} of {len(members)} communes "
            f"missing from {TABLE} ({absent[:5]})",
            f"Le fichier de consommation importé ne couvre pas {len(absent)} des "
            f"{len(members)} communes de ce territoire (par exemple {', '.join(absent[:3])}).")
    grouped = rows.groupby("year")
    values = {int(y): float(v) / 1e4 for y, v in grouped["total_m2"].sum().items()}
    sums = grouped[[f"{d}_m2" for d in DESTINATIONS]].sum()
    destinations = {int(y): {d: float(r[f"{d}_m2"]) / 1e4 for d in DESTINATIONS}
                    for y, r in sums.iterrows()}
    files = sorted(set(rows["source_file"]))
    dates = sorted({pd.Timestamp(d).strftime("%d/%m/%Y") for d in rows["imported_at"]})
    label = (f"{'; '.join(sorted(set(rows['source'])))} — fichier {', '.join(files)}, "
             f"importé le {', '.join(dates)}")
    return ConsumptionSeries(values, label, territory.id, key="cerema", destinations=destinations)


def to_cerema_layout(long: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`parse_cerema`: one row per commune, Cerema column names.

    Args:
        long: columns ``idcom, year, total_m2`` and ``<destination>_m2``.

    Returns:
        A wide table (``idcom`` then per year ``nafYYartZZ`` and the six ``artYY…ZZ``).
    """
    columns: dict[str, pd.Series] = {}
    for year, block in long.groupby("year"):
        block = block.set_index("idcom")
        columns[_column(int(year), "naf", "")] = block["total_m2"]
        for code, dest in DESTINATION_CODES.items():
            columns[_column(int(year), "art", code)] = block[f"{dest}_m2"]
    out = pd.DataFrame(columns).reindex(sorted(long["idcom"].unique())).fillna(0.0)
    out.index.name = "idcom"
    return out.reset_index()

__all__ = ["DEFAULT_SOURCE", "EXPECTED_COLUMNS", "TABLE", "ConsoImport",
           "cerema_consumption", "ingest_conso", "member_communes", "parse_cerema",
           "read_cerema_csv", "to_cerema_layout"]
