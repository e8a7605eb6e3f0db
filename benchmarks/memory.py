"""Peak memory of one training epoch over random 784-pixel float32 examples: 60,000 for the
MLP, 10,000 for the ConvNet (its step is slower; the peak does not grow with the epoch).

Each measurement runs in a fresh child process (``python memory.py MODEL IMPL BATCH MODE
THREADS``, MODEL mlp or convnet, THREADS 0 for the libraries' default)
so that no other benchmark's arrays or allocator caches are counted. The data set
and the imports are in place before the measurement starts; what is measured is
the increase caused by building the model and training for one epoch:

- ``rss``: peak resident set size (VmHWM, reset through /proc/self/clear_refs just
  before the model is built) minus the resident size at that moment. Counts
  everything: NumPy, PyTorch, interpreter objects, allocator slack.
- ``tracemalloc``: the peak of memory traced by Python's tracemalloc, which NumPy
  reports its array buffers to (PyTorch does not, so it is not measured this way).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

N_EXAMPLES = {"mlp": 60_000, "convnet": 10_000}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _epoch(impl, x, y, batch: int) -> None:
    for i in range(0, len(x), batch):
        impl.step(impl.prepare(x[i:i + batch], y[i:i + batch]))


def child(model: str, name: str, batch: int, mode: str, threads: int | None) -> dict:
    """Measure one implementation of ``model`` in this (fresh) process."""
    import tracemalloc

    import mlp
    from convnet import MODELS, build
    from timing import import_torch, set_blas_threads

    from tinygrad_lite import nn, optim  # noqa: F401  (every import happens before the measurement starts)

    if threads:
        set_blas_threads(threads)
    torch = import_torch(threads) if name == "torch" else None
    rng = np.random.default_rng(0)
    x = rng.random((N_EXAMPLES[model], mlp.SIZES[0]), dtype=np.float32)
    y = rng.integers(0, mlp.SIZES[-1], N_EXAMPLES[model])
    params = MODELS[model].init_params()
    if mode == "tracemalloc":
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
    else:
        exact = _reset_peak_rss()
        start = _status_kib("VmRSS") * 1024
    t0 = time.perf_counter()
    _epoch(build(model, name, params, torch), x, y, batch)
    seconds = time.perf_counter() - t0
    if mode == "tracemalloc":
        peak = tracemalloc.get_traced_memory()[1] - start
        return {"peak_bytes": peak, "mode": mode}
    peak_rss = _status_kib("VmHWM") * 1024 if exact else _maxrss_bytes()
    return {"peak_bytes": peak_rss - start, "mode": mode, "epoch_s": seconds, "hwm_reset": exact}


def _maxrss_bytes() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(model: str, name: str, batch: int, mode: str, threads: int | None) -> dict:
    """Run ``child`` in a subprocess and return its result (or the error it printed)."""
    argv = [sys.executable, os.path.abspath(__file__), model, name, str(batch), mode, str(threads or 0)]
    proc = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    model, name, batch, mode, threads = sys.argv[1:6]
    print(json.dumps(child(model, name, int(batch), mode, int(threads) or None)))
