"""Process table: coverage of every couple pair, validation errors, edits, round-trip."""

from __future__ import annotations

import pandas as pd
import pytest

from ocsge_engine import nomenclature as nom
from ocsge_engine.flows.processes import (
    PAIR_COLUMNS,
    Condition,
    ProcessTableError,
    all_couple_pairs,
    assign_processes,
    coverage,
    default_process_table,
    default_table_path,
    read_process_table,
)


def test_every_couple_pair_gets_exactly_one_process():
    table = default_process_table()
    result = coverage(table)
    assignment = result["assignment"]
    n = len(nom.get_nomenclature("cs").leaves) * len(nom.get_nomenclature("us").leaves)
    assert n == 14 * 20
    assert len(assignment) == n * n == 78_400
    assert not assignment.duplicated(list(PAIR_COLUMNS)).any()   # no pair twice
    assert assignment["process"].notna().all()                    # no gap
    assert result["gaps"].empty
    assert set(assignment["process"]) == set(table.codes)          # every process reachable
    assert result["unused"].empty
    # v1.1 usage codes are part of the pairs
    for us in ("US235", "US6.6"):
        assert (assignment["code_us_from"] == us).sum() == n * 14
        assert (assignment["code_us_to"] == us).sum() == n * 14
    stable = assignment["code_cs_from"].eq(assignment["code_cs_to"]) & assignment[
        "code_us_from"].eq(assignment["code_us_to"])
    assert (assignment.loc[stable, "process"] == "stable").all()
    assert (assignment.loc[~stable, "process"] != "stable").all()


@pytest.mark.parametrize(("pair", "process"), [
    (("CS2.2.1", "US1.1", "CS1.1.1.1", "US5"), "etalement_residentiel"),
    (("CS2.2.1", "US1.1", "CS1.1.1.1", "US235"), "artificialisation_mixte"),
    (("CS2.1.1.1", "US1.2", "CS1.1.1.1", "US3"), "activites_economiques"),
    (("CS2.2.1", "US1.1", "CS1.1.1.2", "US4.1.2"), "infrastructures_transport"),
    (("CS2.2.1", "US1.1", "CS1.1.1.1", "US1.1"), "artificialisation_autre"),
    (("CS2.2.1", "US1.1", "CS1.1.2.1", "US1.3"), "carrieres"),
    (("CS1.1.1.1", "US2", "CS1.1.2.1", "US1.3"), "carrieres"),
    (("CS1.1.1.1", "US5", "CS2.1.1.1", "US1.2"), "renaturation"),
    (("CS2.2.1", "US5", "CS1.1.1.1", "US5"), "densification"),
    (("CS1.1.2.1", "US5", "CS1.1.1.2", "US4.1.1"), "densification"),
    (("CS1.1.1.1", "US5", "CS1.1.1.1", "US3"), "mutation_urbaine"),
    (("CS2.2.1", "US1.1", "CS2.1.1.1", "US1.2"), "deprise_agricole"),
    (("CS2.1.2", "US6.3", "CS2.1.1.2", "US1.2"), "boisement"),
    (("CS2.1.1.2", "US1.2", "CS2.1.2", "US6.3"), "deboisement"),
    (("CS2.1.1.2", "US1.2", "CS2.2.1", "US1.1"), "deboisement"),
    (("CS2.1.2", "US6.3", "CS2.2.1", "US1.1"), "mise_en_culture"),
    (("CS2.2.1", "US6.6", "CS2.2.1", "US1.1"), "mise_en_culture"),
    (("CS2.2.1", "US1.1", "CS2.1.3", "US1.1"), "autre_changement"),
])
def test_hand_checked_pairs(pair, process):
    frame = pd.DataFrame([pair], columns=list(PAIR_COLUMNS))
    assert assign_processes(frame).tolist() == [process]


def test_condition_prefixes_respect_the_hierarchy():
    values = pd.Series(["US2", "US235", "US4.1.1", "US4.10"], dtype=object).to_numpy()
    assert Condition.parse("US2").matches(values).tolist() == [True, False, False, False]
    assert Condition.parse("US4.1").matches(values).tolist() == [False, False, True, False]
    assert Condition.parse("!US2|US235").matches(values).tolist() == [False, False, True, True]


def test_round_trip_csv_bytes():
    table = default_process_table()
    again = read_process_table(table.to_csv().encode("utf-8"))
    pd.testing.assert_frame_equal(again.rules, table.rules)
    semicolon = table.rules.to_csv(index=False, sep=";").encode("utf-8")
    assert read_process_table(semicolon).codes == table.codes


def test_missing_catch_all_is_a_gap_error():
    rules = default_process_table().rules.iloc[:-1]
    with pytest.raises(ProcessTableError, match="unmatched") as err:
        read_process_table(rules)
    assert "ne classe pas" in err.value.user_message
    assert "ajoutez une règle" in err.value.user_message


