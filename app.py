"""OCS GE territory portraits: the Streamlit frame.

Owns the navigation, the shared sidebar (territory, millésimes) and the URL query parameters
(``?territoire=commune:33005&de=2015&a=2018``), so that any view can be shared as a link.
"""

from __future__ import annotations

import logging

import streamlit as st

from ocsge_engine.territories import is_web_territory_id, plain_text
from pages import _shared as shared
from pages import _warmup as warmup

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

st.set_page_config(page_title="Portraits de territoire OCS GE", page_icon="🗺️", layout="wide")
KIND_LABELS = {"commune": "commune", "epci": "EPCI", "departement": "département"}

HOME = st.Page("pages/portrait.py", title="Portrait", icon="🏠", url_path="accueil", default=True)


def _portrait_alias() -> None:
    """``/portrait?…`` (a shared deep link) opens the home page with its query parameters.

    The default page is served at the app root and Streamlit ignores its ``url_path``: without
    this hidden page, ``/portrait`` would show an English « Page not found ».
    """
    st.switch_page(HOME, query_params=dict(st.query_params))


PAGES = {
    "Territoire": [
        HOME,
        st.Page(_portrait_alias, title="Portrait", url_path="portrait", visibility="hidden"),
        st.Page("pages/contour.py", title="Contour personnalisé", icon="✏️", url_path="contour"),
    ],
    "Analyser": [
        st.Page("pages/flux.py", title="Flux", icon="🔀", url_path="flux"),
        st.Page("pages/cartes.py", title="Cartes", icon="🗺️", url_path="cartes"),
        st.Page("pages/artificialisation.py", title="Artificialisation", icon="🏗️",
                url_path="artificialisation"),
        st.Page("pages/vegetation.py", title="Végétation", icon="🌳", url_path="vegetation"),
        st.Page("pages/processus.py", title="Processus", icon="🧭", url_path="processus"),
        st.Page("pages/comparer.py", title="Comparer", icon="⚖️", url_path="comparer"),
        st.Page("pages/croiser.py", title="Croiser", icon="📈", url_path="croiser"),
        st.Page("pages/trajectoire.py", title="Trajectoire", icon="🎯", url_path="trajectoire"),
        st.Page("pages/zonage.py", title="Zonage", icon="🏘️", url_path="zonage"),
        st.Page("pages/classements.py", title="Classements", icon="🏆", url_path="classements"),
    ],
    "Contribuer": [
        st.Page("pages/signaler.py", title="Signaler", icon="🚩", url_path="signaler"),
        st.Page("pages/predire.py", title="Prédire", icon="🛰️", url_path="predire"),
    ],
    "Exporter": [
        st.Page("pages/exports.py", title="Exports", icon="📦", url_path="exports"),
    ],
}


def _sync_from_query() -> None:
    """Read the territory and millésimes from the URL once per session."""
    if st.session_state.get("_query_loaded"):
        return
    params = st.query_params
    if "territoire" in params:
        if is_web_territory_id(params["territoire"]):
            st.session_state["territory_id"] = params["territoire"]
        else:  # polygon:FILE would read a server file: never from a URL
            logging.getLogger("ocsge_app").warning("refused territory id from the URL")
            st.session_state["territory_error"] = (
                "Un contour ne peut pas être désigné par un chemin de fichier dans l'adresse : "
                "importez-le ou dessinez-le sur la page « Contour personnalisé ».")
    if "de" in params and "a" in params:
        try:
            st.session_state["years"] = (int(params["de"]), int(params["a"]))
        except ValueError:
            logging.getLogger("ocsge_app").warning("bad years in query: %s", dict(params))
    st.session_state["_query_loaded"] = True


# Streamlit's own English hints, replaced by French labels: "Press Enter to apply" under text
# inputs, and the uploader's "Drag and drop file here / Limit 200MB per file" (each uploader's
# French label states its real limit) and "Browse files" button; the territory picker's clear
# button (English label, and a territory cannot be « none »: see _territory_picker).
FRENCH_CHROME_CSS = """<style>
[data-testid="InputInstructions"] {display: none;}
[data-testid="stFileUploaderDropzoneInstructions"] {display: none;}
[data-testid="stFileUploaderDropzone"] button[data-testid="stBaseButton-secondary"] > * {
  display: none;}
[data-testid="stFileUploaderDropzone"] button[data-testid="stBaseButton-secondary"]::after {
  content: "Choisir un fichier";}
.st-key-territory_pick [aria-label="Clear value"] {display: none;}
</style>"""


