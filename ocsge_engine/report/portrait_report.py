"""Portrait report: one self-contained HTML page (and its PDF) an elected official can print.

The page holds the territory's identity and headline figures, the plain-French change sentence,
free-text sections written by the user, the charts (embedded as base64 SVG images, so the file
needs no network and no other file), the sources (OCS GE millésimes with the delivered file and
its SHA-256 from the store catalogue, INSEE population) and the date. A demo store says, in the
report too, that its background is synthetic.

The PDF is printed by headless Chromium from the HTML; both are written to a temporary file, then
renamed.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ocsge_engine.charts.export import figures_bytes, with_source
from ocsge_engine.charts.render import ImageJob, prewarm, print_pdf
from ocsge_engine.charts.sankey import sankey_figure
from ocsge_engine.charts.stocks import stock_donut
from ocsge_engine.errors import MillesimeError, ReportError
from ocsge_engine.flows import ExchangeMatrix
from ocsge_engine.indicators.portrait import PortraitFigures, portrait_figures
from ocsge_engine.io.atomic import atomic_write_bytes
from ocsge_engine.report.summary import change_sentence

logger = logging.getLogger(__name__)

TEMPLATE = Path(__file__).parent / "templates" / "portrait.html"
CHROMIUM = Path(os.environ.get("OCSGE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-pdf-header-footer")
PDF_TIMEOUT_S = 90.0
DEFAULT_SECTIONS: dict[str, str] = {
    "introduction": "Introduction",
    "analyse": "Analyse et enjeux",
    "perspectives": "Perspectives",
}
SYNTHETIC_TEXT = ("Données de démonstration : fond synthétique, changements réels OCS GE "
                  "(SYBARVAL 2015 → 2018). Les stocks sont simulés, les flux "
                  "d'artificialisation sont réels.")
POPULATION_SOURCE = ("INSEE, populations légales / de référence (population municipale), "
                     "via @etalab/decoupage-administratif, COG 2026")
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ReportChart:
    """A chart of the report: French title, its SVG image, full width or half width."""

    title: str
    svg: bytes
    wide: bool = True


@dataclass(frozen=True)
class ReportSource:
    """One line of the sources table."""

    name: str
    detail: str
    sha256: str = ""


# --- contents ------------------------------------------------------------------------------------

def report_sources(catalog: pd.DataFrame, departements: Sequence[str], years: Sequence[int],
                   population_years: Sequence[int]) -> list[ReportSource]:
    """Sources of a portrait: each OCCUPATION_SOL partition used, and the INSEE population.

    Args:
        catalog: the store catalogue (:meth:`Store.catalog`).
        departements: the territory's départements.
        years: the millésimes compared.
        population_years: years of the population series shown.

    Returns:
        One source per (millésime, département) partition, with its delivered file and SHA-256,
        then the population source.
    """
    wanted = {str(y) for y in years}
    rows = catalog[(catalog["layer"] == "occupation_sol") & catalog["departement"].isin(
        list(departements)) & catalog["millesime"].astype(str).isin(wanted)]
    sources = []
    for row in rows.sort_values(["millesime", "departement"]).itertuples():
        detail = f"département {row.departement}, fichier {row.source_file}"
        if bool(row.synthetic):
            detail += f" — démonstration ({row.note or 'fond synthétique'})"
        sources.append(ReportSource(f"OCS GE (IGN), millésime {row.millesime}", detail,
                                    str(row.source_sha256)))
    if population_years:
        span = ", ".join(str(y) for y in sorted(population_years))
        sources.append(ReportSource(f"Population INSEE ({span})", POPULATION_SOURCE))
    return sources


def portrait_charts(figures: PortraitFigures, matrix: ExchangeMatrix, synthetic: bool
                    ) -> list[tuple[str, go.Figure]]:
    """The report's charts: family donuts of both millésimes and the family Sankey."""
    source = figures.provenance.source
    charts = [(f"Occupation des sols en {year}",
               with_source(stock_donut(pd.Series(stocks), "anf", year,
                                       title=f"Occupation des sols en {year}"), source))
              for year, stocks in ((figures.year_from, figures.stocks_from),
                                   (figures.year_to, figures.stocks_to))]
    title = (f"Changements entre familles, {figures.year_from} → {figures.year_to} "
             "(surfaces inchangées masquées)")
    changed = matrix.table[matrix.table["code_from"] != matrix.table["code_to"]]
    if changed.empty:
        return charts
    charts.append((title, with_source(sankey_figure(matrix, min_flow_ha=0.0, title=title,
                                                    hide_unchanged=True), source)))
    return charts


