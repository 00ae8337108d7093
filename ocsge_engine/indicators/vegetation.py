"""Vegetation of a territory: stocks by class, gains and losses between millésimes, nature in town.

Everything derives from one :class:`~ocsge_engine.indicators.pair.Pair` (the exact overlay of the
two OCCUPATION_SOL layers, :func:`~ocsge_engine.indicators.pair.load_pair`): the **stocks** are the
areas of the clipped polygons of each millésime (couple stocks), the **gains and losses** are the
overlay pieces that enter or leave a class (couple-level transitions). Method notes:
``docs/indicators.md`` (« Végétation »).

Classes (CS dimension, prefixes of the canonical codes):

==============  ===========================  =====================================
key             CS codes                     French name
==============  ===========================  =====================================
``tree``        CS2.1.1.x (1, 2, 3)          couvert arboré (feuillus, conifères, mixte)
``shrub``       CS2.1.2                      formations arbustives
``other_woody`` CS2.1.3                      autres formations ligneuses
``herbaceous``  CS2.2.x                      formations herbacées et non ligneuses
``vegetated``   CS2.x                        toute la végétation
==============  ===========================  =====================================

« Nature en ville » (``urban_nature``): vegetated land (CS2.x) whose use is residential,
economic, transport or services, i.e. US in :data:`URBAN_US` (US2, US3, US5, US235, and US4 with
all its sub-codes US4.1.1–US4.1.5, US4.2, US4.3). Its share is taken of the land with those uses,
whatever its cover (« espaces artificialisés au sens de l'usage »), which contains every piece of
nature in town.

A gain of a class is a piece whose cover is in the class at the second millésime and not at the
first; a loss the reverse; moves inside a class (conifers → broadleaf) are neither. For each gain
the couple (CS, US) of the first millésime says where it came from; for each loss the couple of
the second millésime says where it went. ``loss_to_artificial_ha`` is the part of the losses whose
destination couple is artificialised under the decree matrix (no thresholds, as the stocks).

Compute only: numbers, codes and :class:`~ocsge_engine.portrait.figure.Figure` objects (whose
labels are French).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ocsge_engine.territories import resolve_territory
from ocsge_engine.flows.matrix import Transitions
from ocsge_engine.indicators.artif import status
from ocsge_engine.indicators.pair import Pair, load_pair
from ocsge_engine.portrait.figure import Figure

logger = logging.getLogger(__name__)

CLASSES: dict[str, tuple[str, ...]] = {
    "tree": ("CS2.1.1",),
    "shrub": ("CS2.1.2",),
    "other_woody": ("CS2.1.3",),
    "herbaceous": ("CS2.2",),
    "vegetated": ("CS2",),
}
CLASS_LABELS: dict[str, str] = {
    "tree": "couvert arboré",
    "shrub": "formations arbustives",
    "other_woody": "autres formations ligneuses",
    "herbaceous": "végétation herbacée",
    "vegetated": "végétation",
    "urban_nature": "nature en ville",
}
CLASS_COLORS: dict[str, str] = {
    "tree": "#00A600", "shrub": "#A6FF80", "other_woody": "#E68000", "herbaceous": "#CCF24D",
    "vegetated": "#4C9A2A", "urban_nature": "#1F78B4",
}
# the four disjoint classes (``vegetated`` is their union)
LEAF_CLASSES: tuple[str, ...] = ("tree", "shrub", "other_woody", "herbaceous")
URBAN_US: tuple[str, ...] = ("US2", "US3", "US5", "US235", "US4")
URBAN_NATURE = "urban_nature"
SOURCE = "OCS GE (IGN), couche OCCUPATION_SOL"
METHOD = ("exact overlay of the two OCCUPATION_SOL layers; stocks = clipped polygon areas; "
          "gains/losses = overlay pieces entering/leaving the class (docs/indicators.md)")
CODE_COLUMNS: tuple[str, str, str] = ("code_cs", "code_us", "area_ha")
COMPLETE_SHARE = 0.999  # as ocsge_engine.store.db.COMPLETE_SHARE


def in_prefixes(codes: npt.ArrayLike, prefixes: tuple[str, ...]) -> npt.NDArray[np.bool_]:
    """Whether each code is one of ``prefixes`` or a sub-code of one (``CS2.1.1`` ⊃ ``CS2.1.1.2``).

    >>> in_prefixes(["CS2.1.1.2", "CS2.1.2", "CS2.1", None], ("CS2.1.1",)).tolist()
    [True, False, False, False]
    >>> in_prefixes(["US235", "US2", "US4.1.1", "US6.1"], URBAN_US).tolist()
    [True, True, True, False]
    """
    values = np.asarray(codes, dtype=object).ravel()
    out = np.zeros(len(values), dtype=bool)
    if not len(values):
        return out
    index, uniques = pd.factorize(values)  # each distinct code tested once; None/NaN → -1
    hit = np.array([isinstance(code, str) and any(code == p or code.startswith(p + ".")
                                                  for p in prefixes) for code in uniques],
                   dtype=bool)
    known = index >= 0
    out[known] = hit[index[known]]
    return out


def class_of(cs: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Leaf vegetation class of each CS code, else its CS level-2 code (``CS1.1``, ``CS1.2``).

    >>> class_of(["CS2.1.1.1", "CS2.2.1", "CS1.1.1.1", "CS1.2.2"]).tolist()
    ['tree', 'herbaceous', 'CS1.1', 'CS1.2']
    """
    values = np.asarray(cs, dtype=object)
    out = np.array([str(c)[:5] if isinstance(c, str) else "CS1.2" for c in values], dtype=object)
    for key in LEAF_CLASSES:
        out[in_prefixes(values, CLASSES[key])] = key
    return out


