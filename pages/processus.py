"""Processus: flows grouped into named land-take processes, with an editable process table, the
changes to check (pseudo-change, turned into draft flags) and SDG 11.3.1.

Thin page: the engine classifies (:mod:`ocsge_engine.flows.processes`), flags suspect flows
(:mod:`ocsge_engine.indicators.pseudo_change`) and computes SDG 11.3.1
(:mod:`ocsge_engine.indicators.sdg`); charts come from :mod:`ocsge_engine.charts.processes`.
"""

from __future__ import annotations

import streamlit as st

from ocsge_engine.charts.processes import process_bars, process_sankey
from ocsge_engine.charts.style import fr_ha, fr_number
from ocsge_engine.charts.typology import (
    CLASS_LABELS,
    typology_bars,
    typology_map,
    typology_table,
)
from ocsge_engine.config import get_settings
from ocsge_engine.errors import OcsgeError
from ocsge_engine.flags import FlagStore
from ocsge_engine.flows.processes import (
    CHANGE_VALUES,
    TABLE_COLUMNS,
    ProcessTable,
    default_process_table,
    process_flows,
    process_totals,
    read_process_table,
)
from ocsge_engine.indicators.pseudo_change import (
    PseudoChange,
    area_to_check_by_process,
    default_rules,
    draft_flags,
    implausible_pieces,
    pseudo_change,
)
from ocsge_engine.indicators.sdg import Sdg1131, territory_sdg
from ocsge_engine.indicators.typology import Typology, territory_typology, typology_change
from pages import _shared as shared
from pages._widgets import MIME, lazy_expander, show_fig, show_table

shared.ensure_frame()

TABLE_STATE = "processus_table_csv"
EDITOR_BASE = "processus_editor_base"  # CSV the open editor started from
UPLOAD_SEEN = "processus_upload_seen"  # file id of the last upload applied
EDITOR_RESETS = "processus_editor_resets"
# the ``change`` codes of the process table (docs/processes.md), as the editor shows them
CHANGE_LABELS = {"stable": "inchangé (stable)", "changed": "changé (changed)", "*": "tout (*)"}
EDITOR_ORDER = ("label_fr", "code", "change", "from_family", "to_family", "from_cs", "to_cs",
                "from_us", "to_us", "color_hex")
EDITOR_LABELS = {"label_fr": "Libellé", "code": "Code", "change": "Changement",
                 "from_family": "Famille de départ", "to_family": "Famille d'arrivée",
                 "from_cs": "CS de départ", "to_cs": "CS d'arrivée", "from_us": "US de départ",
                 "to_us": "US d'arrivée", "color_hex": "Couleur"}


@st.cache_data(max_entries=64)
def process_table(csv_text: str) -> ProcessTable:
    """The validated process table of a CSV text (raises ProcessTableError)."""
    return read_process_table(csv_text.encode("utf-8"))


@st.cache_data(max_entries=32)
def suspect(territory_id: str, year_from: int, year_to: int) -> PseudoChange:
    """Pseudo-change of the pair (implausible transitions, DIFF/overlay disagreement)."""
    return pseudo_change(shared.cached_couple_matrix(territory_id, year_from, year_to))


@st.cache_data(max_entries=32, show_spinner="Calcul de l'ODD 11.3.1…")
def sdg(territory_id: str, year_from: int, year_to: int) -> Sdg1131:
    """SDG 11.3.1 of the territory."""
    return territory_sdg(shared.get_store(), shared.cached_territory(territory_id), year_from,
                         year_to)


@st.cache_data(max_entries=16, show_spinner="Calcul de la typologie du bâti…")
def typologies(territory_id: str, year_from: int, year_to: int) -> tuple[Typology, Typology]:
    """Sprawl typology of both millésimes (same grid: the territory's bounds)."""
    store, territory = shared.get_store(), shared.cached_territory(territory_id)
    return (territory_typology(store, territory, year_from),
            territory_typology(store, territory, year_to))


