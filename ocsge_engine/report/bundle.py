"""Reproducible bundle: one ZIP with the portrait report, every chart and its data, the changes
layer and the metadata needed to reproduce them.

Contents of ``FILE.zip`` (entries sorted by name)::

    rapport/portrait.html, rapport/portrait.pdf      portrait report (report/portrait_report.py)
    graphiques/<name>.png, .svg, .csv                every chart, its image and its data
                                                     (vegetation_*: the Végétation page's)
    tables/*.csv, tables/sdg_11_3_1.json             tables without a chart
                                                     (vegetation_chiffres.csv: every figure)
    couches/changements_<y1>_<y2>.gpkg               the territory's change polygons
    metadata.json                                    millésimes, sources + SHA-256, version,
                                                     every parameter

Determinism: the same inputs give byte-identical **text and tables** (CSV, JSON, and the ZIP
entries' names and dates): rows are sorted, floats printed by pandas/json (``repr``), no timestamp
except the optional ``date`` parameter, ZIP entries dated 1980-01-01. Rendered images, the PDF and
the GeoPackage embed renderer ids and SQLite timestamps, so their bytes may differ between runs;
their content does not.

Speed: everything is computed once per bundle. The figures layer, the vegetation result and the
pair (both layers read and overlaid once, :func:`~ocsge_engine.indicators.pair.load_pair`) feed
the tables, the charts, the typology, the change layer and the report. Chromium is started at
the beginning (:func:`ocsge_engine.charts.render.prewarm`) and stays warm for the process; the
charts' PNG and SVG render in one batch on its tabs while the report's images and PDF render in
another and this thread writes the GeoPackage.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import weakref
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from ocsge_engine.errors import MillesimeError
from ocsge_engine.io.atomic import atomic_write_bytes
from ocsge_engine.io.cells import csv_text

if TYPE_CHECKING:
    from ocsge_engine.charts.render import ImageJob
    from ocsge_engine.report.portrait_report import ReportPlan

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = 1
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class BundleOptions:
    """Every parameter of a bundle (written to ``metadata.json``).

    Attributes:
        date: the report date printed in the HTML (``None``: no date, for reproducibility).
        processes_csv: text of the process table (``None``: the default table).
        min_disagreement_ha: threshold of the DIFF/overlay pseudo-change signal.
        typology_resolution_m: pixel size of the sprawl typology.
        images: render PNG and SVG images of the charts.
        pdf: print the report to PDF.
        report: include the portrait report (HTML).
        sections: free-text sections of the report, title → text.
    """

    date: str | None = None
    processes_csv: str | None = None
    min_disagreement_ha: float = 0.5
    typology_resolution_m: float = 10.0
    images: bool = True
    pdf: bool = True
    report: bool = True
    sections: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Plain view; the process table appears by its SHA-256 (its text is in the bundle)."""
        out = asdict(self)
        text = out.pop("processes_csv")
        out["processes_sha256"] = sha256(text.encode("utf-8")).hexdigest() if text else None
        out["sections"] = [list(s) for s in self.sections]
        return out


