"""Prédire: land cover predicted on an aerial image (uploaded GeoTIFF, the Montpellier sample, or
the IGN orthophoto of the chosen territory fetched online from the Géoplateforme WMS).

Thin page: the engine (:func:`ocsge_engine.inference.ondemand.predict_upload`) runs in a private
temporary folder and returns every output in memory; the page keeps the result in the session
only when the prediction succeeded (a bad upload shows a French error and keeps nothing).

It says what ran (model card, bands, licence, SHA-256 check, precision, run notes), labels the
rule-based map « carte grossière (règles) », shows a model's confidence, offers draft flags only
for a verified model, and evaluates the result against the territory's OCS GE.
"""

from __future__ import annotations

import geopandas as gpd
import streamlit as st

from ocsge_engine.charts.cross import prediction_bars
from ocsge_engine.charts.style import fr_number
from ocsge_engine.config import get_settings
from ocsge_engine.flags import FlagStore
from ocsge_engine.indicators.pseudo_change import store_prediction_drafts
from ocsge_engine.fmt import percent
from ocsge_engine.inference.imagery import bands_fr
from ocsge_engine.inference.ondemand import (
    DEFAULT_MAX_MEGAPIXELS,
    MAX_UPLOAD_BYTES,
    ImageSource,
    PredictionBundle,
    available_models,
    cover_label,
    evaluate_bundle,
    predict_upload,
    sample_image,
    stats_by_cover,
)
from ocsge_engine.inference.predict import confidence_text
from ocsge_engine.inference.wms import orthophoto_source
from ocsge_engine.maps import light_polygons, territory_map
from pages import _shared as shared
from pages._widgets import MIME, show_fig, show_table, upload_limit

shared.ensure_frame()

RESULT_KEY = "predire_result"
FALLBACK = "__rules__"
FALLBACK_LABEL = "Carte grossière (règles) : végétation, eau, non végétal — sans modèle"
SHA_CHECK = {"card": "empreinte SHA-256 vérifiée (fiche du modèle)",
             "recorded": "identique à la première utilisation, non vérifiée",
             "first_use": "enregistrée à la première utilisation, non vérifiée"}
SOURCES = {"sample": "Exemple : Montpellier, orthophoto IGN 20 cm (50 m × 50 m)",
           "upload": "Mon image (GeoTIFF)",
           "wms": "Orthophoto IGN en ligne (zone du territoire)"}
# Placeholder: the online orthophoto is fetched only when the prediction is launched.
WMS_SOURCE = ImageSource(b"", "orthophoto_ign_en_ligne.tif", crs="EPSG:2154")
AREAS = {"image": "Toute l'image", "territoire": "Limiter au territoire choisi"}


@st.cache_data(max_entries=8, show_spinner="Dessin de la carte…")
def result_map_html(_bundle: PredictionBundle, key: str) -> str:
    """Map of the predicted polygons (cached per prediction ``key``)."""
    light = light_polygons(_bundle.polygons)
    return str(territory_map(light, "cs", height=480).get_root().render())


def _source() -> ImageSource | None:
    choice = st.radio("Image", list(SOURCES), format_func=SOURCES.get, key="predire_source",
                      horizontal=True)
    if choice == "sample":
        st.caption("Source : IGN – BD ORTHO (RVB et infrarouge couleur), via IGNF/ign-pdal-tools ; "
                   "Licence Ouverte Etalab 2.0.")
        return sample_image()
    if choice == "wms":
        st.caption("Orthophoto IGN (BD ORTHO 20 cm, RVB et infrarouge couleur) téléchargée depuis "
                   "la Géoplateforme sur l'emprise du territoire choisi, au lancement de la "
                   "prédiction. Connexion internet nécessaire ; limite de "
                   f"{fr_number(DEFAULT_MAX_MEGAPIXELS, 0)} mégapixels (1 km² à 20 cm) : pour une "
                   "commune entière, dessinez plutôt une zone. Licence Ouverte Etalab 2.0.")
        return WMS_SOURCE
    limit = upload_limit(MAX_UPLOAD_BYTES)
    image = st.file_uploader(f"Image GeoTIFF (rouge, vert, bleu [, proche infrarouge [, hauteur]], {limit})",
                             type=["tif", "tiff"], key="predire_image")
    nir = st.file_uploader("Image infrarouge couleur (facultative, bande 1 = proche infrarouge, "
                           f"{limit})",
                           type=["tif", "tiff"], key="predire_nir")
    if image is None:
        st.info("Déposez une image pour lancer la prédiction.")
        return None
    return ImageSource(image.getvalue(), image.name, nir.getvalue() if nir is not None else None)


def _model() -> str | None:
    models = available_models()
    options = [FALLBACK, *models]
    choice = st.selectbox("Modèle", options, key="predire_model",
                          format_func=lambda k: FALLBACK_LABEL if k == FALLBACK
                          else f"{models[k]} (modèle FLAIR de l'IGN)")
    if not models:
        st.caption("Aucun modèle entraîné n'est installé (poids FLAIR absents) : seule la carte "
                   "par règles est disponible.")
    return None if choice == FALLBACK else choice


