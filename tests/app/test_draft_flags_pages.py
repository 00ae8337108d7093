"""Draft flags through the pages: Prédire turns a prediction's disagreements with OCS GE into
drafts, Processus turns implausible changes into drafts, Signaler lists drafts apart and accepts
or rejects them; drafts never reach the producers' export until accepted, and survive a restart."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "indicators"))
from prediction_image import ortho_over  # noqa: E402

from ocsge_engine.flags import FlagError, FlagStore  # noqa: E402
from ocsge_engine.indicators.pseudo_change import (  # noqa: E402
    default_rules,
    draft_flags,
    implausible_pieces,
    store_prediction_drafts,
)
from ocsge_engine.inference.ondemand import ImageSource, predict_upload  # noqa: E402
from ocsge_engine.store import Store  # noqa: E402
from ocsge_engine.territories import get_territory  # noqa: E402

ARCACHON = {"territoire": "commune:33009", "de": "2015", "a": "2018"}


def _no_export(flags: FlagStore) -> None:
    with pytest.raises(FlagError, match="no flag to export"):
        flags.export_csv()


def _verified_card(folder: Path) -> Path:
    """A non-test 4-band card whose seeded tiny weights match its pinned SHA-256 (a "verified" model)."""
    import torch
    import yaml

    from ocsge_engine.inference.checkpoints import sha256_file
    from ocsge_engine.inference.model import TINY_SPEC, UnetSpec, seeded_model

    models = Path(__file__).resolve().parents[2] / "data" / "models"
    raw = yaml.safe_load((models / "tiny_test_unet.yaml").read_text(encoding="utf-8"))
    raw.pop("test_only")
    bands = ["red", "green", "blue", "nir"]
    raw.update(name="verified_seeded", bands=bands,
               normalization={"means": raw["normalization"]["means"][:4], "stds": raw["normalization"]["stds"][:4]})
    weights = folder / "verified_seeded.pt"
    torch.save(seeded_model(UnetSpec(4, 19, TINY_SPEC.layers, TINY_SPEC.widths, TINY_SPEC.decoder_channels),
                            seed=0).state_dict(), weights)
    raw["weights"] = {"file": weights.name, "sha256": sha256_file(weights)}
    card = folder / "verified_seeded.yaml"
    card.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return card


def test_predire_rules_map_offers_no_drafts(open_app, app_store: Path) -> None:
    """The rule-based « carte grossière » never becomes draft flags: no button, a French reason."""
    image = ortho_over(Store.open(app_store), get_territory("commune:33009"), 2018)
    at = open_app("pages/predire.py", **ARCACHON)
    at.radio(key="predire_source").set_value("upload").run()
    at.file_uploader(key="predire_image").set_value(
        ("synthetique.tif", image.tiff, "image/tiff")).run()
    at.button(key="predire_run").click().run()
    assert not at.error, [e.value for e in at.error]
    assert not any(b.key == "predire_drafts" for b in at.button)
    assert any("ni la carte grossière par règles" in c.value for c in at.caption)
    assert FlagStore(app_store).drafts("commune:33009").empty


def test_predire_creates_drafts_from_a_verified_model(open_app, app_store: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A verified model's prediction: the page's drafts are the engine's drafts for the same
    prediction (same official polygons, same proposed codes), stored as drafts, never exported."""
    from ocsge_engine.inference import ondemand

    card = _verified_card(tmp_path)
    monkeypatch.setattr(ondemand, "available_models", lambda models_dir=None: {str(card): "verified_seeded"})
    store, arcachon = Store.open(app_store), get_territory("commune:33009")
    image = ortho_over(store, arcachon, 2018)
    expected = store_prediction_drafts(
        store, arcachon, predict_upload(ImageSource(image.tiff, "synthetique.tif"), None, str(card)).polygons, "x")
    assert expected  # the seeded model disagrees with the forest polygon
    at = open_app("pages/predire.py", **ARCACHON)
    at.radio(key="predire_source").set_value("upload").run()
    at.file_uploader(key="predire_image").set_value(
        ("synthetique.tif", image.tiff, "image/tiff")).run()
    at.selectbox(key="predire_model").set_value(str(card)).run()
    at.button(key="predire_run").click().run()
    assert not at.error, [e.value for e in at.error]
    at.button(key="predire_drafts").click().run()
    assert not at.error, [e.value for e in at.error]
    assert at.success[-1].value.startswith(f"{len(expected)} brouillon(s) de signalement créé(s) pour Arcachon")
    flags = FlagStore(app_store)
    drafts = flags.drafts("commune:33009")
    assert sorted(drafts[["polygon_id", "code_cs_proposed"]].values.tolist()) == sorted(
        [d.polygon_id, d.code_cs_proposed] for d in expected)
    assert set(drafts["status"]) == {"brouillon"} and flags.list().empty
    _no_export(flags)