@pytest.mark.parametrize(("data", "english", "french"), [
    (b"\xff\xfe\x00garbage", "cannot read", "illisible"),
    (b"code,label_fr\nx,y\n", "lacks columns", "colonnes"),
])
def test_bad_uploads(data, english, french):
    with pytest.raises(ProcessTableError, match=english) as err:
        read_process_table(data)
    assert french in err.value.user_message


def test_unknown_code_and_bad_change_are_reported_in_french():
    rules = default_process_table().rules.copy()
    rules.loc[3, "to_us"] = "US9"
    rules.loc[4, "change"] = "parfois"
    with pytest.raises(ProcessTableError) as err:
        read_process_table(rules)
    assert "ligne 4 : to_us « US9 » inconnu" in err.value.user_message
    assert "ligne 5 : change « parfois »" in err.value.user_message


def test_two_labels_for_one_code_rejected():
    rules = default_process_table().rules.copy()
    rules.loc[rules["code"] == "densification", "label_fr"] = ["A", "B"]
    with pytest.raises(ProcessTableError, match="several labels"):
        read_process_table(rules)


def test_editing_the_order_changes_the_assignment():
    rules = default_process_table().rules
    catch_all = rules[rules["code"] == "autre_changement"]
    edited = read_process_table(pd.concat([rules.iloc[:1], catch_all, rules.iloc[1:-1]]))
    pairs = all_couple_pairs().iloc[[1, 300, 5000]]
    assert set(assign_processes(pairs, edited)) == {"autre_changement"}


def test_default_file_is_the_documented_one():
    assert default_table_path().name == "processes.csv"
    assert default_process_table().codes[0] == "stable"


def test_coverage_from_the_product_structure_equals_the_pairwise_rules():
    """:func:`coverage` combines per-couple conditions; it must equal the rules applied pair by
    pair, for the default table and for one with negations, families and change conditions."""
    from ocsge_engine.flows.processes import ProcessTable, _all_pairs_hits, _rule_hits

    pairs = all_couple_pairs()
    default = default_process_table()
    assert (_all_pairs_hits(default) == _rule_hits(pairs, default)).all()
    rules = pd.DataFrame([
        {"code": "a", "label_fr": "A", "color_hex": "#000000", "change": "changed",
         "from_family": "!artificialise", "to_family": "artificialise", "from_cs": "*",
         "to_cs": "CS1.1", "from_us": "!US1.1|US1.2", "to_us": "*"},
        {"code": "b", "label_fr": "B", "color_hex": "#000000", "change": "stable",
         "from_family": "*", "to_family": "*", "from_cs": "CS2", "to_cs": "*",
         "from_us": "*", "to_us": "US6.6"},
        {"code": "c", "label_fr": "C", "color_hex": "#000000", "change": "*",
         "from_family": "agricole|forestier", "to_family": "*", "from_cs": "*", "to_cs": "!CS2.1",
         "from_us": "*", "to_us": "*"}])
    table = ProcessTable(rules)  # not validated: it leaves gaps on purpose
    fast, pairwise = _all_pairs_hits(table), _rule_hits(pairs, table)
    assert fast.shape == pairwise.shape == (3, 78_400)
    assert (fast == pairwise).all()
    assert 0 < fast.sum(axis=1).min() and fast.sum(axis=1).max() < 78_400  # each rule selective
    # a stable rule hits only the diagonal: pair i*n+i
    n = 280
    assert set(map(int, fast[1].nonzero()[0])) <= {i * n + i for i in range(n)}
    gaps = coverage(table)["gaps"]
    assert len(gaps) == int((~pairwise.any(axis=0)).sum()) > 0


def test_leaf_lookup_equals_the_rules_pair_by_pair():
    """Pairs of leaf couples are looked up in the table's precomputed winners; other codes (not
    leaves, unknown) are evaluated rule by rule: both give the first matching rule."""
    from ocsge_engine.flows.processes import _first_match, _first_match_by_rules

    table = default_process_table()
    pairs = pd.concat([
        all_couple_pairs().iloc[::97],
        pd.DataFrame({"code_cs_from": ["CS2.2", "CS1.1.1.1", "CS2", "CS1.1.1.1"],
                      "code_us_from": ["US1", "US5", "US5", "US5"],
                      "code_cs_to": ["CS1.1.1.1", "CS1.1.1.1", "CS2", "CS1.1.1.1"],
                      "code_us_to": ["US5", "US9", "US6", "US5"]})], ignore_index=True)
    fast, slow = _first_match(pairs, table), _first_match_by_rules(pairs, table)
    assert len(pairs) == 813 and (fast == slow).all()
    assert table.codes[fast[-1]] == "stable"  # CS1.1.1.1/US5 kept
    assert len(set(fast.tolist())) > 8  # many different rules win
    assert table.leaf_first_rule.shape == (78_400,)