def _rules_in_force(csv_text: str, default_csv: str) -> ProcessTable:
    """The process table of ``csv_text`` (the default one without re-validating it)."""
    return default_process_table() if csv_text == default_csv else process_table(csv_text)


def _table_editor() -> ProcessTable:
    """The process table: editable, downloadable, reloadable; invalid edits fall back.

    The editor sits in a closed section, sent to the browser only once opened (a data editor
    and an uploader cost a page's first drawing). The table in force lives in the session
    (:data:`TABLE_STATE`): an upload or a valid edit is written there at once, so that it
    still applies once the section is closed. The editor shows its base table
    (:data:`EDITOR_BASE`, the table in force when the section was opened, or the last upload)
    plus the edits it holds; its key changes only with that base, so that no edit is lost
    between two runs.
    """
    default_csv = default_process_table().to_csv()
    current = st.session_state.get(TABLE_STATE, default_csv)
    box = lazy_expander("Règles de classement des processus (modifiables)",
                        key="processus_rules_open")
    if box is None:  # Streamlit drops the editor's edits: they are in TABLE_STATE already
        st.session_state.pop(EDITOR_BASE, None)
        return _rules_in_force(current, default_csv)
    with box:
        st.caption("Règles lues dans l'ordre : la première qui s'applique classe la transition. "
                   "« * » = tout, « a|b » = l'un ou l'autre, « !a » = tout sauf a ; un code vaut "
                   "aussi pour ses sous-codes. Détail : docs/processes.md.")
        uploaded = st.file_uploader("Recharger une table (CSV)", type=["csv"],
                                    key="processus_upload")
        if uploaded is not None:
            try:
                uploaded_csv = read_process_table(uploaded.getvalue()).to_csv()
                # applied once per file: later edits of it are not undone by the next run
                if st.session_state.get(UPLOAD_SEEN) != uploaded.file_id:
                    st.session_state[UPLOAD_SEEN] = uploaded.file_id
                    st.session_state[TABLE_STATE] = current = uploaded_csv
                    st.session_state[EDITOR_BASE] = uploaded_csv
            except OcsgeError as err:
                st.error(err.user_message)
        base = st.session_state.setdefault(EDITOR_BASE, current)
        resets = st.session_state.get(EDITOR_RESETS, 0)  # a reset drops the editor's edits
        rules = _rules_in_force(base, default_csv).rules
        edited = st.data_editor(rules[list(EDITOR_ORDER)], num_rows="dynamic", hide_index=True,
                                key=f"processus_editor_{hash(base)}_{resets}",
                                column_config={
                                    **EDITOR_LABELS,
                                    "label_fr": st.column_config.TextColumn("Libellé",
                                                                            width="large"),
                                    # the table's codes, shown in French
                                    "change": st.column_config.SelectboxColumn(
                                        "Changement", options=list(CHANGE_VALUES),
                                        format_func=CHANGE_LABELS.get, required=True)})
        edited_csv = edited[list(TABLE_COLUMNS)].to_csv(index=False)
        try:
            table = _rules_in_force(edited_csv, default_csv)
            if edited_csv != current:  # kept by the session, not by the editor alone
                st.session_state[TABLE_STATE] = edited_csv
        except OcsgeError as err:
            st.error(err.user_message + " La table précédente est conservée.")
            table = _rules_in_force(current, default_csv)
        cols = st.columns(3)
        cols[0].download_button("Télécharger la table (CSV)", data=table.to_csv(),
                                file_name="processus.csv", mime=MIME["csv"],
                                key="processus_download", on_click="ignore",
                                icon=":material/download:")
        if cols[1].button("Revenir à la table par défaut", key="processus_reset"):
            st.session_state.pop(TABLE_STATE, None)
            st.session_state.pop(EDITOR_BASE, None)
            st.session_state[EDITOR_RESETS] = resets + 1
            st.rerun()
    return table


