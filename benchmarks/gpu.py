"""GPU section: the same MLP step on device "cuda" (CuPy) against PyTorch CUDA.

GPU work is asynchronous, so each case is timed with device events recorded on
the stream before and after ``n`` steps, after a warm-up (CuPy compiles its
kernels and fills its memory pool on first use). The hand-written CuPy step
(``HandMLP`` with ``xp=cupy``) is the floor, as NumPy is on the CPU. The
crossover sweep compares tinygrad_lite on "cuda" with tinygrad_lite on "cpu"
and reports the smallest batch from which the GPU step is faster.
"""
from __future__ import annotations

from collections.abc import Callable

import mlp
from timing import Case, cpu_case, interleaved

BATCHES = (64, 4096)
SWEEP = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


def cupy_case(cupy, fn: Callable[[], object]) -> Case:
    def run(n: int) -> float:
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        for _ in range(n):
            fn()
        end.record()
        end.synchronize()
        return cupy.cuda.get_elapsed_time(start, end) / 1e3 / n

    return run


def torch_cuda_case(torch, fn: Callable[[], object]) -> Case:
    def run(n: int) -> float:
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(n):
            fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3 / n

    return run


def _step_case(impl, batch: int, make_case: Callable) -> Case:
    data = impl.prepare(*mlp.make_batch(batch))
    return make_case(lambda: impl.step(data))


def unavailable_reason() -> str | None:
    """Why the GPU section cannot run here, or None when it can."""
    from tinygrad_lite import backend

    try:
        backend.get_xp("cuda")
    except RuntimeError as e:
        return str(e)
    return None


def run_gpu(torch, rounds: int, target_s: float, sweep: tuple = SWEEP) -> dict:
    """Step times on "cuda" at ``BATCHES`` and the CPU/GPU crossover of tinygrad_lite."""
    reason = unavailable_reason()
    if reason:
        return {"skipped": reason}
    import cupy

    params = mlp.init_params()
    gpu = lambda fn: cupy_case(cupy, fn)
    steps = {}
    for batch in BATCHES:
        cases = {"cupy": _step_case(mlp.HandMLP(params, cupy), batch, gpu),
                 "tinygrad_lite": _step_case(mlp.TinygradMLP(params, "cuda"), batch, gpu)}
        if torch is not None and torch.cuda.is_available():
            cases["torch"] = _step_case(mlp.TorchMLP(torch, params, "cuda"), batch,
                                        lambda fn: torch_cuda_case(torch, fn))
        steps[batch] = interleaved(cases, rounds, target_s)
    return {"device": cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(),
            "steps": steps, "crossover": _crossover(cupy, params, rounds, target_s, sweep)}


def _crossover(cupy, params, rounds: int, target_s: float, sweep: tuple) -> dict:
    """tinygrad_lite step time on "cpu" and on "cuda" for each batch of ``sweep``."""
    rows, first = {}, None
    for batch in sweep:
        cases = {"cpu": _step_case(mlp.TinygradMLP(params, "cpu"), batch, cpu_case),
                 "cuda": _step_case(mlp.TinygradMLP(params, "cuda"), batch,
                                    lambda fn: cupy_case(cupy, fn))}
        res = interleaved(cases, max(3, rounds // 2), target_s)
        rows[batch] = {dev: r["median_s"] for dev, r in res.items()}
        if first is None and rows[batch]["cuda"] < rows[batch]["cpu"]:
            first = batch
    return {"per_batch_s": rows, "gpu_faster_from_batch": first}
