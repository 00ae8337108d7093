"""Prédire: land cover predicted on an aerial image (uploaded GeoTIFF, the Montpellier sample, or
the IGN orthophoto of the chosen territory fetched online from the Géoplateforme WMS).

Thin page: the engine (:func:`ocsge_engine.inference.ondemand.predict_upload`) runs in a private
temporary folder and returns every output in memory; the page keeps the result in the session
only when the prediction succeeded (a bad upload shows a French error and keeps nothing).
"""

from __future__ import annotations

import geopandas as gpd
import streamlit as st

from ocsge_engine.charts.cross import prediction_bars
from ocsge_engine.charts.style import class_label, fr_number
from ocsge_engine.config import get_settings
from ocsge_engine.flags import FlagStore
from ocsge_engine.indicators.pseudo_change import store_prediction_drafts
from ocsge_engine.inference.ondemand import (
    DEFAULT_MAX_MEGAPIXELS,
    MAX_UPLOAD_BYTES,
    ImageSource,
    PredictionBundle,
    available_models,
    predict_upload,
    sample_image,
    stats_by_cover,
)
from ocsge_engine.inference.wms import orthophoto_source
from ocsge_engine.maps import light_polygons, territory_map
from pages import _shared as shared
from pages._widgets import MIME, show_fig, show_table, upload_limit

shared.ensure_frame()

RESULT_KEY = "predire_result"
FALLBACK = "__rules__"
FALLBACK_LABEL = "Carte grossière par règles (NDVI, luminosité) — sans modèle"
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
    image = st.file_uploader(f"Image GeoTIFF (rouge, vert, bleu [, proche infrarouge], {limit})",
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


def _result(key: str, bundle: PredictionBundle) -> None:
    if bundle.method == "fallback_rules":
        st.warning("Résultat : **carte grossière par règles (NDVI, luminosité)**, pas une "
                   "prédiction de modèle. Sans hauteurs, arbres et pelouses sont confondus, "
                   "toits et routes aussi.", icon="⚠️")
    else:
        st.success(f"Résultat du modèle {bundle.model_name}.")
    st.caption(f"Zone prédite : {bundle.width_px} × {bundle.height_px} pixels.")
    st.iframe(result_map_html(bundle, key), height=500)
    table = stats_by_cover(bundle.stats)
    shown = table.assign(libelle=[class_label(c) for c in table["code_cs"]],
                         area_m2=table["area_ha"] * 1e4)  # a 50 m tile: m², not « 0,00 ha »
    show_fig(prediction_bars(table), "prediction_surfaces", shown, key="predire_fig")
    show_table(shown, {"code_cs": "Code", "libelle": "Couverture", "area_m2": "Surface",
                       "share": "Part", "pixels": "Pixels"}, key="predire_table")
    cols = st.columns(3)
    cols[0].download_button("Raster des classes (COG)", bundle.cog, "prediction_classes.tif",
                            mime="image/tiff", key="predire_cog", on_click="ignore")
    cols[1].download_button("Polygones (GPKG)", bundle.gpkg, "prediction_polygones.gpkg",
                            mime=MIME["gpkg"], key="predire_gpkg", on_click="ignore")
    cols[2].download_button("Statistiques (CSV)", bundle.csv, "prediction_statistiques.csv",
                            mime=MIME["csv"], key="predire_csv", on_click="ignore")


def _drafts(bundle: PredictionBundle) -> None:
    """Disagreements with the territory's OCS GE become draft flags, reviewed on Signaler."""
    st.subheader("Désaccords avec l'OCS GE")
    st.caption("Les polygones OCS GE du territoire choisi dont la prédiction diffère deviennent "
               "des brouillons de signalement : validez-les ou rejetez-les sur la page Signaler ; "
               "seuls les signalements validés sont exportés pour les producteurs.")
    if not st.button("Créer des signalements brouillons", key="predire_drafts"):
        return
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    method = ("carte par règles" if bundle.method == "fallback_rules"
              else f"modèle {bundle.model_name}")
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
        _drafts(stored[1])


main()