def _drafts_section(territory_id: str, pair: tuple[int, int], result: PseudoChange) -> None:
    st.subheader("Changements à vérifier")
    st.caption("Flux probablement dus à la production des données plutôt qu'à un changement réel : "
               "transitions invraisemblables sur la période (règles par défaut) et désaccord "
               "entre la couche des différences IGN et le croisement des deux millésimes.")
    labels = default_rules().labels
    implausible = result.implausible.assign(regle=result.implausible["rule"].map(labels))
    if not result.has_diff:
        st.info("Pas de couche des différences IGN pour cette période : seul le contrôle des "
                "transitions invraisemblables s'applique.")
    if implausible.empty and result.disagreement.empty:
        st.success("Aucun changement à vérifier sur ce territoire.")
        return
    n_rules, n_disagree = len(implausible), len(result.disagreement)
    said = (f"{n_rules} transition{'s' * (n_rules > 1)} invraisemblable{'s' * (n_rules > 1)} "
            f"({fr_ha(float(implausible['area_ha'].sum()))})")
    if result.has_diff:  # without the IGN layer, the note above says there is no comparison
        said += (f", {n_disagree} désaccord{'s' * (n_disagree > 1)} entre les différences IGN "
                 "et le croisement")
    st.caption(said + ".")
    # the lists are a closed section, sent once opened: a table costs a page opened by a link
    # more than a chart (docs/benchmarks.md)
    box = lazy_expander("Liste des changements à vérifier", key="processus_suspect_open")
    if box is not None:
        with box:
            show_table(implausible, ["code_cs_from", "code_us_from", "code_cs_to", "code_us_to",
                                     "regle", "area_ha"], key="processus_suspect")
            if not result.disagreement.empty:
                show_table(result.disagreement,
                           {"code_from": "Code de départ", "code_to": "Code d'arrivée",
                            "area_ha": "Surface (différences IGN)",
                            "area_ha_other": "Surface (croisement)", "delta_ha": "Écart"},
                           key="processus_desaccord")
    if st.button("Préparer des brouillons de signalement", key="processus_drafts_build"):
        store, where = shared.get_store(), shared.cached_territory(territory_id)
        layers = [shared.run_safely(store.polygons, where, y, columns=["id", "code_cs", "code_us"])
                  for y in pair]
        if all(layer is not None for layer in layers):
            pieces = implausible_pieces(layers[0], layers[1], pair[1] - pair[0], min_area_m2=50.0)
            drafts = draft_flags(pieces, layers[1], territory_id, pair[1], labels)
            added = shared.run_safely(FlagStore(get_settings().store_dir).add_drafts, drafts)
            if added is not None:
                st.success(f"{len(added)} brouillon(s) de signalement enregistré(s)"
                           + (f" ({len(drafts) - len(added)} déjà connu(s))"
                              if len(added) < len(drafts) else "")
                           + " : validez-les ou rejetez-les sur la page Signaler ; seuls les "
                           "signalements validés sont exportés.")
    pending = shared.run_safely(lambda: FlagStore(get_settings().store_dir).drafts(territory_id))
    if pending is not None and len(pending):
        st.caption(f"{len(pending)} brouillon(s) en attente de validation pour ce territoire "
                   "(page Signaler).")


def _sdg_section(result: Sdg1131) -> None:
    st.subheader("Consommation d'espace et croissance démographique (inspiré de l'ODD 11.3.1)")
    cols = st.columns(4)
    cols[0].metric("Taux de consommation (LCR, /an)",
                   "—" if result.lcr is None else fr_number(100 * result.lcr, 2) + " %")
    cols[1].metric("Croissance démographique (PGR, /an)",
                   "—" if result.pgr is None else fr_number(100 * result.pgr, 2) + " %")
    cols[2].metric("Ratio LCR / PGR", "—" if result.ratio is None else fr_number(result.ratio, 2))
    pair = shared.years()
    figures = shared.figures(shared.territory_id(), *pair) if pair else None
    if figures is not None:  # the one definition, from the figures layer
        shared.metric(cols[3], figures["per_inhabitant.net_m2_per_new_inhabitant"],
                      label="m² artificialisés (nets) par nouvel habitant")
    years = result.population_years
    st.caption("Formules ONU-Habitat : LCR = ln(Urb(t+n)/Urb(t))/y, PGR = ln(Pop(t+n)/Pop(t))/y ; "
               "ici Urb = surface artificialisée OCS GE (mesure officielle du décret), et non "
               "l'emprise urbaine bâtie de l'ONU-Habitat : ce n'est donc pas l'indicateur ODD "
               "11.3.1 au sens strict. Population INSEE "
               + (f"{years[0]}–{years[1]}" if years else "indisponible")
               + (" (approximation : années différentes des millésimes)." if result.proxy else "."))