def chart_jobs(charts: Sequence[tuple[str, go.Figure]]) -> list[ImageJob]:
    """The SVG images of the report's charts: full width, or half width for a donut."""
    jobs = []
    for _, fig in charts:
        wide = not any(isinstance(trace, go.Pie) for trace in fig.data)
        jobs.append(ImageJob(fig, "svg", width=900 if wide else 480,
                             height=520 if wide else 420, scale=1.0))
    return jobs


def rendered_charts(charts: Sequence[tuple[str, go.Figure]], images: Sequence[bytes]
                    ) -> list[ReportChart]:
    """Pair the charts with their rendered SVG images (:func:`chart_jobs`' order)."""
    return [ReportChart(title, svg, job.width == 900)
            for (title, _), job, svg in zip(charts, chart_jobs(charts), images)]


def render_charts(charts: Sequence[tuple[str, go.Figure]],
                  progress: Progress | None = None) -> list[ReportChart]:
    """Render figures to SVG, all at once (one warm Chromium, its tabs in parallel).

    Raises:
        ExportError: kaleido or Chromium failed.
    """
    if progress:
        progress(0.0, f"{len(charts)} graphiques")
    return rendered_charts(charts, figures_bytes(chart_jobs(charts)))


REPORT_FIGURES: tuple[str, ...] = (
    "identity.area_ha", "identity.population", "identity.density", "coverage.share",
    "artificialisation.share_to", "artificialisation.gross_gain_ha",
    "artificialisation.gross_loss_ha", "artificialisation.net_ha",
    "per_inhabitant.net_m2_per_new_inhabitant", "changes.any_ha")


def _figures_rows(fig: PortraitFigures) -> list[tuple[str, str]]:
    """Label and French value of the report's figures (the figures layer's, « — » with reason)."""
    rows = []
    for key in REPORT_FIGURES:
        figure = fig[key]
        value = figure.display(signed=key == "artificialisation.net_ha")
        if not figure.available and figure.missing:
            value = f"— ({figure.missing})"
        rows.append((figure.label, value))
    return rows


def _paragraphs(text: str) -> str:
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    return "".join(f"<p>{html.escape(b).replace(chr(10), '<br>')}</p>" for b in blocks)


def portrait_html(figures: PortraitFigures, *, sources: Sequence[ReportSource],
                  charts: Sequence[ReportChart], sections: Mapping[str, str] | None = None,
                  synthetic: bool = False, generated_at: datetime | None = None,
                  vegetation: str = "") -> str:
    """Assemble the self-contained HTML report (pure: no I/O but the template).

    Args:
        figures: the portrait figures.
        sources: the sources table (:func:`report_sources`).
        charts: rendered charts (:func:`render_charts`).
        sections: free-text sections, French title → text (blank texts are left out; text is
            escaped, blank lines separate paragraphs).
        synthetic: the data is the demo's (synthetic background): say so under the title.
        generated_at: the report date (default: now).
        vegetation: the « Végétation » section (:func:`ocsge_engine.report.vegetation.section_html`).

    Returns:
        The HTML document.
    """
    when = generated_at or datetime.now()
    esc = html.escape
    rows = "".join(f"<tr><th>{esc(k)}</th><td class='num'>{esc(v)}</td></tr>"
                   for k, v in _figures_rows(figures))
    free = "".join(f"<section class='free-text'><h2>{esc(title)}</h2>{_paragraphs(text)}</section>"
                   for title, text in (sections or {}).items() if text and text.strip())
    images = "".join(
        f"<figure class='{'wide' if c.wide else 'half'}'><img alt='{esc(c.title)}' "
        f"src='data:image/svg+xml;base64,{base64.b64encode(c.svg).decode('ascii')}'></figure>"
        for c in charts)
    source_rows = "".join(
        f"<tr><td>{esc(s.name)}</td><td>{esc(s.detail)}"
        + (f"<br>SHA-256 : <code>{esc(s.sha256)}</code>" if s.sha256 else "") + "</td></tr>"
        for s in sources)
    banner = f"<p class='synthetic'>{esc(SYNTHETIC_TEXT)}</p>" if synthetic else ""
    subtitle = (f"{esc(figures.territory_id)} · OCS GE {figures.year_from} → {figures.year_to}")
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=esc(figures.name), subtitle=subtitle, synthetic=banner,
        sentence=esc(change_sentence(figures)), figures=rows, sections=free, charts=images,
        sources=source_rows, date=when.strftime("%d/%m/%Y à %H:%M"), vegetation=vegetation)


