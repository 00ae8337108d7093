"""Layer kind, département/millésime from IGN names, field normalisation."""

from __future__ import annotations

import pandas as pd
import pytest

from ocsge_engine.errors import SchemaError
from ocsge_engine.io import deliveries as dlv


@pytest.mark.parametrize(("name", "fields", "kind"), [
    ("OCCUPATION_SOL", ["ID", "CODE_CS", "CODE_US", "MILLESIME"], "occupation_sol"),
    ("ZONE_CONSTRUITE", ["ID", "MILLESIME"], "zone_construite"),
    ("DIFF_2018_2021", ["cs_avant", "us_avant", "cs_apres", "us_apres"], "diff"),
    ("A_B_2015_2018", ["Surface", "cs_2015", "us_2015", "cs_2018", "us_2018"], "diff"),
    ("ARTIFICIALISATION", ["ID", "CODE_CS", "CODE_US", "ARTIF", "CRIT_SEUIL"], "artif"),
    ("ARTIF_DIFF", ["ID", "ARTIFICIAL"], "artif_diff"),
    ("communes", ["INSEE", "NOM"], None),
    ("layer1", ["couverture", "usage"], "occupation_sol"),
])
def test_detect_kind(name, fields, kind):
    assert dlv.detect_kind(name, fields) == kind


@pytest.mark.parametrize(("names", "dep", "year", "period"), [
    (["OCCUPATION_SOL", "OCS-GE_2-0__SHP_LAMB93_D033_2018-01-01"], "33", "2018", None),
    (["OCS-GE_2-0_DIFF_SHP_LAMB93_D033_2018-2021"], "33", "2021", "2018_2021"),
    (["OCS-GE-ARTIFICIALISATION_2-0_DIFF-2018-2021_GPKG_LAMB93_D02A_2025-09-16"], "02A", "2025",
     "2018_2021"),
    (["OCS-GE_2-0__SHP_RGAF09UTM20_D971_2017-01-01"], "971", "2017", None),
])
def test_names(names, dep, year, period):
    assert dlv.departement_from_names(names) == dep
    assert dlv.years_from_names(names, period=False) == year
    assert dlv.years_from_names(names, period=True) == period


def test_normalize_fields_variants():
    raw = pd.DataFrame({"ID": ["a"], "Couverture": ["2.2.1"], "USAGE": ["US1.1"], "x": [1]})
    out = dlv.normalize_fields(raw, "occupation_sol", "t")
    assert out.iloc[0].to_dict() == {"id": "a", "code_cs": "2.2.1", "code_us": "US1.1"}
    diff = pd.DataFrame({"CS_2018": ["CS2.2.1"], "US_2018": ["US1.1"], "CS_2021": ["CS1.1.1.1"],
                         "US_2021": ["US5"]})
    assert dlv.diff_years_from_fields(diff.columns) == (2018, 2021)
    out = dlv.normalize_fields(diff, "diff", "t", period=(2018, 2021))
    assert out.iloc[0][["code_cs_from", "code_cs_to", "code_us_to"]].tolist() == [
        "CS2.2.1", "CS1.1.1.1", "US5"]
    assert out["id"].tolist() == ["0"]


def test_missing_cs_field_is_a_schema_error():
    with pytest.raises(SchemaError, match=r"lacks fields \['code_cs'\]") as info:
        dlv.normalize_fields(pd.DataFrame({"CODE_US": ["US1.1"]}), "occupation_sol", "X.shp")
    assert "ne contient pas les champs attendus" in info.value.user_message
