"""French formatting of tables (ocsge_engine.fmt): the one helper every page and export uses."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from ocsge_engine.fmt import MISSING, NNBSP, export_table, french_table, parse_number

RAW = pd.DataFrame({
    "code": ["33009", "33529"], "name": ["Arcachon", None],
    "population": [11092, 27566], "net_ha": [1.3598, np.nan],
    "coverage_share": [1.0, 0.1413], "year": [2018, 2023], "available": [True, False],
    "net_m2_per_inhabitant": [None, 2317.6661], "created_at": [datetime(2026, 3, 14, 9, 30)] * 2,
})


def test_french_table_headers_cells_and_missing_values() -> None:
    shown = french_table(RAW)
    assert shown.columns.tolist() == [
        "Code", "Nom", "Population (hab)", "Solde net (ha)", "Couverture (%)", "Année",
        "Données OCS GE", "Artificialisation nette par habitant (m²/hab)", "Créé le"]
    rows = shown.to_dict("records")
    assert rows[0]["Population (hab)"] == f"11{NNBSP}092"  # narrow no-break space, no decimals
    assert rows[0]["Solde net (ha)"] == "1,36"  # comma decimal, 0,01 ha
    assert rows[1]["Couverture (%)"] == "14,1"  # a share shown as a percentage to 0,1
    assert rows[1]["Année"] == "2023"  # a year, no thousands separator
    assert (rows[0]["Données OCS GE"], rows[1]["Données OCS GE"]) == ("oui", "non")
    assert rows[1]["Artificialisation nette par habitant (m²/hab)"] == f"2{NNBSP}317,7"
    assert rows[0]["Créé le"] == "14/03/2026 09:30"
    # missing values: « — », never None / nan
    assert rows[1]["Nom"] == rows[1]["Solde net (ha)"] == MISSING
    assert rows[0]["Artificialisation nette par habitant (m²/hab)"] == MISSING
    assert "None" not in shown.to_string() and "nan" not in shown.to_string()


def test_french_table_picks_orders_relabels_and_keeps_headers_unique() -> None:
    shown = french_table(RAW, {"net_ha": "Artificialisation nette", "code": "Code INSEE",
                               "name": "Code INSEE"})
    assert shown.columns.tolist() == ["Artificialisation nette (ha)", "Code INSEE",
                                      "Code INSEE [name]"]  # two columns never merge


def test_export_table_rounds_numbers_and_keeps_them_numbers() -> None:
    out = export_table(RAW[["code", "population", "net_m2_per_inhabitant", "coverage_share",
                            "available"]])
    assert out["Code"].tolist() == ["33009", "33529"]
    assert out["Population (hab)"].tolist() == [11092, 27566]
    assert out["Population (hab)"].dtype == np.int64
    values = out["Artificialisation nette par habitant (m²/hab)"].tolist()
    assert np.isnan(values[0]) and values[1] == 2317.67  # no 16-digit floats
    assert out["Couverture (%)"].tolist() == [100.0, 14.13]
    assert out["Données OCS GE"].tolist() == ["oui", "non"]


def test_parse_number_reads_back_french_cells() -> None:
    assert [parse_number(v) for v in french_table(RAW, ["population"])["Population (hab)"]] == [
        11092.0, 27566.0]
