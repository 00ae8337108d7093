"""Artificialisation: stock, flux and net by CS/US, decree matrix, thresholds, self-check, sprawl.

Thin page: one cached engine call (:func:`territory_indicators`, one overlay of the millésime pair)
feeds every block. The threshold choice lives in the URL (``?seuils=0``). Three tabs
(artificialisation, sprawl, imperméabilisation), each built and sent only while open.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ocsge_engine.charts.cross import stock_by_code_bars
from ocsge_engine.charts.indicators import METHOD_LABELS, flux_bars, origin_donut
from ocsge_engine.charts.style import fr_ha, fr_number, fr_percent
from ocsge_engine.indicators import (
    CHECK_TOLERANCE_HA,
    NO_THRESHOLDS,
    FluxResult,
    IndicatorOptions,
    TerritoryIndicators,
    Thresholds,
    territory_indicators,
)
from ocsge_engine.indicators.decree import decree_matrix
from pages import _shared as shared
from pages._widgets import lazy_expander, show_fig

shared.ensure_frame()

THRESHOLD_PARAM = "seuils"
SPRAWL_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("new_patches", "Nouvelles taches artificialisées", "n",
     "Surfaces nouvellement artificialisées (après seuils), regroupées quand elles se touchent."),
    ("contiguous_share", "Part en continuité de l'existant", "%",
     "Surface des nouvelles taches touchant un espace déjà artificialisé / surface des nouvelles "
     "taches (1 = extension en continuité, 0 = tout est isolé)."),
    ("isolated_built_count", "Nouveaux bâtiments isolés (mitage)", "n",
     "Nouvelles taches bâties (CS1.1.1.1) à plus de 100 m de tout bâti existant."),
    ("isolated_built_ha", "Surface bâtie isolée", "ha", "Surface de ces bâtiments isolés."),
    ("mean_distance_to_core_m", "Distance moyenne au noyau urbain", "m",
     "Distance moyenne (pondérée par la surface) des nouvelles taches au noyau urbain principal "
     "(tache urbaine fermée à 50 m) du premier millésime."),
    ("built_density", "Densité bâtie", "%", "Surface bâtie / surface couverte du territoire."),
    ("built_share_of_artificial", "Part bâtie de l'artificialisé", "%",
     "Surface bâtie / surface artificialisée."),
    ("compactness_to", "Compacité du noyau urbain", "r",
     "Indice de Polsby-Popper 4πA/P² du noyau principal (1 = disque, proche de 0 = étalé)."),
    ("footprint_parts_to", "Morceaux de tache urbaine", "n",
     "Nombre de composantes de la tache urbaine (fragmentation)."),
)


@st.cache_resource(max_entries=64, show_spinner="Calcul des indicateurs d'artificialisation…")
def cached_indicators(territory_id: str, year_from: int, year_to: int, thresholds: bool,
                      stamp: tuple[int, ...] = ()) -> TerritoryIndicators:
    """All indicators of the pair (decree thresholds on or off), keyed on the catalogue stamp.

    A shared, read-only object (``cache_resource``): ``cache_data`` would pickle it with its
    flux geometries on the first visit (0.1-0.6 s) and unpickle it on every rerun. A resource
    is not dropped with the data caches (:func:`pages._shared.drop_stale_caches`): the stamp
    in its key keeps it fresh after an ingest.
    """
    options = IndicatorOptions(thresholds=Thresholds() if thresholds else NO_THRESHOLDS)
    return territory_indicators(shared.get_store(), shared.cached_territory(territory_id),
                                year_from, year_to, options)


@st.cache_data(max_entries=2)
def cached_matrix() -> pd.DataFrame:
    """The decree's CS×US matrix with labels (axis names capitalised for display)."""
    return decree_matrix().rename_axis(index="Couverture", columns="Usage")


def _value(value: object, unit: str) -> str:
    if value is None:
        return "—"
    return {"%": lambda v: fr_percent(v), "ha": fr_ha, "m": lambda v: f"{fr_number(v, 0)} m",
            "r": lambda v: fr_number(v, 2), "n": lambda v: fr_number(v, 0)}[unit](value)


def _fluxes(result: FluxResult, key: str) -> None:
    gain_label = "Artificialisation brute" if result.kind == "artif" else "Imperméabilisation brute"
    loss_label = "Désartificialisation" if result.kind == "artif" else "Désimperméabilisation"
    stock_label = "Stock artificialisé" if result.kind == "artif" else "Stock imperméable"
    net_label = ("Solde net d'artificialisation" if result.kind == "artif"
                 else "Solde net d'imperméabilisation")
    cols = st.columns(4)
    cols[0].metric(f"{stock_label} {result.year_to}", fr_ha(result.stock_to_ha),
                   help=f"{fr_ha(result.stock_from_ha)} en {result.year_from}")
    cols[1].metric(gain_label, fr_ha(result.gross_gain_ha))
    cols[2].metric(loss_label, fr_ha(result.gross_loss_ha))
    cols[3].metric(net_label, fr_ha(result.net_ha))
    stem = f"{key}_{result.year_from}-{result.year_to}"
    # full width, one under the other: long class labels and the download buttons keep room
    show_fig(flux_bars(result, "cs"), f"{stem}_flux_cs", result.by_cs, key=f"{key}_flux_cs")
    show_fig(flux_bars(result, "us"), f"{stem}_flux_us", result.by_us, key=f"{key}_flux_us")


