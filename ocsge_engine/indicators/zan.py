"""ZAN trajectory on a yearly consumption series: reference, target, observed, projection.

Loi Climat et résilience (art. 194) and loi n° 2023-630: consumption of NAF land over
2021–2030 must be cut by 50 % against 2011–2020. On a yearly series ``c(y)`` (ha):

* ``reference_ha = Σ c(y), y in 2011..2020``; when years are missing, the mean of the present
  years × 10 (``reference_complete=False``, the years used are listed);
* ``allowed_ha = reference_ha × (1 − reduction)`` (``reduction`` 0.5 by default), raised to
  ``floor_ha`` (1 ha, the communal guarantee of loi 2023-630, as sparte applies it) when lower; a
  ``custom_target_ha`` replaces it;
* ``consumed_ha = Σ c(y)`` over the observed years of the target period (2021..2030), ``None``
  (never 0) when the series stops before 2021: pages say « pas de données après AAAA »;
* projection, two conventions (``ZanOptions.projection``):

  - ``"sparte"`` (default): sparte's published convention (``land_trajectoires.sql``):
    ``annual = consumed / observed years of the period``, ``projected = annual × 9``, the
    consumption cumulated to 1 January 2030 (Cerema's year *y* runs from 1 January *y* to
    1 January *y*+1); ``None`` without an observed year of the period. This is the figure, and
    the verdict ``allowed ≥ projected``, that the national tool publishes;
  - ``"periode"``: the mean of the last ``projection_window`` observed years (3) continues over
    every unobserved year of 2021..2030: ``projected = consumed + annual × unobserved years``
    (× 10 in all when the window is 2021–2023, the figure sparte's Trajectoires page draws).
* ``percent_use = 100 × consumed_ha / allowed_ha``; ``projected_percent_use`` likewise.

Sources of series (:func:`available_series`, each labelled, ``ConsumptionSeries.key``): a Cerema
national file imported with ``ingest-conso`` (any commune, EPCI or département as the sum of its
communes, :mod:`ocsge_engine.indicators.conso`), the Lyon ``landconso`` table of sparte (Cerema,
fichiers fonciers, m² → ha; store table ``ref_lyon_landconso``), and the SYBARVAL yearly
artificialised surface 2009–2018 (``data/reference/sybarval_2009_2018``, source undocumented,
probably fichiers fonciers; its INSEE codes are re-keyed by name, see its SOURCE.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from ocsge_engine.config import get_settings
from ocsge_engine.errors import ConsumptionNotFoundError, StoreError
from ocsge_engine.portrait.figure import Figure
from ocsge_engine.territories import communes_table, get_territory, normalize_name

logger = logging.getLogger(__name__)

SYBARVAL_FILE = "sybarval_2009_2018/example_import_artif_commune.csv"
SYBARVAL_SOURCE = ("sybarval_example_import (source non documentée, probablement fichiers "
                   "fonciers), MTES-MCT/sparte 2021")
LYON_SOURCE = "sparte landconso (Cerema, fichiers fonciers), Métropole de Lyon"
LYON_TABLE = "ref_lyon_landconso"
DESTINATIONS: tuple[str, ...] = ("activite", "habitat", "mixte", "route", "ferroviaire", "inconnu")
SYBARVAL_CODES: tuple[str, ...] = (
    "33005", "33009", "33011", "33019", "33029", "33042", "33051", "33199", "33229", "33236",
    "33260", "33284", "33436", "33498", "33527", "33529", "33555")


@dataclass(frozen=True)
class ConsumptionSeries:
    """Yearly consumption (ha) of one territory, with its source.

    Attributes:
        values: year → hectares consumed that year.
        source: where the series comes from (French, stated in every output).
        territory: territory id or code.
        key: short name of the source (``"cerema"``, ``"lyon"``, ``"sybarval"``), for choosing.
        destinations: year → destination (``activite``, ``habitat``, ``mixte``, ``route``,
            ``ferroviaire``, ``inconnu``) → hectares, when the source has them.
    """

    values: dict[int, float]
    source: str
    territory: str = ""
    key: str = ""
    destinations: dict[int, dict[str, float]] = field(default_factory=dict, compare=False)

    @property
    def last_year(self) -> int | None:
        """Last year of the series (``None`` when empty)."""
        return max(self.values) if self.values else None


PROJECTION_METHODS: tuple[str, ...] = ("sparte", "periode")
PROJECTION_LABELS: dict[str, str] = {
    "sparte": "Convention sparte (publiée) : rythme annuel moyen depuis 2021 × 9 ans",
    "periode": "Rythme des dernières années prolongé jusqu'à la fin 2030 (10 ans)",
}


@dataclass(frozen=True)
class ZanOptions:
    """Parameters of the trajectory (defaults: the law's, and sparte's published projection).

    Attributes:
        reference: first and last year of the reference period.
        period: first and last year of the target period.
        reduction: share of the reference to cut (0.5 = −50 %).
        custom_target_ha: allowed consumption over the period, replacing the computed one.
        floor_ha: minimum allowed consumption (``None``: no floor).
        projection: ``"sparte"`` (sparte's ``land_trajectoires.sql``: the mean yearly consumption
            observed since the start of the period × (last year − first year of the period),
            i.e. × 9: consumption cumulated to 1 January 2030, the figure the national tool
            publishes and judges) or ``"periode"`` (the mean of the last ``projection_window``
            observed years continued over every unobserved year up to the end of 2030).
        projection_window: for ``"periode"``, number of last observed years whose mean is
            projected.
    """

    reference: tuple[int, int] = (2011, 2020)
    period: tuple[int, int] = (2021, 2030)
    reduction: float = 0.5
    custom_target_ha: float | None = None
    floor_ha: float | None = 1.0
    projection: str = "sparte"
    projection_window: int = 3

    @property
    def horizon(self) -> int:
        """Last year counted by the projection (2029 for sparte, 2030 otherwise)."""
        return self.period[1] - 1 if self.projection == "sparte" else self.period[1]


@dataclass(frozen=True, eq=False)
class ZanTrajectory:
    """Result of :func:`zan_trajectory` (formulas in the module docstring).

    ``table`` has one row per year from the first observed year to the end of the period:
    ``year, observed_ha`` (NaN when not observed), ``observed_cumulative_ha`` and
    ``projected_cumulative_ha`` (since the start of the period, NaN before it and after the
    projection's horizon), and ``target_cumulative_ha`` (the allowed consumption spread evenly
    over the period).

    ``consumed_ha`` is ``None`` (never 0) when the series has no year in the target period:
    :attr:`missing_after` then gives the last year with data.
    """

    source: str
    options: ZanOptions
    reference_ha: float
    reference_years: list[int]
    reference_complete: bool
    allowed_ha: float
    floor_applied: bool
    consumed_ha: float | None
    observed_years: list[int]
    annual_projection_ha: float | None
    projection_years: list[int]
    projected_ha: float | None
    table: pd.DataFrame = field(repr=False)
    last_year: int | None = None
    destinations: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def percent_use(self) -> float | None:
        """Share (%) of the allowed consumption already used (``None`` without observation)."""
        if self.consumed_ha is None or self.allowed_ha <= 0:
            return None
        return 100 * self.consumed_ha / self.allowed_ha

    @property
    def projected_percent_use(self) -> float | None:
        """Share (%) of the allowed consumption used at the projection's horizon."""
        if self.projected_ha is None or self.allowed_ha <= 0:
            return None
        return 100 * self.projected_ha / self.allowed_ha

    @property
    def respects_by_end(self) -> bool | None:
        """The projection stays within the allowed consumption (sparte's
        ``respecting_regulation_by_2030``); ``None`` without projection."""
        return None if self.projected_ha is None else self.allowed_ha >= self.projected_ha

    @property
    def missing_after(self) -> int | None:
        """Last year of the series when it has no year in the target period, else ``None``."""
        return self.last_year if self.consumed_ha is None else None

    def to_dict(self) -> dict[str, Any]:
        """Plain-types view (JSON-ready)."""
        return {
            "source": self.source, "reference_period": list(self.options.reference),
            "target_period": list(self.options.period), "reduction": self.options.reduction,
            "custom_target_ha": self.options.custom_target_ha,
            "reference_ha": self.reference_ha, "reference_years": self.reference_years,
            "reference_complete": self.reference_complete, "allowed_ha": self.allowed_ha,
            "floor_applied": self.floor_applied, "consumed_ha": self.consumed_ha,
            "observed_years": self.observed_years, "last_year": self.last_year,
            "no_data_after": self.missing_after,
            "projection_method": self.options.projection,
            "projection_horizon": self.options.horizon,
            "annual_projection_ha": self.annual_projection_ha,
            "projection_years": self.projection_years, "projected_ha": self.projected_ha,
            "percent_use": self.percent_use, "projected_percent_use": self.projected_percent_use,
            "respects_by_end": self.respects_by_end,
        }


