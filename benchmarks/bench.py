"""Benchmarks of tinygrad_lite against a hand-written NumPy step and PyTorch (when installed).

    python benchmarks/bench.py                     # all sections; the GPU one is skipped without a GPU
    python benchmarks/bench.py --quick             # few rounds: a smoke run, numbers are rougher
    python benchmarks/bench.py --section convnet   # only the ConvNet step and its memory
    python benchmarks/bench.py --section small     # the nine-layer 64-unit MLP at batch 32
    python benchmarks/bench.py --section text      # the char GPT and makemore MLP steps against PyTorch
    python benchmarks/bench.py --profile convnet   # cProfile of the tinygrad_lite ConvNet step (default mlp)

One process times everything (memory is measured in child processes, one per
implementation); cases are interleaved round by round and the median is reported.
See benchmarks/README.md for what each number means.
"""
from __future__ import annotations

import argparse
import json
import os

import gpu
import memory
import mlp
import opbench
import text
import timing
from convnet import MODELS, implementations
from timing import cpu_case, interleaved

from tinygrad_lite.files import write_json

HERE = os.path.dirname(os.path.abspath(__file__))
SECTIONS = ("mlp", "convnet", "small", "ops", "text", "gpu")  # mlp and convnet: the step, then its memory
TARGETS = {"step_vs_numpy": 1.10, "step_vs_torch": 1.0, "memory_vs_numpy": 1.3, "gpu_vs_torch": 1.25,
           "text_vs_torch": text.TARGET}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="3 short rounds per case instead of 9")
    p.add_argument("--device", choices=("all", "cpu", "cuda"), default="all",
                   help="sections to run: cpu (steps, ops, memory), cuda (GPU section) or all")
    p.add_argument("--section", action="append", choices=SECTIONS,
                   help="run only this section (repeatable); mlp and convnet include their memory")
    p.add_argument("--json", "--out", dest="json", help="result file (default results_cpu.json, "
                   "or results_gpu.json when the GPU section ran)")
    p.add_argument("--threads", type=int, help="BLAS and torch threads (default: NumPy's BLAS default)")
    p.add_argument("--clock", choices=tuple(timing.CLOCKS), default="wall",
                   help="CPU sections timed by wall clock or by this thread's CPU time "
                        "(cpu needs --threads 1; it is steadier on a busy machine)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory section")
    p.add_argument("--profile", nargs="?", const="mlp", choices=tuple(MODELS),
                   help="profile the tinygrad_lite step of this model (default mlp) and exit")
    p.add_argument("--profile-batch", type=int, default=64)
    return p.parse_args(argv)


def step_section(model: str, torch, rounds: int, target_s: float) -> dict:
    """Training-step time of each implementation of ``model`` at each batch size."""
    spec = MODELS[model]
    params = spec.init_params()
    impls = implementations(model, torch, params)
    out = {"title": spec.title, "same_math": mlp.check_same_math(impls, sizes=spec.sizes), "batches": {}}
    for batch in spec.batches:
        cases = {}
        for impl in implementations(model, torch, params):
            data = impl.prepare(*mlp.make_batch(batch, sizes=spec.sizes))
            cases[impl.name] = cpu_case(lambda impl=impl, data=data: impl.step(data))
        out["batches"][batch] = interleaved(cases, rounds, target_s)
    return out


def ops_section(torch, rounds: int, target_s: float) -> dict:
    cases = opbench.make_cases(torch)
    return {op: interleaved(libs, rounds, target_s) for op, libs in cases.items()}


def memory_section(model: str, torch, threads: int | None, batches) -> dict:
    names = ["numpy", "tinygrad_lite"] + (["torch"] if torch is not None else [])
    out = {}
    for batch in batches:
        row = {name: memory.measure(model, name, batch, "rss", threads) for name in names}
        for name in ("numpy", "tinygrad_lite"):
            row[name]["traced_bytes"] = memory.measure(model, name, batch, "tracemalloc", threads).get(
                "peak_bytes")
        out[batch] = row
    return out


# ------------------------------------------------------------------ tables
def _ratio(a, b) -> str:
    return f"{a / b:6.2f}x" if a and b else "     -"


