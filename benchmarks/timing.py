"""Timing helpers of the benchmarks: interleaved rounds, thread counts, machine description.

Timing rule: every case is a function ``run(n) -> seconds per call`` that runs its
workload ``n`` times. ``interleaved`` calls all cases once per round, in an order
that rotates from round to round, so slow drifts of the machine (frequency, other
load) fall on every case alike; the reported figure is the median over rounds.
"""
from __future__ import annotations

import cProfile
import ctypes
import glob
import os
import platform
import pstats
import statistics
import subprocess
import time
from collections.abc import Callable

import numpy as np

Case = Callable[[int], float]

# "wall": time.perf_counter. "cpu": the calling thread's CPU time, which leaves out the
# time the thread waits for a core; it counts all the work only when that work runs on
# the calling thread, i.e. with one BLAS and one torch thread (--threads 1).
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
_clock = CLOCKS["wall"]


def set_clock(name: str) -> None:
    global _clock
    _clock = CLOCKS[name]


def cpu_case(fn: Callable[[], object]) -> Case:
    """A case timed with the current clock (``set_clock``): the work is done when ``fn`` returns."""

    def run(n: int) -> float:
        clock = _clock
        t0 = clock()
        for _ in range(n):
            fn()
        return (clock() - t0) / n

    return run


def calibrate(case: Case, target_s: float, warmup: int = 2) -> int:
    """Warm ``case`` up, then the number of calls that takes about ``target_s`` seconds."""
    per_call = min(case(1) for _ in range(max(warmup, 1)))
    return max(1, min(100_000, int(target_s / max(per_call, 1e-9))))


def interleaved(cases: dict[str, Case], rounds: int, target_s: float) -> dict[str, dict]:
    """Median seconds per call of each case over ``rounds`` interleaved rounds."""
    iters = {name: calibrate(case, target_s) for name, case in cases.items()}
    names = list(cases)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            times[name].append(cases[name](iters[name]))
    return {name: {"median_s": statistics.median(ts), "min_s": min(ts), "rounds_s": ts,
                   "calls_per_round": iters[name]} for name, ts in times.items()}


def _openblas(kind: str):
    """NumPy's OpenBLAS ``{kind}_num_threads`` function, or None (another BLAS, or not found)."""
    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(libdir, "*openblas*")):
        lib = ctypes.CDLL(path)
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                fn = getattr(lib, f"{prefix}{kind}_num_threads{suffix}", None)
                if fn is not None:
                    return fn
    return None


def blas_threads() -> int | None:
    """Threads NumPy's OpenBLAS uses, asked from the library itself (None if unknown)."""
    fn = _openblas("get")
    return int(fn()) if fn else None


def set_blas_threads(n: int) -> None:
    fn = _openblas("set")
    if fn is None:
        raise RuntimeError("cannot set the BLAS thread count: NumPy's OpenBLAS not found; "
                           "set OPENBLAS_NUM_THREADS instead")
    fn(n)


def import_torch(threads: int | None):
    """PyTorch with ``threads`` intra-op threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    if threads:
        torch.set_num_threads(threads)
    return torch


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse", "--short", "HEAD"],
                             check=False, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info(torch) -> dict:
    """Where and with what the numbers were taken."""
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return {
        "cpu": cpu_model(), "cores": os.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__,
        "numpy_blas": f"{blas.get('name')} {blas.get('version')}",
        "numpy_blas_threads": blas_threads(),
        "torch": getattr(torch, "__version__", None),
        "torch_threads": torch.get_num_threads() if torch else None,
        "load_avg_1min": os.getloadavg()[0],
        "commit": git_commit(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def profile_steps(step: Callable[[], object], seconds: float, title: str, lines: int = 25) -> None:
    """cProfile of about ``seconds`` of ``step()`` calls after a warm-up, printed under ``title``
    as the time and calls per step, then the ``lines`` functions of most own time."""
    for _ in range(5):
        step()
    t0 = time.perf_counter()
    step()
    steps = max(5, int(seconds / (time.perf_counter() - t0)))
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    stats = pstats.Stats(prof)
    print(f"\n=== {title}: {stats.total_tt / steps * 1e3:.3f} ms/step under cProfile, "
          f"{stats.total_calls / steps:.0f} function calls/step ===")
    stats.sort_stats("tottime").print_stats(lines)
