"""Which Dask cluster a batch runs on: an existing one, or a LocalCluster sized to the machine.

* ``dask_client(client=c)``: use ``c`` as is (not closed afterwards);
* ``dask_client("tcp://host:8786")``: connect to a running scheduler (``dask scheduler`` /
  ``dask worker``, dask-jobqueue, dask-kubernetes: see docs/batch.md);
* ``dask_client()``: start a :class:`distributed.LocalCluster` of one single-threaded worker
  process per core (the geometry kernels release the GIL only in part, so processes scale better
  than threads), each with an equal share of the machine's memory; closed on exit. Its
  scheduler and dashboard listen on this machine only (``127.0.0.1``); set
  ``OCSGE_DASK_DASHBOARD`` (e.g. ``0.0.0.0:8787``) to expose the dashboard on purpose.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from ocsge_engine.errors import ClusterError

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 30
LOCAL_HOST = "127.0.0.1"
DASHBOARD_ENV = "OCSGE_DASK_DASHBOARD"


def local_cluster_size(n_workers: int | None = None) -> int:
    """Workers of a local cluster: ``n_workers``, else one per usable core.

    >>> local_cluster_size(3)
    3
    """
    if n_workers is not None:
        return max(1, int(n_workers))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores)


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, client: Any = None, *, n_workers: int | None = None,
                processes: bool = True, dashboard_address: str | None = "default"
                ) -> Iterator[Any]:
    """Yield a :class:`distributed.Client` (see the module docstring).

    Args:
        scheduler: scheduler address; ``None`` starts a local cluster.
        client: an existing client, yielded unchanged.
        n_workers: local workers (default one per core).
        processes: local workers are processes (``False``: threads of this process).
        dashboard_address: local dashboard address; ``"default"``: ``$OCSGE_DASK_DASHBOARD``,
            else ``127.0.0.1:0`` (a free port on this machine only); ``None``: no dashboard.

    Raises:
        ClusterError: the scheduler does not answer within ``CONNECT_TIMEOUT_S``.
    """
    from distributed import Client, LocalCluster

    if client is not None:
        yield client
        return
    if scheduler:
        try:
            remote = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except OSError as err:
            raise ClusterError(f"cannot reach the Dask scheduler {scheduler}: {err}",
                               f"Le scheduler Dask {scheduler} est injoignable.") from err
        logger.info("connected to %s (%d workers)", scheduler,
                    len(remote.scheduler_info().get("workers", {})))
        try:
            yield remote
        finally:
            remote.close()
        return
    size = local_cluster_size(n_workers)
    if dashboard_address == "default":
        dashboard_address = os.environ.get(DASHBOARD_ENV) or f"{LOCAL_HOST}:0"
    cluster = LocalCluster(n_workers=size, threads_per_worker=1, processes=processes,
                           host=LOCAL_HOST if processes else None,  # threads: in-process
                           dashboard_address=dashboard_address)
    local = Client(cluster)
    logger.info("local Dask cluster: %d workers, dashboard %s", size, local.dashboard_link)
    try:
        yield local
    finally:
        local.close()
        cluster.close()
