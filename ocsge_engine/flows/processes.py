"""Named land-take processes: CS×US transitions grouped into what an elected official reads.

A *process table* (default: ``data/reference/processes.csv``, documented in docs/processes.md)
is an ordered list of rules. Each rule names a process (``code``, French ``label_fr``, a colour)
and conditions on the couple before and after:

=================  ==========================================================================
column             condition
=================  ==========================================================================
``change``         ``stable`` (same CS×US couple), ``changed`` (any other) or ``*``
``from_family``    family of the first couple (``artificialise``, ``agricole``, ``forestier``,
                   ``naturel``; decree matrix + A/N/F estimate of :mod:`ocsge_engine.nomenclature`)
``to_family``      family of the second couple
``from_cs``        CS code of the first couple: a code matches itself and its descendants
``to_cs``          CS code of the second couple
``from_us``        US code of the first couple
``to_us``          US code of the second couple
=================  ==========================================================================

A condition is ``*`` (anything), or tokens joined by ``|`` (any of them), the whole list
optionally negated by a leading ``!`` (``!US1.3``: any usage but extraction).

Rules are read **in table order and the first matching rule wins**, so every couple pair gets
exactly one process; a table must leave no pair unmatched (:func:`coverage`, checked on load over
all 280 × 280 leaf couples of the nomenclature, v1.1 ``US235`` and ``US6.6`` included). Several
rows may share one ``code`` (one process defined by several rules) if they share its label.

Compute only: the labels are data of the table (like the nomenclature's), shown by ``charts``.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from ocsge_engine import nomenclature as nom
from ocsge_engine.config import get_settings
from ocsge_engine.errors import ProcessTableError
from ocsge_engine.flows.matrix import ExchangeMatrix, Transitions

logger = logging.getLogger(__name__)

DEFAULT_FILE = "processes.csv"
RULE_COLUMNS: tuple[str, ...] = ("change", "from_family", "to_family", "from_cs", "to_cs",
                                 "from_us", "to_us")
TABLE_COLUMNS: tuple[str, ...] = ("code", "label_fr", "color_hex", *RULE_COLUMNS)
CHANGE_VALUES = ("stable", "changed", "*")
PAIR_COLUMNS: tuple[str, ...] = ("code_cs_from", "code_us_from", "code_cs_to", "code_us_to")
PROCESS_FLOW_COLUMNS: tuple[str, ...] = (*PAIR_COLUMNS, "family_from", "family_to", "process",
                                         "area_ha")
ANY = "*"
_MAX_LISTED = 5


@dataclass(frozen=True)
class Condition:
    """One parsed condition: ``tokens`` (empty = anything), negated or not.

    >>> Condition.parse("!US1.3").matches(np.array(["US1.3", "US1.3.1", "US5"], dtype=object))
    array([False, False,  True])
    """

    tokens: tuple[str, ...]
    negated: bool = False

    @classmethod
    def parse(cls, text: object) -> Condition:
        """Parse ``*``, ``a|b`` or ``!a|b`` (surrounding spaces ignored)."""
        raw = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
        raw = raw.strip()
        negated = raw.startswith("!")
        body = raw[1:].strip() if negated else raw
        if body in ("", ANY):
            return cls((), negated)
        return cls(tuple(t.strip() for t in body.split("|") if t.strip()), negated)

    def matches(self, values: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
        """Where ``values`` (codes or family names) satisfy the condition.

        A code token matches the code itself and its descendants (``US4.1`` matches
        ``US4.1.1``, never ``US41``).
        """
        if not self.tokens:
            hit = np.ones(len(values), dtype=bool)
        else:  # plain Python: called on the few distinct values of a column (pandas costs more)
            tokens, prefixes = frozenset(self.tokens), tuple(t + "." for t in self.tokens)
            hit = np.fromiter(((text := str(v)) in tokens or text.startswith(prefixes)
                               for v in values), dtype=bool, count=len(values))
        return ~hit if self.negated else hit


@dataclass(frozen=True, eq=False)
class ProcessTable:
    """A validated, ordered process table.

    Attributes:
        rules: columns :data:`TABLE_COLUMNS`, one row per rule, in priority order.
    """

    rules: pd.DataFrame

    @property
    def codes(self) -> list[str]:
        """Process codes in table order (each once)."""
        return list(dict.fromkeys(self.rules["code"]))

    @property
    def labels(self) -> dict[str, str]:
        """French label of each process code."""
        return dict(zip(self.rules["code"], self.rules["label_fr"]))

    @property
    def colors(self) -> dict[str, str]:
        """Colour (hex) of each process code."""
        return dict(zip(self.rules["code"], self.rules["color_hex"]))

    def to_csv(self) -> str:
        """The table as CSV text (UTF-8, the columns of :data:`TABLE_COLUMNS`)."""
        return self.rules[list(TABLE_COLUMNS)].to_csv(index=False, lineterminator="\n")

    @cached_property
    def leaf_first_rule(self) -> npt.NDArray[np.int32]:
        """Index of the first rule matching each pair of leaf couples (row ``i * n + j`` of
        :func:`all_couple_pairs`), -1 where none does; computed once per table (the rules must
        not be modified afterwards: read a new table instead)."""
        hits = _all_pairs_hits(self)
        return np.where(hits.any(axis=0), np.argmax(hits, axis=0), -1).astype(np.int32)


# --- loading and validation -----------------------------------------------------------------------

def default_table_path() -> Path:
    """Path of the documented default table (``data/reference/processes.csv``)."""
    return get_settings().reference_dir / DEFAULT_FILE


@lru_cache(maxsize=1)
def default_process_table() -> ProcessTable:
    """The default process table (validated, cached)."""
    return read_process_table(default_table_path())


def read_process_table(source: Path | str | bytes | pd.DataFrame) -> ProcessTable:
    """Read and validate a process table from a CSV file, CSV bytes or a DataFrame.

    Args:
        source: a path, the bytes of an uploaded CSV (UTF-8, ``,`` or ``;`` separated), or a
            DataFrame (e.g. the table edited in the dashboard).

    Returns:
        The validated :class:`ProcessTable`.

    Raises:
        ProcessTableError: unreadable CSV, missing columns, empty codes or labels, unknown
            families or codes, or couple pairs that no rule matches.
    """
    frame = source if isinstance(source, pd.DataFrame) else _read_csv(source)
    table = _normalise(frame)
    _check_conditions(table)
    processes = ProcessTable(table)
    gaps = coverage(processes)["gaps"]
    if len(gaps):
        listed = "; ".join(f"{r.code_cs_from}/{r.code_us_from} → {r.code_cs_to}/{r.code_us_to}"
                           for r in gaps.head(_MAX_LISTED).itertuples())
        raise ProcessTableError(
            f"process table leaves {len(gaps)} couple pairs unmatched, e.g. {listed}",
            f"La table des processus ne classe pas {len(gaps)} transitions, par exemple "
            f"{listed} : ajoutez une règle finale « * » (autres changements).")
    return processes


def _read_csv(source: Path | str | bytes) -> pd.DataFrame:
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        text = data.decode("utf-8-sig")
        sep = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, IndexError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as err:
        raise ProcessTableError(f"cannot read process table: {err}",
                                "Le fichier de la table des processus est illisible : "
                                "attendu un CSV UTF-8 avec les colonnes de la table par "
                                "défaut.") from err


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in TABLE_COLUMNS if c not in frame.columns]
    if missing:
        raise ProcessTableError(f"process table lacks columns {missing}",
                                "La table des processus n'a pas les colonnes "
                                f"{', '.join(missing)}.")
    table = frame[list(TABLE_COLUMNS)].astype(object).where(frame[list(TABLE_COLUMNS)].notna(), "")
    table = table.astype(str).apply(lambda s: s.str.strip())
    table = table[(table != "").any(axis=1)].reset_index(drop=True)
    if table.empty:
        raise ProcessTableError("empty process table", "La table des processus est vide.")
    blank = table.index[(table["code"] == "") | (table["label_fr"] == "")]
    if len(blank):
        raise ProcessTableError(f"rows {list(blank + 1)} have no code or label",
                                f"Lignes {', '.join(str(i + 1) for i in blank)} : chaque règle "
                                "doit avoir un code et un libellé.")
    labels = table.groupby("code")["label_fr"].nunique()
    if (labels > 1).any():
        codes = ", ".join(labels.index[labels > 1])
        raise ProcessTableError(f"codes with several labels: {codes}",
                                f"Les processus {codes} ont plusieurs libellés différents.")
    table["color_hex"] = table["color_hex"].where(
        table["color_hex"].str.fullmatch(r"#[0-9A-Fa-f]{6}"), "#8C8C8C")
    table["change"] = table["change"].replace("", ANY)
    return table


def _check_conditions(table: pd.DataFrame) -> None:
    problems: list[str] = []
    for row in table.itertuples():
        if row.change not in CHANGE_VALUES:
            problems.append(f"ligne {row.Index + 1} : change « {row.change} » (stable, changed, *)")
        for column, allowed in (("from_family", nom.FAMILIES), ("to_family", nom.FAMILIES),
                                ("from_cs", _codes("cs")), ("to_cs", _codes("cs")),
                                ("from_us", _codes("us")), ("to_us", _codes("us"))):
            for token in Condition.parse(getattr(row, column)).tokens:
                if token not in allowed:
                    problems.append(f"ligne {row.Index + 1} : {column} « {token} » inconnu")
    if problems:
        raise ProcessTableError(f"invalid process table conditions: {problems[:_MAX_LISTED]}",
                                "Table des processus invalide : "
                                + " ; ".join(problems[:_MAX_LISTED]) + ".")


@lru_cache(maxsize=2)
def _codes(kind: nom.Kind) -> frozenset[str]:
    return frozenset(nom.get_nomenclature(kind).codes)


# --- assignment -----------------------------------------------------------------------------------

def assign_processes(pairs: pd.DataFrame, table: ProcessTable | None = None
                     ) -> npt.NDArray[np.object_]:
    """Process code of each couple pair (first matching rule), ``None`` where none matches.

    Args:
        pairs: columns :data:`PAIR_COLUMNS` (canonical codes).
        table: the process table (default: :func:`default_process_table`).

    Returns:
        Object array aligned with ``pairs``.

    Notes:
        Rules are evaluated on the distinct pairs only (a few hundred for a commune), so the
        cost does not depend on the number of polygons.
    """
    table = table or default_process_table()
    distinct = pairs[list(PAIR_COLUMNS)].drop_duplicates(ignore_index=True)
    winners = _first_match(distinct, table)
    codes = np.array([None, *table.rules["code"]], dtype=object)[winners + 1]
    lookup = dict(zip(map(tuple, distinct.to_numpy()), codes))
    return np.fromiter((lookup[key] for key in map(tuple, pairs[list(PAIR_COLUMNS)].to_numpy())),
                       dtype=object, count=len(pairs))


def _first_match(pairs: pd.DataFrame, table: ProcessTable) -> npt.NDArray[np.int64]:
    """Index of the first rule matching each pair, -1 where none does.

    Pairs of leaf couples are looked up in :attr:`ProcessTable.leaf_first_rule`; any other pair
    (a code that is not a leaf, an unknown code) is evaluated rule by rule.
    """
    index = _couple_index()
    before = index.get_indexer(_couple_keys(pairs["code_cs_from"], pairs["code_us_from"]))
    after = index.get_indexer(_couple_keys(pairs["code_cs_to"], pairs["code_us_to"]))
    known = (before >= 0) & (after >= 0)
    first = np.full(len(pairs), -1, dtype=np.int64)
    first[known] = table.leaf_first_rule[before[known] * len(index) + after[known]]
    if not known.all():
        first[~known] = _first_match_by_rules(pairs[~known].reset_index(drop=True), table)
    return first


def _first_match_by_rules(pairs: pd.DataFrame, table: ProcessTable) -> npt.NDArray[np.int64]:
    """:func:`_first_match`, every rule evaluated on every pair."""
    matched = _rule_hits(pairs, table)
    first = np.argmax(matched, axis=0) if len(matched) else np.zeros(len(pairs), dtype=np.int64)
    return np.where(matched.any(axis=0), first, -1).astype(np.int64)


def _rule_hits(pairs: pd.DataFrame, table: ProcessTable) -> npt.NDArray[np.bool_]:
    """Boolean matrix (rules × pairs): which rule's conditions each pair meets."""
    cs_from, us_from = (pairs["code_cs_from"].to_numpy(object), pairs["code_us_from"].to_numpy(object))
    cs_to, us_to = pairs["code_cs_to"].to_numpy(object), pairs["code_us_to"].to_numpy(object)
    stable = (cs_from == cs_to) & (us_from == us_to)
    hits = _side_hits(table, "from", cs_from, us_from) & _side_hits(table, "to", cs_to, us_to)
    return _with_change(hits, table, stable)


