"""Territories: communes, EPCI, départements and custom polygons, with their geometry.

A :class:`Territory` is a frozen value object (kind, code, name, EPSG:2154 geometry, départements)
identified by a string id ``"<kind>:<code>"`` (``commune:33005``, ``epci:243300563``,
``departement:33``, ``contour:<16 hex>``, ``polygon:/path/file.geojson``) used in URLs and on the
command line.

Custom contours kept by the dashboard (:mod:`ocsge_engine.io.uploads`) live in the contours folder
(:func:`contours_dir`, ``STORE/territoires``) as ``<16 hex>.gpkg`` and are named by that opaque
id, ``contour:<16 hex>``: the only custom territories a web visitor can name.
``polygon:FILE`` reads any file and stays a command-line feature: :func:`get_territory` refuses
it when ``allow_files=False`` (the dashboard), and no server path is put in a web id.

Tables (``data/territories/``, built by ``make_territories.py``, see its SOURCE.md):

* communes of the COG 2026 (all of France) with name, département, EPCI and the population
  municipale 2019, 2020, 2022 and 2023;
* commune polygons for départements 32, 33, 34 and 69 only (simplified ADMIN EXPRESS 2018, except
  the 17 SYBARVAL communes whose exact OCS GE polygons are used);
* EPCI (SIREN, name) = their member communes; département polygon = union of its communes.

Every table is loaded once per process (:func:`functools.lru_cache`), so lookups are fast once warm.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ocsge_engine.config import get_settings
from ocsge_engine.errors import CrsError, EmptyInputError, GeometryError, TerritoryNotFoundError

logger = logging.getLogger(__name__)

Kind = Literal["commune", "epci", "departement", "polygon"]
KINDS: tuple[str, ...] = ("commune", "epci", "departement", "polygon")
CONTOUR_PREFIX = "contour"
CONTOUR_ID_RE = re.compile(r"^[0-9a-f]{16}$")
CONTOURS_FOLDER = "territoires"
MAX_NAME_CHARS = 80
# Markdown/HTML/LaTeX syntax characters removed from user-given names (shown as plain text).
_MARKUP_RE = re.compile(r"[\\`*\[\]{}<>()#+!|~$^=&\"]")
POPULATION_YEARS: tuple[int, ...] = (2019, 2020, 2022, 2023)
TARGET_EPSG = 2154
POLYGON_SUFFIXES: frozenset[str] = frozenset({".geojson", ".json", ".gpkg", ".shp"})
_KIND_ALIASES: dict[str, str] = {"dep": "departement", "département": "departement",
                                 "dept": "departement", "com": "commune", "poly": "polygon"}
_KIND_ORDER: dict[str, int] = {"commune": 0, "epci": 1, "departement": 2}
_ABBREVIATIONS: dict[str, str] = {"st": "saint", "ste": "sainte"}


_DEP_RE = re.compile(r"^(?:\d{1,3}|2[AB])$", re.IGNORECASE)


def normalize_departement(code: object) -> str:
    """Return the canonical département code: ``"33"``, ``"01"``, ``"2A"``, ``"971"``.

    >>> normalize_departement(1), normalize_departement("D033"), normalize_departement("2a")
    ('01', '33', '2A')

    Raises:
        ValueError: not a département code.
    """
    text = str(code).strip().upper()
    if text.startswith("D") and len(text) > 1:
        text = text[1:]
    if not _DEP_RE.match(text):
        raise ValueError(f"not a departement code: {code!r}")
    if text.isdigit():
        number = int(text)
        text = f"{number:02d}" if number < 100 else f"{number:03d}"
    return text


def resolve_territory(territory: Any) -> Any:
    """Return a territory object; a string id (``"commune:33005"``) goes to :func:`get_territory`."""
    if isinstance(territory, str):
        return get_territory(territory)
    return territory


@dataclass(frozen=True)
class Territory:
    """A territory with its geometry in Lambert-93 (EPSG:2154).

    Attributes:
        kind: ``"commune"``, ``"epci"``, ``"departement"`` or ``"polygon"``.
        code: INSEE code, EPCI SIREN, département code, or file stem for a polygon.
        name: display name (French).
        geometry: (Multi)Polygon in EPSG:2154.
        departements: départements whose data the territory needs (sorted).
        source_path: for ``polygon`` territories read from a file given on the command line,
            the absolute path of the file (used by :attr:`id`).
        contour_id: for contours kept in the contours folder, their opaque id (16 hex digits);
            :attr:`id` is then ``contour:<contour_id>`` and no path is kept.
    """

    kind: Kind
    code: str
    name: str
    geometry: BaseGeometry = field(compare=False, repr=False)
    departements: tuple[str, ...]
    source_path: str | None = None
    contour_id: str | None = None

    @property
    def id(self) -> str:
        """String form used in URLs and the CLI, e.g. ``"commune:33005"``.

        >>> Territory("departement", "33", "Gironde", shapely.Point(0, 0), ("33",)).id
        'departement:33'
        """
        if self.contour_id:
            return f"{CONTOUR_PREFIX}:{self.contour_id}"
        if self.kind == "polygon" and self.source_path:
            return f"polygon:{self.source_path}"
        return f"{self.kind}:{self.code}"

    @property
    def area_ha(self) -> float:
        """Area of the geometry in hectares."""
        return float(self.geometry.area) / 1e4


# --- name normalisation -------------------------------------------------------------------------

_COMBINING_ACCENTS = dict.fromkeys(range(0x300, 0x370))  # the accents of French names, NFKD


def normalize_name(text: str) -> str:
    """Key for accent-, case-, hyphen- and apostrophe-insensitive name matching.

    Accents are stripped, case folded, ``st``/``ste`` expanded, and every non-alphanumeric
    character removed.

    >>> normalize_name("Lège-Cap-Ferret") == normalize_name("lege cap ferret")
    True
    >>> normalize_name("St-Magne")
    'saintmagne'
    """
    decomposed = unicodedata.normalize("NFKD", str(text)).translate(_COMBINING_ACCENTS)
    if not decomposed.isascii():  # other marks (rare): the general rule, character by character
        decomposed = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    ascii_text = decomposed.casefold()
    words = re.split(r"[^0-9a-z]+", ascii_text.replace("œ", "oe").replace("æ", "ae"))
    return "".join(_ABBREVIATIONS.get(word, word) for word in words if word)


# --- cached tables ------------------------------------------------------------------------------

def _territories_dir() -> Path:
    return get_settings().data_dir / "territories"


@lru_cache(maxsize=1)
def _commune_polygons() -> gpd.GeoDataFrame:
    """Commune polygons (EPSG:2154) of the embedded départements, indexed by INSEE code."""
    path = _territories_dir() / "communes.parquet"
    gdf = gpd.read_parquet(path, columns=["code", "geometry"]).set_index("code")
    logger.debug("loaded %d commune polygons from %s", len(gdf), path)
    return gdf


@lru_cache(maxsize=1)
def communes_table() -> pd.DataFrame:
    """All COG 2026 communes (France) with their EPCI, population and geometry availability.

    Returns:
        DataFrame with columns ``code``, ``name``, ``departement``, ``siren_epci``, ``nom_epci``,
        ``pop_2019``, ``pop_2020``, ``pop_2022``, ``pop_2023`` (nullable ``Int64``; empty for a
        commune that did not exist under the older COG) and ``has_geometry`` (bool), sorted by
        code. The cached object is shared: copy it before modifying.
    """
    folder = _territories_dir()
    pop = pd.read_csv(folder / "population_communes_2019_2020_2022_2023.csv",
                      dtype={"code": str, "departement": str, "region": str})
    epci = pd.read_csv(folder / "communes_epci_2026.csv", dtype=str)
    table = pop.rename(columns={"nom": "name"}).merge(
        epci[["code_commune", "siren_epci", "nom_epci"]].rename(columns={"code_commune": "code"}),
        on="code", how="left")
    for year in POPULATION_YEARS:
        table[f"pop_{year}"] = table[f"pop_{year}"].astype("Int64")
    table["has_geometry"] = table["code"].isin(_commune_polygons().index)
    columns = ["code", "name", "departement", "siren_epci", "nom_epci",
               *[f"pop_{y}" for y in POPULATION_YEARS], "has_geometry"]
    return table[columns].sort_values("code").reset_index(drop=True)


@lru_cache(maxsize=1)
def _commune_polygon_table() -> gpd.GeoDataFrame:
    """:func:`commune_polygons` of every embedded département (the cached whole table)."""
    table = communes_table()
    rows = table.loc[table["has_geometry"], ["code", "name", "departement"]]
    geoms = _commune_polygons().loc[rows["code"].tolist(), "geometry"].to_numpy()
    return gpd.GeoDataFrame(rows.reset_index(drop=True), geometry=geoms,
                            crs=_commune_polygons().crs)


def commune_polygons(departements: Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """Polygons of the COG 2026 communes of some départements, in one call.

    The bulk counterpart of ``get_territory("commune:…")`` (about 25 ms a commune): the
    geometries are the very objects that function returns, so a clip by either is identical.

    Args:
        departements: département codes (``"33"``, ``"2A"``); ``None`` = every embedded one.
            Polygons exist for départements 32, 33, 34 and 69 only: other codes give no rows.

    Returns:
        GeoDataFrame with columns ``code``, ``name``, ``departement``, ``geometry``
        (EPSG:2154), one row per commune that has a polygon, sorted by code, with a fresh
        ``RangeIndex``; a copy, free to modify.

    Notes:
        The whole table is built once per process (:func:`functools.lru_cache`); a call then
        costs one boolean filter.

    >>> commune_polygons(["33"]).query("code == '33009'")["name"].tolist()
    ['Arcachon']
    """
    table = _commune_polygon_table()
    if departements is not None:
        wanted = {str(d).strip().upper() for d in departements}
        table = table[table["departement"].isin(wanted)]
    return table.reset_index(drop=True)


@lru_cache(maxsize=1)
def _communes_by_code() -> pd.DataFrame:
    """:func:`communes_table` indexed by INSEE code."""
    return communes_table().set_index("code")


@lru_cache(maxsize=1)
def _departements_table() -> pd.DataFrame:
    """Départements (code, name) of the COG 2026."""
    records = json.loads((_territories_dir() / "departements.json").read_text(encoding="utf-8"))
    return pd.DataFrame([{"code": r["code"], "name": r["nom"]} for r in records])


@lru_cache(maxsize=1)
def _epci_table() -> pd.DataFrame:
    """EPCI (code = SIREN, name, comma-joined départements of the members)."""
    communes = communes_table().dropna(subset=["siren_epci"])
    grouped = communes.groupby("siren_epci", sort=True)
    return pd.DataFrame({
        "code": grouped.size().index,
        "name": grouped["nom_epci"].first().to_numpy(),
        "departement": grouped["departement"].agg(lambda s: ",".join(sorted(set(s)))).to_numpy(),
    })


@lru_cache(maxsize=1)
def _search_index() -> pd.DataFrame:
    """One row per commune, EPCI and département with a normalised name key and a population."""
    communes = communes_table()
    pop = communes["pop_2023"].fillna(0).astype("int64")
    frames = [
        pd.DataFrame({"kind": "commune", "code": communes["code"], "name": communes["name"],
                      "departement": communes["departement"], "pop": pop}),
    ]
    epci = _epci_table()
    epci_pop = pop.groupby(communes["siren_epci"]).sum()
    frames.append(epci.assign(kind="epci", pop=epci["code"].map(epci_pop).fillna(0).astype("int64")))
    deps = _departements_table()
    dep_pop = pop.groupby(communes["departement"]).sum()
    frames.append(deps.assign(kind="departement", departement=deps["code"],
                              pop=deps["code"].map(dep_pop).fillna(0).astype("int64")))
    index = pd.concat(frames, ignore_index=True)
    index["key"] = [normalize_name(name) for name in index["name"].tolist()]
    index["id"] = index["kind"] + ":" + index["code"]
    index["kind_order"] = index["kind"].map(_KIND_ORDER)
    return index


@lru_cache(maxsize=1)
def _commune_geometries() -> dict[str, BaseGeometry]:
    """INSEE code → commune polygon (a dict lookup: ``.loc`` costs milliseconds a commune)."""
    polygons = _commune_polygons()
    return dict(zip(polygons.index, polygons.geometry.to_numpy()))


@lru_cache(maxsize=1)
def _search_rows() -> dict[tuple[str, str], dict[str, Any]]:
    """``(kind, code) → row`` of :func:`_search_index` (one lookup per territory resolved)."""
    index = _search_index()
    columns = {name: index[name].tolist() for name in index.columns}  # Python values, at once
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    return {(k, c): row for k, c, row in zip(columns["kind"], columns["code"], rows)}


@lru_cache(maxsize=1)
def _centroids() -> tuple[np.ndarray, np.ndarray]:
    """Codes and centroid coordinates (n×2) of the communes with a polygon."""
    polygons = _commune_polygons()
    points = shapely.centroid(polygons.geometry.to_numpy())
    return polygons.index.to_numpy(), shapely.get_coordinates(points)


# --- lookup -------------------------------------------------------------------------------------

def search_territories(text: str, limit: int = 20) -> pd.DataFrame:
    """Find communes, EPCI and départements by code prefix or normalised name.

    A query made of digits (or ``2A``/``2B``) matches code prefixes; anything else matches names
    ignoring accents, case, hyphens and apostrophes: exact names first, then prefixes, then
    substrings; ties are ordered commune < EPCI < département, then by population (largest first).

    Args:
        text: code prefix or (part of) a name.
        limit: maximum number of rows.

    Returns:
        DataFrame with columns ``id``, ``kind``, ``code``, ``name``, ``departement`` (empty when
        nothing matches or the query is blank).
    """
    columns = ["id", "kind", "code", "name", "departement"]
    query = str(text).strip()
    index = _search_index()
    key = normalize_name(query)
    if not key or limit <= 0:
        return pd.DataFrame(columns=columns)
    if re.fullmatch(r"[0-9]+|2[abAB][0-9]*", query.replace(" ", "")):
        code = query.replace(" ", "").upper()
        hits = index[index["code"].str.startswith(code)].assign(rank=lambda d: d["code"] != code)
    else:
        exact = index["key"] == key
        prefix = index["key"].str.startswith(key)
        contains = index["key"].str.contains(key, regex=False)
        hits = index[contains].assign(rank=np.where(exact[contains], 0,
                                                    np.where(prefix[contains], 1, 2)))
    hits = hits.sort_values(["rank", "kind_order", "pop", "code"],
                            ascending=[True, True, False, True], kind="stable")
    return hits[columns].head(limit).reset_index(drop=True)


def plain_text(text: object, max_chars: int = MAX_NAME_CHARS) -> str:
    """A user-given name made safe to show anywhere as plain text.

    Control characters and Markdown/HTML/LaTeX syntax characters are removed, spaces collapsed
    and the text cut to ``max_chars`` (an image link, a script tag or a formula becomes inert
    words), so a page may put it in a title or a Markdown line.

    >>> plain_text("![x](http://evil/i.png) <b>Zone</b>")
    'xhttp://evil/i.png bZone/b'
    >>> plain_text("Lège-Cap-Ferret, « centre »")
    'Lège-Cap-Ferret, « centre »'
    """
    cleaned = "".join(ch for ch in str(text) if unicodedata.category(ch)[0] != "C" or ch == " ")
    cleaned = re.sub(r"\s+", " ", _MARKUP_RE.sub("", cleaned)).strip()
    return cleaned[:max_chars].strip()


def _parse_id(territory_id: str) -> tuple[str, str]:
    """Split ``"kind:code"`` into a canonical kind and the code."""
    kind, sep, code = str(territory_id).partition(":")
    kind = _KIND_ALIASES.get(kind.strip().lower(), kind.strip().lower())
    if not sep or kind not in (*KINDS, CONTOUR_PREFIX) or not code.strip():
        raise TerritoryNotFoundError(
            f"malformed territory id {territory_id!r} (expected kind:code, kind in {KINDS})",
            f"Identifiant de territoire invalide : « {plain_text(territory_id, 40)} » (attendu "
            "par exemple « commune:33005 », « epci:243300563 », « departement:33 »).")
    return kind, code.strip()


def contours_dir() -> Path:
    """The folder of the contours kept by the dashboard: ``<store>/territoires``."""
    return get_settings().store_dir / CONTOURS_FOLDER


def is_web_territory_id(territory_id: object) -> bool:
    """Whether an id may come from a URL: any kind but ``polygon:`` (a file path).

    >>> is_web_territory_id("commune:33005"), is_web_territory_id("polygon:/etc/x.geojson")
    (True, False)
    """
    kind, sep, _ = str(territory_id).partition(":")
    return bool(sep) and _KIND_ALIASES.get(kind.strip().lower(), kind.strip().lower()) != "polygon"


def contour_territory(contour_id: str, folder: Path | str | None = None) -> Territory:
    """The contour kept as ``<folder>/<contour_id>.gpkg`` (default folder: :func:`contours_dir`).

    Raises:
        TerritoryNotFoundError: malformed id (not 16 hex digits) or no such contour.
    """
    code = str(contour_id).strip().lower()
    path = Path(folder) if folder is not None else contours_dir()
    path = path / f"{code}.gpkg"
    if not CONTOUR_ID_RE.match(code) or not path.is_file():
        raise TerritoryNotFoundError(
            f"no contour {str(contour_id)[:40]!r} in the contours folder",
            "Ce contour personnalisé n'existe pas (ou plus) sur ce serveur : importez-le ou "
            "dessinez-le à nouveau (page « Contour personnalisé »).")
    found = territory_from_file(path)
    return Territory("polygon", code, found.name, found.geometry, found.departements,
                     contour_id=code)


@lru_cache(maxsize=3)
def _codes_of(kind: str) -> frozenset[str]:
    """Codes of one kind of territory (communes, EPCI, départements)."""
    table = {"commune": communes_table, "epci": _epci_table, "departement": _departements_table}[kind]()
    return frozenset(table["code"].astype(str))


def _resolve_code(kind: str, code: str) -> str:
    """Return the canonical code of ``kind``; a unique exact name is accepted in place of a code."""
    if code.upper() in _codes_of(kind):  # fast path: no need for the name index
        return code.upper()
    index = _search_index()
    of_kind = index[index["kind"] == kind]
    if (of_kind["code"] == code.upper()).any():
        return code.upper()
    by_name = of_kind[of_kind["key"] == normalize_name(code)]
    if len(by_name) == 1:
        return str(by_name["code"].iloc[0])
    label = {"commune": "commune", "epci": "EPCI", "departement": "département"}[kind]
    if len(by_name) > 1:
        raise TerritoryNotFoundError(
            f"ambiguous {kind} name {code!r}: {', '.join(by_name['code'])}",
            f"Nom de {label} ambigu : « {code} » ({', '.join(by_name['code'])}) ; "
            "utilisez le code.")
    raise TerritoryNotFoundError(f"unknown {kind} {code!r}",
                                 f"Territoire introuvable : {label} « {code} » inconnu(e).")


def _no_geometry(kind: str, code: str, name: str) -> TerritoryNotFoundError:
    embedded = ", ".join(sorted(set(_commune_polygons().index.str[:2])))
    return TerritoryNotFoundError(
        f"no polygon for {kind} {code} (embedded departements: {embedded})",
        f"Le contour de « {name} » n'est pas disponible : seuls les départements "
        f"{embedded} sont embarqués.")


def _member_codes(kind: str, code: str) -> list[str]:
    """INSEE codes of the communes making up a commune, EPCI or département."""
    communes = communes_table()
    if kind == "commune":
        return [code]
    column = "siren_epci" if kind == "epci" else "departement"
    return communes.loc[communes[column] == code, "code"].tolist()


def member_communes(territory: Any) -> list[str]:
    """INSEE codes of the communes whose polygons make up an EPCI's or a département's geometry.

    A commune is its own single member; a drawn or uploaded contour has none (``[]``). Members
    without a polygon are left out, as they are from the territory's geometry.

    >>> member_communes("epci:243300563")
    ['33009', '33199', '33527', '33529']
    """
    resolved = resolve_territory(territory)
    if resolved.kind not in _KIND_ORDER:
        return []
    return _with_polygon(_member_codes(resolved.kind, resolved.code))


def _with_polygon(codes: list[str]) -> list[str]:
    """The INSEE codes among ``codes`` whose commune polygon is embedded."""
    geometries = _commune_geometries()
    return [c for c in codes if c in geometries]


@lru_cache(maxsize=4096)  # every embedded commune (an EPCI's or département's sum reads them)
def _admin_territory(kind: str, code: str) -> Territory:
    """Build (once) the territory of an administrative unit from its member communes."""
    row = _search_rows()[(kind, code)]
    members = _member_codes(kind, code)
    present = _with_polygon(members)
    if not present:
        raise _no_geometry(kind, code, str(row["name"]))
    if len(present) < len(members):
        logger.warning("%s %s: %d of %d member communes have no polygon, geometry is partial",
                       kind, code, len(members) - len(present), len(members))
    geometries = _commune_geometries()
    geoms = np.array([geometries[c] for c in present], dtype=object)
    geometry = geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)
    departements = tuple(sorted(set(str(row["departement"]).split(","))))
    return Territory(kind, code, str(row["name"]), geometry, departements)  # type: ignore[arg-type]


def get_territory(territory_id: str, *, allow_files: bool = True,
                  contours: Path | str | None = None) -> Territory:
    """Return the territory for an id such as ``"commune:33005"``.

    Args:
        territory_id: ``commune:<INSEE>``, ``epci:<SIREN>``, ``departement:<code>``,
            ``contour:<16 hex>`` (a contour kept by the dashboard) or ``polygon:<path to a
            GeoJSON/GPKG>`` (command line only). A unique exact name (accent/case-insensitive)
            is accepted instead of a code, e.g. ``commune:lege cap ferret``.
        allow_files: accept ``polygon:<path>``; the dashboard passes ``False`` so that a URL
            can never make the server read a file.
        contours: the contours folder (default :func:`contours_dir`).

    Returns:
        The territory; administrative ones are cached (geometry unions are computed once).

    Raises:
        TerritoryNotFoundError: malformed id, unknown code, ambiguous name, no polygon for the
            territory (only départements 32, 33, 34, 69 are embedded), unknown contour, or a
            file path while ``allow_files`` is false.
        CrsError, GeometryError, EmptyInputError: see :func:`territory_from_file`.
    """
    kind, code = _parse_id(territory_id)
    if kind == CONTOUR_PREFIX:
        return contour_territory(code, contours)
    if kind == "polygon":
        if not allow_files:
            raise TerritoryNotFoundError(
                "polygon:FILE ids are refused here (allow_files=False)",
                "Un contour ne peut pas être désigné par un chemin de fichier ici : importez-le "
                "ou dessinez-le sur la page « Contour personnalisé ».")
        return territory_from_file(code)
    return _admin_territory(kind, _resolve_code(kind, code))


# --- population and neighbours ------------------------------------------------------------------

def population(code: str) -> dict[int, int]:
    """Population municipale by year for a commune, or summed over an EPCI or a département.

    Args:
        code: a territory id (``"epci:243300563"``) or a bare code: 5 characters = commune,
            9 digits = EPCI, 2-3 characters = département.

    Returns:
        ``{year: population}`` for 2019, 2020, 2022, 2023; a year is left out when a member
        commune has no value for it (commune created since), rather than giving a partial sum.

    Raises:
        TerritoryNotFoundError: unknown code or polygon territory.

    >>> population("33009")[2023]
    11092
    """
    if ":" in str(code):
        kind, code = _parse_id(code)
    else:
        code = str(code).strip().upper()
        kind = "commune" if len(code) == 5 else "epci" if len(code) == 9 else "departement"
    if kind not in KINDS or kind == "polygon":  # a drawn or uploaded contour has no census
        raise TerritoryNotFoundError(f"no population for {kind} {code!r}",
                                     "La population n'est pas disponible pour un contour libre.")
    code = _resolve_code(kind, code)
    if kind == "commune":  # one dict lookup (a comparison table asks for 9-17 communes)
        return dict(_commune_populations().get(code, {}))
    table = _communes_by_code().loc[_member_codes(kind, code)]
    result: dict[int, int] = {}
    for year in POPULATION_YEARS:
        values = table[f"pop_{year}"]
        if len(values) and values.notna().all():
            result[year] = int(values.sum())
    return result


@lru_cache(maxsize=1)
def _commune_populations() -> dict[str, dict[int, int]]:
    """``{code: {year: population}}`` of every commune, the years with a value only."""
    table = communes_table()
    codes = table["code"].astype(str).tolist()
    result: dict[str, dict[int, int]] = {code: {} for code in codes}
    for year in POPULATION_YEARS:
        values = table[f"pop_{year}"]
        known = values.notna().to_numpy()
        counts = values.to_numpy(dtype="int64", na_value=0).tolist()
        for code, value, ok in zip(codes, counts, known.tolist()):
            if ok:
                result[code][year] = value
    return result


def nearest_communes(code: str, n: int = 8) -> list[str]:
    """INSEE codes of the ``n`` communes whose centroids are closest to this commune's centroid.

    Only communes with a polygon (départements 32, 33, 34, 69) are candidates; the commune itself
    is excluded. Ordered by increasing distance.

    Raises:
        TerritoryNotFoundError: unknown commune or commune without polygon.
    """
    code = _resolve_code("commune", code.removeprefix("commune:"))
    codes, xy = _centroids()
    where = np.flatnonzero(codes == code)
    if not len(where):
        raise _no_geometry("commune", code, code)
    distance = np.hypot(*(xy - xy[where[0]]).T)
    distance[where[0]] = np.inf
    order = np.argsort(distance, kind="stable")[: max(0, min(n, len(codes) - 1))]
    return [str(c) for c in codes[order]]


# --- custom polygons ----------------------------------------------------------------------------

def _read_polygon_file(path: Path) -> gpd.GeoDataFrame:
    """Read a polygon file, mapping every failure to a user error."""
    if not path.is_file():
        raise TerritoryNotFoundError(f"polygon file not found: {path}",
                                     f"Fichier de contour introuvable : {path.name}.")
    if path.suffix.lower() not in POLYGON_SUFFIXES:
        raise GeometryError(f"unsupported polygon file format {path.suffix!r}: {path}",
                            f"Format de contour non pris en charge ({path.suffix}) : "
                            "utilisez un GeoJSON ou un GeoPackage.")
    if path.suffix.lower() in (".geojson", ".json"):
        simple = _read_simple_geojson(path)
        if simple is not None:
            return simple
    try:
        return gpd.read_file(path)
    except Exception as err:  # pyogrio raises DataSourceError and friends for corrupt files
        raise GeometryError(f"cannot read polygon file {path}: {err}",
                            f"Le fichier de contour {path.name} est illisible.") from err


def _read_simple_geojson(path: Path) -> gpd.GeoDataFrame | None:
    """Read a plain GeoJSON FeatureCollection without GDAL (``None``: let GDAL read it).

    Loading GDAL costs ~0.1 s and ~60 MB of memory in a command-line run; a contour file is
    small. The result is what :func:`geopandas.read_file` gives for such a file: the features'
    properties, their geometries, and the CRS of the ``crs`` member (GDAL honours it) or
    EPSG:4326 without one. Anything else (other GeoJSON shapes, unreadable text, an unknown
    CRS, a file over 20 MB) is left to GDAL, whose errors the caller maps.
    """
    import pyproj

    try:
        if path.stat().st_size > 20_000_000:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
            return None
        features = data.get("features")
        if not isinstance(features, list) or not all(
                isinstance(f, dict) and f.get("type") == "Feature"
                and isinstance(f.get("properties") or {}, dict) for f in features):
            return None
        crs: Any = "EPSG:4326"
        if "crs" in data:
            member = data["crs"]
            if not (isinstance(member, dict) and member.get("type") == "name"
                    and isinstance(member.get("properties"), dict)
                    and isinstance(member["properties"].get("name"), str)):
                return None
            crs = pyproj.CRS.from_user_input(member["properties"]["name"])
        geoms = [None if f.get("geometry") is None else
                 shapely.from_geojson(json.dumps(f["geometry"])) for f in features]
        props = pd.DataFrame([f.get("properties") or {} for f in features],
                             index=pd.RangeIndex(len(features)))
    except (OSError, ValueError, TypeError, shapely.errors.GEOSException,
            pyproj.exceptions.CRSError):
        return None
    return gpd.GeoDataFrame(props, geometry=geoms, crs=crs)


def territory_from_file(path: Path | str) -> Territory:
    """Custom territory: the union of the polygons of a GeoJSON or GeoPackage file.

    Args:
        path: ``.geojson``/``.json``, ``.gpkg`` (first layer) or ``.shp`` file with polygons.

    Returns:
        A ``polygon`` territory (code = file stem, name = the ``nom``/``name`` field when the file
        has one feature, else the stem) reprojected to EPSG:2154; ``departements`` are those of the
        embedded communes it intersects.

    Raises:
        TerritoryNotFoundError: the file does not exist.
        EmptyInputError: no feature, or only empty geometries.
        CrsError: the file declares no CRS.
        GeometryError: unreadable file, unsupported format, non-polygon or invalid geometries.
    """
    path = Path(path).expanduser().resolve()
    gdf = _read_polygon_file(path)
    geoms = gdf.geometry[gdf.geometry.notna() & ~gdf.geometry.is_empty] if len(gdf) else gdf.geometry
    if not len(geoms):
        raise EmptyInputError(f"polygon file {path} has no geometry",
                              f"Le fichier de contour {path.name} est vide.")
    if gdf.crs is None:
        raise CrsError(f"polygon file {path} has no CRS",
                       f"Le fichier de contour {path.name} n'indique pas son système de "
                       "coordonnées (CRS).")
    _check_coordinates(geoms, path)
    kinds = set(geoms.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise GeometryError(f"polygon file {path} holds {sorted(kinds)}",
                            f"Le fichier de contour {path.name} doit contenir des polygones "
                            f"(trouvé : {', '.join(sorted(kinds))}).")
    invalid = ~geoms.is_valid
    if invalid.any():
        reason = shapely.is_valid_reason(geoms[invalid].iloc[0])
        raise GeometryError(f"polygon file {path}: {int(invalid.sum())} invalid geometries ({reason})",
                            f"Le fichier de contour {path.name} contient {int(invalid.sum())} "
                            f"géométrie(s) invalide(s) ({reason}).")
    projected = geoms.to_crs(TARGET_EPSG).to_numpy()
    geometry = projected[0] if len(projected) == 1 else shapely.union_all(projected)
    check_projected(geometry, path.name)
    name = path.stem
    for column in ("nom", "name", "NOM", "NAME", "libelle"):
        if len(gdf) == 1 and column in gdf.columns and isinstance(gdf[column].iloc[0], str):
            name = plain_text(gdf[column].iloc[0]) or path.stem
            break
    return Territory("polygon", path.stem, name, geometry, _departements_of(geometry),
                     source_path=str(path))


def _check_coordinates(geoms: gpd.GeoSeries, path: Path) -> None:
    """Refuse longitude/latitude files whose coordinates are not longitudes/latitudes.

    A GeoJSON without ``crs`` member is read as WGS 84: one written in Lambert-93 then has
    coordinates such as ``(370000, 6400000)``, which would project to infinity.

    Raises:
        CrsError: a geographic CRS with coordinates outside ±180° / ±90°, or non-finite ones.
    """
    bounds = geoms.total_bounds
    if not np.isfinite(bounds).all():
        raise GeometryError(f"polygon file {path}: non-finite coordinates",
                            f"Le fichier de contour {path.name} contient des coordonnées "
                            "invalides (infinies ou non numériques).")
    if geoms.crs is not None and geoms.crs.is_geographic and (
            bounds[0] < -180 or bounds[2] > 180 or bounds[1] < -90 or bounds[3] > 90):
        raise CrsError(
            f"polygon file {path}: {geoms.crs.to_string()} but bounds {bounds.tolist()}",
            f"Les coordonnées du contour {path.name} (par exemple {bounds[0]:.0f}, "
            f"{bounds[1]:.0f}) ne sont pas des longitudes/latitudes, alors que le fichier "
            "n'indique pas d'autre système : un GeoJSON sans « crs » doit être en WGS 84 "
            "(EPSG:4326). Exportez-le en WGS 84, ou en GeoPackage avec son système.")


def check_projected(geometry: BaseGeometry, label: str) -> None:
    """Refuse a contour that became unusable once in Lambert-93 (infinite, empty, invalid).

    Raises:
        GeometryError: non-finite coordinates, empty or invalid geometry, or no area.
    """
    bounds = np.asarray(geometry.bounds, dtype=float)
    if geometry.is_empty or not np.isfinite(bounds).all() or geometry.area <= 0:
        raise GeometryError(f"contour {label}: unusable once projected to EPSG:2154 ({bounds})",
                            "Le contour est inutilisable une fois projeté en Lambert-93 : ses "
                            "coordonnées sont hors des limites de la Terre ou sa surface est "
                            "nulle.")
    if not geometry.is_valid:
        raise GeometryError(f"contour {label}: invalid once projected "
                            f"({shapely.is_valid_reason(geometry)})",
                            "Le contour est invalide une fois projeté en Lambert-93 (ses côtés "
                            "se croisent).")


def _departements_of(geometry: BaseGeometry) -> tuple[str, ...]:
    """Départements of the embedded communes that intersect ``geometry``.

    Reads the communes' codes and bbox column with pyarrow and decodes only the polygons whose
    bbox meets the geometry's (the commune table is not loaded: a ``polygon:`` territory on the
    command line then costs a few milliseconds).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(_territories_dir() / "communes.parquet",
                          columns=["code", "bbox", "geometry"])
    box = table.column("bbox").combine_chunks()
    xmin, ymin, xmax, ymax = (box.field(c).to_numpy(zero_copy_only=False)
                              for c in ("xmin", "ymin", "xmax", "ymax"))
    gx0, gy0, gx1, gy1 = geometry.bounds
    near = np.flatnonzero((xmin <= gx1) & (xmax >= gx0) & (ymin <= gy1) & (ymax >= gy0))
    if len(near) == 0:
        return ()
    wkb = table.column("geometry").take(near).combine_chunks()
    if isinstance(wkb, pa.ExtensionArray):
        wkb = wkb.storage
    wkb = wkb.to_numpy(zero_copy_only=False)
    hits = near[shapely.intersects(shapely.from_wkb(wkb), geometry)]
    codes = np.asarray(table.column("code").take(hits).to_pylist(), dtype=object)
    return tuple(sorted({str(code)[:2] for code in codes}))