def zan_trajectory(series: ConsumptionSeries, options: ZanOptions = ZanOptions()
                   ) -> ZanTrajectory:
    """Reference, allowed consumption, observed and projected consumption of a series.

    Args:
        series: yearly consumption (ha).
        options: periods, reduction, custom target, floor, projection convention.

    Returns:
        The :class:`ZanTrajectory`.

    Raises:
        ValueError: the series has no year in the reference period, or the options are
            inconsistent (periods inverted, reduction outside [0, 1], unknown projection).

    >>> s = ConsumptionSeries({y: 2.0 for y in range(2011, 2024)}, "hand")
    >>> t = zan_trajectory(s)
    >>> t.reference_ha, t.allowed_ha, t.consumed_ha, t.projected_ha, round(t.percent_use, 1)
    (20.0, 10.0, 6.0, 18.0, 60.0)
    >>> zan_trajectory(s, ZanOptions(projection="periode")).projected_ha
    20.0
    """
    ref_a, ref_b = options.reference
    per_a, per_b = options.period
    if (ref_a > ref_b or per_a > per_b or not 0.0 <= options.reduction <= 1.0
            or options.projection not in PROJECTION_METHODS or options.projection_window < 1):
        raise ValueError(f"inconsistent ZAN options {options}")
    values = {int(y): float(v) for y, v in series.values.items()}
    ref_years = [y for y in sorted(values) if ref_a <= y <= ref_b]
    if not ref_years:
        raise ValueError(f"series {series.source!r} has no year in {ref_a}..{ref_b}")
    ref_len = ref_b - ref_a + 1
    reference = sum(values[y] for y in ref_years)
    complete = len(ref_years) == ref_len
    if not complete:
        logger.info("reference %d-%d incomplete (%s): mean x %d", ref_a, ref_b, ref_years, ref_len)
        reference = reference / len(ref_years) * ref_len
    allowed = reference * (1.0 - options.reduction)
    floor_applied = options.floor_ha is not None and allowed < options.floor_ha
    if floor_applied:
        allowed = float(options.floor_ha)  # type: ignore[arg-type]
    if options.custom_target_ha is not None:
        allowed, floor_applied = float(options.custom_target_ha), False
    observed = [y for y in sorted(values) if per_a <= y <= per_b]
    consumed = float(sum(values[y] for y in observed)) if observed else None
    if options.projection == "sparte":
        window = observed
    else:
        window = sorted(values)[-options.projection_window:]
    annual = sum(values[y] for y in window) / len(window) if window else None
    horizon = options.horizon
    remaining = [y for y in range(per_a, horizon + 1) if y not in values]
    counted = sum(values[y] for y in observed if y <= horizon)
    projected = counted + annual * len(remaining) if annual is not None else None
    table = _trajectory_table(values, options, allowed, annual)
    return ZanTrajectory(series.source, options, reference, ref_years, complete, allowed,
                         floor_applied, consumed, observed, annual, window, projected, table,
                         max(values), _destinations_table(series))


