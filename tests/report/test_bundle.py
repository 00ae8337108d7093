"""Reproducible bundle: same inputs give identical CSVs and metadata; the full ZIP via the CLI."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pytest

from ocsge_engine.cli import main
from ocsge_engine.flows import exchange_matrix
from ocsge_engine.flows.processes import default_process_table
from ocsge_engine.report.bundle import ZIP_DATE, BundleOptions, build_bundle
from ocsge_engine.store import Store

TERRITORY = "commune:33009"  # Arcachon, 770 ha: a small demo commune
FAST = BundleOptions(images=False, pdf=False, report=False, typology_resolution_m=20.0)


@pytest.fixture(scope="module")
def store(demo_store_dir):
    return Store.open(demo_store_dir)


@pytest.fixture(scope="module")
def two_bundles(store):
    return [zipfile.ZipFile(io.BytesIO(build_bundle(store, TERRITORY, 2015, 2018, FAST)))
            for _ in range(2)]


def test_text_and_tables_are_byte_identical(two_bundles):
    a, b = two_bundles
    assert a.namelist() == b.namelist() == sorted(a.namelist())
    texts = [n for n in a.namelist() if n.endswith((".csv", ".json"))]
    assert len(texts) >= 10
    for name in texts:
        assert a.read(name) == b.read(name), name
    assert all(info.date_time == ZIP_DATE for info in a.infolist())


def test_metadata(two_bundles, store):
    meta = json.loads(two_bundles[0].read("metadata.json"))
    assert meta["millesimes"] == [2015, 2018]
    assert meta["territory"]["id"] == TERRITORY
    assert {s["millesime"] for s in meta["sources"]} == {"2015", "2018"}
    catalog = store.catalog()
    shas = set(catalog.loc[catalog["layer"] == "occupation_sol", "source_sha256"])
    assert {s["source_sha256"] for s in meta["sources"]} <= shas
    assert meta["parameters"]["typology_resolution_m"] == 20.0
    for name, digest in meta["sha256_tables"].items():
        import hashlib
        assert hashlib.sha256(two_bundles[0].read(name)).hexdigest() == digest
    assert "couches/changements_2015_2018.gpkg" in meta["files"]
    assert "T" not in json.dumps(meta["parameters"])  # no timestamp in the parameters


def test_tables_match_the_engine(two_bundles, store):
    z = two_bundles[0]
    matrix = exchange_matrix(store, TERRITORY, 2015, 2018, by="cs_us")
    flows = pd.read_csv(z.open("tables/flux_cs_us.csv"))
    assert flows["area_ha"].sum() == pytest.approx(float(matrix.stocks_from.sum()), rel=1e-9)
    bars = pd.read_csv(z.open("graphiques/processus_barres.csv"))
    assert list(bars["process"]) == default_process_table().codes
    assert bars["area_ha"].sum() == pytest.approx(float(matrix.stocks_from.sum()), rel=1e-9)
    typology = pd.read_csv(z.open("graphiques/typologie.csv"))
    assert set(typology["millesime"]) == {2015, 2018}


def test_an_edited_process_table_changes_the_bundle(store, two_bundles):
    rules = default_process_table().rules.copy()
    rules.loc[rules["code"] == "densification", "label_fr"] = "Construction en ville"
    edited = build_bundle(store, TERRITORY, 2015, 2018,
                          BundleOptions(images=False, pdf=False, report=False,
                                        typology_resolution_m=20.0,
                                        processes_csv=rules.to_csv(index=False)))
    z = zipfile.ZipFile(io.BytesIO(edited))
    assert "Construction en ville" in z.read("graphiques/processus_barres.csv").decode()
    meta = json.loads(z.read("metadata.json"))
    assert meta["parameters"]["processes_sha256"]
    assert z.read("tables/flux_cs_us.csv") == two_bundles[0].read("tables/flux_cs_us.csv")


def test_cli_bad_years_exit_2(demo_store_dir, tmp_path, capsys):
    out = tmp_path / "b.zip"
    code = main(["-q", "report", "--store", str(demo_store_dir), "--territory", TERRITORY,
                 "--from", "2018", "--to", "2015", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "doit précéder" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_full_bundle(demo_store_dir, tmp_path):
    out = tmp_path / "bundle.zip"
    code = main(["-q", "report", "--store", str(demo_store_dir), "--territory", TERRITORY,
                 "--out", str(out), "--date", "2026-01-15"])
    assert code == 0
    z = zipfile.ZipFile(out)
    names = set(z.namelist())
    for chart in ("flux_familles", "processus_sankey", "processus_barres", "typologie"):
        assert {f"graphiques/{chart}.{ext}" for ext in ("png", "svg", "csv")} <= names
        assert z.read(f"graphiques/{chart}.png").startswith(b"\x89PNG")
    assert z.read("rapport/portrait.pdf").startswith(b"%PDF")
    assert "15/01/2026" in z.read("rapport/portrait.html").decode()
    assert z.read("couches/changements_2015_2018.gpkg")[:15] == b"SQLite format 3"
    assert json.loads(z.read("metadata.json"))["parameters"]["date"] == "2026-01-15"


def test_vegetation_entries_match_the_engine(two_bundles, store):
    """The bundle's vegetation figures and chart data are the engine's (and the CLI's)."""
    from ocsge_engine.indicators.vegetation import vegetation

    z = two_bundles[0]
    result = vegetation(store, TERRITORY, 2015, 2018)
    figures = pd.read_csv(z.open("tables/vegetation_chiffres.csv")).set_index("key")
    assert len(figures) == len(result.figures())
    for fig in result.figures():
        assert figures.loc[fig.key, "value"] == pytest.approx(fig.value, abs=1e-9), fig.key
        assert figures.loc[fig.key, "display"] == fig.display()
    assert bool(figures["synthetic"].all())  # the demo's background is synthetic
    stocks = pd.read_csv(z.open("graphiques/vegetation_stocks.csv"))
    tree = stocks[(stocks["class"] == "tree") & (stocks["year"] == 2018)]["area_ha"]
    assert float(tree.iloc[0]) == pytest.approx(result.classes["tree"].stock_to_ha, abs=1e-9)
    sankey = pd.read_csv(z.open("graphiques/vegetation_sankey.csv"))
    assert sankey["area_ha"].sum() == pytest.approx(float(result.flows["area_ha"].sum()))
    assert {"graphiques/vegetation_gains_pertes.csv"} <= set(z.namelist())


@pytest.fixture(scope="module")
def bundle_with_images(store):
    """A bundle with chart images and the report (no PDF), recording what it computed."""
    import ocsge_engine.charts.export as export
    import ocsge_engine.indicators.vegetation as vegetation_module
    import ocsge_engine.portrait as portrait_module

    calls = {"figures": 0, "vegetation": 0, "batches": [], "reads": []}
    mp = pytest.MonkeyPatch()
    figures, vegetation, render = (portrait_module.portrait_figures,
                                   vegetation_module.vegetation, export.figures_bytes)
    polygons = store.polygons

    def count(key, func):
        def wrapped(*args, **kwargs):
            calls[key] += 1
            return func(*args, **kwargs)
        return wrapped

    def batch(jobs):
        calls["batches"].append(list(jobs))
        return render(jobs)

    def read(territory, millesime, *args, **kwargs):
        calls["reads"].append((millesime, kwargs.get("layer", "occupation_sol")))
        return polygons(territory, millesime, *args, **kwargs)

    mp.setattr(portrait_module, "portrait_figures", count("figures", figures))
    mp.setattr(vegetation_module, "vegetation", count("vegetation", vegetation))
    mp.setattr(export, "figures_bytes", batch)
    mp.setattr(store, "polygons", read)
    try:
        options = BundleOptions(pdf=False, typology_resolution_m=20.0, date="2026-01-15")
        data = build_bundle(store, TERRITORY, 2015, 2018, options)
    finally:
        mp.undo()
    return zipfile.ZipFile(io.BytesIO(data)), calls


def test_each_figure_is_computed_and_rendered_once(bundle_with_images):
    """One figures layer, one vegetation result; one render batch for the charts' images and
    one for the report's (rendered at the same time), no image rendered twice."""
    z, calls = bundle_with_images
    assert calls["figures"] == 1 and calls["vegetation"] == 1
    batches = sorted(calls["batches"], key=len)
    assert [len(b) for b in batches] == [6, 2 * 7]
    report_jobs, chart_jobs = batches
    charts = sorted(n for n in z.namelist() if n.startswith("graphiques/") and n.endswith(".png"))
    # 7 charts: 4 flow/process/typology charts and the Végétation page's 3, PNG + SVG each
    assert len(charts) == 7
    assert [j.fmt for j in chart_jobs] == ["png", "svg"] * 7
    # the report: 2 family donuts, the family Sankey and the 3 vegetation charts, in SVG
    assert {j.fmt for j in report_jobs} == {"svg"}
    keys = [(id(j.fig), j.fmt, j.width, j.height) for j in chart_jobs + report_jobs]
    assert len(set(keys)) == len(keys)
    # the layers were read once per millésime for the pair, once for the flows (no re-read for
    # the typology or the change layer)
    occupation = [year for year, layer in calls["reads"] if layer == "occupation_sol"]
    assert all(occupation.count(y) <= 2 for y in (2015, 2018)), calls["reads"]


def test_bundle_images_are_the_renders_of_its_charts(bundle_with_images):
    """Each chart file is the render of its job: PNG bytes equal a single render of the figure."""
    from ocsge_engine.charts.export import figure_bytes

    z, calls = bundle_with_images
    jobs = max(calls["batches"], key=len)  # the charts' batch
    pngs = [j for j in jobs if j.fmt == "png"]
    names = sorted(n for n in z.namelist() if n.startswith("graphiques/") and n.endswith(".png"))
    for name, job in zip(names, pngs):  # jobs in the sorted order of the chart names
        data = z.read(name)
        assert data.startswith(b"\x89PNG")
        # 1100 x 650 CSS pixels at scale 2 (the export's default size)
        assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) \
            == (2200, 1300)
    name, job = names[-1], pngs[-1]
    assert z.read(name) == figure_bytes(job.fig, "png")
    svg = z.read(name.replace(".png", ".svg")).decode()
    assert svg.startswith("<svg") and "Source : " in svg
    document = z.read("rapport/portrait.html").decode()
    assert document.count("data:image/svg+xml;base64,") == 6
    assert "15/01/2026" in document


