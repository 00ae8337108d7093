"""Processus page, the process table: its editor is sent only once its section is opened, and the
table in force (an earlier edit or upload, kept by the session) applies whether the section is
open or closed; « Revenir à la table par défaut » brings the default table back.

The editing itself (a cell typed in the grid) is a browser test: tests/browser/test_processes.py.
"""

from __future__ import annotations

import json

from ocsge_engine.flows.processes import default_process_table
from tests.app.conftest import interactive

LA_TESTE = {"territoire": "commune:33529", "de": "2015", "a": "2018"}  # étalement résidentiel
DEFAULT_LABEL = "Étalement résidentiel"  # label_fr of etalement_residentiel, default table
NEW_LABEL = "Lotissements neufs"
TABLE_STATE = "processus_table_csv"  # pages/processus.py: the table in force


def _sankey_labels(at) -> list[str]:  # type: ignore[no-untyped-def]
    sankey = json.loads(interactive(at).get("plotly_chart")[0].proto.spec)["data"][0]
    assert sankey["type"] == "sankey"
    return list(sankey["node"]["label"])


def _editor_tables(at) -> list:  # type: ignore[no-untyped-def]
    return [d.value for d in at.dataframe if "label_fr" in d.value.columns]


def test_rules_apply_with_the_section_closed_and_reset_restores_the_default(open_app) -> None:
    at = open_app("pages/processus.py", **LA_TESTE)
    assert not _editor_tables(at) and not at.get("file_uploader")  # closed: nothing sent
    assert any(label.startswith(DEFAULT_LABEL) for label in _sankey_labels(at))

    # an earlier edit, as the page keeps it once the edit is valid: the default table with the
    # label of étalement résidentiel changed (the label appears once in the CSV)
    default_csv = default_process_table().to_csv()
    assert default_csv.count(DEFAULT_LABEL) == 1
    at.session_state[TABLE_STATE] = default_csv.replace(DEFAULT_LABEL, NEW_LABEL)
    at.run()
    labels = _sankey_labels(at)
    assert any(label.startswith(NEW_LABEL) for label in labels), labels
    assert not any(label.startswith(DEFAULT_LABEL) for label in labels), labels
    assert not _editor_tables(at)

    at.session_state["processus_rules_open"] = True  # what a click on the section does
    at.run()
    assert not at.exception and not at.error
    (editor,) = _editor_tables(at)
    assert NEW_LABEL in editor["label_fr"].tolist()  # the editor starts from the table in force
    # the « change » codes stay codes in the table (its CSV), shown in French by the editor
    assert set(editor["change"]) <= {"stable", "changed", "*"}
    change = json.loads(at.dataframe[0].proto.columns)["change"]
    assert change["type_config"]["options"] == [
        {"value": "stable", "label": "inchangé (stable)"},
        {"value": "changed", "label": "changé (changed)"}, {"value": "*", "label": "tout (*)"}]
    assert DEFAULT_LABEL not in editor["label_fr"].tolist()
    assert any(label.startswith(NEW_LABEL) for label in _sankey_labels(at))

    at.button(key="processus_reset").click().run()
    assert TABLE_STATE not in at.session_state
    (editor,) = _editor_tables(at)
    assert DEFAULT_LABEL in editor["label_fr"].tolist()
    assert any(label.startswith(DEFAULT_LABEL) for label in _sankey_labels(at))

    at.session_state["processus_rules_open"] = False
    at.run()
    assert not _editor_tables(at)
    assert any(label.startswith(DEFAULT_LABEL) for label in _sankey_labels(at))