def test_signaler_accepts_and_rejects_drafts(open_app, app_store: Path) -> None:
    store, arcachon = Store.open(app_store), get_territory("commune:33009")
    drafts = []
    for rank in (0, 1):
        image = ortho_over(store, arcachon, 2018, rank)
        bundle = predict_upload(ImageSource(image.tiff, f"img{rank}.tif"))
        drafts += store_prediction_drafts(store, arcachon, bundle.polygons, "Prédiction")
    kept, dropped = FlagStore(app_store).add_drafts(drafts)
    at = open_app("pages/signaler.py", **ARCACHON)
    tables = [d.value for d in at.dataframe if "Statut" in d.value.columns]
    assert len(tables) == 1  # the drafts table; the reviewed list is empty
    shown = tables[0]
    assert set(shown["Identifiant"]) == {kept.id, dropped.id}
    assert set(shown["Statut"]) == {"brouillon"}
    assert "Aucun signalement" in at.info[-1].value  # the reviewed list is empty: drafts apart
    at.multiselect(key="signal_drafts_choice").set_value([kept.id]).run()
    at.button(key="signal_drafts_valider").click().run()
    at.multiselect(key="signal_drafts_choice").set_value([dropped.id]).run()
    at.button(key="signal_drafts_rejeter").click().run()
    assert not at.error, [e.value for e in at.error]
    flags = FlagStore(app_store)
    assert flags.drafts().empty
    assert flags.list()[["id", "status"]].values.tolist() == [[kept.id, "ouvert"]]
    text = flags.export_csv()
    assert kept.id in text and dropped.id not in text  # accepted exported, rejected not

    # a restart still lists the accepted flag with the reviewed ones, and no draft
    st.cache_data.clear()
    st.cache_resource.clear()
    again = open_app("pages/signaler.py", **ARCACHON)
    assert list(again.dataframe[-1].value["Identifiant"]) == [kept.id]
    assert not any(s.value == "Brouillons à valider" for s in again.subheader)


def test_processus_drafts_are_stored_as_drafts(open_app, app_store: Path) -> None:
    store, arcachon = Store.open(app_store), get_territory("commune:33009")
    layers = [store.polygons(arcachon, y, columns=["id", "code_cs", "code_us"])
              for y in (2015, 2018)]
    pieces = implausible_pieces(layers[0], layers[1], 3, min_area_m2=50.0)
    expected = draft_flags(pieces, layers[1], "commune:33009", 2018, default_rules().labels)
    assert expected  # the real SYBARVAL changes hold implausible transitions in Arcachon
    at = open_app("pages/processus.py", **ARCACHON)
    at.button(key="processus_drafts_build").click().run()
    assert not at.error, [e.value for e in at.error]
    flags = FlagStore(app_store)
    drafts = flags.drafts("commune:33009")
    assert sorted(drafts["polygon_id"]) == sorted(d.polygon_id for d in expected)
    assert sorted(zip(drafts["polygon_id"], drafts["code_cs_proposed"])) == sorted(
        (d.polygon_id, d.code_cs_proposed) for d in expected)
    assert any(f"{len(expected)} brouillon(s) de signalement enregistré(s)" in s.value
               for s in at.success)
    assert any(f"{len(expected)} brouillon(s) en attente" in c.value for c in at.caption)
    _no_export(flags)