def _run(source: ImageSource, area: str, checkpoint: str | None) -> None:
    geometry = None
    if area == "territoire" or source is WMS_SOURCE:
        territory = shared.run_safely(shared.cached_territory, shared.territory_id())
        if territory is None:
            return
        geometry = gpd.GeoSeries([territory.geometry], crs=2154)
    st.session_state.pop(RESULT_KEY, None)
    with st.status("Prédiction en cours…", expanded=True) as status:
        bar = st.progress(0.0, text="Lecture de l'image")
        if source is WMS_SOURCE:
            source = shared.run_safely(orthophoto_source, geometry,
                                       max_megapixels=DEFAULT_MAX_MEGAPIXELS,
                                       progress=lambda f, m: bar.progress(min(1.0, f), text=m))
        bundle = source and shared.run_safely(predict_upload, source,
                                              geometry if area == "territoire" else None,
                                              checkpoint, DEFAULT_MAX_MEGAPIXELS,
                                              lambda f, m: bar.progress(min(1.0, f), text=m))
        status.update(label="Prédiction terminée" if bundle else "Prédiction impossible",
                      state="complete" if bundle else "error")
    if bundle is not None and source is not None:
        st.session_state[RESULT_KEY] = (f"{source.name}-{len(source.image)}-{area}-{checkpoint}",
                                        bundle)


def _what_ran(bundle: PredictionBundle) -> None:
    """Model card, bands, licence, SHA-256 check, precision and the run notes, in French."""
    card = bundle.card
    with st.expander("Ce qui a tourné", expanded=True):
        if bundle.method == "fallback_rules":
            st.markdown(f"- Méthode : **{bundle.label_fr}** (règles spectrales, sans modèle)\n"
                        f"- Bandes lues : {bands_fr(card.get('bands', []))}")
        else:
            sha = card.get("sha256") or ""
            st.markdown(
                f"- Modèle : **{card.get('name')}** ({card.get('source', '')})\n"
                f"- Bandes : {bands_fr(card.get('bands', []))} ; {card.get('n_classes')} classes\n"
                f"- Licence : {card.get('licence', '')}\n"
                f"- Poids : SHA-256 `{sha[:16]}…`, {SHA_CHECK.get(card.get('sha256_source') or '', '')}\n"
                f"- Précision de calcul : {bundle.precision}")
        for note in bundle.notes_fr:
            st.markdown(f"- Note : {note}")


def _result(key: str, bundle: PredictionBundle) -> None:
    if bundle.method == "fallback_rules":
        st.warning("Résultat : **carte grossière (règles)**, pas une prédiction de modèle. Elle ne "
                   "distingue que la végétation, l'eau (avec proche infrarouge, hors ombres) et le "
                   "non végétal : bâti, routes, sols nus, arbres et pelouses ne sont pas séparés.",
                   icon="⚠️")
    elif bundle.card.get("test_only"):
        st.error(f"Résultat du modèle de test {bundle.model_name} : poids aléatoires, la carte ne "
                 "veut rien dire.")
    else:
        st.success(f"Résultat du modèle {bundle.model_name}.")
    _what_ran(bundle)
    st.caption(f"Zone prédite : {bundle.width_px} × {bundle.height_px} pixels.")
    if bundle.method == "model":
        st.caption(f"Confiance (probabilité de la classe retenue) : {confidence_text(bundle.confidence_share)}.")
    st.iframe(result_map_html(bundle, key), height=500)
    table = stats_by_cover(bundle.stats)
    shown = table.assign(libelle=[cover_label(c, bundle.method) for c in table["code_cs"]],
                         area_m2=table["area_ha"] * 1e4)  # a 50 m tile: m², not « 0,00 ha »
    show_fig(prediction_bars(table), "prediction_surfaces", shown, key="predire_fig",
             source="prédiction sur image (modèle ou règles indiqués ci-dessus), pas l'OCS GE")
    show_table(shown, {"code_cs": "Code", "libelle": "Couverture", "area_m2": "Surface",
                       "share": "Part", "pixels": "Pixels"}, key="predire_table")
    if bundle.confidence is not None:
        st.download_button("Carte de confiance (COG)", bundle.confidence, "prediction_confiance.tif",
                           mime="image/tiff", key="predire_conf", on_click="ignore")
    cols = st.columns(3)
    cols[0].download_button("Raster des classes (COG)", bundle.cog, "prediction_classes.tif",
                            mime="image/tiff", key="predire_cog", on_click="ignore")
    cols[1].download_button("Polygones (GPKG)", bundle.gpkg, "prediction_polygones.gpkg",
                            mime=MIME["gpkg"], key="predire_gpkg", on_click="ignore")
    cols[2].download_button("Statistiques (CSV)", bundle.csv, "prediction_statistiques.csv",
                            mime=MIME["csv"], key="predire_csv", on_click="ignore")