def engine_version() -> str:
    """``"<format>+<git commit>"`` of the engine's checkout, or ``"<format>+unknown"``."""
    root = Path(__file__).resolve().parents[2] / ".git"
    try:
        head = (root / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            path = root / ref
            head = path.read_text().strip() if path.exists() else _packed_ref(root, ref)
        return f"{BUNDLE_FORMAT}+{head[:12]}"
    except OSError:
        return f"{BUNDLE_FORMAT}+unknown"


def _packed_ref(root: Path, ref: str) -> str:
    for line in (root / "packed-refs").read_text().splitlines():
        if line.endswith(" " + ref):
            return line.split()[0]
    return "unknown"


class _Entries:
    """The bundle's files in memory, name → bytes."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def text(self, name: str, text: str) -> None:
        self.files[name] = text.encode("utf-8")

    def csv(self, name: str, table: pd.DataFrame) -> None:
        self.text(name, csv_text(table))

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name in sorted(self.files):
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, self.files[name])
        return buffer.getvalue()


def build_bundle(store: Any, territory: Any, year_from: int, year_to: int,
                 options: BundleOptions | None = None, progress: Progress | None = None
                 ) -> bytes:
    """Compute everything and return the ZIP bytes (see the module docstring).

    Raises:
        MillesimeError: inverted years or a millésime absent for the territory.
        ProcessTableError: an invalid process table.
        ExportError, ReportError: images or PDF could not be rendered.
    """
    from ocsge_engine.territories import resolve_territory

    options = options or BundleOptions()
    report = progress or (lambda fraction, message: None)
    resolved = resolve_territory(territory)
    if int(year_from) >= int(year_to):
        raise MillesimeError(f"inverted millesimes {year_from} -> {year_to}",
                             f"Le premier millésime ({year_from}) doit précéder le second "
                             f"({year_to}).")
    from ocsge_engine.charts.export import with_source, with_source_column
    from ocsge_engine.portrait import portrait_figures

    entries = _Entries()
    if options.images or options.report:
        from ocsge_engine.charts.render import prewarm

        prewarm()  # Chromium starts while the figures are computed
    report(0.0, "chiffres du territoire")
    figures = portrait_figures(store, resolved, int(year_from), int(year_to))
    source = figures.provenance.source
    entries.csv("tables/chiffres.csv", figures.figures_table())
    entries.text("tables/chiffres.json", json.dumps(figures.as_dict(), ensure_ascii=False,
                                                    indent=2, sort_keys=True) + "\n")
    report(0.05, "flux et processus")
    green = _vegetation(store, resolved, int(year_from), int(year_to))
    charts, tables = _contents(store, resolved, int(year_from), int(year_to), options, report,
                               green)
    charts = {name: (with_source(fig, source), with_source_column(table, source))
              for name, (fig, table) in charts.items()}
    for name, table in tables.items():
        entries.csv(f"tables/{name}.csv", with_source_column(table, source))
    for name, (fig, table) in charts.items():
        entries.csv(f"graphiques/{name}.csv", table)
    plan = _report_plan(store, resolved, int(year_from), int(year_to), options, figures, green)
    report(0.6, "images, rapport et couche des changements")
    # Chromium renders the charts and, at the same time, the report's images and PDF, while
    # this thread builds the change layer
    with ThreadPoolExecutor(max_workers=2) as pool:
        chart_images = pool.submit(_chart_images, charts if options.images else {})
        report_files = pool.submit(_report_files, plan, options) if plan is not None else None
        entries.files[f"couches/changements_{year_from}_{year_to}.gpkg"] = _changes_gpkg(
            store, resolved, int(year_from), int(year_to))
        report(0.7, "images des graphiques")
        entries.files.update(chart_images.result())
        if report_files is not None:
            report(0.85, "rapport")
            entries.files.update(report_files.result())
    entries.text("metadata.json", json.dumps(
        _metadata(store, resolved, int(year_from), int(year_to), options, entries),
        ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    report(1.0, "archive prête")
    return entries.zip_bytes()


IMAGE_FORMATS: tuple[str, ...] = ("png", "svg")


def chart_image_jobs(charts: dict[str, tuple[go.Figure, pd.DataFrame]]
                     ) -> dict[str, ImageJob]:
    """The bundle's chart images, entry name → render job (the export's default size)."""
    from ocsge_engine.charts.render import ImageJob

    return {f"graphiques/{name}.{fmt}": ImageJob(fig, fmt, 1100, 650, 2.0)  # type: ignore[arg-type]
            for name, (fig, _) in sorted(charts.items()) for fmt in IMAGE_FORMATS}


def _chart_images(charts: dict[str, tuple[go.Figure, pd.DataFrame]]) -> dict[str, bytes]:
    """The charts' PNG and SVG images, entry name → bytes (one batch)."""
    from ocsge_engine.charts.export import figures_bytes

    named = chart_image_jobs(charts)
    return dict(zip(named, figures_bytes(list(named.values()))))


def write_bundle(store: Any, territory: Any, year_from: int, year_to: int, path: Path | str,
                 options: BundleOptions | None = None, progress: Progress | None = None) -> Path:
    """:func:`build_bundle` written atomically to ``path`` (temporary file, then rename)."""
    data = build_bundle(store, territory, year_from, year_to, options, progress)
    atomic_write_bytes(path, data)
    logger.info("bundle written to %s (%d bytes)", path, len(data))
    return Path(path)


