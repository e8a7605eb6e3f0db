"""Hyperparameter search on a Dask cluster, through Dask's concurrent.futures executor.

``random_search``, ``grid_search`` and the stages of a coarse-to-fine search take any
``concurrent.futures.Executor``; ``dask_executor`` gives one whose trials run on the
workers of a Dask cluster (a local one, or a scheduler at an address). Trial i's
hyperparameters and seed depend on i alone, so the results equal a serial run's.

Dask treats submitted calls as pure by default: two calls of the same function with
equal arguments get one key, run once and share the result. A training trial is an
experiment, not a pure function (a repeat of the same point measures the noise), so the
executor submits with ``pure=False``: every call runs.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..checks import check_int


def _import_distributed():
    try:
        import distributed
    except ImportError as e:
        raise ImportError("dask_executor needs Dask's distributed scheduler: pip install "
                          "'tinygrad-lite[dask]' (dask and distributed)") from e
    return distributed


@contextmanager
def dask_executor(address: str = "local", n_workers: int = 2, threads_per_worker: int = 1,
                  timeout: float = 30.0) -> Iterator:
    """``with dask_executor("local") as ex: random_search(objective, space, 100, executor=ex)``.

    ``address="local"`` starts a cluster on this machine: ``n_workers`` worker processes of
    ``threads_per_worker`` threads (one thread each by default: a trial is single-threaded
    NumPy, and threads of one process would share its GIL), no dashboard; it is closed
    when the block ends. Any other ``address`` (``"tcp://host:8786"``) joins a running
    scheduler, whose workers need tinygrad_lite and the data the objective reads; the
    cluster is left running. ``timeout`` (seconds) bounds the connection. The objective
    must be picklable (a module-level function or a ``functools.partial`` of one).
    """
    if not isinstance(address, str) or not address:
        raise TypeError(f"dask_executor: address must be 'local' or a scheduler address such as "
                        f"'tcp://host:8786', got {address!r}")
    check_int("dask_executor", "n_workers", n_workers)
    check_int("dask_executor", "threads_per_worker", threads_per_worker)
    distributed = _import_distributed()
    cluster = None
    if address == "local":
        # no dashboard; the scheduler's small HTTP server (health, metrics) and its port on any
        # free port, so that a second local cluster never collides with the first
        cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                                           processes=True, dashboard_address=None, scheduler_port=0,
                                           scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"})
        client = distributed.Client(cluster, timeout=timeout)
    else:
        client = distributed.Client(address, timeout=timeout)
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


__all__ = ["dask_executor"]
