"""The ranks of an MPI job and the few collectives data-parallel training needs.

MPI (through mpi4py) is the engine ChainerMN and Horovod build on; this module adds only
what makes it safe to use from a training loop:

- every collective waits at most ``timeout`` seconds: a rank that died, hung or left the
  loop early gives the others a ``DistributedError`` naming the operation, never a hang
  (a plain blocking MPI call would wait forever for a missing peer);
- after such an error the job is aborted at exit (``MPI_Abort``), because MPI cannot
  finalize with a collective left half done, and an uncaught exception on one rank aborts
  every rank at once instead of leaving them waiting (mpi4py's ``python -m mpi4py`` does
  the same);
- CuPy arrays are reduced through NCCL (``cupy.cuda.nccl``) when it is there, else
  handed to a CUDA-aware MPI, else staged through host memory.

mpi4py is imported on first use, with an actionable error when it is missing.
"""
from __future__ import annotations

import atexit
import os
import pickle
import sys
import time

import numpy as np

from .. import backend
from ..checks import check_choice, check_real

DEFAULT_TIMEOUT = 300.0  # seconds; a step, an evaluation or a checkpoint write must fit in it
ABORT_GRACE_S = 0.5  # for mpiexec to forward the aborting rank's last output
GPU_PATHS = ("auto", "nccl", "cuda-aware", "host")
# A collective progresses only while its ranks poll it (MPI_Test): a pause between polls delays
# every round of its algorithm, and sleeping 0.2 ms between polls made an 80,000-float
# allreduce take 1.6 ms instead of 0.09 ms. So ranks poll without pause for _SPIN seconds
# (MPI's own blocking calls spin too), yielding the core at each poll to any process that
# waits for it (with more processes than cores, the rank being waited for may be one), then
# nap _NAP seconds between polls.
_SPIN, _NAP = 0.05, 1e-3


class DistributedError(RuntimeError):
    """A collective failed or timed out: another rank died, hung or took another path."""