def _method(result: FluxResult) -> None:
    st.markdown(f"**Méthode utilisée :** {METHOD_LABELS.get(result.method, result.method)}.")
    if result.method == "ign_artif":
        st.caption("Les couches ARTIFICIALISATION de l'IGN sont dans la base : les seuils du décret "
                   "y sont déjà appliqués par l'IGN (chiffre officiel).")
    elif result.thresholds is not None:
        patch = fr_number(result.thresholds.min_patch_m2, 0)
        built = fr_number(result.thresholds.min_built_m2, 0)
        st.caption(f"Seuils du décret n° 2023-1096, appliqués au stock de chaque millésime sur "
                   f"toute la couche départementale, avant tout découpage : une enclave non "
                   f"artificialisée de moins de {patch} m² dans l'artificialisé devient "
                   f"artificialisée ; un îlot artificialisé de moins de {patch} m² dans le non "
                   f"artificialisé redevient non artificialisé, sauf le bâti d'au moins {built} m². "
                   f"Le flux est la différence des deux stocks ainsi seuillés. Effet des seuils "
                   f"par rapport à la matrice seule : {fr_ha(result.raw_gain_ha)} → "
                   f"{fr_ha(result.gross_gain_ha)} d'artificialisation, "
                   f"{fr_ha(result.raw_loss_ha)} → {fr_ha(result.gross_loss_ha)} de "
                   "désartificialisation.")
    else:
        st.caption("Seuils du décret désactivés : chaque changement de statut compte, quelle que "
                   "soit sa surface.")
    message = (f"Contrôle : flux net {fr_ha(result.net_ha)}, variation du stock "
               f"{fr_ha(result.stock_change_ha)}, écart {fr_ha(result.check_delta_ha)}")
    if result.check_ok:
        st.success(message + f" (≤ {fr_number(CHECK_TOLERANCE_HA, 1)} ha).", icon="✅")
    else:
        st.warning(message + f" : plus de {fr_number(CHECK_TOLERANCE_HA, 1)} ha. Les deux "
                   "millésimes ne couvrent pas la même surface du territoire.", icon="⚠️")


def _sprawl(ind: TerritoryIndicators) -> pd.DataFrame:
    values = ind.sprawl.to_dict()
    return pd.DataFrame([{"Indicateur": label, "Valeur": _value(values[name], unit),
                          "Définition": definition}
                         for name, label, unit, definition in SPRAWL_ROWS])


def main() -> None:
    """Render the page."""
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    st.title(f"Artificialisation : {territory.name}" if territory else "Artificialisation")
    shared.synthetic_banner()
    pair = shared.years()
    if territory is None or pair is None:
        st.warning("Ce territoire n'a pas deux millésimes OCS GE dans la base.")
        return
    if "artif_thresholds" not in st.session_state:
        st.session_state["artif_thresholds"] = st.query_params.get(THRESHOLD_PARAM, "1") != "0"
    thresholds = st.toggle("Appliquer les seuils du décret (2 500 m² / 50 m² de bâti)",
                           key="artif_thresholds")
    st.query_params[THRESHOLD_PARAM] = "1" if thresholds else "0"
    ind = shared.run_safely(cached_indicators, territory.id, pair[0], pair[1], thresholds,
                            shared.catalog_stamp())
    if ind is None:
        return
    # One tab a section, built only when open (on_change="rerun"): the first view draws the
    # official figure's four charts, not the ten elements of the three sections.
    artif_tab, sprawl_tab, imper_tab = st.tabs(
        ["Artificialisation", "Étalement et mitage", "Imperméabilisation"], key="artif_section",
        on_change="rerun")
    if artif_tab.open:
        with artif_tab:
            _artificialisation(ind, pair)
    if sprawl_tab.open:
        with sprawl_tab:
            st.header(f"Étalement et mitage {pair[0]} → {pair[1]}")
            st.dataframe(_sprawl(ind), hide_index=True, key="artif_sprawl")
    if imper_tab.open:
        with imper_tab:
            st.header(f"Imperméabilisation {pair[0]} → {pair[1]}")
            st.caption("Surfaces imperméables : couverture CS1.1.1.1 (bâti) et CS1.1.1.2 (routes, "
                       "parkings…), sans seuil.")
            _fluxes(ind.imper, "imper")


def _artificialisation(ind: TerritoryIndicators, pair: tuple[int, int]) -> None:
    st.header(f"Artificialisation {pair[0]} → {pair[1]}")
    _fluxes(ind.artif, "artif")
    _method(ind.artif)
    show_fig(stock_by_code_bars(ind.artif, "cs"), f"stock_artif_cs_{pair[1]}",
             ind.artif.stock_by_cs.rename_axis("code").reset_index(), key="artif_stock_cs")
    origin = pd.DataFrame({"famille": list(ind.artif.origin),
                           "area_ha": list(ind.artif.origin.values())})
    show_fig(origin_donut(ind.artif), f"origine_artif_{pair[0]}-{pair[1]}", origin,
             key="artif_origin")
    box = lazy_expander("La matrice du décret : quels couples couverture × usage sont "
                        "artificialisés", key="artif_matrix_open")
    if box is not None:
        with box:
            st.caption("Décret n° 2023-1096 : un couple coché est artificialisé. Les familles "
                       "agricole / naturel / forestier de l'origine sont une estimation "
                       "d'équipe.")
            st.dataframe(cached_matrix(), key="artif_matrix")

main()