def _destinations_table(series: ConsumptionSeries) -> pd.DataFrame | None:
    """Year × destination hectares (``None`` when the source has no destinations)."""
    if not series.destinations:
        return None
    frame = pd.DataFrame.from_dict(series.destinations, orient="index").sort_index()
    frame.index.name = "year"
    return frame.reset_index()


def _trajectory_table(values: dict[int, float], options: ZanOptions, allowed: float,
                      annual: float | None) -> pd.DataFrame:
    per_a, per_b = options.period
    years = list(range(min(min(values), per_a), per_b + 1))
    observed = pd.Series({y: values.get(y, float("nan")) for y in years}, dtype=float)
    in_period = (observed.index >= per_a)
    cum_obs = observed.where(in_period).fillna(0.0).cumsum().where(in_period)
    cum_obs[(~observed.notna()) & in_period] = float("nan")
    step = observed.where(observed.notna(), annual if annual is not None else float("nan"))
    in_horizon = in_period & (observed.index <= options.horizon)
    cum_proj = step.where(in_horizon).cumsum().where(in_horizon)
    n_years = per_b - per_a + 1
    target = pd.Series([(y - per_a + 1) * allowed / n_years if y >= per_a else float("nan")
                        for y in years], index=years)
    return pd.DataFrame({"year": years, "observed_ha": observed.to_numpy(),
                         "observed_cumulative_ha": cum_obs.to_numpy(),
                         "projected_cumulative_ha": cum_proj.to_numpy(),
                         "target_cumulative_ha": target.to_numpy()})


