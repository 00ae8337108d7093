"""``python -m ocsge_engine batch flows`` end to end (real subprocess, local cluster of 2 workers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ocsge_engine.batch import national_results

REPO = Path(__file__).resolve().parents[2]


def _batch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ocsge_engine", "-q", "batch", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_cli_batch_flows_resumes_and_reports(synthetic_store: Path) -> None:
    run = _batch("flows", "--store", str(synthetic_store), "--departements", "32,33",
                 "--workers", "2", "--no-sprawl")
    assert run.returncode == 0, run.stderr
    assert "dashboard: http://" in run.stdout
    assert "D32 2016_2019: done" in run.stdout and "D33 2016_2019: done" in run.stdout
    assert "2 partitions computed" in run.stdout
    rows = national_results(synthetic_store)
    assert sorted(set(rows["departement"])) == ["32", "33"]
    again = _batch("flows", "--store", str(synthetic_store), "--workers", "1", "--no-sprawl")
    assert again.returncode == 0, again.stderr
    assert "0 partitions computed" in again.stdout and "2 up to date" in again.stdout


def test_cli_batch_flows_unknown_departement_exits_2(synthetic_store: Path) -> None:
    run = _batch("flows", "--store", str(synthetic_store), "--departements", "75",
                 "--workers", "1")
    assert run.returncode == 2
    assert "erreur : Aucun département demandé" in run.stderr