def _typology_section(territory_id: str, stem: str, pair: tuple[int, int]) -> None:
    st.subheader("Typologie du bâti (ONU-Habitat)")
    if not st.toggle("Calculer la typologie du bâti", value=False, key="processus_typologie"):
        st.caption("Bâti urbain, périurbain ou rural selon la part de bâti dans un voisinage "
                   "d'un km², espaces ouverts de frange et enclavés (docs/processes.md).")
        return
    result = shared.run_safely(typologies, territory_id, *pair)
    if result is None:
        return
    before, after = result
    areas = {pair[0]: before.areas(), pair[1]: after.areas()}
    show_fig(typology_map(after), f"typologie_carte_{stem}",
             typology_table({pair[1]: areas[pair[1]]}), key="processus_typologie_carte")
    show_fig(typology_bars(areas), f"typologie_barres_{stem}", typology_table(areas),
             key="processus_typologie_barres")
    change = typology_change(before, after)
    moved = change[change["code_from"] != change["code_to"]].reset_index(drop=True)
    moved = moved.assign(libelle_from=moved["code_from"].map(CLASS_LABELS),
                         libelle_to=moved["code_to"].map(CLASS_LABELS))
    st.caption(f"{fr_ha(float(moved['area_ha'].sum()))} ont changé de classe entre {pair[0]} et "
               f"{pair[1]} (pixels de {after.options.resolution_m:g} m, bâti = CS1.1.1.1).")
    show_table(moved, {"code_from": f"Classe {pair[0]}", "libelle_from": f"Libellé {pair[0]}",
                       "code_to": f"Classe {pair[1]}", "libelle_to": f"Libellé {pair[1]}",
                       "area_ha": "Surface"}, key="processus_typologie_changement")


def main() -> None:
    """Render the page."""
    territory = shared.run_safely(shared.cached_territory, shared.territory_id())
    st.title(f"Processus : {territory.name}" if territory else "Processus")
    shared.synthetic_banner()
    pair = shared.years()
    if territory is None or pair is None:
        st.warning("Ce territoire n'a pas deux millésimes OCS GE dans la base : pas de processus.")
        return
    charts = st.container()  # the page opens on the Sankey; the rules table comes under it
    table = _table_editor()
    matrix = shared.run_safely(shared.cached_couple_matrix, territory.id, *pair)
    if matrix is None:
        return
    flows = process_flows(matrix, table)
    totals = process_totals(matrix, table)
    result = suspect(territory.id, *pair)
    to_check = area_to_check_by_process(result, table)
    stem = f"processus_{territory.code}_{pair[0]}-{pair[1]}"
    with charts:
        show_fig(process_sankey(flows, table, year_from=pair[0], year_to=pair[1]),
                 f"sankey_{stem}", flows, key="processus_sankey")
        show_fig(process_bars(totals, to_check, table), f"barres_{stem}",
                 totals.assign(a_verifier_ha=[float(to_check.get(p, 0.0))
                                              for p in totals["process"]]),
                 key="processus_bars")
        changed = float(totals.loc[totals["process"] != "stable", "area_ha"].sum())
        st.caption(f"{fr_ha(changed)} ont changé entre {pair[0]} et {pair[1]}, dont "
                   f"{fr_ha(float(to_check.sum()))} à vérifier.")
    _drafts_section(territory.id, pair, result)
    sdg_result = shared.run_safely(sdg, territory.id, *pair)
    if sdg_result is not None:
        _sdg_section(sdg_result)
    _typology_section(territory.id, stem, pair)


main()
