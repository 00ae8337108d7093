"""Per-commune figures served from the national results: identical to computing, and only when fresh."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from ocsge_engine.batch import figures as F
from ocsge_engine.batch.manifest import PartitionKey, table_path
from ocsge_engine.indicators import NO_THRESHOLDS, comparison_table, compare
from ocsge_engine.indicators.local_data import communes_indicators
from ocsge_engine.store import Store
from ocsge_engine.store.parquet import partition_path

# Arcachon, Lège-Cap-Ferret, Andernos, Le Teich; Bordeaux is outside the demo's extent
CODES = ["33009", "33236", "33005", "33527", "33063"]


def _no_compute(*args: object, **kwargs: object) -> None:
    raise AssertionError("computed although the national results are fresh")


def test_fresh_partition_serves_identical_commune_indicators(national_store_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    store = Store.open(national_store_dir)
    fresh = F.partition_freshness(store)
    assert fresh[["departement", "pair", "state"]].values.tolist() == [["33", "2015_2018", "ok"]]
    computed = communes_indicators(store, 2015, 2018, codes=CODES)
    assert computed["code"].tolist() == ["33005", "33009", "33236", "33527"]  # Bordeaux: not covered
    with monkeypatch.context() as patch:
        patch.setattr(F, "commune_row", _no_compute)  # proves the rows are read, not computed
        served = F.communes_indicators(store, 2015, 2018, codes=CODES)
    pd.testing.assert_frame_equal(served, computed, check_exact=True)
    assert served.set_index("code").loc["33009", "population"] == 11092


def test_comparison_table_identical_with_similar_population(national_store_dir: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(national_store_dir)
    peers = ["33236", "33063"]  # a demo commune and Bordeaux (unavailable row)
    computed = comparison_table(store, "commune:33009", 2015, 2018, peers=peers, n=3)
    with monkeypatch.context() as patch:
        patch.setattr(F, "commune_row", _no_compute)
        patch.setattr(compare, "commune_covered", _no_compute)
        served = F.comparison_table(store, "commune:33009", 2015, 2018, peers=peers, n=3)
    pd.testing.assert_frame_equal(served, computed, check_exact=True)
    assert served["role"].tolist()[:3] == ["territoire", "voisine", "voisine"]
    assert (served["role"] == "population").sum() == 3
    bordeaux = served.set_index("code").loc["33063"]
    assert not bordeaux["available"] and bordeaux["name"] == "Bordeaux" and pd.isna(bordeaux["net_ha"])


def test_other_thresholds_and_damaged_results_fall_back_to_computing(
        national_store_dir: Path, tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    shutil.copytree(national_store_dir, store_dir)
    store = Store.open(store_dir)
    assert F.partition_freshness(store, NO_THRESHOLDS)["state"].tolist() == ["stale"]
    assert not F.national_rows(store, 2015, 2018, NO_THRESHOLDS).departements
    key = PartitionKey("33", 2015, 2018)
    target = table_path(store_dir, "indicators", key)
    target.write_bytes(target.read_bytes()[:-10])  # truncated output
    assert F.partition_freshness(store)["state"].tolist() == ["corrupt"]
    computed = communes_indicators(store, 2015, 2018, codes=["33009"])
    pd.testing.assert_frame_equal(F.communes_indicators(store, 2015, 2018, codes=["33009"]),
                                  computed, check_exact=True)
    layer = partition_path(store_dir, "occupation_sol", "33", "2018")
    frame = pd.read_parquet(layer)
    frame.to_parquet(layer, compression="gzip")  # same rows, other bytes: the inputs changed
    fresh = F.partition_freshness(store)
    assert fresh["state"].tolist() == ["stale"] and "occupation_sol/2018" in fresh["reason"].iloc[0]