@dataclass(frozen=True)
class ReportPlan:
    """A report computed but not yet rendered: its chart images to render, then :meth:`html`.

    Lets an export render the report's images together with its own (one batch).
    """

    figures: PortraitFigures
    charts: tuple[tuple[str, go.Figure], ...]
    green_charts: tuple[tuple[str, go.Figure], ...]
    vegetation: Any
    territory_kind: str | None
    sources: tuple[ReportSource, ...]
    sections: Mapping[str, str] | None
    synthetic: bool
    generated_at: datetime | None

    def jobs(self) -> list[ImageJob]:
        """The SVG images to render, report charts then vegetation charts."""
        return chart_jobs(self.charts) + chart_jobs(self.green_charts)

    def html(self, images: Sequence[bytes]) -> str:
        """The HTML document, given the rendered :meth:`jobs` (same order)."""
        from ocsge_engine.report.vegetation import section_html

        charts = rendered_charts(self.charts, images[:len(self.charts)])
        green = rendered_charts(self.green_charts, images[len(self.charts):])
        figures = [f"<figure class='wide'><img alt='{html.escape(c.title)}' "
                   f"src='data:image/svg+xml;base64,{base64.b64encode(c.svg).decode('ascii')}'>"
                   "</figure>" for c in green]
        return portrait_html(self.figures, sources=self.sources, charts=charts,
                             sections=self.sections, synthetic=self.synthetic,
                             generated_at=self.generated_at,
                             vegetation=section_html(self.vegetation, self.territory_kind,
                                                     figures))


def plan_portrait_report(store: Any, territory: Any, years: tuple[int, int] | None,
                         sections: Mapping[str, str] | None = None,
                         generated_at: datetime | None = None, *,
                         figures: PortraitFigures | None = None,
                         vegetation_result: Any = None) -> ReportPlan:
    """Compute the report's contents (figures, charts, sources), not its images.

    Args:
        figures: the territory's figures when already computed (an export reuses them).
        vegetation_result: the territory's vegetation result when already computed.

    Raises:
        MillesimeError: see :func:`build_portrait_report`.
    """
    from ocsge_engine.indicators.vegetation import vegetation
    from ocsge_engine.report.vegetation import vegetation_charts

    if not years or len(years) != 2:
        raise MillesimeError("portrait report without a millesime pair",
                             "Le rapport compare deux millésimes : ce territoire n'en a pas deux "
                             "dans la base, choisissez-en un autre.")
    year_from, year_to = int(years[0]), int(years[1])
    if figures is None:
        figures = portrait_figures(store, territory, year_from, year_to)
    matrix = figures.family_matrix()  # official status, as the home page's families
    catalog = store.catalog()
    synthetic = bool(catalog["synthetic"].any()) if not catalog.empty else False
    green = (vegetation_result if vegetation_result is not None
             else vegetation(store, territory, year_from, year_to))
    sources = report_sources(catalog, territory.departements, (year_from, year_to),
                             list(figures.population))
    return ReportPlan(figures, tuple(portrait_charts(figures, matrix, synthetic)),
                      tuple((title, fig) for _, title, fig, _ in vegetation_charts(green)),
                      green, getattr(territory, "kind", None), tuple(sources), sections,
                      synthetic, generated_at)


