"""Signaler page: a flag is recorded with the right codes, listed, deleted, kept across restarts;
an unknown code shows the French error and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st

from ocsge_engine.flags import FLAGS_FILE, FlagStore
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory

PARAMS = {"territoire": "commune:33236", "de": "2015", "a": "2018"}


def _first_polygon(store_dir: Path) -> tuple[str, str, str, float]:
    gdf = Store.open(store_dir).polygons(get_territory("commune:33236"), 2018,
                                         columns=["id", "code_cs", "code_us"])
    row = gdf.sort_values("id").iloc[0]
    return str(row["id"]), str(row["code_cs"]), str(row["code_us"]), float(gdf.geometry.loc[
        row.name].area)


def _fill(at, polygon_id: str, cs: str, us: str, comment: str) -> None:
    at.text_input(key="signal_polygon_id").set_value(polygon_id).run()
    at.text_input(key="signal_cs").set_value(cs)
    at.text_input(key="signal_us").set_value(us)
    at.text_area(key="signal_comment").set_value(comment)
    at.button[[b.label for b in at.button].index("Enregistrer le signalement")].click().run()


def test_flag_round_trip_through_the_page(open_app, app_store: Path) -> None:
    polygon_id, cs_now, us_now, area_m2 = _first_polygon(app_store)
    proposed = ("CS2.2.1", "US1.1") if (cs_now, us_now) != ("CS2.2.1", "US1.1") else (
        "CS1.1.1.1", "US5")
    at = open_app("pages/signaler.py", **PARAMS)
    assert at.selectbox(key="signal_year").value == 2018
    _fill(at, polygon_id, *proposed, "Prairie, pas de forêt")
    assert not at.error, [e.value for e in at.error]
    assert at.success[0].value.startswith(f"Signalement enregistré pour le polygone {polygon_id}")
    flags = FlagStore(app_store).list()
    assert len(flags) == 1
    row = flags.iloc[0]
    assert (row["territory_id"], row["millesime"], row["polygon_id"]) == (
        "commune:33236", 2018, polygon_id)
    assert (row["code_cs_current"], row["code_us_current"]) == (cs_now, us_now)
    assert (row["code_cs_proposed"], row["code_us_proposed"]) == proposed
    assert row["comment"] == "Prairie, pas de forêt"
    assert flags.geometry.iloc[0].area == pytest.approx(area_m2)
    assert list(at.dataframe[-1].value["Polygone"]) == [polygon_id]

    # A restart (new session, empty caches) still lists it; then it is deleted from the page.
    st.cache_data.clear()
    st.cache_resource.clear()
    again = open_app("pages/signaler.py", **PARAMS)
    assert list(again.dataframe[-1].value["Identifiant"]) == [row["id"]]
    again.button(key="signal_delete").click().run()
    assert len(FlagStore(app_store).list()) == 0
    assert "Aucun signalement" in again.info[-1].value


def test_list_of_polygons_is_built_once_opened(open_app, app_store: Path) -> None:
    """Closed, the list costs nothing; opened, it holds every polygon of the commune and year,
    and the CS filter keeps that class's rows only."""
    gdf = Store.open(app_store).polygons(get_territory("commune:33236"), 2018,
                                         columns=["id", "code_cs", "code_us"])
    at = open_app("pages/signaler.py", **PARAMS)
    assert not [d for d in at.dataframe if "Identifiant" in d.value.columns]
    assert "signal_cs_filter" not in [s.key for s in at.selectbox]
    at.session_state["signal_table_open"] = True  # what a click on the expander does
    at.run()
    (table,) = [d.value for d in at.dataframe if "Identifiant" in d.value.columns]
    assert sorted(table["Identifiant"]) == sorted(gdf["id"]) and len(table) > 1000
    cs = gdf["code_cs"].value_counts().index[-1]  # the rarest class
    at.selectbox(key="signal_cs_filter").set_value(cs).run()
    (table,) = [d.value for d in at.dataframe if "Identifiant" in d.value.columns]
    assert sorted(table["Identifiant"]) == sorted(gdf.loc[gdf["code_cs"] == cs, "id"])
    assert set(table["CS"]) == {cs}


def test_unknown_code_shows_french_error_and_stores_nothing(open_app, app_store: Path) -> None:
    polygon_id, *_ = _first_polygon(app_store)
    at = open_app("pages/signaler.py", **PARAMS)
    _fill(at, polygon_id, "CS9.9", "US1.1", "")
    assert [e.value for e in at.error] == [
        "Le code CS proposé « CS9.9 » n'existe pas dans la nomenclature OCS GE : choisissez un "
        "code de la liste."]
    assert not at.success
    assert len(FlagStore(app_store).list()) == 0


def test_unknown_polygon_id_shows_french_error(open_app, app_store: Path) -> None:
    at = open_app("pages/signaler.py", **PARAMS)
    _fill(at, "pas-un-id", "CS2.2.1", "US1.1", "")
    assert "Aucun polygone « pas-un-id »" in at.error[0].value
    assert (app_store / FLAGS_FILE).exists() and len(FlagStore(app_store).list()) == 0
