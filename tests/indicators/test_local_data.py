"""Local CSV validation, store communes and the join with the indicators (demo store)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ocsge_engine.indicators.local_data import (
    INDICATOR_COLUMNS,
    LocalDataError,
    join_local,
    population_table,
    read_local_csv,
    store_communes,
)
from ocsge_engine.indicators.zan import SYBARVAL_CODES
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory


def test_semicolon_cp1252_french_decimals_and_total_row() -> None:
    data = ("Code INSEE;Nombre de ménages;Libellé;Taux\n33009;1 234,5;Arcachon;0,25\n"
            "33529;12;La Teste;1\nTotal;1 246,5;;\n").encode("cp1252")
    local = read_local_csv(data, "menages.csv")
    assert (local.encoding, local.separator, local.code_column) == ("cp1252", ";", "Code INSEE")
    assert local.numeric_columns == ("Nombre de ménages", "Taux")
    assert local.ignored_columns == ("Libellé",)
    assert local.dropped_rows == 1
    assert local.table.to_dict("list") == {"code": ["33009", "33529"],
                                           "Nombre de ménages": [1234.5, 12.0],
                                           "Taux": [0.25, 1.0]}


def test_comma_utf8_bom_codgeo_and_lost_leading_zero() -> None:
    data = "\ufeffCODGEO,emplois\n1004,10\n2A004,3.5\n33009,\n".encode("utf-8")
    local = read_local_csv(data)
    assert (local.encoding, local.separator) == ("utf-8-sig", ",")
    assert local.table["code"].tolist() == ["01004", "2A004", "33009"]
    assert local.table["emplois"].tolist()[:2] == [10.0, 3.5]
    assert pd.isna(local.table["emplois"].iloc[2])  # empty cell: missing, not an error


def test_code_column_found_by_its_values_with_tabs() -> None:
    local = read_local_csv(b"commune\tvaleur\n33009\t1\n33529\t2\n")
    assert (local.code_column, local.separator) == ("commune", "\t")


@pytest.mark.parametrize(("data", "message"), [
    (b"", "Le fichier est vide."),
    (b"\x00\x01\x02PK\x03\x04", "Ce fichier n'est pas un fichier texte CSV (contenu binaire)."),
    (b"nom;valeur\nArcachon;1\n", "Aucune colonne de code INSEE trouvée"),
    (b"code_insee;valeur\n33009;1\n33009;2\n", "Le code INSEE 33009 apparaît sur plusieurs lignes"),
    (b"code_insee;nom\n33009;Arcachon\n", "Aucune colonne numérique"),
    (b"code_insee\n33009\n", "Séparateur de colonnes introuvable"),
    (b"code;valeur\nabc;1\ndef;2\n33009;3\n", "La colonne « code » ne contient pas des codes INSEE"),
])
def test_bad_files_raise_french_errors(data: bytes, message: str) -> None:
    with pytest.raises(LocalDataError) as err:
        read_local_csv(data, "bad.csv")
    assert err.value.user_message.startswith(message)
    assert str(err.value).isascii()  # English log message


def test_store_communes_are_the_17_sybarval_communes(demo_store_dir: Path) -> None:
    assert store_communes(Store.open(demo_store_dir), 2015, 2018) == sorted(SYBARVAL_CODES)


def test_join_reports_unmatched_and_missing_and_renames_clashes() -> None:
    indicators = pd.DataFrame({c: [None, None] for c in INDICATOR_COLUMNS})
    indicators["code"] = ["33009", "33529"]
    indicators["net_ha"] = [1.0, 2.0]
    local = read_local_csv(b"code_insee;net_ha;logements\n33009;5;7\n34172;1;1\n")
    joined = join_local(indicators, local)
    assert joined.table["code"].tolist() == ["33009"]
    assert joined.table[["net_ha", "net_ha_local", "logements"]].iloc[0].tolist() == [1.0, 5.0, 7.0]
    assert (joined.unmatched, joined.missing) == (["34172"], ["33529"])
    assert joined.local_columns == ["net_ha_local", "logements"]
    with pytest.raises(LocalDataError, match="no code"):
        join_local(indicators, read_local_csv(b"code_insee;v\n34172;1\n"))


def test_population_table_density() -> None:
    table = population_table("commune:33009")
    area_km2 = get_territory("commune:33009").area_ha / 100
    assert table["year"].tolist() == [2019, 2020, 2022, 2023]
    assert table["population"].iloc[-1] == 11092  # INSEE 2023, Arcachon
    assert table["density_per_km2"].iloc[-1] == pytest.approx(11092 / area_km2)