# Streamlit's index.html declares <html lang="en">: screen readers would read the French pages
# with English rules and browsers offer to translate them « from English ». A constant script
# (no outside input) declares French; it runs on every page, at the foot of the sidebar.
FRENCH_LANG_JS = "<script>document.documentElement.lang = 'fr';</script>"


def _pick_territory() -> None:
    """One action: the territory chosen in the sidebar's searchable list becomes current."""
    chosen = st.session_state.get("territory_pick")
    if not chosen:  # the browser sent the picker back empty: not a choice (see _territory_picker)
        logging.getLogger("ocsge_app").info("territory picker sent back empty: territory kept")
    elif chosen != shared.territory_id():
        st.session_state["territory_id"] = chosen
        st.session_state.pop("years", None)


def _territory_picker() -> None:
    """Searchable list (name or INSEE code) of the territories with data: one click to switch."""
    options = shared.cached_territory_options()
    current = shared.territory_id()
    if current not in options:  # a custom contour or a territory outside the list
        territory = shared.run_safely(shared.cached_territory, current)
        options = {current: territory.name if territory else current, **options}
    if st.session_state.get("territory_pick") != current:
        st.session_state["territory_pick"] = current
    # index=None: the picker has no default option. When the browser loses the widget's state
    # (a remount under load) it sends the default back: with a default, that was the first
    # commune of the list (Abeilhan) and the territory switched; with none it sends no value,
    # which _pick_territory ignores, and the run it starts puts the current territory back.
    st.selectbox("Territoire", list(options), format_func=options.get, key="territory_pick",
                 index=None, on_change=_pick_territory, placeholder="Nom ou code INSEE…",
                 help="Tapez un nom ou un code INSEE pour filtrer la liste.")


def _sidebar() -> None:
    """Territory choice and millésime choice; both written back to the URL."""
    with st.sidebar:
        _territory_picker()
        with st.expander("Autre territoire (toute la France)"):
            query = st.text_input("Rechercher une commune, un EPCI, un département",
                                  key="territory_query", placeholder="ex. lege cap ferret, 33236")
            if query:
                results = shared.cached_search(query)
                if results.empty:
                    st.warning("Aucun territoire ne correspond à cette recherche.")
                else:
                    labels = {row.id: f"{row.name} ({KIND_LABELS.get(row.kind, row.kind)} "
                                      f"{row.code})" for row in results.itertuples()}
                    chosen = st.selectbox("Résultats", list(labels), format_func=labels.get,
                                          key="territory_choice")
                    if st.button("Choisir ce territoire", key="territory_apply"):
                        st.session_state["territory_id"] = chosen
                        st.session_state.pop("years", None)
        st.page_link("pages/contour.py", label="Importer ou dessiner un contour", icon="✏️")
        if st.session_state.get("territory_error"):
            st.error(st.session_state.pop("territory_error"))
        territory = shared.run_safely(shared.cached_territory, shared.territory_id())
        if territory is None:
            st.session_state["territory_id"] = shared.DEFAULT_TERRITORY
            territory = shared.cached_territory(shared.DEFAULT_TERRITORY)
        st.markdown(f"**{plain_text(territory.name)}** · `{territory.id}`")
        years = shared.run_safely(shared.cached_millesimes, territory.id) or []
        if len(years) >= 2:
            current = shared.years() or (years[0], years[-1])
            y_from = st.selectbox("Millésime de départ", years[:-1],
                                  index=years[:-1].index(current[0]) if current[0] in years[:-1] else 0)
            later = [y for y in years if y > y_from]
            y_to = st.selectbox("Millésime d'arrivée", later,
                                index=later.index(current[1]) if current[1] in later else len(later) - 1)
            st.session_state["years"] = (y_from, y_to)
        else:
            st.session_state.pop("years", None)
            st.caption("Moins de deux millésimes disponibles pour ce territoire.")
    st.query_params["territoire"] = shared.territory_id()
    pair = shared.years()
    if pair:
        st.query_params["de"], st.query_params["a"] = str(pair[0]), str(pair[1])


shared.drop_stale_caches()
_sync_from_query()
st.html(FRENCH_CHROME_CSS)
# expanded: every page stays listed (Streamlit folds long lists behind « View more »).
navigation = st.navigation(PAGES, expanded=True)
_sidebar()
with st.sidebar:
    st.html(FRENCH_LANG_JS, unsafe_allow_javascript=True)
shared.coverage_guard(navigation.url_path or "portrait")
try:
    navigation.run()
finally:  # once per server process, after its first page (OCSGE_WARMUP=0: off)
    warmup.start()
