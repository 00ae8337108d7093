"""ZAN trajectory on a yearly consumption series: reference, target, observed, projection.

Loi Climat et résilience (art. 194) and loi n° 2023-630: consumption of NAF land over
2021–2030 must be cut by 50 % against 2011–2020. On a yearly series ``c(y)`` (ha):

* ``reference_ha = Σ c(y), y in 2011..2020``; when years are missing, the mean of the present
  years × 10 (``reference_complete=False``, the years used are listed);
* ``allowed_ha = reference_ha × (1 − reduction)`` (``reduction`` 0.5 by default), raised to
  ``floor_ha`` (1 ha, the communal guarantee of loi 2023-630, as sparte applies it) when lower; a
  ``custom_target_ha`` replaces it;
* ``consumed_ha = Σ c(y)`` over the observed years of the target period (2021..2030);
* projection: the mean of the last ``projection_window`` observed years (3) continues to the end
  of the target period: ``projected_ha = consumed_ha + mean × (years of the period not observed)``;
* ``percent_use = 100 × consumed_ha / allowed_ha``; ``projected_percent_use`` likewise.

sparte (``land_trajectoires.sql``) projects ``annual_conso_since_2021 × 9``; we project over the
10 years of the period (documented in docs/indicators.md); the other figures are identical.

Sources of series (``ConsumptionSeries.source``): the Lyon ``landconso`` table of sparte (Cerema,
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
from ocsge_engine.territories import communes_table, get_territory, normalize_name

logger = logging.getLogger(__name__)

SYBARVAL_FILE = "sybarval_2009_2018/example_import_artif_commune.csv"
SYBARVAL_SOURCE = ("sybarval_example_import (source non documentée, probablement fichiers "
                   "fonciers), MTES-MCT/sparte 2021")
LYON_SOURCE = "sparte landconso (Cerema, fichiers fonciers), Métropole de Lyon"
LYON_TABLE = "ref_lyon_landconso"
SYBARVAL_CODES: tuple[str, ...] = (
    "33005", "33009", "33011", "33019", "33029", "33042", "33051", "33199", "33229", "33236",
    "33260", "33284", "33436", "33498", "33527", "33529", "33555")


@dataclass(frozen=True)
class ConsumptionSeries:
    """Yearly consumption (ha) of one territory, with its source.

    Attributes:
        values: year → hectares consumed that year.
        source: where the series comes from (stated in every output).
        territory: territory id or code.
    """

    values: dict[int, float]
    source: str
    territory: str = ""


@dataclass(frozen=True)
class ZanOptions:
    """Parameters of the trajectory (defaults: the law's).

    Attributes:
        reference: first and last year of the reference period.
        period: first and last year of the target period.
        reduction: share of the reference to cut (0.5 = −50 %).
        custom_target_ha: allowed consumption over the period, replacing the computed one.
        floor_ha: minimum allowed consumption (``None``: no floor).
        projection_window: number of last observed years whose mean is projected.
    """

    reference: tuple[int, int] = (2011, 2020)
    period: tuple[int, int] = (2021, 2030)
    reduction: float = 0.5
    custom_target_ha: float | None = None
    floor_ha: float | None = 1.0
    projection_window: int = 3


@dataclass(frozen=True, eq=False)
class ZanTrajectory:
    """Result of :func:`zan_trajectory` (formulas in the module docstring).

    ``table`` has one row per year from the first observed year to the end of the period:
    ``year, observed_ha`` (NaN when not observed), ``observed_cumulative_ha`` and
    ``projected_cumulative_ha`` (since the start of the period, NaN before it), and
    ``target_cumulative_ha`` (the allowed consumption spread evenly over the period).
    """

    source: str
    options: ZanOptions
    reference_ha: float
    reference_years: list[int]
    reference_complete: bool
    allowed_ha: float
    floor_applied: bool
    consumed_ha: float
    observed_years: list[int]
    annual_projection_ha: float | None
    projection_years: list[int]
    projected_ha: float | None
    table: pd.DataFrame = field(repr=False)

    @property
    def percent_use(self) -> float | None:
        """Share (%) of the allowed consumption already used."""
        return 100 * self.consumed_ha / self.allowed_ha if self.allowed_ha > 0 else None

    @property
    def projected_percent_use(self) -> float | None:
        """Share (%) of the allowed consumption used at the end of the period, projected."""
        if self.projected_ha is None or self.allowed_ha <= 0:
            return None
        return 100 * self.projected_ha / self.allowed_ha

    def to_dict(self) -> dict[str, Any]:
        """Plain-types view (JSON-ready)."""
        return {
            "source": self.source, "reference_period": list(self.options.reference),
            "target_period": list(self.options.period), "reduction": self.options.reduction,
            "custom_target_ha": self.options.custom_target_ha,
            "reference_ha": self.reference_ha, "reference_years": self.reference_years,
            "reference_complete": self.reference_complete, "allowed_ha": self.allowed_ha,
            "floor_applied": self.floor_applied, "consumed_ha": self.consumed_ha,
            "observed_years": self.observed_years,
            "annual_projection_ha": self.annual_projection_ha,
            "projection_years": self.projection_years, "projected_ha": self.projected_ha,
            "percent_use": self.percent_use, "projected_percent_use": self.projected_percent_use,
        }


def zan_trajectory(series: ConsumptionSeries, options: ZanOptions = ZanOptions()
                   ) -> ZanTrajectory:
    """Reference, allowed consumption, observed and projected consumption of a series.

    Args:
        series: yearly consumption (ha).
        options: periods, reduction, custom target, floor.

    Returns:
        The :class:`ZanTrajectory`.

    Raises:
        ValueError: the series has no year in the reference period, or the options are
            inconsistent (periods inverted, reduction outside [0, 1]).

    >>> s = ConsumptionSeries({y: 2.0 for y in range(2011, 2024)}, "hand")
    >>> t = zan_trajectory(s)
    >>> t.reference_ha, t.allowed_ha, t.consumed_ha, t.projected_ha, round(t.percent_use, 1)
    (20.0, 10.0, 6.0, 20.0, 60.0)
    """
    ref_a, ref_b = options.reference
    per_a, per_b = options.period
    if ref_a > ref_b or per_a > per_b or not 0.0 <= options.reduction <= 1.0:
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
    consumed = float(sum(values[y] for y in observed))
    window = sorted(values)[-options.projection_window:]
    annual = sum(values[y] for y in window) / len(window) if window else None
    remaining = [y for y in range(per_a, per_b + 1) if y not in values]
    projected = consumed + annual * len(remaining) if annual is not None else None
    table = _trajectory_table(values, options, allowed, annual)
    return ZanTrajectory(series.source, options, reference, ref_years, complete, allowed,
                         floor_applied, consumed, observed, annual, window, projected, table)


def _trajectory_table(values: dict[int, float], options: ZanOptions, allowed: float,
                      annual: float | None) -> pd.DataFrame:
    per_a, per_b = options.period
    years = list(range(min(min(values), per_a), per_b + 1))
    observed = pd.Series({y: values.get(y, float("nan")) for y in years}, dtype=float)
    in_period = (observed.index >= per_a)
    cum_obs = observed.where(in_period).fillna(0.0).cumsum().where(in_period)
    cum_obs[(~observed.notna()) & in_period] = float("nan")
    step = observed.where(observed.notna(), annual if annual is not None else float("nan"))
    cum_proj = step.where(in_period).cumsum().where(in_period)
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
    return ConsumptionSeries(values, SYBARVAL_SOURCE, code)


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
    values = rows.groupby("year")["total"].sum() / 1e4  # m² -> ha
    return ConsumptionSeries({int(y): float(v) for y, v in values.items()}, LYON_SOURCE,
                             str(land_id))


def consumption_series(territory: Any, store: Any = None) -> ConsumptionSeries:
    """The consumption series available for a territory (SYBARVAL file, then Lyon table).

    Args:
        territory: a ``Territory`` (commune or EPCI).
        store: the store holding ``ref_lyon_landconso`` (optional).

    Raises:
        ConsumptionNotFoundError: no series covers the territory.
    """
    code = str(territory.code)
    if territory.kind == "commune" and code in SYBARVAL_CODES:
        return sybarval_consumption(code)
    if store is not None and territory.kind in ("commune", "epci"):
        try:
            return lyon_consumption(store, code)
        except (ConsumptionNotFoundError, StoreError):
            pass
    raise ConsumptionNotFoundError(f"no consumption series for {territory.kind}:{code}")
