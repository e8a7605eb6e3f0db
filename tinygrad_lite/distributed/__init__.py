"""Beyond one machine: data-parallel training over MPI, hyperparameter search on Dask.

    # mpiexec -n 2 python train.py
    from tinygrad_lite.distributed import DataParallel
    dp = DataParallel(sync_batchnorm=False)           # joins the MPI job: dp.rank, dp.size
    history = fit(model, loss_fn, optimizer, (x, y), batch_size=64, val=(xv, yv), distributed=dp)

Each rank trains on its own shard (``ShardedLoader``: batch 64 per rank, so 2 ranks take
the step of one process with batch 128); gradients are averaged in one packed allreduce
per step; metrics are averaged over the ranks; rank 0 alone prints and writes files.
A rank that dies or hangs stops the others with ``DistributedError`` after ``timeout``.

    from tinygrad_lite.distributed import dask_executor
    with dask_executor("local") as ex:                # or "tcp://scheduler:8786"
        result = random_search(objective, space, 100, executor=ex)

Needs the extras: ``pip install 'tinygrad-lite[mpi]'`` (mpi4py, mpich) and ``[dask]``;
both are imported on first use.
"""
from ..data.sharded import ShardedLoader
from .comm import DEFAULT_TIMEOUT, Communicator, DistributedError, import_mpi, init
from .dask_cluster import dask_executor
from .parallel import DataParallel
from .syncbn import SyncBatchNorm1d, SyncBatchNorm2d, convert_sync_batchnorm

__all__ = [
    "DEFAULT_TIMEOUT", "Communicator", "DataParallel", "DistributedError", "ShardedLoader",
    "SyncBatchNorm1d", "SyncBatchNorm2d", "convert_sync_batchnorm", "dask_executor", "import_mpi", "init",
]