# --- series loaders -----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _sybarval_table() -> pd.DataFrame:
    """The SYBARVAL file re-keyed by name (its ``insee`` column is wrong, see SOURCE.md)."""
    path = get_settings().data_dir / "reference" / SYBARVAL_FILE
    raw = pd.read_csv(path, dtype={"insee": str}, encoding="utf-8-sig")
    communes = communes_table().set_index("code").loc[list(SYBARVAL_CODES)]
    by_name = {normalize_name(n): c for c, n in communes["name"].items()}
    codes = raw["name"].map(lambda n: by_name.get(normalize_name(n)))
    if codes.isna().any():
        raise ValueError(f"unmatched SYBARVAL names: {list(raw['name'][codes.isna()])}")
    areas = pd.Series({c: get_territory(f"commune:{c}").area_ha for c in codes})
    off = (raw["surface"].to_numpy() - areas[codes].to_numpy()) / areas[codes].to_numpy()
    if (abs(off) > 0.01).any():
        raise ValueError(f"SYBARVAL surfaces do not match the communes: {list(raw['name'])}")
    relabelled = int((codes != raw["insee"]).sum())
    logger.debug("SYBARVAL consumption: %d rows re-keyed by name", relabelled)
    return raw.assign(code=codes).set_index("code")


def sybarval_consumption(code: str) -> ConsumptionSeries:
    """Yearly consumption 2009–2018 of a SYBARVAL commune, or summed over several codes.

    Args:
        code: INSEE code, or ``"scot"`` for the 17 communes together.

    Raises:
        ConsumptionNotFoundError: the commune is not one of the 17.
    """
    table = _sybarval_table()
    codes = list(table.index) if code == "scot" else [code]
    if any(c not in table.index for c in codes):
        raise ConsumptionNotFoundError(f"no SYBARVAL consumption for {code}")
    rows = table.loc[codes]
    values = {int(col.removeprefix("artif_")): float(rows[col].sum()) for col in rows.columns
              if col.startswith("artif_") and col[6:].isdigit()}
    return ConsumptionSeries(values, SYBARVAL_SOURCE, code, key="sybarval")


def lyon_consumption(store: Any, land_id: str) -> ConsumptionSeries:
    """Yearly NAF consumption (ha) of a Lyon commune or of the Métropole (``200046977``).

    Raises:
        ConsumptionNotFoundError: no such ``land_id`` in the table.
        StoreError: the store has no ``ref_lyon_landconso`` table.
    """
    table = store.read_table(LYON_TABLE)
    rows = table[table["land_id"].astype(str) == str(land_id)]
    if rows.empty:
        raise ConsumptionNotFoundError(f"no Lyon consumption for {land_id}")
    grouped = rows.groupby("year")
    values = grouped["total"].sum() / 1e4  # m² -> ha
    destinations = {int(y): {d: float(v) / 1e4 for d, v in row.items()}
                    for y, row in (grouped[list(DESTINATIONS)].sum()).iterrows()}
    return ConsumptionSeries({int(y): float(v) for y, v in values.items()}, LYON_SOURCE,
                             str(land_id), key="lyon", destinations=destinations)


