"""Formula neutralisation of CSV/XLSX exports (OWASP CSV injection): texts only, numbers kept."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from ocsge_engine.io.cells import csv_text, neutralise, neutralise_frame
from pages._widgets import table_csv_safe, table_xlsx

RISKY = ["=HYPERLINK(\"http://evil.invalid\",\"clic\")", "+1+2", "-1+2", "@SUM(A1:A2)",
         "\tcmd", "\rcmd"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"=1+2": RISKY, "valeur": [-3.5, -12.0, 0.0, 4.25, -1.0, 2.0],
                         "texte": ["-12,5", "CS2.2.1", "Lège-Cap-Ferret", "+3 %", "a=b", ""]})


@pytest.mark.parametrize("value", RISKY)
def test_risky_texts_get_an_apostrophe(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", [-3.5, -12, "-12,5", "+3 %", "CS2.2.1", "a=b", "", None])
def test_numbers_and_plain_texts_are_kept(value: object) -> None:
    assert neutralise(value) == value


def test_frame_keeps_numeric_columns_numeric() -> None:
    out = neutralise_frame(_frame())
    assert list(out.columns) == ["'=1+2", "valeur", "texte"]
    assert out["valeur"].dtype == "float64" and out["valeur"].tolist() == [-3.5, -12.0, 0.0, 4.25,
                                                                          -1.0, 2.0]
    assert out["'=1+2"].tolist() == ["'" + v for v in RISKY]
    assert out["texte"].tolist() == ["-12,5", "CS2.2.1", "Lège-Cap-Ferret", "+3 %", "a=b", ""]


def test_csv_export_has_no_formula_cell() -> None:
    text = table_csv_safe(_frame())
    assert "\r" not in text  # a bare CR would split the row in Excel/LibreOffice
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 1 + len(RISKY)  # header + one row per cell: the CR cell stays one cell
    assert rows[0] == ["'=1+2", "valeur", "texte"]
    # every risky cell is defused; the CR one is written with a line feed instead (quoted)
    assert [r[0] for r in rows[1:]] == ["'" + v.replace("\r", "\n") for v in RISKY]
    assert [float(r[1]) for r in rows[1:]] == [-3.5, -12.0, 0.0, 4.25, -1.0, 2.0]  # numbers


def test_csv_text_keeps_a_carriage_return_cell_in_one_row() -> None:
    frame = pd.DataFrame({"commentaire": ["ligne 1\rligne 2", "a\r\nb", "ok"], "n": [1, 2, 3]})
    rows = list(csv.reader(io.StringIO(csv_text(frame), newline="")))
    assert rows == [["commentaire", "n"], ["ligne 1\nligne 2", "1"], ["a\nb", "2"], ["ok", "3"]]


def test_xlsx_export_has_no_formula_cell_and_numbers_stay_numbers() -> None:
    book = openpyxl.load_workbook(io.BytesIO(table_xlsx(_frame())))
    sheet = book["donnees"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert sheet["A1"].value == "'=1+2" and sheet["A2"].value == "'" + RISKY[0]
    assert [sheet.cell(row=r, column=2).value for r in range(2, 8)] == [-3.5, -12, 0, 4.25, -1, 2]
    assert all(sheet.cell(row=r, column=2).data_type == "n" for r in range(2, 8))
    # without neutralisation openpyxl would have written formulas (the test can fail)
    raw = io.BytesIO()
    _frame().to_excel(raw, index=False)
    assert openpyxl.load_workbook(raw).active["A1"].data_type == "f"