@dataclass(frozen=True, eq=False)
class ClassChange:
    """Stock and change of one vegetation class between two millésimes.

    Attributes:
        key: class key (:data:`CLASSES` or ``urban_nature``).
        stock_from_ha: area at the first millésime.
        stock_to_ha: area at the second millésime.
        gain_ha: area that entered the class.
        loss_ha: area that left it.
        gains_from: where the gains came from, columns ``code_cs, code_us, area_ha`` (couples of
            the first millésime), largest first.
        losses_to: where the losses went (couples of the second millésime), largest first.
        loss_to_artificial_ha: losses whose destination couple is artificialised (decree matrix).
        gain_from_artificial_ha: gains whose origin couple was artificialised (renaturation).
    """

    key: str
    stock_from_ha: float
    stock_to_ha: float
    gain_ha: float
    loss_ha: float
    gains_from: pd.DataFrame = field(repr=False)
    losses_to: pd.DataFrame = field(repr=False)
    loss_to_artificial_ha: float = 0.0
    gain_from_artificial_ha: float = 0.0

    @property
    def net_ha(self) -> float:
        """Gains minus losses."""
        return self.gain_ha - self.loss_ha

    @property
    def stock_change_ha(self) -> float:
        """Second stock minus first (equals :attr:`net_ha` up to overlay slivers)."""
        return self.stock_to_ha - self.stock_from_ha

    def to_dict(self) -> dict[str, Any]:
        """Plain types (JSON-ready)."""
        return {
            "stock_from_ha": self.stock_from_ha, "stock_to_ha": self.stock_to_ha,
            "stock_change_ha": self.stock_change_ha, "gain_ha": self.gain_ha,
            "loss_ha": self.loss_ha, "net_ha": self.net_ha,
            "loss_to_artificial_ha": self.loss_to_artificial_ha,
            "gain_from_artificial_ha": self.gain_from_artificial_ha,
            "gains_from": _records(self.gains_from), "losses_to": _records(self.losses_to),
        }


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"code": f"{r.code_cs}|{r.code_us}", "code_cs": str(r.code_cs),
             "code_us": str(r.code_us), "area_ha": float(r.area_ha)}
            for r in table.itertuples()]