def _contents(store: Any, territory: Any, year_from: int, year_to: int, options: BundleOptions,
              report: Progress, green: Any) -> tuple[dict[str, tuple[go.Figure, pd.DataFrame]],
                                         dict[str, pd.DataFrame]]:
    from ocsge_engine.charts.processes import process_bars, process_sankey
    from ocsge_engine.charts.sankey import sankey_figure
    from ocsge_engine.charts.typology import typology_bars, typology_table
    from ocsge_engine.flows import exchange_matrix
    from ocsge_engine.flows.processes import (
        default_process_table,
        process_flows,
        process_totals,
        read_process_table,
    )
    from ocsge_engine.indicators.pseudo_change import area_to_check_by_process, pseudo_change
    from ocsge_engine.indicators.sdg import territory_sdg
    from ocsge_engine.indicators.typology import TypologyOptions

    table = (read_process_table(options.processes_csv.encode("utf-8")) if options.processes_csv
             else default_process_table())
    matrix = exchange_matrix(store, territory, year_from, year_to, by="cs_us")
    anf = matrix.regroup("anf")
    flows = process_flows(matrix, table)
    totals = process_totals(matrix, table)
    suspect = pseudo_change(matrix, min_disagreement_ha=options.min_disagreement_ha)
    to_check = area_to_check_by_process(suspect, table)
    totals_out = totals.assign(a_verifier_ha=[float(to_check.get(p, 0.0))
                                              for p in totals["process"]])
    report(0.3, "typologie du bâti")
    areas = _typology_areas(store, territory, year_from, year_to,
                            TypologyOptions(resolution_m=options.typology_resolution_m))
    charts = {
        "flux_familles": (sankey_figure(anf, hide_unchanged=True), _sorted(anf.table)),
        "processus_sankey": (process_sankey(flows, table, year_from=year_from, year_to=year_to),
                             _sorted(flows)),
        "processus_barres": (process_bars(totals, to_check, table), totals_out),
        "typologie": (typology_bars(areas), typology_table(areas)),
    }
    charts.update(_vegetation_charts(green))
    sdg = territory_sdg(store, territory, year_from, year_to)
    tables = {
        "vegetation_chiffres": _vegetation_figures(green),
        "flux_cs_us": _sorted(matrix.table),
        "changements_a_verifier": _sorted(suspect.implausible),
        "desaccord_diff_overlay": _sorted(suspect.disagreement),
        "processus_regles": table.rules,
        "sdg_11_3_1": pd.DataFrame([{k: v for k, v in sdg.to_dict().items()
                                     if not isinstance(v, tuple)}
                                    | {"population_years": _years(sdg.population_years)}]),
    }
    return charts, tables


_TYPOLOGY_CACHE_SIZE = 8
_typology_cache: OrderedDict[tuple[int, Any], tuple[weakref.ref[Any], dict[int, pd.Series]]] \
    = OrderedDict()
_typology_lock = threading.Lock()


def _typology_areas(store: Any, territory: Any, year_from: int, year_to: int, options: Any
                    ) -> dict[int, pd.Series]:
    """Typology areas of both millésimes, from the figures' pair (no new read of the layers).

    The two rasters are classified in parallel (rasterising and FFTs release the GIL); the
    result is kept for the pair (the pair cache's object: a store written since gives a new
    pair, hence a new entry), so a second bundle of the territory does not redo it.
    """
    from ocsge_engine.indicators.pair import load_pair
    from ocsge_engine.indicators.typology import territory_typology

    pair = load_pair(store, territory, year_from, year_to)  # cached: the figures' pair
    key = (id(pair), options)
    with _typology_lock:
        hit = _typology_cache.get(key)
        if hit is not None and hit[0]() is pair:
            _typology_cache.move_to_end(key)
            return {y: table.copy() for y, table in hit[1].items()}
    years = ((year_from, pair.layer_from), (year_to, pair.layer_to))
    with ThreadPoolExecutor(max_workers=2) as pool:
        typologies = list(pool.map(lambda item: territory_typology(
            store, territory, item[0], options, layer=item[1]), years))
    areas = {y: t.areas() for (y, _), t in zip(years, typologies)}
    with _typology_lock:
        _typology_cache[key] = (weakref.ref(pair), areas)
        while len(_typology_cache) > _TYPOLOGY_CACHE_SIZE:
            _typology_cache.popitem(last=False)
    return {y: table.copy() for y, table in areas.items()}


def _vegetation(store: Any, territory: Any, year_from: int, year_to: int) -> Any:
    """The territory's vegetation result, computed once for the charts, table and report."""
    from ocsge_engine.indicators.vegetation import vegetation

    return vegetation(store, territory, year_from, year_to)