def import_mpi():
    """mpi4py's ``MPI`` module (initialising MPI), or an ImportError that says how to get it."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(
            "tinygrad_lite.distributed needs mpi4py and an MPI library: pip install 'tinygrad-lite[mpi]' "
            "(mpi4py and the mpich wheel; no system package needed), then launch with "
            "`mpiexec -n 2 python your_script.py`") from e
    return MPI


class Communicator:
    """The ranks of one MPI job: ``rank``, ``size``, ``is_root`` and bounded collectives.

    ``comm`` is an mpi4py communicator (default ``MPI.COMM_WORLD``). ``timeout`` (seconds,
    None for no limit) bounds every collective. ``gpu`` picks the path for CuPy arrays:
    "nccl", "cuda-aware" (the MPI reads device memory itself), "host" (copy to the host,
    reduce, copy back) or "auto" (NCCL if CuPy has it, else a CUDA-aware MPI if MPI says it
    is one, else host).
    """

    def __init__(self, comm=None, timeout: float | None = DEFAULT_TIMEOUT, gpu: str = "auto"):
        if timeout is not None:  # checked before MPI starts, so that a typo costs no MPI job
            check_real("Communicator", "timeout (seconds, or None for no limit)", timeout, 0.0, low_open=True)
        self.timeout = timeout
        self.gpu = check_choice("Communicator", "gpu", gpu, GPU_PATHS)
        self.MPI = import_mpi()
        self.comm = self.MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self._nccl = None
        self._abort_registered = False

    @property
    def is_root(self) -> bool:
        """True on rank 0, the rank that prints and writes files."""
        return self.rank == 0

    def __repr__(self) -> str:
        return f"Communicator(rank={self.rank}, size={self.size}, timeout={self.timeout}, gpu={self.gpu!r})"

    # ------------------------------------------------------------ collectives on arrays
    def allreduce_(self, array, what: str = "allreduce"):
        """Sum ``array`` (a contiguous NumPy or CuPy array) over the ranks, in place; returns it."""
        if self.size == 1:
            return array
        if backend.device_of(array) == "cuda":
            return self._allreduce_cuda(array, what)
        host = backend.to_numpy(array)  # the same memory: a view for the "strict" device
        self.wait(self.comm.Iallreduce(self.MPI.IN_PLACE, host, op=self.MPI.SUM), what)
        return array

    def bcast_(self, array, root: int = 0, what: str = "broadcast"):
        """Overwrite ``array`` on every rank with rank ``root``'s, in place; returns it."""
        if self.size == 1:
            return array
        on_gpu = backend.device_of(array) == "cuda"
        host = array.get() if on_gpu else backend.to_numpy(array)
        self.wait(self.comm.Ibcast(host, root=root), what)
        if on_gpu:
            array.set(host)
        return array

    def allgather(self, array, what: str = "allgather") -> np.ndarray:
        """Every rank's ``array`` (the same shape on each), stacked on a new first axis, on the host."""
        host = np.ascontiguousarray(backend.to_numpy(array))
        out = np.empty((self.size, *host.shape), dtype=host.dtype)
        if self.size == 1:
            out[0] = host
            return out
        self.wait(self.comm.Iallgather(host, out), what)
        return out

    def sum(self, values, what: str = "sum of values") -> list[float]:
        """The sums over the ranks of a few Python numbers (float64)."""
        buf = np.asarray(values, dtype=np.float64).copy()
        return self.allreduce_(buf, what).tolist()

    # ------------------------------------------------------------ collectives on objects
    def allgather_object(self, obj, what: str = "allgather of objects") -> list:
        """Every rank's ``obj`` (picklable), in rank order. Pickle only travels between the
        processes of this one job; nothing is read from files this way."""
        data = np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)
        if self.size == 1:
            return [obj]
        sizes = self.allgather(np.array([data.size], dtype=np.int64), what).reshape(-1)
        out = np.empty(int(sizes.sum()), dtype=np.uint8)
        self.wait(self.comm.Iallgatherv(data, [out, sizes.tolist()]), what)
        ends = np.cumsum(sizes)
        return [pickle.loads(out[e - n:e].tobytes()) for e, n in zip(ends, sizes)]

    def bcast_object(self, obj, root: int = 0, what: str = "broadcast of an object"):
        """Rank ``root``'s ``obj`` on every rank."""
        return obj if self.size == 1 else self.allgather_object(obj, what)[root]

    def barrier(self, what: str = "barrier") -> None:
        """Wait (at most ``timeout``) until every rank gets here."""
        if self.size > 1:
            self.wait(self.comm.Ibarrier(), what)

    # ------------------------------------------------------------ waiting, failing
    def wait(self, request, what: str) -> None:
        """Complete an MPI request within ``timeout`` or raise ``DistributedError``."""
        if self.timeout is None:
            request.Wait()
            return
        start = time.monotonic()
        while not request.Test():  # each Test also moves the collective on: poll without a pause
            waited = time.monotonic() - start
            if waited > _SPIN:  # a long wait (a slow rank, a checkpoint being written): nap between polls
                if waited > self.timeout:
                    self._timed_out(what)
                time.sleep(_NAP)
            else:  # but let a process that waits for this core (the rank we wait for?) run first
                os.sched_yield()

    def _timed_out(self, what: str):
        if not self._abort_registered:  # MPI cannot finalize with a missing rank: abort at exit
            atexit.register(self.abort, 1)
            self._abort_registered = True
        raise DistributedError(
            f"rank {self.rank} of {self.size}: {what} waited {self.timeout:g} s for the other ranks; "
            "one of them has died, hung or left the training loop early (see its output). The job "
            "is aborted at exit. If a step really takes that long, raise the timeout: "
            "tinygrad_lite.distributed.init(timeout=SECONDS)")

    def abort(self, code: int = 1) -> None:
        """End every rank of the job now (``MPI_Abort``), after flushing this one's output."""
        sys.stdout.flush()
        sys.stderr.flush()
        # mpiexec forwards a rank's output asynchronously, and MPI_Abort kills the job at once:
        # without a moment's wait the error that caused the abort can be lost (seen in CI)
        time.sleep(ABORT_GRACE_S)
        try:
            self.comm.Abort(code)
        finally:  # MPI_Abort returns when the launcher is already gone (seen with MPICH): end anyway
            os._exit(code)

    def abort_on_uncaught_exception(self) -> None:
        """Make an uncaught exception on this rank abort the whole job, after its traceback:
        the other ranks would otherwise wait for it in their next collective."""
        if self.size == 1 or getattr(sys.excepthook, "_aborts_job", False):
            return
        previous = sys.excepthook

        def hook(kind, value, tb):
            previous(kind, value, tb)
            sys.stderr.write(f"rank {self.rank} of {self.size}: uncaught {kind.__name__}; "
                             "aborting every rank (MPI_Abort)\n")
            self.abort(1)

        hook._aborts_job = True
        sys.excepthook = hook

    # ------------------------------------------------------------ CuPy arrays (untested here: no GPU)
    def _allreduce_cuda(self, array, what: str):
        path = self._gpu_path()
        if path == "nccl":
            return self._allreduce_nccl(array, what)
        import cupy

        if path == "cuda-aware":
            cupy.cuda.get_current_stream().synchronize()  # MPI reads memory the stream may still write
            self.wait(self.comm.Iallreduce(self.MPI.IN_PLACE, array, op=self.MPI.SUM), what)
            return array
        host = array.get()  # "host": through host memory, for an MPI that cannot read the GPU's
        self.wait(self.comm.Iallreduce(self.MPI.IN_PLACE, host, op=self.MPI.SUM), what)
        array.set(host)
        return array

    def _gpu_path(self) -> str:
        if self.gpu != "auto":
            return self.gpu
        try:
            from cupy.cuda import nccl

            if getattr(nccl, "available", True):
                return "nccl"
        except ImportError:
            pass
        query = getattr(self.MPI, "Query_cuda_support", None)  # MPI 4.1 / MPICH, where mpi4py has it
        return "cuda-aware" if query is not None and query() else "host"

    def _allreduce_nccl(self, array, what: str):
        import cupy
        from cupy.cuda import nccl

        if self._nccl is None:  # one NCCL communicator, its id sent over MPI
            uid = nccl.get_unique_id() if self.is_root else None
            self._nccl = nccl.NcclCommunicator(self.size, self.bcast_object(uid, what="NCCL id"), self.rank)
        kinds = {np.dtype(np.float16): nccl.NCCL_FLOAT16, np.dtype(np.float32): nccl.NCCL_FLOAT32,
                 np.dtype(np.float64): nccl.NCCL_FLOAT64, np.dtype(np.int64): nccl.NCCL_INT64}
        stream = cupy.cuda.get_current_stream()
        self._nccl.allReduce(array.data.ptr, array.data.ptr, array.size, kinds[np.dtype(array.dtype)],
                             nccl.NCCL_SUM, stream.ptr)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while not stream.done:  # NCCL waits forever for a missing rank: poll with the deadline
            if deadline is not None and time.monotonic() > deadline:
                self._nccl.abort()
                self._timed_out(what + " (NCCL)")
            time.sleep(_NAP)
        return array

    def select_gpu(self) -> int:
        """Use GPU (local rank mod GPUs on this host) for CuPy on this rank; returns its index.
        Ranks on one host must not share a GPU: NCCL refuses it."""
        import cupy

        local = self.comm.Split_type(self.MPI.COMM_TYPE_SHARED).Get_rank()
        index = local % cupy.cuda.runtime.getDeviceCount()
        cupy.cuda.Device(index).use()
        return index


def init(timeout: float | None = DEFAULT_TIMEOUT, gpu: str = "auto", abort_on_exception: bool = True,
         comm=None) -> Communicator:
    """Start (or join) the MPI job and return its ``Communicator``: ``comm.rank``, ``comm.size``.

    Run the script under ``mpiexec -n N``; run alone it is a job of one rank. With
    ``abort_on_exception``, an uncaught exception on any rank ends every rank at once
    (see ``Communicator.abort_on_uncaught_exception``).
    """
    c = Communicator(comm, timeout=timeout, gpu=gpu)
    if abort_on_exception:
        c.abort_on_uncaught_exception()
    return c


__all__ = ["DEFAULT_TIMEOUT", "Communicator", "DistributedError", "import_mpi", "init"]
