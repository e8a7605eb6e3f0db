"""Data-parallel speed and accuracy: the MLP demo's training on 1 and on 2 MPI ranks.

The demo's setup (``demos/train_mlp.py`` on Fashion-MNIST): 784-100-10 ReLU MLP, SGD with
momentum 0.9 at lr 0.01, L2 1e-4, 5 epochs, inputs standardized, one BLAS thread per rank.
The driver launches ``mpiexec -n R python benchmarks/distributed.py --worker ...`` for R in
1, 2, alternating, ``--repeats`` times, and reports medians of:

- ``epoch_s``: wall seconds per epoch (training, plus the validation pass split over the ranks);
- ``work_cpu_s``: CPU seconds per epoch of the busiest rank, less the CPU it spent waiting in
  collectives: the rank's own work, which a load elsewhere on the machine does not inflate;
- ``wait_s``: wall seconds per epoch spent in collectives (transfer, and waiting for the
  slower rank: on a shared machine mostly the latter);
- the test accuracy.

Two comparisons: ``per-rank`` (batch B on 1 rank, B on each of 2: twice the examples per
step, half the steps; accuracies agree within seed noise) and ``same-step`` (2B on 1 rank, B
on each of 2: the same computation, so the accuracies agree to rounding).

    python benchmarks/distributed.py --data-dir ../shared/data/fashion-mnist [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the venv's mpiexec (the mpich wheel's) first, then the PATH's
MPIEXEC = shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                        os.environ.get("PATH", "")]))


def worker(args) -> None:
    """One run on this MPI job's ranks; rank 0 writes the figures to ``args.out``."""
    import tinygrad_lite as tl
    from tinygrad_lite import nn, optim
    from tinygrad_lite.data import ShardedLoader, Standardize, load_dataset
    from tinygrad_lite.distributed import DataParallel
    from tinygrad_lite.files import write_json
    from tinygrad_lite.train import evaluate, fit

    dp = DataParallel()
    split = load_dataset(args.dataset, args.data_dir)
    prep = Standardize().fit(split.x_train)
    x, xv, xt = (prep.transform(a) for a in (split.x_train, split.x_val, split.x_test))
    tl.manual_seed(args.seed)
    model = nn.Sequential(nn.Linear(split.num_features, 100), nn.ReLU(), nn.Linear(100, split.num_classes))
    opt, loss_fn = optim.SGD(model.parameters(), lr=0.01, momentum=0.9), nn.CrossEntropyLoss()
    loader = ShardedLoader(x, split.y_train, args.batch_size, dp.rank, dp.size, seed=args.seed)
    waits = {"wall": 0.0, "cpu": 0.0}
    wait = dp.comm.wait

    def timed_wait(request, what):
        t, c = time.perf_counter(), time.process_time()
        wait(request, what)
        waits["wall"] += time.perf_counter() - t
        waits["cpu"] += time.process_time() - c

    dp.comm.wait = timed_wait
    dp.comm.barrier()  # the ranks load the data at their own pace: start the clocks together
    rows = []
    for _ in range(args.epochs):  # one fit per epoch, the loader going on: each epoch timed alone
        w0, t, c = dict(waits), time.perf_counter(), time.process_time()
        h = fit(model, loss_fn, opt, loader, epochs=1, val=(xv, split.y_val), reg=(nn.l2_penalty, 1e-4),
                quiet=True, distributed=dp)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        rows.append({"wall": wall, "cpu": cpu, "wait_wall": waits["wall"] - w0["wall"],
                     "wait_cpu": waits["cpu"] - w0["cpu"], "val_acc": h.val_acc[-1]})
    per_rank = dp.comm.allgather_object(rows)
    if dp.is_root:
        _, test_acc = evaluate(model, loss_fn, (xt, split.y_test))
        write_json(args.out, {"ranks": dp.size, "epochs": per_rank, "test_acc": test_acc})


def run(ranks: int, batch: int, args, out: Path) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [MPIEXEC, "-n", str(ranks), sys.executable, __file__, "--worker", "--out", str(out),
           "--dataset", args.dataset, "--epochs", str(args.epochs), "--batch-size", str(batch),
           "--seed", str(args.seed)] + (["--data-dir", args.data_dir] if args.data_dir else [])
    load = os.getloadavg()[0]  # the machine's 1-minute load as the run starts: how shared it was
    subprocess.run(cmd, check=True, env=env, timeout=1800)
    return {**json.loads(out.read_text()), "load": load}


def summary(runs: list[dict]) -> dict:
    # one entry per epoch of every run: that epoch's figures on each rank
    epochs = [[rank[e] for rank in r["epochs"]] for r in runs for e in range(len(r["epochs"][0]))]
    med = lambda f: statistics.median(f(ranks) for ranks in epochs)
    return {"epoch_s": med(lambda ranks: max(x["wall"] for x in ranks)),
            "work_cpu_s": med(lambda ranks: max(x["cpu"] - x["wait_cpu"] for x in ranks)),
            "wait_s": med(lambda ranks: max(x["wait_wall"] for x in ranks)),
            "test_acc": statistics.median(r["test_acc"] for r in runs),
            "test_acc_runs": [r["test_acc"] for r in runs],
            "load": statistics.median(r["load"] for r in runs)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64, help="B, the batch per rank")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="where the table (driver) or one run (--worker) goes, as JSON")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    if MPIEXEC is None:
        raise SystemExit("no mpiexec: pip install 'tinygrad-lite[mpi]'")
    b = args.batch_size
    cases = {("per-rank", 1): b, ("per-rank", 2): b, ("same-step", 1): 2 * b, ("same-step", 2): b}
    runs: dict = {case: [] for case in cases}
    with tempfile.TemporaryDirectory() as scratch:
        for i in range(args.repeats):  # interleaved, so that a load elsewhere hits every case alike
            for (name, ranks), batch in cases.items():
                try:
                    result = run(ranks, batch, args, Path(scratch) / f"{name}-{ranks}-{i}.json")
                    runs[(name, ranks)].append(result)
                except subprocess.CalledProcessError as e:  # one bad run (a shared checkout mid-edit)
                    print(f"repeat {i + 1}: {name} on {ranks} rank(s) failed ({e}); left out", flush=True)
            print(f"repeat {i + 1}/{args.repeats} done", flush=True)
            if args.out:  # what there is so far, should the rest not finish
                raw = {f"{n} {r}": v for (n, r), v in runs.items()}
                Path(args.out).with_suffix(".runs.json").write_text(json.dumps(raw))
    table = {}
    for name in ("per-rank", "same-step"):
        one, two = summary(runs[(name, 1)]), summary(runs[(name, 2)])
        table[name] = {"batch on 1 rank": cases[(name, 1)], "batch per rank on 2": cases[(name, 2)],
                       "1 rank": one, "2 ranks": two, "speedup": one["epoch_s"] / two["epoch_s"],
                       "work speedup": one["work_cpu_s"] / two["work_cpu_s"]}
        print(f"{name}: epoch {one['epoch_s']:.3f} s -> {two['epoch_s']:.3f} s "
              f"({table[name]['speedup']:.2f}x; "
              f"wait {two['wait_s']:.3f} s/epoch), busiest rank's own CPU {one['work_cpu_s']:.3f} -> "
              f"{two['work_cpu_s']:.3f} s ({table[name]['work speedup']:.2f}x); test accuracy "
              f"{one['test_acc']:.4f} vs {two['test_acc']:.4f}")
    if args.out:
        Path(args.out).write_text(json.dumps(table, indent=1))
    return table


if __name__ == "__main__":
    main()