def _with_change(hits: npt.NDArray[np.bool_], table: ProcessTable,
                 stable: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """``hits`` (rules × pairs…) with each rule's ``change`` condition applied in place:
    ``stable`` rules keep the stable pairs only, ``changed`` rules the others."""
    for i, change in enumerate(table.rules["change"]):
        if change == "stable":
            hits[i] &= stable
        elif change == "changed":
            hits[i] &= ~stable
    return hits


def _side_hits(table: ProcessTable, side: str, cs: npt.NDArray[np.object_],
               us: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    """Boolean matrix (rules × couples): the ``from_*`` or ``to_*`` conditions of each rule.

    Conditions are evaluated on the few distinct values of each column, then broadcast.
    """
    values = {f"{side}_family": _families(cs, us), f"{side}_cs": cs, f"{side}_us": us}
    factorised = {column: pd.factorize(vals) for column, vals in values.items()}
    hits = np.ones((len(table.rules), len(cs)), dtype=bool)
    for i, rule in enumerate(table.rules.itertuples()):
        for column, (ids, uniques) in factorised.items():
            condition = Condition.parse(getattr(rule, column))
            if condition.tokens or condition.negated:
                hits[i] &= condition.matches(np.asarray(uniques, dtype=object))[ids]
    return hits


def _families(cs: npt.NDArray[np.object_], us: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """A/N/F family of each couple, computed once per distinct couple."""
    ids, uniques = pd.factorize(pd.Series(cs, dtype=object) + "\t" + pd.Series(us, dtype=object))
    parts = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.split("\t")
    fam = nom.family(parts.str[0], parts.str[1]) if len(parts) else np.array([], dtype=object)
    return np.asarray(fam, dtype=object)[ids]


def _leaf_couples() -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """CS and US codes of every leaf couple of the nomenclature (14 × 20), CS-major order."""
    cs, us = nom.get_nomenclature("cs").leaves, nom.get_nomenclature("us").leaves
    couples = pd.MultiIndex.from_product([cs, us]).to_frame(index=False, name=["cs", "us"])
    return couples["cs"].to_numpy(object), couples["us"].to_numpy(object)


def _couple_keys(cs: object, us: object) -> pd.Index:
    """``CS<TAB>US`` keys of couples (missing codes give missing keys)."""
    return pd.Index(pd.Series(np.asarray(cs, dtype=object), dtype=object) + "\t"
                    + pd.Series(np.asarray(us, dtype=object), dtype=object))


@lru_cache(maxsize=1)
def _couple_index() -> pd.Index:
    """Position of each leaf couple in :func:`_leaf_couples` order, by ``CS<TAB>US`` key."""
    return _couple_keys(*_leaf_couples())


@lru_cache(maxsize=1)
def _couple_pairs() -> pd.DataFrame:
    """:func:`all_couple_pairs`, built once (never modified: callers get copies)."""
    cs, us = _leaf_couples()
    n = len(cs)
    a, b = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
    return pd.DataFrame({"code_cs_from": cs[a], "code_us_from": us[a],
                         "code_cs_to": cs[b], "code_us_to": us[b]})


def all_couple_pairs() -> pd.DataFrame:
    """Every pair of leaf CS×US couples of the nomenclature (14 × 20 couples, squared).

    Row ``i * n + j`` pairs couple ``i`` (before) with couple ``j`` (after), ``n`` = 280.

    >>> len(all_couple_pairs())
    78400
    """
    return _couple_pairs().copy()


def _all_pairs_hits(table: ProcessTable) -> npt.NDArray[np.bool_]:
    """``_rule_hits(all_couple_pairs(), table)``, from the pairs' product structure.

    A rule's ``from_*`` conditions depend on the first couple only, its ``to_*`` conditions on
    the second only, and a pair is stable exactly when both couples are the same one: the
    conditions are evaluated on the 280 couples per side (not on 78,400 pairs) and combined by
    an outer product.
    """
    cs, us = _leaf_couples()
    n = len(cs)
    before, after = _side_hits(table, "from", cs, us), _side_hits(table, "to", cs, us)
    hits = before[:, :, None] & after[:, None, :]  # rules × first couple × second couple
    return _with_change(hits, table, np.eye(n, dtype=bool)).reshape(len(table.rules), n * n)


def coverage(table: ProcessTable) -> dict[str, pd.DataFrame]:
    """How a table classifies every couple pair of the nomenclature.

    Returns:
        ``{"assignment": pairs + process (one row per pair), "gaps": pairs no rule matches,
        "overlaps": pairs matched by several rules, with ``n_rules`` (resolved by order),
        "unused": rules that never win}``.
    """
    pairs = _couple_pairs()  # not modified below: every result is a new frame
    hits = _all_pairs_hits(table)
    n_rules = hits.sum(axis=0)
    first = np.where(n_rules > 0, np.argmax(hits, axis=0), -1)
    # the same winners as ProcessTable.leaf_first_rule: keep them (a validated table is used next)
    table.__dict__.setdefault("leaf_first_rule", first.astype(np.int32))
    assignment = pairs.assign(process=np.array([None, *table.rules["code"]], object)[first + 1])
    used = np.zeros(len(table.rules), dtype=bool)
    used[np.unique(first[first >= 0])] = True
    return {"assignment": assignment, "gaps": pairs[n_rules == 0].reset_index(drop=True),
            "overlaps": pairs[n_rules > 1].assign(n_rules=n_rules[n_rules > 1]),
            "unused": table.rules[~used].reset_index(drop=True)}


# --- flows by process -------------------------------------------------------------------------------

def process_flows(flows: Transitions | ExchangeMatrix, table: ProcessTable | None = None
                  ) -> pd.DataFrame:
    """Couple-level transitions with their process and the A/N/F family on both sides.

    Args:
        flows: couple-level :class:`Transitions`, or an :class:`ExchangeMatrix` carrying them.
        table: the process table (default: :func:`default_process_table`).

    Returns:
        Columns :data:`PROCESS_FLOW_COLUMNS`; the areas are the transitions' own, so they sum to
        the exchange matrix (every cell of every level).

    Raises:
        ValueError: a matrix without couple-level transitions.
        ProcessTableError: a pair no rule matches (only for a table built without validation).
    """
    transitions = flows.transitions if isinstance(flows, ExchangeMatrix) else flows
    if transitions is None:
        raise ValueError("the exchange matrix carries no couple-level transitions")
    t = transitions.table
    out = t[list(PAIR_COLUMNS)].reset_index(drop=True).copy()
    out["family_from"] = _families(t["code_cs_from"].to_numpy(object), t["code_us_from"].to_numpy(object))
    out["family_to"] = _families(t["code_cs_to"].to_numpy(object), t["code_us_to"].to_numpy(object))
    out["process"] = assign_processes(out, table) if len(t) else []
    out["area_ha"] = t["area_ha"].to_numpy(dtype=float)
    if out["process"].isna().any():
        raise ProcessTableError("unmatched couple pairs in the flows",
                                "Certaines transitions ne sont classées par aucun processus.")
    return out[list(PROCESS_FLOW_COLUMNS)]


def process_totals(flows: Transitions | ExchangeMatrix, table: ProcessTable | None = None
                   ) -> pd.DataFrame:
    """Area (ha) of each process, in table order (processes without flow have 0).

    Returns:
        Columns ``process, label_fr, area_ha``; ``area_ha`` sums to the territory's area in the
        matrix (its first millésime's stock).
    """
    table = table or default_process_table()
    flows_ = process_flows(flows, table)
    sums = flows_.groupby("process")["area_ha"].sum()
    codes = table.codes
    return pd.DataFrame({"process": codes, "label_fr": [table.labels[c] for c in codes],
                         "area_ha": [float(sums.get(c, 0.0)) for c in codes]})
