"""Pseudo-change: flows that are likely production artefacts rather than real change.

Two independent signals, both kept apart from the flows (« changements à vérifier »):

* **DIFF / overlay disagreement**: when the store holds IGN's DIFF layer of the pair as well as
  both OCCUPATION_SOL layers, :func:`ocsge_engine.flows.exchange_matrix` computes both paths and
  attaches the per-cell difference (``ExchangeMatrix.disagreement``). A cell whose two paths differ
  by more than ``min_disagreement_ha`` is suspect: IGN corrected the earlier millésime, so one of
  the two figures is not a real change.
* **Implausible transitions**: a rules table (default ``data/reference/pseudo_change_rules.csv``)
  lists couple transitions that cannot really happen within ``max_years`` years (built land
  turned into forest, a conifer stand turned broadleaf…). Conditions use the syntax of the process
  table (:class:`ocsge_engine.flows.processes.Condition`: ``*``, ``a|b``, ``!a``; a code matches
  its descendants). A rule applies when ``year_to - year_from <= max_years``.

Compute only; the rule labels are data of the table. Draft flags for the producers are built from
the suspect *pieces* (:func:`implausible_pieces`) with :func:`ocsge_engine.flags.validate_flag`.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from ocsge_engine import nomenclature as nom
from ocsge_engine.config import get_settings
from ocsge_engine.flags import Flag, validate_flag
from ocsge_engine.flows.matrix import ExchangeMatrix, Transitions
from ocsge_engine.flows.processes import PAIR_COLUMNS, Condition, ProcessTableError

logger = logging.getLogger(__name__)

DEFAULT_RULES_FILE = "pseudo_change_rules.csv"
RULE_COLUMNS: tuple[str, ...] = ("code", "label_fr", "from_cs", "from_us", "to_cs", "to_us",
                                 "max_years")
DEFAULT_MIN_DISAGREEMENT_HA = 0.5  # the flows engine's warning threshold (sparte's)
REASON_DISAGREEMENT = "desaccord_diff_overlay"


@dataclass(frozen=True, eq=False)
class PseudoChangeRules:
    """Validated implausible-transition rules (columns :data:`RULE_COLUMNS`)."""

    rules: pd.DataFrame

    @property
    def labels(self) -> dict[str, str]:
        """French label of each rule code."""
        return dict(zip(self.rules["code"], self.rules["label_fr"]))


@dataclass(frozen=True, eq=False)
class PseudoChange:
    """Suspect flows of one territory and pair.

    Attributes:
        implausible: couple-level flows matched by a rule: :data:`PAIR_COLUMNS`, ``rule``,
            ``area_ha`` (changes only, the diagonal never).
        disagreement: cells of the matrix whose DIFF and overlay areas differ by more than the
            threshold: ``code_from, code_to, area_ha, area_ha_other, delta_ha`` (empty when the
            DIFF layer is absent).
        has_diff: the DIFF path was available (else the disagreement cannot be measured).
    """

    implausible: pd.DataFrame
    disagreement: pd.DataFrame
    has_diff: bool

    def area_by_reason(self) -> pd.Series:
        """Suspect area (ha) per reason: each rule code, and ``desaccord_diff_overlay``.

        The disagreement area is the sum of ``|delta_ha|`` over the suspect cells.
        """
        areas = self.implausible.groupby("rule")["area_ha"].sum()
        if len(self.disagreement):
            areas[REASON_DISAGREEMENT] = float(self.disagreement["delta_ha"].abs().sum())
        return areas.rename("area_ha")


def default_rules_path() -> Path:
    """Path of the default rules table."""
    return get_settings().reference_dir / DEFAULT_RULES_FILE


@lru_cache(maxsize=1)
def default_rules() -> PseudoChangeRules:
    """The default implausible-transition rules (validated, cached)."""
    return read_rules(default_rules_path())


def read_rules(source: Path | str | bytes | pd.DataFrame) -> PseudoChangeRules:
    """Read and validate a rules table (CSV path, CSV bytes or DataFrame).

    Raises:
        ProcessTableError: unreadable, missing columns, unknown codes or a bad ``max_years``.
    """
    try:
        frame = source if isinstance(source, pd.DataFrame) else pd.read_csv(
            io.BytesIO(source) if isinstance(source, bytes) else source, dtype=str,
            keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise ProcessTableError(f"cannot read pseudo-change rules: {err}",
                                "La table des règles de pseudo-changement est illisible.") from err
    missing = [c for c in RULE_COLUMNS if c not in frame.columns]
    if missing:
        raise ProcessTableError(f"pseudo-change rules lack columns {missing}",
                                "La table des règles de pseudo-changement n'a pas les colonnes "
                                f"{', '.join(missing)}.")
    table = frame[list(RULE_COLUMNS)].astype(str).apply(lambda s: s.str.strip())
    years = pd.to_numeric(table["max_years"], errors="coerce")
    problems = [f"ligne {i + 1} : max_years « {v} »" for i, v in
                enumerate(table["max_years"]) if not (years[i] > 0)]
    for row in table.itertuples():
        for column, kind in (("from_cs", "cs"), ("to_cs", "cs"), ("from_us", "us"), ("to_us", "us")):
            known = set(nom.get_nomenclature(kind).codes)  # type: ignore[arg-type]
            problems += [f"ligne {row.Index + 1} : {column} « {t} » inconnu"
                         for t in Condition.parse(getattr(row, column)).tokens if t not in known]
    if problems:
        raise ProcessTableError(f"invalid pseudo-change rules: {problems[:5]}",
                                "Règles de pseudo-changement invalides : "
                                + " ; ".join(problems[:5]) + ".")
    return PseudoChangeRules(table.assign(max_years=years.astype(float)))


def match_rules(pairs: pd.DataFrame, years: int, rules: PseudoChangeRules | None = None
                ) -> npt.NDArray[np.object_]:
    """Code of the first rule matching each changed couple pair over ``years``, else ``None``.

    Args:
        pairs: columns :data:`PAIR_COLUMNS`.
        years: length of the period (``year_to - year_from``).
        rules: the rules (default: :func:`default_rules`).

    >>> p = pd.DataFrame([["CS1.1.1.1", "US5", "CS2.1.1.1", "US1.2"]], columns=list(PAIR_COLUMNS))
    >>> match_rules(p, 3).tolist(), match_rules(p, 12).tolist()
    (['bati_vers_boise'], [None])
    """
    rules = rules or default_rules()
    out = np.full(len(pairs), None, dtype=object)
    changed = ((pairs["code_cs_from"] != pairs["code_cs_to"])
               | (pairs["code_us_from"] != pairs["code_us_to"])).to_numpy()
    columns = {"from_cs": "code_cs_from", "from_us": "code_us_from", "to_cs": "code_cs_to",
               "to_us": "code_us_to"}
    for rule in rules.rules.itertuples():
        if years > rule.max_years:
            continue
        hit = changed & (out == None)  # noqa: E711 (elementwise on an object array)
        for column, field in columns.items():
            hit &= Condition.parse(getattr(rule, column)).matches(pairs[field].to_numpy(object))
        out[hit] = rule.code
    return out


def pseudo_change(matrix: ExchangeMatrix, rules: PseudoChangeRules | None = None,
                  min_disagreement_ha: float = DEFAULT_MIN_DISAGREEMENT_HA) -> PseudoChange:
    """Suspect flows of an exchange matrix (both signals, see the module docstring).

    Args:
        matrix: a matrix with couple-level transitions and years (``exchange_matrix``).
        rules: implausible-transition rules (default table if ``None``).
        min_disagreement_ha: a cell is suspect when ``|delta_ha|`` exceeds this.

    Returns:
        The :class:`PseudoChange`.

    Raises:
        ValueError: the matrix has no transitions or no years.
    """
    if matrix.transitions is None or matrix.year_from is None or matrix.year_to is None:
        raise ValueError("pseudo_change needs a matrix with transitions and years")
    implausible = implausible_flows(matrix.transitions, matrix.year_to - matrix.year_from, rules)
    disagreement = _empty_disagreement()
    if matrix.disagreement is not None:
        d = matrix.disagreement
        disagreement = d[d["delta_ha"].abs() > min_disagreement_ha].reset_index(drop=True)
    return PseudoChange(implausible, disagreement, matrix.disagreement is not None)


def implausible_flows(transitions: Transitions, years: int,
                      rules: PseudoChangeRules | None = None) -> pd.DataFrame:
    """Couple-level flows matched by an implausible-transition rule.

    Returns:
        Columns :data:`PAIR_COLUMNS`, ``rule``, ``area_ha``; sorted by area, largest first.
    """
    table = transitions.table
    rule = match_rules(table, years, rules) if len(table) else np.array([], dtype=object)
    out = table[list(PAIR_COLUMNS)].assign(rule=rule, area_ha=table["area_ha"].to_numpy(float))
    out = out[out["rule"].notna()]
    return out.sort_values(["area_ha", *PAIR_COLUMNS], ascending=[False, True, True, True, True],
                           kind="stable").reset_index(drop=True)


def _empty_disagreement() -> pd.DataFrame:
    return pd.DataFrame({"code_from": pd.Series(dtype=object), "code_to": pd.Series(dtype=object),
                         "area_ha": pd.Series(dtype=float), "area_ha_other": pd.Series(dtype=float),
                         "delta_ha": pd.Series(dtype=float)})


def implausible_pieces(layer_from: gpd.GeoDataFrame, layer_to: gpd.GeoDataFrame, years: int,
                       rules: PseudoChangeRules | None = None,
                       min_area_m2: float = 0.0) -> gpd.GeoDataFrame:
    """Overlay pieces of an implausible transition, with the polygon ids of both millésimes.

    Args:
        layer_from: first millésime (``id``, ``code_cs``, ``code_us``, geometry), clipped.
        layer_to: second millésime, same columns and CRS.
        years: length of the period.
        rules: the rules (default table).
        min_area_m2: drop smaller pieces (slivers).

    Returns:
        GeoDataFrame: ``id_from, id_to``, :data:`PAIR_COLUMNS`, ``rule``, ``area_m2``, geometry
        (the piece), sorted by area, largest first.
    """
    from ocsge_engine.indicators.pair import pair_from_layers

    pair = pair_from_layers(layer_from, layer_to)
    cs_f, us_f = pair.codes("from")
    cs_t, us_t = pair.codes("to")
    pairs = pd.DataFrame({"code_cs_from": cs_f, "code_us_from": us_f, "code_cs_to": cs_t,
                          "code_us_to": us_t})
    rule = match_rules(pairs, years, rules) if len(pairs) else np.array([], dtype=object)
    keep = pd.notna(rule) & (pair.pieces.area_m2 >= min_area_m2)
    ids_f = np.asarray(layer_from["id"], dtype=object)[pair.pieces.index_from[keep]]
    ids_t = np.asarray(layer_to["id"], dtype=object)[pair.pieces.index_to[keep]]
    out = gpd.GeoDataFrame(pairs[keep].assign(id_from=ids_f, id_to=ids_t, rule=rule[keep],
                                              area_m2=pair.pieces.area_m2[keep]),
                           geometry=list(pair.piece_geometries(keep)), crs=layer_to.crs)
    out = out[["id_from", "id_to", *PAIR_COLUMNS, "rule", "area_m2", "geometry"]]
    return out.sort_values(["area_m2", "id_to"], ascending=[False, True]).reset_index(drop=True)


def draft_flags(pieces: gpd.GeoDataFrame, layer_to: gpd.GeoDataFrame, territory_id: str,
                millesime: int, comments: dict[str, str]) -> list[Flag]:
    """Draft flags for suspect pieces: the second millésime's polygon, proposing its old codes.

    A draft is a validated :class:`~ocsge_engine.flags.Flag` that is **not recorded** here: the
    pages store it with ``FlagStore.add_drafts`` (status ``brouillon``, never exported) and the
    user accepts or rejects it on the Signaler page.

    Args:
        pieces: rows of :func:`implausible_pieces` (or any frame with ``id_to``,
            ``code_cs_from``, ``code_us_from``, ``rule``).
        layer_to: the second millésime (``id``, ``code_cs``, ``code_us``, geometry).
        territory_id: the territory the user looks at.
        millesime: the second millésime.
        comments: comment per rule code (French, from the rules table or the page).

    Returns:
        One flag per distinct second-millésime polygon (largest piece first).
    """
    by_id = layer_to.set_index(layer_to["id"].astype(str))
    flags: list[Flag] = []
    for row in pieces.drop_duplicates("id_to").itertuples():
        polygon = by_id.loc[str(row.id_to)]
        flags.append(validate_flag(territory_id, millesime, str(row.id_to), polygon.geometry,
                                   polygon["code_cs"], polygon["code_us"], row.code_cs_from,
                                   row.code_us_from, comments.get(row.rule, str(row.rule))))
    return flags


def prediction_drafts(changed: gpd.GeoDataFrame, reference: gpd.GeoDataFrame, territory_id: str,
                      millesime: int, comment: str, min_area_m2: float = 100.0) -> list[Flag]:
    """Draft flags where an on-demand prediction disagrees with the official OCS GE layer.

    Each official polygon gets at most one draft: the predicted CS code covering most of its
    disagreeing area, its usage kept, if that area reaches ``min_area_m2``. Drafts are reviewed by
    the user before being recorded (see :func:`draft_flags`).

    Args:
        changed: :func:`ocsge_engine.inference.compare.changed_areas` output (``code_cs_from``
            official, ``code_cs_to`` predicted, ``area_ha``, geometry).
        reference: the official polygons (``id``, ``code_cs``, ``code_us``, geometry).
        territory_id: the territory the user looks at.
        millesime: millésime of ``reference``.
        comment: comment of every draft (French, from the page).
        min_area_m2: smallest disagreeing area per polygon worth a draft.

    Returns:
        Draft flags, largest disagreement first (ties by polygon id).
    """
    if changed.empty:
        return []
    points = gpd.GeoDataFrame(changed[["code_cs_to", "area_ha"]],
                              geometry=changed.geometry.representative_point(), crs=changed.crs)
    ref = reference[["id", "code_cs", "code_us", "geometry"]].to_crs(changed.crs)
    joined = gpd.sjoin(points, ref, predicate="within", how="inner")
    per = joined.groupby(["id", "code_cs_to"], as_index=False)["area_ha"].sum()
    per = per.sort_values(["area_ha", "id", "code_cs_to"], ascending=[False, True, True])
    per = per.drop_duplicates("id")
    per = per[per["area_ha"] * 1e4 >= min_area_m2]
    by_id = reference.set_index(reference["id"].astype(str))
    flags = []
    for row in per.itertuples():
        polygon = by_id.loc[str(row.id)]
        if row.code_cs_to == polygon["code_cs"]:
            continue
        flags.append(validate_flag(territory_id, millesime, str(row.id), polygon.geometry,
                                   polygon["code_cs"], polygon["code_us"], row.code_cs_to,
                                   polygon["code_us"], comment))
    return flags


def store_prediction_drafts(store: Any, territory: Any, prediction: gpd.GeoDataFrame,
                            comment: str, millesime: int | None = None,
                            min_area_m2: float = 100.0) -> list[Flag]:
    """Draft flags where a prediction disagrees with the store's OCS GE over a territory.

    The official polygons are those of ``millesime`` (default: the latest in the store) that
    meet both the territory and the predicted area, read whole (not clipped), so a draft carries
    the full official polygon; the comparison is
    :func:`ocsge_engine.inference.compare.changed_areas` then :func:`prediction_drafts`. Nothing is recorded: pass the result to
    ``FlagStore.add_drafts``.

    Args:
        store: an open :class:`~ocsge_engine.store.Store`.
        territory: a ``Territory`` or its id (the flags' ``territory_id``).
        prediction: predicted polygons with ``code_cs`` and a CRS (``PredictionBundle.polygons``);
            polygons without a code are ignored.
        comment: comment of every draft (French, from the page).
        millesime: OCS GE millésime to compare with (default: the latest).
        min_area_m2: smallest disagreeing area per polygon worth a draft.

    Returns:
        The drafts, largest disagreement first (empty when prediction and OCS GE agree).

    Raises:
        MillesimeError: the territory has no OCS GE millésime (or not ``millesime``).
        GeometryError: the prediction has no CRS, or it does not overlap the territory's OCS GE.
    """
    from ocsge_engine.errors import GeometryError, MillesimeError
    from ocsge_engine.territories import resolve_territory
    from ocsge_engine.inference.compare import changed_areas
    from ocsge_engine.territories import Territory

    resolved = resolve_territory(territory)
    if prediction.crs is None:
        raise GeometryError("prediction without CRS",
                            "La prédiction n'a pas de système de coordonnées.")
    years = [int(y) for y in store.millesimes(resolved)]
    if not years or (millesime is not None and int(millesime) not in years):
        raise MillesimeError(f"no occupation_sol {millesime or ''} for {resolved.id}",
                             "Aucun millésime OCS GE n'est disponible pour ce territoire : "
                             "impossible de comparer la prédiction.")
    year = int(millesime) if millesime is not None else years[-1]
    coded = prediction[prediction["code_cs"].notna()]
    extent = coded.to_crs(2154).geometry.union_all() if len(coded) else None
    overlap = None if extent is None else resolved.geometry.intersection(extent)
    reference = None
    if overlap is not None and not overlap.is_empty and overlap.area > 0:
        where = Territory("polygon", "prediction", "prediction", overlap, resolved.departements)
        reference = store.polygons(where, year, columns=["id", "code_cs", "code_us"], clip=False)
    if reference is None or reference.empty:
        raise GeometryError(
            f"prediction does not overlap the OCS GE {year} of {resolved.id}",
            f"La zone prédite ne recoupe pas l'OCS GE {year} de « {resolved.name} » : choisissez "
            "le territoire où se trouve l'image.")
    changed = changed_areas(coded, reference)
    drafts = prediction_drafts(changed, reference, resolved.id, year, comment, min_area_m2)
    logger.info("prediction vs OCS GE %s %s: %d pieces disagree, %d drafts", resolved.id, year,
                len(changed), len(drafts))
    return drafts


def area_to_check_by_process(result: PseudoChange, table: Any = None) -> pd.Series:
    """Suspect area (ha) per process code: implausible flows plus ``|delta_ha|`` of CS×US cells.

    Disagreement cells count only when the matrix was at the ``cs_us`` level (their codes are
    couples ``CS_US``). A pair flagged by both signals counts once, with the larger area.

    Args:
        result: :func:`pseudo_change` output.
        table: a :class:`~ocsge_engine.flows.processes.ProcessTable` (default table if ``None``).
    """
    from ocsge_engine.flows.processes import assign_processes

    frames = [result.implausible[list(PAIR_COLUMNS) + ["area_ha"]]]
    cells = result.disagreement
    if len(cells) and cells["code_from"].str.contains("_").all():
        parts_f = cells["code_from"].str.split("_", n=1)
        parts_t = cells["code_to"].str.split("_", n=1)
        frames.append(pd.DataFrame({"code_cs_from": parts_f.str[0], "code_us_from": parts_f.str[1],
                                    "code_cs_to": parts_t.str[0], "code_us_to": parts_t.str[1],
                                    "area_ha": cells["delta_ha"].abs().to_numpy(float)}))
    pairs = pd.concat(frames, ignore_index=True)
    if pairs.empty:
        return pd.Series(dtype=float, name="area_ha")
    pairs = pairs.groupby(list(PAIR_COLUMNS), as_index=False)["area_ha"].max()
    pairs["process"] = assign_processes(pairs, table)
    return pairs.groupby("process")["area_ha"].sum().rename("area_ha")