@dataclass(frozen=True, eq=False)
class VegetationResult:
    """Vegetation figures of one territory for one millésime pair.

    Attributes:
        territory_id: ``commune:33529``… (``None`` for in-memory computations).
        name: territory name.
        territory_ha: territory area (``None`` when unknown).
        year_from: first millésime.
        year_to: second millésime.
        covered_from_ha: area covered by the first layer (denominator of the shares).
        covered_to_ha: same for the second.
        classes: class key → :class:`ClassChange` (keys of :data:`CLASSES`).
        urban_nature: vegetated land with an urban use (:data:`URBAN_US`).
        urban_use_from_ha: land with an urban use at the first millésime (denominator).
        urban_use_to_ha: same at the second.
        flows: changed pieces with a vegetated side, columns ``code_from, code_to, area_ha``
            where codes are :data:`LEAF_CLASSES` or CS level-2 codes (``CS1.1``, ``CS1.2``).
        synthetic: the layers are synthetic (demo background).
    """

    territory_id: str | None
    name: str | None
    territory_ha: float | None
    year_from: int | None
    year_to: int | None
    covered_from_ha: float
    covered_to_ha: float
    classes: dict[str, ClassChange]
    urban_nature: ClassChange
    urban_use_from_ha: float
    urban_use_to_ha: float
    flows: pd.DataFrame = field(repr=False)
    synthetic: bool = False

    @property
    def coverage(self) -> float | None:
        """Share (0..1) of the territory covered by both millésimes (the smaller), if known."""
        if not self.territory_ha:
            return None
        return min(1.0, min(self.covered_from_ha, self.covered_to_ha) / self.territory_ha)

    def share(self, key: str, side: str) -> float | None:
        """Stock of a class / covered area, at ``side`` ``"from"`` or ``"to"``."""
        change = self.classes[key]
        stock, covered = ((change.stock_from_ha, self.covered_from_ha) if side == "from"
                          else (change.stock_to_ha, self.covered_to_ha))
        return stock / covered if covered > 0 else None

    def urban_share(self, side: str) -> float | None:
        """Nature in town / land with an urban use, at ``side``."""
        stock, total = ((self.urban_nature.stock_from_ha, self.urban_use_from_ha) if side == "from"
                        else (self.urban_nature.stock_to_ha, self.urban_use_to_ha))
        return stock / total if total > 0 else None

    def stocks_table(self) -> pd.DataFrame:
        """Leaf classes × millésimes: columns ``class, label, year, area_ha, share``."""
        rows = []
        for key in LEAF_CLASSES:
            for side, year in (("from", self.year_from), ("to", self.year_to)):
                change = self.classes[key]
                rows.append({"class": key, "label": CLASS_LABELS[key], "year": year,
                             "area_ha": change.stock_from_ha if side == "from" else change.stock_to_ha,
                             "share": self.share(key, side)})
        return pd.DataFrame(rows, columns=["class", "label", "year", "area_ha", "share"])

    def changes_table(self) -> pd.DataFrame:
        """One row per class (leaves, all vegetation, nature in town): stocks, gains, losses, net."""
        rows = []
        for key, change in [*self.classes.items(), (URBAN_NATURE, self.urban_nature)]:
            rows.append({"class": key, "label": CLASS_LABELS[key],
                         "stock_from_ha": change.stock_from_ha, "stock_to_ha": change.stock_to_ha,
                         "gain_ha": change.gain_ha, "loss_ha": change.loss_ha,
                         "net_ha": change.net_ha,
                         "loss_to_artificial_ha": change.loss_to_artificial_ha})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain types (JSON-ready)."""
        return {
            "method": METHOD, "source": SOURCE, "synthetic": self.synthetic,
            "year_from": self.year_from, "year_to": self.year_to,
            "covered_from_ha": self.covered_from_ha, "covered_to_ha": self.covered_to_ha,
            "coverage": self.coverage,
            "classes": {key: {**change.to_dict(), "share_from": self.share(key, "from"),
                              "share_to": self.share(key, "to"),
                              "cs_codes": list(CLASSES[key])}
                        for key, change in self.classes.items()},
            URBAN_NATURE: {**self.urban_nature.to_dict(), "us_codes": list(URBAN_US),
                           "urban_use_from_ha": self.urban_use_from_ha,
                           "urban_use_to_ha": self.urban_use_to_ha,
                           "share_from": self.urban_share("from"),
                           "share_to": self.urban_share("to")},
        }

    def figures(self) -> list[Figure]:
        """Headline figures (French labels), stocks/shares of both millésimes, flows, net.

        Shares of a class are of the area covered by the OCS GE layer (« part du territoire »);
        the share of nature in town is of the land with an urban use (« espaces urbains »:
        residential, economic, transport or services, :data:`URBAN_US`).
        """
        y1, y2 = self.year_from, self.year_to
        years = tuple(y for y in (y1, y2) if y is not None)
        span = f"{y1}–{y2}" if y1 and y2 else "entre les deux millésimes"
        base = {"source": SOURCE, "years": years, "coverage": self.coverage,
                "synthetic": self.synthetic}
        out: list[Figure] = []
        for key, change in [*self.classes.items(), (URBAN_NATURE, self.urban_nature)]:
            name = CLASS_LABELS[key]
            prefix = f"vegetation.{key}"
            urban = key == URBAN_NATURE
            share_of = "des espaces urbains" if urban else "du territoire"
            for side, year, stock in (("from", y1, change.stock_from_ha),
                                      ("to", y2, change.stock_to_ha)):
                out.append(Figure(f"{prefix}.stock_{side}_ha", stock, "ha",
                                  _capital(f"{name} en {year}"), METHOD, **base))
                share = self.urban_share(side) if urban else self.share(key, side)
                out.append(Figure(f"{prefix}.share_{side}", share, "%",
                                  _capital(f"{name} : part {share_of} en {year}"), METHOD, **base,
                                  missing=None if share is not None else "surface nulle"))
            out += [
                Figure(f"{prefix}.gain_ha", change.gain_ha, "ha",
                       _capital(f"{name} : gains {span}"), METHOD, **base),
                Figure(f"{prefix}.loss_ha", change.loss_ha, "ha",
                       _capital(f"{name} : pertes {span}"), METHOD, **base),
                Figure(f"{prefix}.net_ha", change.net_ha, "ha",
                       _capital(f"{name} : solde net {span}"), METHOD, **base),
                Figure(f"{prefix}.loss_to_artificial_ha", change.loss_to_artificial_ha, "ha",
                       _capital(f"{name} : pertes artificialisées {span}"),
                       METHOD + "; destination couple artificialised by the decree matrix",
                       **base),
            ]
        return out

    def figure(self, key: str) -> Figure:
        """One figure by key (``vegetation.tree.loss_ha``…).

        Raises:
            KeyError: unknown key.
        """
        for fig in self.figures():
            if fig.key == key:
                return fig
        raise KeyError(key)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- compute (pure) ------------------------------------------------------------------------------

def _grouped(frame: pd.DataFrame, cs: str, us: str,
             rows: npt.NDArray[np.bool_] | None = None) -> pd.DataFrame:
    """Sum ``area_ha`` by (cs, us) columns renamed ``code_cs, code_us``, largest first.

    Over the ``rows`` of ``frame`` (a boolean mask; all rows when ``None``). Rows whose code is
    missing are dropped (as ``groupby`` does); the code columns keep ``frame``'s dtypes.
    """
    index = np.arange(len(frame)) if rows is None else np.flatnonzero(rows)
    if not len(index):
        return pd.DataFrame({c: pd.Series(dtype=object if c != "area_ha" else float)
                             for c in CODE_COLUMNS})
    # a few hundred couple-level rows at most: a dict beats pandas' groupby/sort overhead
    totals: dict[tuple[Any, Any], float] = {}
    for a, b, area in zip(frame[cs].to_numpy(dtype=object)[index].tolist(),
                          frame[us].to_numpy(dtype=object)[index].tolist(),
                          frame["area_ha"].to_numpy(dtype=float)[index].tolist()):
        if isinstance(a, str) and isinstance(b, str):
            totals[(a, b)] = totals.get((a, b), 0.0) + area
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0][0], item[0][1]))
    return pd.DataFrame({
        "code_cs": pd.Series([k[0] for k, _ in ordered], dtype=frame[cs].dtype),
        "code_us": pd.Series([k[1] for k, _ in ordered], dtype=frame[us].dtype),
        "area_ha": pd.Series([v for _, v in ordered], dtype=float)})


def class_change(key: str, transitions: Transitions,
                 member_from: npt.NDArray[np.bool_], member_to: npt.NDArray[np.bool_],
                 stock_from: npt.NDArray[np.bool_], stock_to: npt.NDArray[np.bool_],
                 artif_from: npt.NDArray[np.bool_], artif_to: npt.NDArray[np.bool_]
                 ) -> ClassChange:
    """Stocks and flows of one class from masks over the transitions and the couple stocks.

    Args:
        key: class key.
        transitions: couple-level transitions of the pair.
        member_from: per transition row, first-millésime couple in the class.
        member_to: per transition row, second-millésime couple in the class.
        stock_from: per row of ``transitions.stocks_from``, couple in the class.
        stock_to: per row of ``transitions.stocks_to``, couple in the class.
        artif_from: per transition row, first-millésime couple artificialised.
        artif_to: per transition row, second-millésime couple artificialised.

    Returns:
        The :class:`ClassChange`.
    """
    table = transitions.table
    area = table["area_ha"].to_numpy(dtype=float)
    gains = member_to & ~member_from
    losses = member_from & ~member_to
    stocks_to = transitions.stocks_to if transitions.stocks_to is not None else None
    return ClassChange(
        key=key,
        stock_from_ha=float(transitions.stocks_from["area_ha"].to_numpy(dtype=float)[stock_from].sum()),
        stock_to_ha=(float(stocks_to["area_ha"].to_numpy(dtype=float)[stock_to].sum())
                     if stocks_to is not None else float(area[member_to].sum())),
        gain_ha=float(area[gains].sum()), loss_ha=float(area[losses].sum()),
        gains_from=_grouped(table, "code_cs_from", "code_us_from", gains),
        losses_to=_grouped(table, "code_cs_to", "code_us_to", losses),
        loss_to_artificial_ha=float(area[losses & artif_to].sum()),
        gain_from_artificial_ha=float(area[gains & artif_from].sum()))


def vegetation_from_transitions(transitions: Transitions, year_from: int | None = None,
                                year_to: int | None = None, *, territory: Any = None,
                                synthetic: bool = False) -> VegetationResult:
    """All vegetation figures from couple-level transitions (pure compute).

    Args:
        transitions: couple-level transitions and stocks of a pair (:attr:`Pair.transitions`).
        year_from: first millésime.
        year_to: second millésime.
        territory: optional territory (id, name, area for the coverage).
        synthetic: the layers are synthetic.

    Returns:
        The :class:`VegetationResult`.
    """
    table = transitions.table
    cs_from, us_from = table["code_cs_from"].to_numpy(object), table["code_us_from"].to_numpy(object)
    cs_to, us_to = table["code_cs_to"].to_numpy(object), table["code_us_to"].to_numpy(object)
    stocks_from = transitions.stocks_from
    stocks_to = (transitions.stocks_to if transitions.stocks_to is not None
                 else pd.DataFrame({c: [] for c in CODE_COLUMNS}))
    artif_from = status(cs_from, us_from) if len(table) else np.zeros(0, bool)
    artif_to = status(cs_to, us_to) if len(table) else np.zeros(0, bool)
    classes = {}
    for key, prefixes in CLASSES.items():
        classes[key] = class_change(
            key, transitions, in_prefixes(cs_from, prefixes), in_prefixes(cs_to, prefixes),
            in_prefixes(stocks_from["code_cs"], prefixes), in_prefixes(stocks_to["code_cs"], prefixes),
            artif_from, artif_to)

    def urban(cs: Any, us: Any) -> npt.NDArray[np.bool_]:
        return in_prefixes(cs, CLASSES["vegetated"]) & in_prefixes(us, URBAN_US)

    nature = class_change(URBAN_NATURE, transitions, urban(cs_from, us_from), urban(cs_to, us_to),
                          urban(stocks_from["code_cs"], stocks_from["code_us"]),
                          urban(stocks_to["code_cs"], stocks_to["code_us"]), artif_from, artif_to)
    area_from = stocks_from["area_ha"].to_numpy(dtype=float)
    area_to = stocks_to["area_ha"].to_numpy(dtype=float)
    group_from, group_to = class_of(cs_from), class_of(cs_to)
    vegetated = in_prefixes(cs_from, ("CS2",)) | in_prefixes(cs_to, ("CS2",))
    moved = vegetated & (group_from != group_to)
    flows = (pd.DataFrame({"code_from": group_from[moved], "code_to": group_to[moved],
                           "area_ha": table["area_ha"].to_numpy(dtype=float)[moved]})
             .groupby(["code_from", "code_to"], as_index=False)["area_ha"].sum())
    territory_ha = getattr(territory, "area_ha", None)
    return VegetationResult(
        territory_id=getattr(territory, "id", None), name=getattr(territory, "name", None),
        territory_ha=float(territory_ha) if territory_ha else None,
        year_from=year_from, year_to=year_to,
        covered_from_ha=float(area_from.sum()), covered_to_ha=float(area_to.sum()),
        classes=classes, urban_nature=nature,
        urban_use_from_ha=float(area_from[in_prefixes(stocks_from["code_us"], URBAN_US)].sum()),
        urban_use_to_ha=float(area_to[in_prefixes(stocks_to["code_us"], URBAN_US)].sum()),
        flows=flows, synthetic=synthetic)


def is_synthetic(store: Any, territory: Any, years: tuple[int, ...]) -> bool:
    """Whether any OCCUPATION_SOL partition of the territory's départements and years is synthetic.

    The store catalogue's ``synthetic`` column (the demo's background is synthetic).
    """
    from ocsge_engine.store.catalog import synthetic_partitions

    return synthetic_partitions(store.catalog(), getattr(territory, "departements", ()), years)[0]


def vegetation(source: Any, territory: Any = None, year_from: int | None = None,
               year_to: int | None = None, *, store: Any = None) -> VegetationResult:
    """Vegetation figures of a territory between two millésimes.

    Args:
        source: an open :class:`~ocsge_engine.store.Store` (then ``territory``, ``year_from`` and
            ``year_to`` are required and the pair comes from :func:`load_pair`, shared with the
            other indicators), or a :class:`Pair` already loaded.
        territory: a ``Territory`` or its id (store source only).
        year_from: first millésime (store source only).
        year_to: second millésime (store source only).
        store: with a :class:`Pair` source, the store it came from, to read the synthetic flag.

    With a store source, a commune's result comes from the national batch's precomputed objects
    when its partition is fresh (:mod:`ocsge_engine.batch.pages`, kind ``vegetation``: this
    function run on the batch's overlay of the same layers), else it is computed here.

    Returns:
        The :class:`VegetationResult`.

    Raises:
        TypeError: a store source without territory or years.
        TerritoryNotFoundError: unknown territory.
        MillesimeError: inverted years or a millésime absent from the store.
    """
    if isinstance(source, Pair):
        pair = source
    else:
        if territory is None or year_from is None or year_to is None:
            raise TypeError("vegetation(store, territory, year_from, year_to) needs all four")
        store = source
        resolved = resolve_territory(territory)
        from ocsge_engine.batch.pages import stored_object  # the batch imports this module

        stored = stored_object(store, resolved, int(year_from), int(year_to), "vegetation")
        if stored is not None:
            return stored
        pair = load_pair(store, resolved, year_from, year_to)
    years = tuple(int(y) for y in (pair.year_from, pair.year_to) if y is not None)
    synthetic = (is_synthetic(store, pair.territory, years)
                 if store is not None and pair.territory is not None else False)
    return vegetation_from_transitions(pair.transitions, pair.year_from, pair.year_to,
                                       territory=pair.territory, synthetic=synthetic)


def change_pieces(pair: Pair, key: str = "vegetated") -> pd.DataFrame:
    """Overlay pieces that entered (``gain``) or left (``loss``) a class, with their geometry.

    Args:
        pair: the loaded pair.
        key: class key of :data:`CLASSES` or ``urban_nature``.

    Returns:
        A GeoDataFrame-ready frame: ``change`` (``gain``/``loss``), ``code_cs_from``,
        ``code_us_from``, ``code_cs_to``, ``code_us_to``, ``area_ha``, ``geometry`` (EPSG of the
        pair's layers).
    """
    import geopandas as gpd

    cs_from, us_from = pair.codes("from")
    cs_to, us_to = pair.codes("to")
    if key == URBAN_NATURE:
        member_from = in_prefixes(cs_from, CLASSES["vegetated"]) & in_prefixes(us_from, URBAN_US)
        member_to = in_prefixes(cs_to, CLASSES["vegetated"]) & in_prefixes(us_to, URBAN_US)
    else:
        member_from, member_to = in_prefixes(cs_from, CLASSES[key]), in_prefixes(cs_to, CLASSES[key])
    gains, losses = member_to & ~member_from, member_from & ~member_to
    which = gains | losses
    frame = gpd.GeoDataFrame({
        "change": np.where(gains[which], "gain", "loss"),
        "code_cs_from": cs_from[which], "code_us_from": us_from[which],
        "code_cs_to": cs_to[which], "code_us_to": us_to[which],
        "area_ha": np.asarray(pair.pieces.area_m2, dtype=float)[which] / 1e4,
    }, geometry=list(pair.piece_geometries(which)), crs=pair.layer_from.crs)
    return frame


COMPARISON_COLUMNS: tuple[str, ...] = (
    "code", "name", "role", "available", "area_ha", "tree_stock_to_ha", "tree_share_to",
    "tree_net_ha", "tree_net_ha_per_100ha", "vegetated_share_to", "vegetated_net_ha",
    "urban_nature_share_to", "synthetic")


def comparison_values(result: VegetationResult) -> dict[str, Any]:
    """The figures of a result that :func:`vegetation_comparison` shows, and its coverage.

    The national batch stores them per commune (kind ``vegetation_comparison``), so that a
    commune's row beside its neighbours is read, not recomputed.
    """
    tree, veg = result.classes["tree"], result.classes["vegetated"]
    covered = result.covered_from_ha
    return {"tree_stock_to_ha": tree.stock_to_ha, "tree_share_to": result.share("tree", "to"),
            "tree_net_ha": tree.net_ha,
            "tree_net_ha_per_100ha": 100 * tree.net_ha / covered if covered else None,
            "vegetated_share_to": result.share("vegetated", "to"),
            "vegetated_net_ha": veg.net_ha, "urban_nature_share_to": result.urban_share("to"),
            "synthetic": result.synthetic, "coverage": result.coverage}


def comparison_row(result: VegetationResult | dict[str, Any] | None, code: str, name: str,
                   role: str, area_ha: float) -> dict[str, Any]:
    """One row of :func:`vegetation_comparison` (``available=False`` without a result).

    ``result`` is a :class:`VegetationResult` or its :func:`comparison_values`.
    """
    row: dict[str, Any] = dict.fromkeys(COMPARISON_COLUMNS)
    row.update(code=code, name=name, role=role, area_ha=area_ha, available=result is not None)
    if result is not None:
        values = result if isinstance(result, dict) else comparison_values(result)
        row.update({k: v for k, v in values.items() if k in COMPARISON_COLUMNS})
    return row


def vegetation_comparison(store: Any, territory: Any, year_from: int, year_to: int,
                          peers: Sequence[str] | None = None, n: int = 5) -> pd.DataFrame:
    """A commune's vegetation figures beside its nearest communes (same functions for each).

    Neighbours are :func:`ocsge_engine.territories.nearest_communes` (as the Comparer page), or
    ``peers``; a neighbour the store does not cover completely (share ≥ 0.999, as
    :func:`~ocsge_engine.indicators.compare.commune_covered`) for both millésimes keeps its row
    with ``available = False``. Each commune's figures are the national batch's stored
    :func:`comparison_values` when its partition is fresh (one file read for all of them), else
    one read and overlay (:func:`load_pair`, cached) and :func:`vegetation`.

    Args:
        store: an open store.
        territory: a commune ``Territory`` or id.
        year_from: first millésime.
        year_to: second millésime.
        peers: INSEE codes replacing the nearest communes.
        n: number of nearest communes.

    Returns:
        Columns :data:`COMPARISON_COLUMNS`; ``role`` is ``"territoire"`` or ``"voisine"``.

    Raises:
        TerritoryNotFoundError: the territory is not a commune.
    """
    from ocsge_engine.batch.pages import stored_objects
    from ocsge_engine.errors import MillesimeError, TerritoryNotFoundError
    from ocsge_engine.territories import nearest_communes

    resolved = resolve_territory(territory)
    if resolved.kind != "commune":
        raise TerritoryNotFoundError(
            f"vegetation comparison needs a commune, got {resolved.id}",
            "La comparaison avec les communes voisines n'est disponible que pour une commune.")
    codes = [resolved.code, *[c for c in (peers if peers is not None
                                          else nearest_communes(resolved.code, n))
                              if c != resolved.code]]
    others = [resolved, *(resolve_territory(f"commune:{code}") for code in codes[1:])]
    stored = stored_objects(store, others, year_from, year_to, ("vegetation_comparison",))
    rows = []
    for k, (code, other) in enumerate(zip(codes, others)):
        values = stored.get((other.code, "vegetation_comparison"))
        if values is None:
            try:
                values = comparison_values(vegetation(store, other, year_from, year_to))
            except MillesimeError:
                values = None
        if k > 0 and values is not None and (values["coverage"] or 0.0) < COMPLETE_SHARE:
            values = None  # a partly covered neighbour would compare badly
        rows.append(comparison_row(values, code, other.name, "territoire" if k == 0 else "voisine",
                                   other.area_ha))
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


__all__ = [
    "COMPARISON_COLUMNS", "comparison_row", "comparison_values",
    "vegetation_comparison",
    "CLASSES", "CLASS_COLORS", "CLASS_LABELS", "LEAF_CLASSES", "SOURCE", "URBAN_NATURE",
    "URBAN_US", "ClassChange", "VegetationResult", "change_pieces", "class_change", "class_of",
    "in_prefixes", "is_synthetic", "vegetation", "vegetation_from_transitions",
]
