"""Flags store: validation against the nomenclature, add/list/delete/export, durability."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from ocsge_engine.errors import GeometryError, UnknownCodeError
from ocsge_engine.flags import (
    FLAGS_FILE,
    FlagError,
    FlagStore,
    read_flags_gpkg,
    validate_flag,
)

SQUARE = shapely.box(400_000, 6_400_000, 400_100, 6_400_050)  # 100 m × 50 m = 0.5 ha


def _flag(**overrides: object):
    args = dict(territory_id="commune:33529", millesime=2018, polygon_id="33529_000001",
                geometry=SQUARE, code_cs_current="CS2.1.1.1", code_us_current="US1.2",
                code_cs_proposed="cs2.2.1", code_us_proposed="US1.1", comment="  prairie  ")
    args.update(overrides)
    return validate_flag(**args)  # type: ignore[arg-type]


def test_validate_normalises_codes_and_comment() -> None:
    flag = _flag()
    assert (flag.code_cs_proposed, flag.code_us_proposed) == ("CS2.2.1", "US1.1")
    assert flag.comment == "prairie" and flag.status == "ouvert" and len(flag.id) == 32


@pytest.mark.parametrize(("overrides", "error", "match"), [
    ({"code_cs_proposed": "CS9.9"}, UnknownCodeError, "CS9.9"),
    ({"code_us_proposed": "US42"}, UnknownCodeError, "US42"),
    ({"code_cs_proposed": "US1.1"}, UnknownCodeError, "US1.1"),
    ({"code_cs_proposed": "CS2.1.1.1", "code_us_proposed": "US1.2"}, FlagError, "equal"),
    ({"polygon_id": " "}, FlagError, "polygon id"),
    ({"geometry": shapely.Point(0, 0)}, GeometryError, "Point"),
    ({"comment": "x" * 2001}, FlagError, "2001"),
])
def test_bad_flags_raise_and_store_nothing(tmp_path: Path, overrides: dict, error: type,
                                           match: str) -> None:
    store = FlagStore(tmp_path)
    with pytest.raises(error, match=match) as info:
        store.add(_flag(**overrides))
    assert info.value.user_message and "inconnu" not in str(info.value)  # English log, French UI
    assert len(store) == 0


def test_add_list_delete_export_round_trip(tmp_path: Path) -> None:
    store = FlagStore(tmp_path)
    first = store.add(_flag())
    second = store.add(_flag(polygon_id="33529_000002", geometry=shapely.box(0, 0, 10, 10),
                             territory_id="commune:33236", code_cs_proposed="CS1.1.1.1",
                             code_us_proposed="US5"))
    listed = store.list()
    assert set(listed["id"]) == {first.id, second.id} and listed.crs.to_epsg() == 2154
    mine = store.list("commune:33529")
    assert list(mine["polygon_id"]) == ["33529_000001"]
    assert mine.geometry.iloc[0].area == pytest.approx(5000.0)

    gpkg = store.export_gpkg(tmp_path / "out" / "flags.gpkg")
    back = read_flags_gpkg(gpkg)
    assert len(back) == 2 and back.crs.to_epsg() == 2154
    row = back.set_index("id").loc[first.id]
    assert (row["code_cs_proposed"], row["code_us_proposed"], row["comment"]) == (
        "CS2.2.1", "US1.1", "prairie")
    assert row.geometry.area == pytest.approx(5000.0)
    csv_text = store.export_csv(tmp_path / "flags.csv", territory_id="commune:33236")
    assert csv_text.splitlines()[0].startswith("id,created_at,territory_id,millesime,polygon_id")
    assert "POLYGON ((0 0" in csv_text or "POLYGON ((10 0" in csv_text
    assert (tmp_path / "flags.csv").read_text(encoding="utf-8") == csv_text
    assert not [p for p in tmp_path.rglob("*.tmp")]  # no temporary left behind

    store.delete(first.id)
    assert list(store.list()["id"]) == [second.id]
    with pytest.raises(FlagError, match="no flag"):
        store.delete(first.id)
    store.set_status(second.id, "transmis")
    assert store.list()["status"].tolist() == ["transmis"]


def test_flags_survive_reopening(tmp_path: Path) -> None:
    flag = FlagStore(tmp_path).add(_flag())
    reopened = FlagStore(tmp_path)
    assert (tmp_path / FLAGS_FILE).exists()
    listed = reopened.list()
    assert list(listed["id"]) == [flag.id]
    assert listed["created_at"].iloc[0] == flag.created_at
    assert listed.geometry.iloc[0].equals(SQUARE)


def test_export_without_flags_is_a_user_error(tmp_path: Path) -> None:
    store = FlagStore(tmp_path)
    with pytest.raises(FlagError, match="no flag") as info:
        store.export_gpkg(tmp_path / "flags.gpkg")
    assert info.value.user_message == "Aucun signalement à exporter."
    assert not (tmp_path / "flags.gpkg").exists()


def test_polygon_flag_takes_geometry_and_codes_from_the_layer(tmp_path: Path) -> None:
    import geopandas as gpd

    from ocsge_engine.flags import polygon_flag

    layer = gpd.GeoDataFrame({"id": ["a", "b"], "code_cs": ["CS1.1.1.1", "CS2.2.1"],
                              "code_us": ["US5", "US1.1"]},
                             geometry=[SQUARE, shapely.box(0, 0, 1, 1)], crs=2154)
    flag = polygon_flag(layer, "commune:33529", 2018, "a", "CS2.2.1", "US1.1", "")
    assert (flag.code_cs_current, flag.code_us_current) == ("CS1.1.1.1", "US5")
    assert flag.geometry.equals(SQUARE)
    with pytest.raises(FlagError, match="polygon 'zz'") as info:
        polygon_flag(layer, "commune:33529", 2018, "zz", "CS2.2.1", "US1.1", "")
    assert "« zz »" in info.value.user_message
    store = FlagStore(tmp_path)
    store.add(flag)
    data = store.gpkg_bytes()
    (tmp_path / "dl.gpkg").write_bytes(data)
    assert read_flags_gpkg(tmp_path / "dl.gpkg")["polygon_id"].tolist() == ["a"]


def test_drafts_are_durable_listed_apart_and_never_exported_until_accepted(tmp_path: Path) -> None:
    store = FlagStore(tmp_path)
    kept = store.add(_flag(polygon_id="33529_000009", comment="saisi à la main"))
    a, b, c = (_flag(polygon_id=f"33529_00010{k}", comment=f"brouillon {k}") for k in range(3))
    added = store.add_drafts([a, b, c])
    assert [d.id for d in added] == [a.id, b.id, c.id]
    assert {d.status for d in added} == {"brouillon"}
    assert len(store) == 4
    # drafts are listed apart, never with the reviewed flags, never exported
    assert list(store.list()["id"]) == [kept.id]
    assert set(store.drafts()["id"]) == {a.id, b.id, c.id}
    assert set(store.drafts("commune:33529")["status"]) == {"brouillon"}
    assert store.drafts("commune:33236").empty
    assert read_flags_gpkg(store.export_gpkg(tmp_path / "x.gpkg"))["id"].tolist() == [kept.id]
    assert "brouillon" not in store.export_csv()

    # survives reopening
    reopened = FlagStore(tmp_path)
    assert set(reopened.drafts()["id"]) == {a.id, b.id, c.id}
    reopened.accept_draft(a.id)
    reopened.reject_draft(b.id)
    assert set(reopened.list()["id"]) == {kept.id, a.id}
    assert reopened.list().set_index("id").at[a.id, "status"] == "ouvert"
    assert list(reopened.drafts()["id"]) == [c.id]
    exported = read_flags_gpkg(reopened.export_gpkg(tmp_path / "y.gpkg"))
    assert set(exported["id"]) == {kept.id, a.id}            # accepted: exported
    csv_text = reopened.export_csv()
    assert a.id in csv_text and b.id not in csv_text and c.id not in csv_text
    assert list(reopened.list(statuses=["ecarte"])["id"]) == [b.id]  # rejected: kept apart

    # a draft is reviewed once; a reviewed flag is no draft
    with pytest.raises(FlagError, match="no draft") as info:
        reopened.accept_draft(a.id)
    assert info.value.user_message.startswith("Ce brouillon de signalement n'existe plus")
    with pytest.raises(FlagError, match="no draft"):
        reopened.reject_draft(kept.id)
    # the same suggestions again: nothing new (accepted, rejected and pending ones are known)
    again = [_flag(polygon_id=f"33529_00010{k}") for k in range(3)]
    assert reopened.add_drafts(again) == []
    assert len(reopened) == 4


def test_only_drafts_left_means_nothing_to_export(tmp_path: Path) -> None:
    store = FlagStore(tmp_path)
    store.add_drafts([_flag()])
    with pytest.raises(FlagError, match="no flag to export"):
        store.export_csv()
    assert not (tmp_path / "flags.gpkg").exists()


def test_csv_export_neutralises_formula_comments(tmp_path: Path) -> None:
    store = FlagStore(tmp_path)
    store.add(_flag(comment='=HYPERLINK("http://evil.invalid","voir")'))
    text = store.export_csv()
    assert "'=HYPERLINK(" in text and ',=HYPERLINK' not in text and '"=HYPERLINK' not in text
