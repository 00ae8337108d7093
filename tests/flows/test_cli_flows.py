"""``python -m ocsge_engine flows``: formats, contract columns, exit code 2 on user errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from ocsge_engine.charts import read_flows_xlsx
from ocsge_engine.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def polygon_file(tmp_path, territory):
    path = tmp_path / "zone.geojson"
    gpd.GeoDataFrame({"nom": ["zone test"]}, geometry=[territory.geometry],
                     crs="EPSG:2154").to_file(path)
    return path


def run(capsys, *argv):
    code = main(["-q", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_csv_to_stdout(flow_store, polygon_file, capsys, expected):
    code, out, _ = run(capsys, "flows", "--store", flow_store.path, "--territory",
                       f"polygon:{polygon_file}", "--from", 2015, "--to", 2018, "--by", "anf",
                       "--format", "csv")
    assert code == 0
    assert out.splitlines()[0] == "code_from,code_to,area_ha"
    table = pd.read_csv(io.StringIO(out))
    got = {(r.code_from, r.code_to): r.area_ha for r in table.itertuples()}
    assert got == pytest.approx(expected["anf"], rel=1e-9)


def test_json_and_xlsx(flow_store, polygon_file, capsys, tmp_path, expected):
    common = ["flows", "--store", flow_store.path, "--territory", f"polygon:{polygon_file}",
              "--from", 2015, "--to", 2018, "--by", "cs2"]
    code, out, _ = run(capsys, *common, "--format", "json")
    record = json.loads(out)
    assert code == 0 and record["by"] == "cs2" and record["source"] == "overlay"
    assert record["max_disagreement_ha"] == pytest.approx(0.0, abs=1e-9)
    got = {(f["code_from"], f["code_to"]): f["area_ha"] for f in record["flows"]}
    assert got == pytest.approx(expected["cs2"], rel=1e-9)
    code, _, _ = run(capsys, *common, "--format", "xlsx", "--out", tmp_path / "f.xlsx")
    table = read_flows_xlsx(tmp_path / "f.xlsx")
    assert code == 0
    assert dict(zip(zip(table.code_from, table.code_to), table.area_ha)) == pytest.approx(
        expected["cs2"], rel=1e-9)
    code, _, err = run(capsys, *common, "--format", "xlsx")
    assert code == 2 and "--out" in err


@pytest.mark.parametrize(("target", "years", "message"), [
    ("commune:99999", (2015, 2018), ""),
    ("POLYGON", (2018, 2015), "doit précéder"),
    ("POLYGON", (2015, 2030), "2030"),
    ("POLYGON", (2009, 2018), "Millésime 2009 indisponible"),
])
def test_user_errors_exit_2(flow_store, polygon_file, capsys, target, years, message):
    territory = f"polygon:{polygon_file}" if target == "POLYGON" else target
    code, out, err = run(capsys, "flows", "--store", flow_store.path, "--territory", territory,
                         "--from", years[0], "--to", years[1])
    assert code == 2 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("erreur :")]
    assert len(lines) == 1 and message in lines[0]


def test_module_entry_point(flow_store, polygon_file):
    proc = subprocess.run(
        [sys.executable, "-m", "ocsge_engine", "-q", "flows", "--store", str(flow_store.path),
         "--territory", f"polygon:{polygon_file}", "--from", "2015", "--to", "2018", "--by",
         "artif"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(io.StringIO(proc.stdout))
    assert list(table.columns) == ["code_from", "code_to", "area_ha"]
    assert list(zip(table.code_from, table.code_to)) == [
        ("artificialise", "non_artificialise"), ("non_artificialise", "artificialise"),
        ("non_artificialise", "non_artificialise")]
    assert table.area_ha.tolist() == pytest.approx([0.8, 0.35, 1.65], rel=1e-9)


def test_flows_imports_no_heavy_stack(flow_store, polygon_file):
    """``flows`` loads neither the dashboard, the model nor the cluster stack (CLI start-up)."""
    script = (
        "import sys\n"
        "from ocsge_engine.cli import main\n"
        f"code = main(['-q', 'flows', '--store', {str(flow_store.path)!r}, '--territory', "
        f"'polygon:{polygon_file}', '--from', '2015', '--to', '2018', '--by', 'cs4'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules}\n"
        "               & {'torch', 'streamlit', 'plotly', 'dask', 'distributed', 'kaleido'})\n"
        "print('HEAVY', heavy, code)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "HEAVY [] 0"