def _vegetation_charts(result: Any) -> dict[str, tuple[go.Figure, pd.DataFrame]]:
    """The Végétation page's charts (stocks, gains and losses, Sankey) with their data."""
    from ocsge_engine.report.vegetation import vegetation_charts

    return {name: (fig, _sorted(data)) for name, _, fig, data in vegetation_charts(result)}


def _vegetation_figures(result: Any) -> pd.DataFrame:
    """Every vegetation figure: key, value, unit, French label, display, source line."""
    return pd.DataFrame([{"key": f.key, "value": f.value, "unit": f.unit, "label": f.label,
                          "display": f.display(), "synthetic": f.synthetic,
                          "source": f.source_line()} for f in result.figures()])


def _years(pair: tuple[int, int] | None) -> str:
    return "" if pair is None else f"{pair[0]}-{pair[1]}"


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted on every non-float column, then floats (a stable, input-order-free order)."""
    keys = [c for c in table.columns if table[c].dtype == object or str(table[c].dtype) == "str"]
    keys += [c for c in table.columns if c not in keys]
    return table.sort_values(keys, kind="stable").reset_index(drop=True) if len(table) else table


def _changes_gpkg(store: Any, territory: Any, year_from: int, year_to: int) -> bytes:
    """The change layer (:func:`ocsge_engine.report.layers.territory_layers`' third layer) as
    a GeoPackage, from the figures' pair (already read and clipped) instead of a new read."""
    from ocsge_engine.indicators.pair import load_pair
    from ocsge_engine.io.gpkg import gpkg_bytes
    from ocsge_engine.maps.changes import stored_changes

    pair = load_pair(store, territory, year_from, year_to)  # cached: the figures' pair
    columns = ["code_cs", "code_us", pair.layer_from.geometry.name]
    name = f"changements_{year_from}_{year_to}"
    return gpkg_bytes({name: stored_changes(store, territory, year_from, year_to,
                                            (pair.layer_from[columns], pair.layer_to[columns]))})


def _report_plan(store: Any, territory: Any, year_from: int, year_to: int,
                 options: BundleOptions, figures: Any, green: Any) -> ReportPlan | None:
    """The report's contents, from the bundle's figures and vegetation (``None``: no report)."""
    from ocsge_engine.report.portrait_report import plan_portrait_report

    if not options.report:
        return None
    when = datetime.combine(date.fromisoformat(options.date), datetime.min.time()) \
        if options.date else datetime(1970, 1, 1)
    return plan_portrait_report(store, territory, (year_from, year_to),
                                dict(options.sections) or None, generated_at=when,
                                figures=figures, vegetation_result=green)


def _report_files(plan: ReportPlan, options: BundleOptions) -> dict[str, bytes]:
    """The report's HTML (its images in one batch) and, if asked, its PDF."""
    from ocsge_engine.charts.export import figures_bytes
    from ocsge_engine.report.portrait_report import pdf_bytes

    document = plan.html(figures_bytes(plan.jobs()))
    if not options.date:  # no date asked: do not print the placeholder
        document = document.replace("01/01/1970 à 00:00", "non datée")
    files = {"rapport/portrait.html": document.encode("utf-8")}
    if options.pdf:
        files["rapport/portrait.pdf"] = pdf_bytes(document)
    return files


def _metadata(store: Any, territory: Any, year_from: int, year_to: int, options: BundleOptions,
              entries: _Entries) -> dict[str, Any]:
    catalog = store.catalog()
    used = catalog[catalog["departement"].isin(list(territory.departements))
                   & catalog["millesime"].astype(str).isin(
                       [str(year_from), str(year_to), f"{year_from}_{year_to}"])]
    sources = [{"layer": r.layer, "departement": r.departement, "millesime": str(r.millesime),
                "source_file": r.source_file, "source_sha256": r.source_sha256,
                "synthetic": bool(r.synthetic)}
               for r in used.sort_values(["layer", "millesime", "departement"]).itertuples()]
    deterministic = {name: sha256(data).hexdigest() for name, data in sorted(entries.files.items())
                     if name.endswith((".csv", ".json"))}
    return {"bundle_format": BUNDLE_FORMAT, "engine_version": engine_version(),
            "territory": {"id": territory.id, "name": territory.name,
                          "departements": list(territory.departements)},
            "millesimes": [year_from, year_to], "sources": sources,
            "synthetic": any(src["synthetic"] for src in sources),
            "parameters": options.to_dict(), "files": sorted(entries.files) + ["metadata.json"],
            "sha256_tables": deterministic}
