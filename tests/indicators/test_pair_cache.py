"""The pair cache: the same overlay is shared between calls, and a store write invalidates it."""

from __future__ import annotations

import shutil
from pathlib import Path

from ocsge_engine.indicators.pair import load_pair
from ocsge_engine.store import Store


def test_pair_is_shared_then_invalidated_by_a_write(demo_store_dir: Path, tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    shutil.copytree(demo_store_dir, store_dir)
    store = Store.open(store_dir)
    first = load_pair(store, "commune:33009", 2015, 2018)
    assert load_pair(Store.open(store_dir), "commune:33009", 2015, 2018) is first
    assert load_pair(store, "commune:33011", 2015, 2018) is not first
    # A write to the store (new catalogue) gives a fresh, equal overlay.
    layer = store.polygons(first.territory, 2018)
    layer = layer.assign(millesime=2018, departement="33")
    store.write_layer(layer.head(3), layer="occupation_sol", departement="99", millesime=2018,
                      source_file="test", source_sha256="0" * 64)
    again = load_pair(store, "commune:33009", 2015, 2018)
    assert again is not first
    assert again.matrix("anf").table.equals(first.matrix("anf").table)