def available_series(territory: Any, store: Any = None) -> list[ConsumptionSeries]:
    """Every consumption series covering a territory, preferred first.

    Order: the imported Cerema file (the national reference; communes, EPCI and départements
    whose communes are all in it), sparte's Lyon table (communes and the Métropole), the SYBARVAL
    file (its 17 communes).

    Args:
        territory: a ``Territory``.
        store: the store holding imported tables (optional).

    Returns:
        The series, possibly none.
    """
    from ocsge_engine.indicators.conso import cerema_consumption  # noqa: PLC0415 (cycle)

    found: list[ConsumptionSeries] = []
    code = str(territory.code)
    if store is not None and territory.kind in ("commune", "epci", "departement"):
        try:
            found.append(cerema_consumption(store, territory))
        except (ConsumptionNotFoundError, StoreError) as err:
            logger.debug("no Cerema series for %s: %s", territory.id, err)
        if territory.kind in ("commune", "epci"):
            try:
                found.append(lyon_consumption(store, code))
            except (ConsumptionNotFoundError, StoreError):
                pass
    if territory.kind == "commune" and code in SYBARVAL_CODES:
        found.append(sybarval_consumption(code))
    return found


def consumption_series(territory: Any, store: Any = None, key: str | None = None
                       ) -> ConsumptionSeries:
    """The consumption series of a territory: the preferred one, or the one named ``key``.

    Args:
        territory: a ``Territory`` (commune, EPCI or département).
        store: the store holding the imported Cerema table and ``ref_lyon_landconso``.
        key: ``"cerema"``, ``"lyon"`` or ``"sybarval"`` to choose a source.

    Raises:
        ConsumptionNotFoundError: no series (or none from ``key``) covers the territory.
    """
    for series in available_series(territory, store):
        if key is None or series.key == key:
            return series
    which = f" from {key}" if key else ""
    raise ConsumptionNotFoundError(
        f"no consumption series{which} for {territory.kind}:{territory.code}",
        "Aucune série de consommation d'espaces n'est disponible pour ce territoire : importez "
        "le fichier national de consommation d'espaces du Cerema (commande ingest-conso).")


def zan_figures(trajectory: ZanTrajectory) -> list[Figure]:
    """The trajectory's headline figures as :class:`~ocsge_engine.portrait.figure.Figure` objects.

    Keys ``zan.reference_ha``, ``zan.allowed_ha``, ``zan.consumed_ha``, ``zan.projected_ha``,
    ``zan.percent_use``; a value that cannot be given (no year of the period in the series)
    carries the French reason « pas de données après AAAA » instead of a zero.
    """
    opts = trajectory.options
    ref_a, ref_b = opts.reference
    per_a, per_b = opts.period
    source = trajectory.source
    ref_years = tuple(trajectory.reference_years)
    no_data = (f"pas de données après {trajectory.last_year}"
               if trajectory.missing_after is not None else None)
    ref_method = "sum of the yearly consumption" if trajectory.reference_complete else (
        f"mean of {len(ref_years)} years x {ref_b - ref_a + 1} (incomplete reference)")
    envelope = ("custom target" if opts.custom_target_ha is not None else
                f"reference x (1 - {opts.reduction:g})"
                + (", raised to the 1 ha communal floor" if trajectory.floor_applied else ""))
    projection = (f"{opts.projection}: mean of {trajectory.projection_years} continued to "
                  f"{opts.horizon}")
    observed = tuple(trajectory.observed_years)
    figures = [
        Figure("zan.reference_ha", trajectory.reference_ha, "ha",
               f"Consommation de référence {ref_a}–{ref_b}", ref_method, source, ref_years),
        Figure("zan.allowed_ha", trajectory.allowed_ha, "ha", f"Enveloppe {per_a}–{per_b}",
               envelope, source, ref_years),
        Figure("zan.consumed_ha", trajectory.consumed_ha, "ha", f"Consommé depuis {per_a}",
               "sum of the observed years of the period", source, observed, missing=no_data),
        Figure("zan.percent_use", None if trajectory.percent_use is None
               else trajectory.percent_use / 100, "%", "Part de l'enveloppe consommée",
               "consumed / allowed", source, observed, missing=no_data, decimals=0),
        Figure("zan.projected_ha", trajectory.projected_ha, "ha",
               f"Projection au 1er janvier {opts.horizon + 1}" if opts.projection == "sparte"
               else f"Projection fin {opts.horizon}", projection, source,
               tuple(trajectory.projection_years),
               missing=None if trajectory.projected_ha is not None
               else no_data or "pas de projection"),
    ]
    return figures