def build_portrait_report(store: Any, territory: Any, years: tuple[int, int] | None,
                          sections: Mapping[str, str] | None = None,
                          progress: Progress | None = None,
                          generated_at: datetime | None = None) -> str:
    """Compute, render and assemble the portrait report of a territory.

    The charts (report and vegetation) are rendered in one batch by the warm renderer
    (:mod:`ocsge_engine.charts.render`), whose start-up overlaps the figures' computation.

    Args:
        store: an open :class:`~ocsge_engine.store.Store`.
        territory: a ``Territory``.
        years: the ``(from, to)`` millésimes, or ``None`` when the territory has no pair.
        sections: free-text sections (see :func:`portrait_html`).
        progress: optional callback ``(fraction, message)``.
        generated_at: the report date (default: now).

    Returns:
        The HTML document.

    Raises:
        MillesimeError: no millésime pair, or a millésime absent for the territory.
        ExportError: the charts could not be rendered.
    """
    report = progress or (lambda fraction, message: None)
    report(0.0, "calcul des chiffres")
    if years and len(years) == 2:
        prewarm()
    plan = plan_portrait_report(store, territory, years, sections, generated_at)
    report(0.5, "graphiques")
    document = plan.html(figures_bytes(plan.jobs()))
    report(1.0, "rapport assemblé")
    return document


# --- files ---------------------------------------------------------------------------------------

def write_html(document: str, path: Path | str) -> Path:
    """Write the HTML report atomically (UTF-8)."""
    atomic_write_bytes(path, document.encode("utf-8"))
    return Path(path)


def pdf_bytes(document: str, timeout_s: float = PDF_TIMEOUT_S,
              chromium: Path | str = CHROMIUM) -> bytes:
    """Print the HTML report to PDF with headless Chromium and return the PDF bytes.

    The page is printed by the warm renderer's browser (:func:`ocsge_engine.charts.render.
    print_pdf`: A4 from the page's CSS, backgrounds, no header or footer, as Chromium's
    ``--print-to-pdf``), which saves Chromium's start-up; if that browser cannot print, by a
    Chromium run of its own.

    Args:
        document: the HTML (self-contained: nothing is fetched from the network).
        timeout_s: Chromium is killed after this many seconds.
        chromium: the Chromium executable (another than the default: always a run of its own).

    Returns:
        The PDF, starting with ``%PDF``.

    Raises:
        ReportError: Chromium is missing, fails, times out or writes no PDF.

    Notes:
        A Chromium run starts in about 1–3 s; a throw-away profile folder avoids clashing with
        another Chromium of the same user.
    """
    chromium = Path(chromium)
    if not chromium.exists():
        raise ReportError(f"chromium not found at {chromium}")
    with tempfile.TemporaryDirectory(prefix="ocsge_report_") as folder:
        page = Path(folder) / "portrait.html"
        page.write_text(document, encoding="utf-8")
        if chromium == CHROMIUM:
            try:
                data = print_pdf(page.as_uri(), timeout_s)
                if data.startswith(b"%PDF"):
                    logger.info("printed PDF report (%d bytes, warm browser)", len(data))
                    return data
            except Exception as err:  # the warm browser failed: a Chromium run of its own
                logger.warning("warm browser could not print the PDF (%s): one Chromium run",
                               err)
        pdf = Path(folder) / "portrait.pdf"
        command = [str(chromium), *CHROMIUM_FLAGS, f"--user-data-dir={folder}/profile",
                   f"--print-to-pdf={pdf}", page.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as err:
            raise ReportError(f"chromium did not print the PDF within {timeout_s} s") from err
        data = pdf.read_bytes() if pdf.exists() else b""
    if not data.startswith(b"%PDF"):
        stderr = done.stderr.decode("utf-8", "replace")[-500:]
        raise ReportError(f"chromium wrote no PDF (exit {done.returncode}): {stderr}")
    logger.info("printed PDF report (%d bytes)", len(data))
    return data


def html_to_pdf(document: str, path: Path | str, timeout_s: float = PDF_TIMEOUT_S,
                chromium: Path | str = CHROMIUM) -> Path:
    """Print the HTML report to a PDF file, atomically (see :func:`pdf_bytes`).

    Raises:
        ReportError: see :func:`pdf_bytes`; ``path`` is then left untouched.
    """
    atomic_write_bytes(path, pdf_bytes(document, timeout_s, chromium))
    return Path(path)
