"""National batch on a 2-worker LocalCluster: identity with the single-process engine, resume,
a killed worker, corrupt inputs and outputs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cloudpickle
import pandas as pd
import pytest

from ocsge_engine.batch import (
    BatchOptions,
    PartitionKey,
    national_results,
    national_status,
    rankings,
    run_flows,
)
from ocsge_engine.batch.manifest import manifest_path, table_path
from ocsge_engine.flows import exchange_matrix
from ocsge_engine.indicators import territory_indicators
from ocsge_engine.store import Store

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # hooks below run on the workers

LEVELS = ("anf", "artif", "imper", "cs4", "us3", "cs_us")
PAIR = "2016_2019"


def _assert_same_flows(store_dir: Path, communes: list[str], year_from: int, year_to: int) -> None:
    """Every row of every level equals exchange_matrix(store, commune) (exact floats, same order)."""
    store = Store.open(store_dir)
    flows = national_results(store_dir, "flows", pair=f"{year_from}_{year_to}")
    stocks = national_results(store_dir, "stocks", pair=f"{year_from}_{year_to}")
    for code in communes:
        for by in LEVELS:
            expected = exchange_matrix(store, f"commune:{code}", year_from, year_to, by=by)
            got = flows[(flows["commune"] == code) & (flows["by"] == by)]
            got = got[["code_from", "code_to", "area_ha"]].reset_index(drop=True)
            pd.testing.assert_frame_equal(got, expected.table, check_exact=True,
                                          check_dtype=False)
            st = stocks[(stocks["commune"] == code) & (stocks["by"] == by)].set_index("code")
            assert st["stock_from_ha"].reindex(expected.stocks_from.index).tolist() == \
                expected.stocks_from.tolist()


def _files(store_dir: Path, key: PartitionKey) -> dict[str, tuple[int, int, bytes]]:
    paths = [table_path(store_dir, t, key) for t in ("flows", "stocks", "indicators")]
    paths.append(manifest_path(store_dir, key))
    return {p.name + str(p.parent): (p.stat().st_mtime_ns, p.stat().st_size, p.read_bytes())
            for p in paths}


def test_demo_batch_equals_single_process_engine(client: object, demo_store_dir: Path,
                                                 tmp_path: Path) -> None:
    import shutil

    store_dir = tmp_path / "demo"
    shutil.copytree(demo_store_dir, store_dir)
    communes = ("33009", "33229", "33422")  # Arcachon, Lanton, Saint-Jean-d'Illac (a sliver)
    report = run_flows(store_dir, ["33"], client=client,
                       options=BatchOptions(sprawl=False, communes=communes))
    assert report.ok and [o.status for o in report.outcomes] == ["done"]
    assert report.outcomes[0].n_polygons == 2 * 33_179  # the département read whole, once each
    ind = national_results(store_dir, pair="2015_2018")
    assert ind["commune"].tolist() == list(communes)
    assert ind.set_index("commune").loc["33009", "coverage_share"] == pytest.approx(1.0)
    assert ind.set_index("commune").loc["33422", "coverage_share"] < 0.001
    _assert_same_flows(store_dir, ["33009", "33229", "33422"], 2015, 2018)
    single = territory_indicators(Store.open(store_dir), "commune:33229", 2015, 2018)
    row = ind.set_index("commune").loc["33229"]
    assert row["artif_net_ha"] == single.artif.net_ha
    assert row["artif_gross_gain_ha"] == single.artif.gross_gain_ha
    assert row["imper_net_ha"] == single.imper.net_ha
    assert row["net_m2_per_new_inhabitant"] == single.per_inhabitant.net_m2_per_new_inhabitant
    assert (store_dir / "national" / "national.duckdb").is_file()


def test_two_departements_equal_engine_and_resume_skips(client: object,
                                                        synthetic_store: Path) -> None:
    first = run_flows(synthetic_store, ["32"], client=client)  # "interrupted" after one partition
    assert [(o.key.departement, o.status) for o in first.outcomes] == [("32", "done")]
    before = _files(synthetic_store, PartitionKey("32", 2016, 2019))
    second = run_flows(synthetic_store, None, client=client)
    assert [(o.key.departement, o.status) for o in second.outcomes] == [("32", "skipped"),
                                                                        ("33", "done")]
    assert _files(synthetic_store, PartitionKey("32", 2016, 2019)) == before  # not rewritten
    ind = national_results(synthetic_store)
    assert sorted(set(ind["departement"])) == ["32", "33"]
    assert ind["error"].isna().all()
    communes = ind["commune"].tolist()
    assert len(communes) >= 4
    _assert_same_flows(synthetic_store, communes, 2016, 2019)
    store = Store.open(synthetic_store)
    for code in communes[:2]:
        single = territory_indicators(store, f"commune:{code}", 2016, 2019)
        row = ind.set_index("commune").loc[code]
        assert row["artif_net_ha"] == single.artif.net_ha
        assert row["sprawl_isolated_built_ha"] == single.sprawl.isolated_built_ha
        assert row["artif_stock_to_ha"] == single.artif.stock_to_ha
    ranked = rankings(synthetic_store, "artif_net_ha", min_coverage=0.0, n=3)
    assert ranked["value"].tolist() == sorted(ind["artif_net_ha"], reverse=True)[:3]


class _KillOnce:
    """Kill the worker process running the département-33 task, the first time only."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __call__(self, key: PartitionKey) -> None:
        if key.departement == "33" and not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os._exit(1)  # the worker dies mid-run, as with an OOM kill


