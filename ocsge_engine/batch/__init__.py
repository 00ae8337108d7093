"""National scale on Dask: every commune of every département, and batch prediction.

* :func:`run_flows` (``python -m ocsge_engine batch flows``): one Dask task per (département,
  millésime pair) computing every commune's exchange matrices and indicators with the engine's
  own functions, written as partitioned Parquet with a manifest (resumable, retried).
* :func:`national_results`, :func:`rankings`, :func:`commune_flows`: read those results without
  recomputing (dashboard).
* :func:`predict_batch` (``python -m ocsge_engine batch predict``): blocks of a large image set
  predicted across Dask workers, written as COG tiles and a VRT.

Running a cluster: docs/batch.md.
"""

from ocsge_engine.batch.cluster import ClusterError, dask_client, local_cluster_size
from ocsge_engine.batch.compute import BatchOptions, DepartementTables, departement_tables
from ocsge_engine.batch.flows import (
    BatchReport,
    PartitionOutcome,
    plan_partitions,
    run_flows,
    run_partition,
)
from ocsge_engine.batch.manifest import PartitionKey, partition_state
from ocsge_engine.batch.results import (
    RANKING_METRICS,
    commune_flows,
    national_results,
    national_status,
    rankings,
    write_views,
)

__all__ = [
    "RANKING_METRICS", "BatchOptions", "BatchReport", "ClusterError", "DepartementTables",
    "PartitionKey", "PartitionOutcome", "commune_flows", "dask_client", "departement_tables",
    "local_cluster_size", "national_results", "national_status", "partition_state",
    "plan_partitions", "rankings", "run_flows", "run_partition", "write_views",
]
