"""Headline figures of a territory for one millésime pair, each computed once as a :class:`Figure`.

This is the figures layer of the product: the Portrait page, the other pages' headline metrics,
the ``indicators`` CLI (JSON and CSV), the HTML/PDF report, the ZIP bundle and the comparisons
read these figures; none recomputes them. Definitions (one each, ``docs/indicators.md``):

* **stocks by family** (agricole / forestier / naturel / artificialisé): « artificialisé » is the
  official artificialisation status of each polygon (so it equals the artificialised stock), the
  other families the US estimate (team heuristic, labelled so), :func:`family_tables`;
* **artificialisation** (stock, gross gain, gross loss, net): :func:`artificialisation`, i.e.
  IGN's ARTIFICIALISATION layers when ingested, else the decree matrix with the official
  thresholds applied to each millésime's stock at département scale;
* **imperméabilisation**: CS1.1.1.1 / CS1.1.1.2, no threshold;
* **changed land**: area whose CS or US code changed between the millésimes (all changes, not
  only artificialisation), from the same overlay;
* **per inhabitant**: :func:`~ocsge_engine.indicators.population.per_inhabitant` (annualised net
  m² per new inhabitant, population years stated); withheld when coverage is partial or the
  population did not grow (« — » with the reason).

No data, no figure: a territory without data for the pair raises
:class:`~ocsge_engine.errors.NotCoveredError` (from :func:`load_pair`); a partially covered
territory gets figures on its covered part, ``coverage`` says the share, and per-inhabitant
figures are withheld. Every figure carries the synthetic flag of the store partitions it reads.
No Streamlit here; French text only in labels, sources and reasons.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ocsge_engine.territories import resolve_territory
from ocsge_engine.indicators.artif import (
    FluxResult,
    artificialisation,
    flux_from_pair,
    sum_fluxes,
)
from ocsge_engine.indicators.pair import Pair, load_pair
from ocsge_engine.indicators.compare import population_series
from ocsge_engine.indicators.population import PerInhabitant, per_inhabitant
from ocsge_engine.nomenclature import FAMILIES
from ocsge_engine.portrait.figure import Figure
from ocsge_engine.territories import Territory

logger = logging.getLogger(__name__)

COMPLETE_SHARE = 0.999  # as ocsge_engine.store.db.COMPLETE_SHARE
POPULATION_SOURCE = "INSEE, population municipale (COG 2026)"
OCSGE_SOURCE = "IGN, OCS GE"
FAMILY_LABELS = {"agricole": "Espaces agricoles", "forestier": "Espaces forestiers",
                 "naturel": "Espaces naturels", "artificialise": "Espaces artificialisés"}
METHOD_TEXT = {
    "ign_artif": "IGN ARTIFICIALISATION layers (official status and difference)",
    "decree_matrix_official_thresholds": "decree CS x US matrix + official 2,500 m2 / 50 m2 "
                                         "thresholds on each millesime stock (departement scale)",
    "decree_matrix": "decree CS x US matrix, no thresholds",
    "cs1.1": "CS1.1 rule (2021 sparte convention)",
    "impermeable_cs": "CS1.1.1.1 / CS1.1.1.2 cover, no threshold",
}


@dataclass(frozen=True)
class Provenance:
    """Where the OCS GE figures of a pair come from.

    Attributes:
        source: French source line (producer, product, millésimes, département partitions).
        synthetic: at least one partition read is synthetic (the demo's background).
        note: the catalogue note of synthetic partitions (what is real and what is not).
    """

    source: str
    synthetic: bool
    note: str = ""


def provenance(store: Any, territory: Any, year_from: int, year_to: int) -> Provenance:
    """Source line and synthetic flag of the OCCUPATION_SOL partitions a pair reads."""
    from ocsge_engine.store.catalog import synthetic_partitions

    years = (int(year_from), int(year_to))
    deps = tuple(getattr(territory, "departements", ()) or ())
    try:
        catalog = store.catalog()
    except Exception as err:  # noqa: BLE001 - provenance must never hide the figures
        logger.warning("catalogue unreadable for provenance: %s", err)
        catalog = pd.DataFrame()
    synthetic, note = synthetic_partitions(catalog, deps or None, years)
    dep_text = f", département{'s' if len(deps) > 1 else ''} {', '.join(deps)}" if deps else ""
    source = f"{OCSGE_SOURCE} {years[0]} et {years[1]}{dep_text}"
    if synthetic:
        source += f" (démonstration : {note or 'données synthétiques'})"
    return Provenance(source, synthetic, note)


@dataclass(frozen=True, eq=False)
class PortraitFigures:
    """Every headline figure of one territory for one millésime pair.

    Attributes:
        territory_id: e.g. ``commune:33529``.
        name: territory name.
        kind: ``commune``, ``epci``, ``departement`` or ``polygon``.
        area_ha: territory area.
        population: census year → inhabitants (empty when unknown).
        year_from, year_to: the millésimes compared.
        coverage: millésime → share of the territory covered by OCCUPATION_SOL (0–1).
        stocks_from, stocks_to: family → hectares at each millésime (covered part).
        flows: tidy family exchange table (``code_from``, ``code_to``, ``area_ha``).
        artif: the artificialisation result (details for the Artificialisation page).
        imper: the imperméabilisation result.
        ratios: per-inhabitant ratios and their population basis.
        provenance: source line and synthetic flag.
        figures: key → :class:`Figure`, in display order.
    """

    territory_id: str
    name: str
    kind: str
    area_ha: float
    population: dict[int, int]
    year_from: int
    year_to: int
    coverage: dict[int, float]
    stocks_from: dict[str, float]
    stocks_to: dict[str, float]
    flows: pd.DataFrame = field(repr=False)
    artif: FluxResult = field(repr=False)
    imper: FluxResult = field(repr=False)
    ratios: PerInhabitant = field(repr=False)
    provenance: Provenance = field(repr=False)
    figures: dict[str, Figure] = field(repr=False)

    def __getitem__(self, key: str) -> Figure:
        return self.figures[key]

    # --- compatibility accessors (report sentence, charts) ---------------------------------
    @property
    def synthetic(self) -> bool:
        """The figures depend on synthetic data."""
        return self.provenance.synthetic

    @property
    def coverage_share(self) -> float:
        """Lowest coverage share of the two millésimes."""
        return min(self.coverage.values()) if self.coverage else 0.0

    @property
    def partial(self) -> bool:
        """Coverage below 99,9 % in at least one millésime."""
        return self.coverage_share < COMPLETE_SHARE

    @property
    def method(self) -> str:
        """How artificialisation was measured."""
        return self.artif.method

    @property
    def artificialised_gross_ha(self) -> float:
        """Counted gains of artificialised land."""
        return self.artif.gross_gain_ha

    @property
    def desartificialised_ha(self) -> float:
        """Counted losses (de-artificialised land)."""
        return self.artif.gross_loss_ha

    @property
    def artificialised_stock_ha(self) -> float:
        """Artificialised land at ``year_to``."""
        return self.artif.stock_to_ha

    @property
    def net_artificialisation_ha(self) -> float:
        """Net artificialisation (gains minus losses)."""
        return self.artif.net_ha

    @property
    def origin_ha(self) -> dict[str, float]:
        """NAF family → hectares of the counted gains (estimate)."""
        return {k: float(v) for k, v in self.artif.origin.items()}

    @property
    def artificialised_share(self) -> float:
        """Share (0–1) of the covered area artificialised at ``year_to``."""
        value = self.figures["artificialisation.share_to"].value
        return float(value) if value is not None else 0.0

    @property
    def latest_population(self) -> tuple[int, int] | None:
        """(year, population) of the latest census figure, if any."""
        if not self.population:
            return None
        year = max(self.population)
        return year, self.population[year]

    @property
    def density_per_km2(self) -> float | None:
        """Inhabitants per km² (latest population)."""
        return self.figures["identity.density"].value

    def naf_to_artificial_ha(self, family: str | None) -> float:
        """Hectares of one NAF family (or all when ``None``) that became artificialised."""
        if family is None:
            return self.artificialised_gross_ha
        return float(self.artif.origin.get(family, 0.0))

    def net_per_new_inhabitant_m2(self) -> float | None:
        """The one definition of net m² per new inhabitant (annualised), ``None`` when withheld."""
        return self.figures["per_inhabitant.net_m2_per_new_inhabitant"].value

    def family_matrix(self) -> Any:
        """The A/N/F exchange matrix of :attr:`flows` (official status), for Sankey charts."""
        from ocsge_engine.flows.matrix import ExchangeMatrix

        order = list(FAMILIES)
        return ExchangeMatrix(self.flows.reset_index(drop=True), "anf", self.year_from,
                              self.year_to, "overlay",
                              pd.Series(self.stocks_from).reindex(order, fill_value=0.0),
                              pd.Series(self.stocks_to).reindex(order, fill_value=0.0))

    def headline_keys(self) -> tuple[str, ...]:
        """Keys of the figures shown as headline metrics, in order."""
        return ("artificialisation.share_to", "artificialisation.net_ha",
                "artificialisation.gross_gain_ha", "per_inhabitant.net_m2_per_new_inhabitant")

    def figures_table(self) -> pd.DataFrame:
        """One row per figure: key, French label, value, unit, display, years, source, method."""
        return pd.DataFrame([{
            "cle": f.key, "indicateur": f.label, "valeur": f.value, "unite": f.unit,
            "affichage": f.display(), "annees": " ".join(str(y) for y in f.years),
            "couverture": f.coverage, "synthetique": f.synthetic, "source": f.source,
            "methode": f.method, "absence": f.missing or ""} for f in self.figures.values()])

    def as_dict(self) -> dict[str, Any]:
        """Plain-types view (JSON export)."""
        return {
            "territory_id": self.territory_id, "name": self.name, "kind": self.kind,
            "area_ha": self.area_ha, "population": {str(k): v for k, v in self.population.items()},
            "year_from": self.year_from, "year_to": self.year_to,
            "coverage": {str(k): v for k, v in self.coverage.items()},
            "partial_coverage": self.partial, "synthetic": self.synthetic,
            "source": self.provenance.source, "stocks_from": self.stocks_from,
            "stocks_to": self.stocks_to, "method": self.method,
            "figures": {k: f.to_dict() for k, f in self.figures.items()},
        }


def family_tables(pair: Pair, artif: FluxResult
                  ) -> tuple[dict[str, float], dict[str, float], pd.DataFrame]:
    """A/N/F family stocks of both millésimes and their exchange table, official status first.

    The « artificialisé » family is the official artificialisation status of each polygon (the
    stored, thresholded status) so that the family stocks agree with the artificialisation
    figures; the other families follow the US estimate (rules §6). With IGN's own layers (whose
    polygons differ from OCCUPATION_SOL's) the decree matrix family is used, as in Flux.

    Returns:
        ``(stocks_from, stocks_to, flows)``: family → ha, and a tidy table ``code_from``,
        ``code_to``, ``area_ha`` (rows sum to the stocks up to the covered area of the overlay).
    """
    from ocsge_engine.indicators.artif import OFFICIAL_METHOD
    from ocsge_engine.nomenclature import family

    if artif.method != OFFICIAL_METHOD:
        matrix = pair.matrix("anf")
        return ({f: float(matrix.stocks_from.get(f, 0.0)) for f in FAMILIES},
                {f: float(matrix.stocks_to.get(f, 0.0)) for f in FAMILIES}, matrix.table)
    stocks = []
    status = {}
    for side, layer in (("from", pair.layer_from), ("to", pair.layer_to)):
        status[side] = pair.official_status(side)
        fam = family(layer["code_cs"], layer["code_us"], status[side])
        area = pd.Series(np.asarray(layer.geometry.area, dtype=float) / 1e4, index=fam)
        sums = area.groupby(level=0).sum()
        stocks.append({f: float(sums.get(f, 0.0)) for f in FAMILIES})
    cs_f, us_f = pair.codes("from")
    cs_t, us_t = pair.codes("to")
    fam_f = family(pd.Series(cs_f), pd.Series(us_f), status["from"][pair.pieces.index_from])
    fam_t = family(pd.Series(cs_t), pd.Series(us_t), status["to"][pair.pieces.index_to])
    flows = (pd.DataFrame({"code_from": fam_f, "code_to": fam_t,
                           "area_ha": np.asarray(pair.pieces.area_m2, dtype=float) / 1e4})
             .groupby(["code_from", "code_to"], as_index=False)["area_ha"].sum())
    return stocks[0], stocks[1], flows


def _changed_ha(pair: Pair) -> float:
    """Area (ha) of the overlay pieces whose CS or US code changed."""
    cs_f, us_f = pair.codes("from")
    cs_t, us_t = pair.codes("to")
    changed = (cs_f != cs_t) | (us_f != us_t)
    return float(np.asarray(pair.pieces.area_m2)[changed].sum() / 1e4)


def portrait_figures(store: Any, territory: Territory | str, year_from: int, year_to: int,
                     *, pair: Pair | None = None, artif: FluxResult | None = None
                     ) -> PortraitFigures:
    """Compute every headline figure of ``territory`` between two millésimes, once.

    Args:
        store: an open :class:`~ocsge_engine.store.Store`.
        territory: the territory (any kind) or its id (``"commune:33005"``).
        year_from: first millésime.
        year_to: second millésime (> ``year_from``).
        pair: the already loaded pair (saves the overlay).
        artif: the already computed artificialisation of the pair.

    Without ``pair`` and ``artif``, a commune's figures come from the national batch's
    precomputed rows when its partition is fresh (:mod:`ocsge_engine.batch.pages`: the same
    function run on the same overlay, so the same numbers), and an EPCI's or a département's
    are the sum of its communes' (:func:`sum_portraits`) when every one of them is precomputed;
    else they are computed here.

    Returns:
        The :class:`PortraitFigures`.

    Raises:
        NotCoveredError: the store has no data for the territory and the pair.
        MillesimeError: inverted years or a millésime absent.
        TerritoryNotFoundError: unknown territory id.
    """
    territory = resolve_territory(territory)
    year_from, year_to = int(year_from), int(year_to)
    if pair is None and artif is None:  # precomputed by the national batch, or their sum
        from ocsge_engine.batch.pages import precomputed_figures

        stored = precomputed_figures(store, territory, year_from, year_to)
        if stored is not None:
            return stored
    pair = pair if pair is not None else load_pair(store, territory, year_from, year_to)
    artif = artif if artif is not None else artificialisation(store, territory, year_from,
                                                               year_to, pair=pair)
    imper = flux_from_pair(pair, "imper")
    coverage = {year_from: pair.coverage("from"), year_to: pair.coverage("to")}
    stocks_from, stocks_to, family_flows = family_tables(pair, artif)
    result = _assemble(store, territory, (year_from, year_to), coverage, stocks_from, stocks_to,
                       family_flows, _changed_ha(pair), artif, imper)
    if result.partial:
        logger.info("%s covered at %.1f%% only: figures on the covered part", territory.id,
                    100 * result.coverage_share)
    return result


def _assemble(store: Any, territory: Territory, years: tuple[int, int],
              coverage: dict[int, float], stocks_from: dict[str, float],
              stocks_to: dict[str, float], flows: pd.DataFrame, changed_ha: float,
              artif: FluxResult, imper: FluxResult) -> PortraitFigures:
    """The :class:`PortraitFigures` of measured quantities: population, ratios, provenance and
    every :class:`Figure` derived from them."""
    year_from, year_to = years
    pop = population_series(territory.id)  # the series Comparer uses; {} when unknown
    ratios = per_inhabitant(artif.stock_to_ha, artif.net_ha, year_from, year_to, pop)
    prov = provenance(store, territory, year_from, year_to)
    figures = _build_figures(territory, year_from, year_to, min(coverage.values()), changed_ha,
                             artif, imper, stocks_from, stocks_to, pop, ratios, prov)
    return PortraitFigures(
        territory_id=territory.id, name=territory.name, kind=territory.kind,
        area_ha=float(territory.area_ha), population=pop, year_from=year_from, year_to=year_to,
        coverage=coverage, stocks_from=stocks_from, stocks_to=stocks_to, flows=flows,
        artif=artif, imper=imper, ratios=ratios, provenance=prov, figures=figures)


def sum_portraits(store: Any, territory: Territory, parts: list[PortraitFigures]
                  ) -> PortraitFigures:
    """The figures of a territory made of disjoint parts (an EPCI of its communes), from theirs.

    Only additive quantities are summed: the family stocks and exchanges, the artificialisation
    and imperméabilisation fluxes (:func:`~ocsge_engine.indicators.artif.sum_fluxes`: the
    official status is per polygon, at département scale), the changed area and the covered
    area of each millésime. Shares, densities and per-inhabitant ratios are then derived from
    the sums by the same code as :func:`portrait_figures`, with the territory's own area,
    population and provenance. The parts must tile the territory (the caller checks their
    areas add up to the territory's).

    Raises:
        ValueError: no part, parts of other millésimes, or fluxes that cannot be summed.
    """
    if not parts:
        raise ValueError("sum_portraits needs at least one part")
    year_from, year_to = parts[0].year_from, parts[0].year_to
    if any((p.year_from, p.year_to) != (year_from, year_to) for p in parts):
        raise ValueError("parts of different millésime pairs cannot be summed")
    artif = sum_fluxes([p.artif for p in parts])
    imper = sum_fluxes([p.imper for p in parts])
    area_m2 = float(territory.geometry.area) if territory.geometry is not None else 0.0
    coverage = {year: min(1.0, sum(p.coverage[year] * p.area_ha * 1e4 for p in parts) / area_m2)
                if area_m2 > 0 else 1.0 for year in (year_from, year_to)}
    stocks_from, stocks_to = ({f: float(sum(getattr(p, side).get(f, 0.0) for p in parts))
                               for f in FAMILIES} for side in ("stocks_from", "stocks_to"))
    flows = (pd.concat([p.flows for p in parts], ignore_index=True)
             .groupby(["code_from", "code_to"], as_index=False)["area_ha"].sum())
    changed_ha = float(sum(p.figures["changes.any_ha"].value for p in parts))
    return _assemble(store, territory, (year_from, year_to), coverage, stocks_from, stocks_to,
                     flows, changed_ha, artif, imper)


def _build_figures(territory: Any, year_from: int, year_to: int, share: float,
                   changed_ha: float, artif: FluxResult, imper: FluxResult,
                   stocks_from: dict[str, float], stocks_to: dict[str, float],
                   pop: dict[int, int], ratios: PerInhabitant, prov: Provenance
                   ) -> dict[str, Figure]:
    years = (year_from, year_to)
    partial = share < COMPLETE_SHARE
    ocs = {"source": prov.source, "years": years, "coverage": share,
           "synthetic": prov.synthetic}
    period = f"{year_from}–{year_to}"
    out: dict[str, Figure] = {}

    def add(fig: Figure) -> None:
        out[fig.key] = fig

    add(Figure("identity.area_ha", float(territory.area_ha), "ha", "Superficie du territoire",
               "area of the territory polygon (EPSG:2154)", "IGN Admin Express / INSEE COG",
               decimals=0 if territory.area_ha >= 100 else 2))
    latest = max(pop) if pop else None
    add(Figure("identity.population", float(pop[latest]) if latest else None, "hab",
               f"Population ({latest})" if latest else "Population",
               "population municipale, latest census year", POPULATION_SOURCE,
               years=(latest,) if latest else (),
               missing=None if latest else "population inconnue pour ce territoire"))
    density = (pop[latest] / (territory.area_ha / 100)) if latest and territory.area_ha else None
    add(Figure("identity.density", density, "hab/km²", "Densité de population",
               "latest population / area", POPULATION_SOURCE, years=(latest,) if latest else (),
               missing=None if density is not None else "population inconnue"))
    add(Figure("coverage.share", share, "%", "Part du territoire couverte par l'OCS GE",
               "covered area / territory area, lower of the two millésimes", prov.source,
               years=years, synthetic=prov.synthetic))
    covered_to = sum(stocks_to.values())
    for family in FAMILIES:
        ha_to = stocks_to.get(family, 0.0)
        add(Figure(f"stocks.{family}.to_ha", ha_to, "ha",
                   f"{FAMILY_LABELS.get(family, family)} en {year_to}",
                   "A/N/F families of the exact overlay (team estimate from CS x US)",
                   **{**ocs, "years": (year_to,)}))
        add(Figure(f"stocks.{family}.share_to", ha_to / covered_to if covered_to else None, "%",
                   f"Part des {FAMILY_LABELS.get(family, family).lower()} en {year_to}",
                   "family area / covered area", **{**ocs, "years": (year_to,)},
                   missing=None if covered_to else "aucune surface couverte"))
    method = METHOD_TEXT.get(artif.method, artif.method)
    add(Figure("artificialisation.stock_from_ha", artif.stock_from_ha, "ha",
               f"Surface artificialisée en {year_from}", method, **{**ocs, "years": (year_from,)}))
    add(Figure("artificialisation.stock_to_ha", artif.stock_to_ha, "ha",
               f"Surface artificialisée en {year_to}", method, **{**ocs, "years": (year_to,)}))
    add(Figure("artificialisation.share_to", artif.stock_to_ha / covered_to if covered_to
               else None, "%", f"Part artificialisée ({year_to})",
               "artificialised stock / covered area", **{**ocs, "years": (year_to,)},
               missing=None if covered_to else "aucune surface couverte"))
    add(Figure("artificialisation.gross_gain_ha", artif.gross_gain_ha, "ha",
               f"Surfaces artificialisées {period} (brut)", method, **ocs))
    add(Figure("artificialisation.gross_loss_ha", artif.gross_loss_ha, "ha",
               f"Surfaces désartificialisées {period}", method, **ocs))
    add(Figure("artificialisation.net_ha", artif.net_ha, "ha",
               f"Artificialisation nette {period}", method + "; net = gains - losses", **ocs))
    for family in ("agricole", "forestier", "naturel"):
        add(Figure(f"artificialisation.origin.{family}_ha", float(artif.origin.get(family, 0.0)),
                   "ha", f"dont espaces {family}s devenus artificialisés",
                   "family before the change (team estimate from US)", **ocs))
    add(Figure("impermeabilisation.stock_to_ha", imper.stock_to_ha, "ha",
               f"Surface imperméabilisée en {year_to}", METHOD_TEXT["impermeable_cs"],
               **{**ocs, "years": (year_to,)}))
    add(Figure("impermeabilisation.net_ha", imper.net_ha, "ha",
               f"Imperméabilisation nette {period}", METHOD_TEXT["impermeable_cs"], **ocs))
    add(Figure("changes.any_ha", changed_ha, "ha",
               f"Surface dont la couverture ou l'usage a changé {period} (tous changements)",
               "area of overlay pieces whose CS or US code changed", **ocs))
    add(_per_inhabitant_stock(ratios, partial, share, prov, year_to))
    add(_per_new_inhabitant(ratios, partial, share, prov, years, pop, artif.net_ha))
    return out


def _population_years(ratios: PerInhabitant) -> tuple[int, ...]:
    basis = ratios.basis
    if basis is None:
        return ()
    return tuple(sorted({basis.stock_year, *(basis.change_years or ())}))


def _per_inhabitant_stock(ratios: PerInhabitant, partial: bool, share: float,
                          prov: Provenance, year_to: int) -> Figure:
    missing = None
    value = ratios.artif_m2_per_inhabitant
    if partial:
        value, missing = None, ("couverture partielle du territoire : ratio par habitant "
                                "non calculé")
    elif value is None:
        missing = "population inconnue pour ce territoire"
    basis = ratios.basis
    label = (f"Surface artificialisée par habitant ({year_to}, population {basis.stock_year})"
             if basis else f"Surface artificialisée par habitant ({year_to})")
    return Figure("per_inhabitant.artif_m2_per_inhabitant", value, "m²/hab", label,
                  "artificialised stock at year_to / population of the nearest census year",
                  f"{prov.source} ; {POPULATION_SOURCE}", years=(year_to, *_population_years(ratios)),
                  coverage=share, synthetic=prov.synthetic, missing=missing)


def _per_new_inhabitant(ratios: PerInhabitant, partial: bool, share: float, prov: Provenance,
                        years: tuple[int, int], pop: dict[int, int], net_ha: float) -> Figure:
    value, missing = ratios.net_m2_per_new_inhabitant, None
    basis = ratios.basis
    if partial:
        value, missing = None, ("couverture partielle du territoire : ratio par habitant "
                                "non calculé")
    elif basis is None:
        missing = "population inconnue pour ce territoire"
    elif value is None and net_ha <= 0 and basis.change:
        missing = "artificialisation nette nulle ou négative : ratio sans objet"
    elif value is None:
        missing = (f"la population n'a pas augmenté ({basis.change_years[0]}–"
                   f"{basis.change_years[1]}) : ratio sans objet" if basis.change_years
                   else "une seule année de population : ratio non calculable")
    pop_text = (f", population {basis.change_years[0]}–{basis.change_years[1]}"
                if basis and basis.change_years else "")
    proxy = " (taux de croissance de la série INSEE, approximation)" if basis and basis.proxy else ""
    return Figure(
        "per_inhabitant.net_m2_per_new_inhabitant", value, "m²/hab",
        f"Artificialisation nette par nouvel habitant ({years[0]}–{years[1]}{pop_text})",
        "annualised: (net artificialisation m2 / millesime years) / (population gain / census "
        "years)" + proxy, f"{prov.source} ; {POPULATION_SOURCE}",
        years=(*years, *_population_years(ratios)), coverage=share, synthetic=prov.synthetic,
        missing=missing)
