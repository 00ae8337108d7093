"""Portrait report: HTML contents against the engine, sources and SHA-256, PDF via Chromium."""

from __future__ import annotations

import base64
import html
import re
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from ocsge_engine.errors import MillesimeError
from ocsge_engine.indicators.portrait import portrait_figures
from ocsge_engine.report.portrait_report import (
    ReportError,
    build_portrait_report,
    html_to_pdf,
    pdf_bytes,
    report_sources,
    write_html,
)
from ocsge_engine.report.summary import change_sentence
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory

WHEN = datetime(2026, 3, 14, 9, 30)


@pytest.fixture(scope="module")
def store(demo_store_dir: Path) -> Store:
    return Store.open(demo_store_dir)


@pytest.fixture(scope="module")
def report(store: Store) -> str:
    territory = get_territory("commune:33529")
    sections = {"Introduction": "La commune <b>littorale</b>\n\nSecond paragraphe.",
                "Perspectives": "   "}
    return build_portrait_report(store, territory, (2015, 2018), sections, generated_at=WHEN)


def test_html_holds_name_numbers_sentence_and_date(store: Store, report: str) -> None:
    figures = portrait_figures(store, get_territory("commune:33529"), 2015, 2018)
    assert "<h1>Portrait de territoire : La Teste-de-Buch</h1>" in report
    assert change_sentence(figures).replace("'", "&#x27;") in report
    net = figures["artificialisation.net_ha"]
    assert net.value > 0 and net.display(signed=True) in report
    # the report reads the figures layer: the same French values as the home page
    for key in ("artificialisation.gross_gain_ha", "identity.area_ha", "identity.population",
                "per_inhabitant.net_m2_per_new_inhabitant"):
        assert html.escape(figures[key].display()) in report, key
    assert "14/03/2026 à 09:30" in report


def test_html_sources_sha256_and_synthetic_mention(store: Store, report: str) -> None:
    catalog = store.catalog()
    rows = catalog[catalog["layer"] == "occupation_sol"]
    assert set(rows["millesime"]) == {"2015", "2018"}
    for row in rows.itertuples():
        assert f"millésime {row.millesime}" in report
        assert f"<code>{row.source_sha256}</code>" in report
    assert "Population INSEE (2019, 2020, 2022, 2023)" in report
    assert "fond synthétique, changements réels OCS GE" in report


def test_free_text_is_escaped_and_blank_sections_dropped(report: str) -> None:
    assert "<p>La commune &lt;b&gt;littorale&lt;/b&gt;</p><p>Second paragraphe.</p>" in report
    assert "Perspectives" not in report


def test_charts_are_embedded_svg_without_remote_resources(report: str) -> None:
    images = re.findall(r"src='data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)'", report)
    assert len(images) == 6  # 2 donuts and the family Sankey, then the 3 vegetation charts
    assert all(base64.b64decode(i).startswith(b"<svg") for i in images)
    assert "Artificialisé" in base64.b64decode(images[0]).decode("utf-8")
    assert not re.search(r"(src|href)=['\"]https?://", report)


def test_no_millesime_pair_is_a_french_error(store: Store) -> None:
    with pytest.raises(MillesimeError, match="without a millesime pair") as info:
        build_portrait_report(store, get_territory("commune:33529"), None)
    assert info.value.user_message.startswith("Le rapport compare deux millésimes")


def test_report_sources_from_catalogue() -> None:
    catalog = pd.DataFrame({
        "layer": ["occupation_sol", "occupation_sol", "occupation_sol", "diff"],
        "departement": ["33", "33", "40", "33"], "millesime": ["2015", "2018", "2018", "2015_2018"],
        "source_file": ["a.gpkg", "b.gpkg", "c.gpkg", "d.gpkg"],
        "source_sha256": ["aa" * 32, "bb" * 32, "cc" * 32, "dd" * 32],
        "synthetic": [False, False, False, False], "note": ["", "", "", ""]})
    sources = report_sources(catalog, ["33"], [2015, 2018], [])
    assert [(s.name, s.sha256) for s in sources] == [
        ("OCS GE (IGN), millésime 2015", "aa" * 32), ("OCS GE (IGN), millésime 2018", "bb" * 32)]
    assert sources[0].detail == "département 33, fichier a.gpkg"


def test_pdf_and_html_files(report: str, tmp_path: Path) -> None:
    pdf = html_to_pdf(report, tmp_path / "out" / "portrait.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000
    page = write_html(report, tmp_path / "out" / "portrait.html")
    assert page.read_text(encoding="utf-8") == report
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["portrait.html", "portrait.pdf"]


def test_pdf_without_chromium_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="chromium not found") as info:
        html_to_pdf("<html></html>", tmp_path / "x.pdf", chromium=tmp_path / "no-chromium")
    assert "Chromium" in info.value.user_message
    assert not list(tmp_path.iterdir())
    assert pdf_bytes("<html><body>ok</body></html>").startswith(b"%PDF")


A4_PAGE = ("<html><head><style>@page { size: A4; margin: 16mm 14mm; }</style></head>"
           "<body><h1 style='background:#f5f5fe'>Rapport é</h1><p>ok</p></body></html>")


def _media_boxes(pdf: bytes) -> list[tuple[float, float]]:
    return [(float(w), float(h)) for w, h in
            re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)]


@pytest.mark.parametrize("warm", [True, False])
def test_pdf_is_a4_from_the_warm_browser_or_a_chromium_run(warm: bool, monkeypatch) -> None:
    """The PDF honours the page's CSS A4 (210 x 297 mm = 595.3 x 841.9 pt) whichever browser
    prints it: the warm renderer's, or a Chromium run when the warm one fails."""
    import ocsge_engine.report.portrait_report as module

    if not warm:
        def broken(*args, **kwargs):
            raise RuntimeError("warm browser gone")

        monkeypatch.setattr(module, "print_pdf", broken)
    pdf = pdf_bytes(A4_PAGE)
    assert pdf.startswith(b"%PDF")
    boxes = _media_boxes(pdf)
    assert len(boxes) == 1  # one page
    width, height = boxes[0]
    assert width == pytest.approx(595.3, abs=1.0) and height == pytest.approx(841.9, abs=1.0)


def test_vegetation_section(store: Store, report: str) -> None:
    """The report's « Végétation » section: the page's sentence and figures, synthetic stated."""
    from ocsge_engine.indicators.vegetation import vegetation
    from ocsge_engine.report.vegetation import SYNTHETIC_SENTENCE, vegetation_sentence

    result = vegetation(store, get_territory("commune:33529"), 2015, 2018)
    assert "<h2>Végétation</h2>" in report
    sentence = vegetation_sentence(result, "commune")
    assert sentence.startswith("Entre 2015 et 2018, la commune a perdu ")
    assert sentence.replace("'", "&#x27;") in report
    assert result.figure("vegetation.tree.stock_to_ha").display() in report
    assert SYNTHETIC_SENTENCE in report