def _mark(ratio_value, limit) -> str:
    return "" if ratio_value is None else (" ok" if ratio_value <= limit else " MISS")


def _ms(res: dict, name: str):
    return res[name]["median_s"] * 1e3 if name in res else None


def _fmt(v, spec="9.3f") -> str:
    return format(v, spec) if v is not None else " " * (int(spec.split(".")[0]) - 1) + "-"


def print_steps(sec: dict) -> None:
    print(f"\n{sec['title']} training step (ms, median)")
    for name, chk in sec["same_math"].items():
        state = "same math" if chk["ok"] else "DIFFERENT MATH: timings not comparable"
        print(f"  {name} vs numpy after 3 steps: loss diff {chk['max_loss_diff']:.1e}, "
              f"param diff {chk['max_param_diff']:.1e} ({state})")
    print(f"{'batch':>6} {'numpy':>9} {'tl':>9} {'torch':>9} {'tl/numpy':>11} {'tl/torch':>11} {'torch/np':>9}")
    for batch, res in sec["batches"].items():
        n, t, pt = _ms(res, "numpy"), _ms(res, "tinygrad_lite"), _ms(res, "torch")
        print(f"{batch:>6} {_fmt(n)} {_fmt(t)} {_fmt(pt)} {_ratio(t, n)}"
              f"{_mark(t / n, TARGETS['step_vs_numpy']):5} {_ratio(t, pt)}"
              f"{_mark(t / pt if pt else None, TARGETS['step_vs_torch']):5} {_ratio(pt, n)}")


def print_ops(sec: dict) -> None:
    print(f"\nPer-op forward+backward on {opbench.SHAPE} float32 (us per op, median)")
    print(f"{'op':>8} {'numpy':>9} {'tl':>9} {'torch':>9} {'tl/torch':>9}")
    for op, res in sec.items():
        n, t, pt = (_ms(res, k) for k in ("numpy", "tinygrad_lite", "torch"))
        us = [v * 1e3 if v is not None else None for v in (n, t, pt)]
        print(f"{op:>8} {_fmt(us[0], '9.2f')} {_fmt(us[1], '9.2f')} {_fmt(us[2], '9.2f')} {_ratio(t, pt)}")


def print_memory(model: str, sec: dict) -> None:
    name = MODELS[model].title.split()[0]
    print(f"\nPeak memory increase over one {name} epoch of {memory.N_EXAMPLES[model]} x 784 float32 (MB)")
    print(f"{'batch':>6} {'rss np':>8} {'rss tl':>8} {'rss torch':>9} {'tl/np':>9} "
          f"{'traced np':>9} {'traced tl':>9} {'tl/np':>9} {'epoch s np/tl/torch':>20}")
    for batch, row in sec.items():
        mb = {k: v.get("peak_bytes", 0) / 1e6 or None for k, v in row.items()}
        tr = {k: (row[k].get("traced_bytes") or 0) / 1e6 or None for k in ("numpy", "tinygrad_lite")}
        secs = "/".join(f"{v['epoch_s']:.1f}" if "epoch_s" in v else "-" for v in row.values())
        rt = tr["tinygrad_lite"] / tr["numpy"] if tr["numpy"] and tr["tinygrad_lite"] else None
        print(f"{batch:>6} {_fmt(mb['numpy'], '8.1f')} {_fmt(mb['tinygrad_lite'], '8.1f')} "
              f"{_fmt(mb.get('torch'), '9.1f')} {_ratio(mb['tinygrad_lite'], mb['numpy'])}   "
              f"{_fmt(tr['numpy'], '9.1f')} {_fmt(tr['tinygrad_lite'], '9.1f')} "
              f"{_ratio(tr['tinygrad_lite'], tr['numpy'])}{_mark(rt, TARGETS['memory_vs_numpy']):5}"
              f" {secs:>14}")
        for k, v in row.items():
            if "error" in v:
                print(f"  {k}: {v['error']}")


