"""Every subcommand, given bad arguments or bad files, exits 2 with one French line and no
traceback (argparse errors included)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocsge_engine.cli import PARSERS, build_parser, main

MISSING = "/nonexistent/h12_missing"

# (argv, French words expected on the error line). {store} is the demo store, {tmp} a folder.
CASES: list[tuple[list[str], str]] = [
    (["ingest", f"{MISSING}.7z", "--store", "{tmp}/s"], "Fichier introuvable"),
    (["ingest", "{tmp}/x.7z", "--store", "{tmp}/s", "--departement", "XX"],
     "code de département invalide « XX »"),
    (["ingest", "{tmp}/notes.txt", "--store", "{tmp}/s"], "Format non pris en charge"),
    (["ingest"], "arguments obligatoires manquants"),
    (["download", "--departement", "XX", "--millesime", "2018"], "code de département invalide"),
    (["download", "--departement", "33"], "arguments obligatoires manquants : --millesime"),
    (["demo", "--store", "{tmp}/a_file"], "le chemin existe déjà"),
    (["flows", "--store", "{store}", "--territory", "commune:33529", "--from", "2015"],
     "arguments obligatoires manquants : --to"),
    (["flows", "--store", "{store}", "--territory", "commune:99999", "--from", "2015", "--to",
      "2018"], "Territoire introuvable"),
    (["flows", "--store", "{store}", "--territory", "commune:33529", "--from", "2015", "--to",
      "2018", "--by", "nope"], "valeur 'nope' non reconnue"),
    (["flows", "--store", "{store}", "--territory", "commune:33529", "--from", "2015", "--to",
      "2018", "--by", "process", "--processes", f"{MISSING}.csv"], "fichier introuvable"),
    (["flows", "--store", MISSING, "--territory", "commune:33529", "--from", "2015", "--to",
      "2018"], "Aucune base OCS GE"),
    (["predict", "--image", f"{MISSING}.tif", "--out", "{tmp}/p"], "Image introuvable"),
    (["predict", "--image", "x.tif", "--out", "{tmp}/p", "--crs", "NOTACRS"],
     "système de coordonnées inconnu « NOTACRS »"),
    (["predict", "--out", "{tmp}/p"], "un des arguments --image --wms est obligatoire"),
    (["indicators", "--store", "{store}", "--territory", "polygon:" + MISSING + ".geojson",
      "--from", "2015", "--to", "2018"], "Fichier de contour introuvable"),
    (["indicators", "--store", "{store}", "--territory", "commune:33529", "--from", "2015",
      "--to", "2018", "--reduction", "abc"], "nombre invalide"),
    (["indicators", "--store", "{store}", "--territory", "commune:33529", "--from", "2015",
      "--to", "2018", "--out", "/proc/h12/forbidden.json"], "fichier ou dossier introuvable"),
    (["batch", "flows", "--store", "{store}", "--departements", "ZZ"],
     "code de département invalide « ZZ »"),
    (["batch", "predict", f"{MISSING}.tif", "--out", "{tmp}/bp"], "Image introuvable"),
    (["batch"], "arguments obligatoires manquants"),
    (["report", "--store", "{store}", "--territory", "commune:33529", "--out", "{tmp}/r.zip",
      "--processes", "/missing.csv"], "fichier introuvable : /missing.csv"),
    (["report", "--store", "{store}", "--territory", "commune:33529", "--out", "{tmp}/r.zip",
      "--date", "garbage"], "date invalide"),
    (["nosuchcommand"], "valeur 'nosuchcommand' non reconnue"),
    (["evaluate", "--prediction", f"{MISSING}.tif", "--store", "{store}", "--territory",
      "commune:33529", "--year", "2018"], "illisible"),
    (["ingest-conso", f"{MISSING}.csv", "--store", "{store}"], "introuvable"),
    (["ingest-zonage", f"{MISSING}.gpkg", "--store", "{store}"], "illisible"),
]


def _run(argv: list[str]) -> int:
    try:
        return main(["-q", *argv])
    except SystemExit as exc:  # argparse exits itself
        return int(exc.code or 0)


@pytest.mark.parametrize(("argv", "french"), CASES, ids=[" ".join(c[0][:2]) + f"-{i}"
                                                         for i, c in enumerate(CASES)])
def test_bad_arguments_and_files_exit_2_in_french(argv: list[str], french: str,
                                                  demo_store_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.7z").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("pas une livraison")
    (tmp_path / "a_file").write_text("occupé")
    args = [a.format(store=demo_store_dir, tmp=tmp_path) for a in argv]
    assert _run(args) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("erreur : ") and french in lines[0], lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_every_subcommand_is_walked() -> None:
    """A new subcommand must get its bad-input case here."""
    walked = {argv[0] for argv, _ in CASES}
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # noqa: SLF001
    assert len(PARSERS) == len(commands) and commands <= walked