def _evaluate(bundle: PredictionBundle) -> None:
    """Per-class IoU, overall accuracy and confusion matrix against the territory's OCS GE."""
    st.subheader("Évaluer avec l'OCS GE du territoire")
    tid = shared.territory_id()
    years = shared.run_safely(shared.cached_millesimes, tid) or []
    if not years:
        st.caption("Aucun millésime OCS GE n'est disponible pour le territoire choisi.")
        return
    st.caption("L'OCS GE du territoire est rastérisée sur la grille de la prédiction ; ses codes sont "
               "ramenés aux classes du modèle (table FLAIR → OCS GE), ceux sans équivalent sont "
               "écartés. Les deux produits diffèrent par nature (date, unité minimale) : c'est un "
               "ordre de grandeur, pas une validation.")
    year = st.selectbox("Millésime OCS GE", list(years)[::-1], key="predire_eval_year")
    if not st.button("Évaluer", key="predire_eval"):
        return
    territory = shared.run_safely(shared.cached_territory, tid)
    evaluation = territory and shared.run_safely(evaluate_bundle, bundle, shared.get_store(),
                                                 territory, int(year))
    if not evaluation:
        return
    if evaluation.evaluated_px == 0:
        st.info("La prédiction ne recoupe aucun polygone OCS GE comparable de ce territoire.")
        return
    ha = evaluation.pixel_m2 / 1e4
    st.metric("Exactitude globale", percent(evaluation.overall_accuracy))
    st.caption(f"{fr_number(evaluation.evaluated_px * ha, 2)} ha comparés ; "
               f"{fr_number(evaluation.unmapped_px * ha, 2)} ha sous des codes OCS GE sans classe "
               f"équivalente ; {fr_number(evaluation.uncovered_px * ha, 2)} ha sans OCS GE.")
    per_class = evaluation.per_class.assign(
        libelle=[cover_label(c, bundle.method) for c in evaluation.per_class["code_cs"]],
        iou=[percent(v) if v == v else "—" for v in evaluation.per_class["iou"]])
    st.dataframe(per_class[["code_cs", "libelle", "iou", "reference_px", "predicted_px"]], hide_index=True,
                 key="predire_eval_table", column_config={
                     "code_cs": "Code", "libelle": "Couverture", "iou": "IoU",
                     "reference_px": st.column_config.NumberColumn("Pixels OCS GE", format="localized"),
                     "predicted_px": st.column_config.NumberColumn("Pixels prédits", format="localized")})
    st.caption("Matrice de confusion (lignes : OCS GE, colonnes : prédiction, en pixels)")
    st.dataframe(evaluation.confusion, key="predire_confusion")
    st.download_button("Matrice de confusion (CSV)", evaluation.confusion_csv(), f"confusion_{year}.csv",
                       mime=MIME["csv"], key="predire_confusion_csv", on_click="ignore")


def _drafts(bundle: PredictionBundle) -> None:
    """Disagreements with the territory's OCS GE become draft flags, reviewed on Signaler."""
    st.subheader("Désaccords avec l'OCS GE")
    if not bundle.draft_flags_allowed:
        st.caption("Les signalements brouillons ne sont proposés que pour la prédiction d'un modèle "
                   "entraîné dont les poids sont vérifiés (empreinte SHA-256 de la fiche) : ni la carte "
                   "grossière par règles, ni un modèle de test, ni des poids non vérifiés ne peuvent "
                   "en créer.")
        return
    st.caption("Les polygones OCS GE du territoire choisi dont la prédiction diffère deviennent "
               "des brouillons de signalement : validez-les ou rejetez-les sur la page Signaler ; "
               "seuls les signalements validés sont exportés pour les producteurs.")
    if not st.button("Créer des signalements brouillons", key="predire_drafts"):
        return
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    method = f"modèle {bundle.model_name}"
    comment = f"Prédiction sur image ({method}) différente de l'OCS GE : à vérifier."
    drafts = territory and shared.run_safely(store_prediction_drafts, shared.get_store(),
                                             territory, bundle.polygons, comment)
    if drafts is None:
        return
    added = shared.run_safely(FlagStore(get_settings().store_dir).add_drafts, drafts)
    if added is not None:
        st.success(f"{len(added)} brouillon(s) de signalement créé(s) pour {territory.name}"
                   + (f" ({len(drafts) - len(added)} déjà connu(s))" if len(added) < len(drafts)
                      else "") + " : à valider ou rejeter sur la page Signaler.")


def main() -> None:
    """Render the page."""
    st.title("Prédire l'occupation du sol sur une image")
    st.caption("Prédiction à la demande sur une image aérienne récente (20 cm), traduite dans la "
               "nomenclature de couverture OCS GE. Limite : "
               f"{fr_number(DEFAULT_MAX_MEGAPIXELS, 0)} mégapixels (1 km² à 20 cm).")
    source = _source()
    area = st.radio("Zone", list(AREAS), format_func=AREAS.get, key="predire_area",
                    horizontal=True)
    checkpoint = _model()
    if st.button("Lancer la prédiction", type="primary", key="predire_run",
                 disabled=source is None) and source is not None:
        _run(source, area, checkpoint)
    stored = st.session_state.get(RESULT_KEY)
    if stored is not None:
        _result(*stored)
        _evaluate(stored[1])
        _drafts(stored[1])


main()