def print_gpu(sec: dict) -> None:
    if "skipped" in sec:
        print(f"\nGPU section skipped: {sec['skipped']}")
        return
    print(f"\nGPU ({sec['device']}) training step (ms, median, device events)")
    print(f"{'batch':>6} {'cupy':>9} {'tl':>9} {'torch':>9} {'tl/cupy':>9} {'tl/torch':>9}")
    for batch, res in sec["steps"].items():
        c, t, pt = (_ms(res, k) for k in ("cupy", "tinygrad_lite", "torch"))
        print(f"{batch:>6} {_fmt(c)} {_fmt(t)} {_fmt(pt)} {_ratio(t, c)} {_ratio(t, pt)}"
              f"{_mark(t / pt if pt else None, TARGETS['gpu_vs_torch'])}")
    cross = sec["crossover"]
    print("tinygrad_lite cpu vs cuda (ms): " + ", ".join(
        f"{b}: {r['cpu'] * 1e3:.2f}/{r['cuda'] * 1e3:.2f}" for b, r in cross["per_batch_s"].items()))
    print(f"GPU faster than CPU from batch {cross['gpu_faster_from_batch']}")


# ------------------------------------------------------------------ profile
def profile(model: str, batch: int, seconds: float = 2.0) -> None:
    """cProfile of about ``seconds`` of tinygrad_lite steps of ``model`` (after warm-up), then
    the NumPy step for scale."""
    numpy_impl, tl_impl = implementations(model, None, MODELS[model].init_params())
    for impl in (tl_impl, numpy_impl):
        data = impl.prepare(*mlp.make_batch(batch, sizes=MODELS[model].sizes))
        timing.profile_steps(lambda impl=impl, data=data: impl.step(data), seconds, f"{impl.name}, batch {batch}",
                             25 if impl.name != "numpy" else 10)


def main(argv=None) -> dict | None:
    args = parse_args(argv)
    if args.clock == "cpu" and args.threads != 1:
        raise SystemExit("--clock cpu needs --threads 1: other threads' work would not be counted")
    if args.threads:
        timing.set_blas_threads(args.threads)
    if args.profile:
        profile(args.profile, args.profile_batch)
        return None
    sections = [s for s in args.section or SECTIONS
                if (s == "gpu" and args.device != "cpu") or (s != "gpu" and args.device != "cuda")]
    threads = timing.blas_threads() or os.cpu_count()
    torch = timing.import_torch(threads)
    rounds, target_s = (3, 0.05) if args.quick else (9, 0.2)
    results = {"machine": timing.machine_info(torch), "rounds": rounds, "targets": TARGETS,
               "clock": args.clock}
    print("machine:", json.dumps(results["machine"]))
    print(f"clock: {args.clock} ({'thread CPU time' if args.clock == 'cpu' else 'wall time'})")
    if results["machine"]["load_avg_1min"] > 0.5:
        print("WARNING: the machine is busy (load average above 0.5): timings will be noisy")
    timing.set_clock(args.clock)
    for model in (m for m in MODELS if m in sections):
        results[model] = step_section(model, torch, rounds, target_s)
        print_steps(results[model])
    if "ops" in sections:
        results["ops"] = ops_section(torch, rounds, target_s / 4)
        print_ops(results["ops"])
    if "text" in sections:
        results["text"] = text.text_section(torch, rounds, target_s)
        text.print_text(results["text"])
    for model in (m for m in memory.N_EXAMPLES if m in sections and not args.no_memory):
        key = "memory" if model == "mlp" else f"{model}_memory"
        batches = MODELS[model].batches
        results[key] = memory_section(model, torch, threads, batches[:1] if args.quick else batches)
        print_memory(model, results[key])
    if "gpu" in sections:
        timing.set_clock("wall")  # the GPU section compares with device-event times
        results["gpu"] = gpu.run_gpu(torch, rounds, target_s)
        print_gpu(results["gpu"])
    results["load_avg_1min_end"] = os.getloadavg()[0]
    ran_gpu = "gpu" in results and "skipped" not in results["gpu"]
    every_cpu = all(s in sections for s in SECTIONS if s != "gpu")
    default = "results_gpu.json" if ran_gpu else "results_cpu.json" if every_cpu else None
    path = args.json or (default and os.path.join(HERE, default))
    if not path:
        print("\nnot saved: pass --json PATH to save the results of a partial run")
    else:
        write_json(path, results)
        print(f"\nsaved {path}")
    return results


if __name__ == "__main__":
    main()