def test_killed_worker_loses_nothing(client: object, synthetic_store: Path,
                                     tmp_path: Path) -> None:
    marker = tmp_path / "killed"
    report = run_flows(synthetic_store, None, client=client, on_start=_KillOnce(marker))
    assert marker.exists()  # a worker was really killed
    assert report.ok
    assert {o.key.departement: o.status for o in report.outcomes} == {"32": "done", "33": "done"}
    again = run_flows(synthetic_store, None, client=client)
    assert {o.status for o in again.outcomes} == {"skipped"}
    _assert_same_flows(synthetic_store, national_results(synthetic_store)["commune"].tolist(),
                       2016, 2019)


def test_corrupt_output_reported_skipped_then_recomputed(client: object,
                                                         synthetic_store: Path) -> None:
    run_flows(synthetic_store, None, client=client, options=BatchOptions(sprawl=False))
    flows_33 = table_path(synthetic_store, "flows", PartitionKey("33", 2016, 2019))
    flows_33.write_bytes(flows_33.read_bytes()[:100])  # truncated by a crash of the disk
    status = national_status(synthetic_store).set_index("departement")
    assert not status.loc["33", "ok"] and "bytes" in status.loc["33", "reason"]
    assert bool(status.loc["32", "ok"])
    flows = national_results(synthetic_store, "flows")
    assert set(flows["departement"]) == {"32"}  # the corrupt partition is skipped, not fatal
    report = run_flows(synthetic_store, None, client=client, options=BatchOptions(sprawl=False))
    outcome = {o.key.departement: o for o in report.outcomes}
    assert outcome["32"].status == "skipped"
    assert outcome["33"].status == "done" and outcome["33"].reason.startswith("corrupt")
    assert set(national_results(synthetic_store, "flows")["departement"]) == {"32", "33"}


def test_corrupt_input_fails_one_departement_only(client: object, synthetic_store: Path) -> None:
    bad = synthetic_store / "layers/occupation_sol/departement=33/millesime=2019/data.parquet"
    bad.write_bytes(b"PAR1 not a parquet file")
    report = run_flows(synthetic_store, None, client=client, retries=0,
                       options=BatchOptions(sprawl=False))
    outcome = {o.key.departement: o for o in report.outcomes}
    assert outcome["32"].status == "done"
    assert outcome["33"].status == "failed" and outcome["33"].reason
    assert not report.ok and "1 failed" in report.summary()
    assert set(national_results(synthetic_store)["departement"]) == {"32"}


def test_changed_input_makes_partition_stale(client: object, synthetic_store: Path) -> None:
    options = BatchOptions(sprawl=False, levels=("anf",))
    run_flows(synthetic_store, ["32"], client=client, options=options)
    store = Store.open(synthetic_store)
    layer = store.polygons(_Everything(), 2019, clip=False)
    layer.loc[0, "code_cs"] = "CS1.1.1.1" if layer.loc[0, "code_cs"] != "CS1.1.1.1" else "CS2.2.1"
    store.write_layer(layer.assign(millesime=2019, departement="32"), layer="occupation_sol",
                      departement="32", millesime=2019, source_file="edited",
                      source_sha256="edited", synthetic=True)
    report = run_flows(synthetic_store, ["32"], client=client, options=options)
    assert report.outcomes[0].status == "done"
    assert "inputs changed: occupation_sol/2019" in report.outcomes[0].reason
    _assert_same_flows_anf(synthetic_store)


def _assert_same_flows_anf(store_dir: Path) -> None:
    store = Store.open(store_dir)
    flows = national_results(store_dir, "flows", by="anf")
    for code in sorted(set(flows["commune"])):
        got = flows[flows["commune"] == code][["code_from", "code_to", "area_ha"]]
        expected = exchange_matrix(store, f"commune:{code}", 2016, 2019, by="anf").table
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_exact=True,
                                      check_dtype=False)


class _Everything:
    """A territory covering all of département 32 (reads the partition whole)."""

    departements = ("32",)

    @property
    def geometry(self) -> object:
        import shapely

        return shapely.box(0, 0, 2e6, 8e6)