def test_bundle_change_layer_is_the_layer_export(bundle_with_images, store, tmp_path):
    """The bundle's change layer (from the figures' pair) equals the layers export's."""
    import geopandas as gpd

    from ocsge_engine.report.layers import territory_layers
    from ocsge_engine.territories import get_territory

    z, _ = bundle_with_images
    path = tmp_path / "changes.gpkg"
    path.write_bytes(z.read("couches/changements_2015_2018.gpkg"))
    got = gpd.read_file(path, layer="changements_2015_2018")
    want = territory_layers(store, get_territory(TERRITORY), 2015, 2018)["changements_2015_2018"]
    assert len(got) == len(want) > 0
    assert list(got.columns) == list(want.columns)
    assert got.geometry.area.sum() == pytest.approx(want.geometry.area.sum(), rel=1e-12)
    key = [c for c in want.columns if c != want.geometry.name]
    pd.testing.assert_frame_equal(got[key].reset_index(drop=True),
                                  want[key].reset_index(drop=True), check_dtype=False)


def test_typology_is_the_store_typology(two_bundles, store):
    """The typology read from the figures' pair (and cached for it) equals the one computed
    from the store's layers: same areas per class, to the pixel (20 m pixels = 0.04 ha)."""
    from ocsge_engine.indicators.typology import TypologyOptions, territory_typology

    table = pd.read_csv(two_bundles[1].open("graphiques/typologie.csv"))  # the cached one
    for year in (2015, 2018):
        want = territory_typology(store, TERRITORY, year, TypologyOptions(resolution_m=20.0))
        got = table[table["millesime"] == year].set_index("classe")["area_ha"]
        assert got.sum() > 0
        for code, area in want.areas().items():
            assert got[code] == pytest.approx(area, abs=1e-9), (year, code)
