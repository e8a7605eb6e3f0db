"""Hyperparameter search as the lecture runs it: random, on log scales, coarse to fine.

1. Coarse stage, the lecture's setup: a two-layer net (50 hidden units), SGD with momentum
   0.9, learning-rate decay 0.9 per epoch, batch size 100, 5 epochs, L2 strength ``reg``;
   ``reg = 10**uniform(-5, 5)``, ``lr = 10**uniform(-6, -3)``. One line per trial in the
   lecture's format, on a process pool.
2. "Careful with best values on border": those ranges were the lecture's for its own
   setup; on normalized digits the best lr sits at the top edge, and the border warning
   says so. The next coarse stage widens the flagged edges (``--extend`` decades).
3. Fine stage: ``narrow`` shrinks each range around the best trials; more epochs.
4. Random vs grid search (Bergstra and Bengio) with one important and one unimportant
   hyperparameter: 9 grid points test only 3 values of the important one, 9 random points
   test 9. Averaged over many objectives (peak placed at random), random finds better.

    python demos/hyperparameter_search.py [--quick] [--n-jobs 2] [--dataset fashion-mnist ...]
    python demos/hyperparameter_search.py --dask local            # a local Dask cluster, --n-jobs workers
    python demos/hyperparameter_search.py --dask tcp://host:8786  # a running Dask scheduler's workers
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import scaffold

from tinygrad_lite import nn, optim
from tinygrad_lite.hparam import (
    LogUniform,
    Uniform,
    border_warnings,
    format_trial,
    grid_search,
    narrow,
    random_search,
    widen,
)
from tinygrad_lite.train import evaluate

LECTURE_SPACE = {"lr": LogUniform.from_exponents(-6, -3), "reg": LogUniform.from_exponents(-5, 5)}


@functools.lru_cache(maxsize=4)
def _data(dataset: str, data_dir: str | None, max_train: int | None):
    # Cached per process: a forked worker inherits what the parent loaded.
    return scaffold.load_data(argparse.Namespace(dataset=dataset, data_dir=data_dir), max_train=max_train)


def train_trial(params: dict, seed: int, *, dataset: str = "digits", data_dir: str | None = None,
                max_train: int | None = None, epochs: int = 5, device: str = "cpu") -> dict:
    """The lecture's trainer: returns val_acc (and train_acc, whether it diverged).

    A run whose loss becomes NaN/inf (lr * reg far too large) is scored on its last good
    weights, as the lecture's table scores such runs (val_acc near chance)."""
    split = _data(dataset, data_dir, max_train)
    scaffold.seed_all(seed)
    model = scaffold.mlp([split.num_features, 50, split.num_classes], device=device)
    opt = optim.SGD(model.parameters(), lr=params["lr"], momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    _, error = scaffold.fit_or_diverge(
        model, loss_fn, opt, (split.x_train, split.y_train), epochs=epochs, batch_size=100,
        scheduler=optim.lr_scheduler.ExponentialLR(opt, gamma=0.9), reg=(nn.l2_penalty, params["reg"]),
        device=device, quiet=True, seed=seed)
    with scaffold.overflow_ignored():  # a diverged run's last good weights may still overflow
        _, val_acc = evaluate(model, loss_fn, (split.x_val, split.y_val), device=device)
        _, train_acc = evaluate(model, loss_fn, (split.x_train, split.y_train), device=device)
    return {"val_acc": val_acc, "train_acc": train_acc, "diverged": error is not None}


def executor_for(args):
    """The Dask cluster's executor with ``--dask``; else a process pool of ``--n-jobs`` workers:
    forked on the CPU, spawned for CUDA (a CUDA context does not survive a fork). None for one
    job: trials then run serially."""
    if getattr(args, "dask_executor", None) is not None:
        return args.dask_executor
    if args.n_jobs <= 1:
        return None
    method = "spawn" if args.device == "cuda" else "fork"
    return ProcessPoolExecutor(args.n_jobs, mp_context=multiprocessing.get_context(method))


def stage(title: str, objective, space: dict, n_trials: int, seed: int, args):
    """One random-search stage on the pool; prints the lecture's lines, the best trial and the
    border warnings (suggesting ``--extend`` decades more on a flagged edge)."""
    print(f"\n== {title}: " + ", ".join(f"{k} = {s.describe()}" for k, s in space.items()))
    pool = executor_for(args)
    try:
        result = random_search(objective, space, n_trials, seed=seed, executor=pool, quiet=True)
    finally:
        if pool is not None and pool is not getattr(args, "dask_executor", None):  # Dask's serves every stage
            pool.shutdown()
    warnings = border_warnings(space, result, frac=args.border_frac, extend=args.extend)
    print("\n".join(result.lines()))
    print("best: " + format_trial(result.best, len(result)))
    print("\n".join(warnings) if warnings else "no best value on a border")
    return result, warnings


def summary_row(name: str, space: dict, result, warnings: list) -> dict:
    best = result.best
    return {"stage": name, "trials": len(result), "lr range": space["lr"].describe(),
            "reg range": space["reg"].describe(), "best val_acc": best.score, "best lr": best.params["lr"],
            "best reg": best.params["reg"], "border warnings": len(warnings)}


# ---------------------------------------------------------------- random vs grid
BERGSTRA_SPACE = {"important": Uniform(0.0, 1.0), "unimportant": Uniform(0.0, 1.0)}
PEAK_WIDTH = 0.06


def important_part(x, peak: float):
    """g(x): a narrow bump at ``peak``; the hyperparameter that matters."""
    return np.exp(-0.5 * ((x - peak) / PEAK_WIDTH) ** 2)


def unimportant_part(y):
    """0.1 h(y): a gentle slope; the hyperparameter that hardly matters."""
    return 0.1 * (1.0 - y)


def bergstra_objective(params: dict, seed: int, *, peak: float) -> float:
    """f(x, y) = g(x) + 0.1 h(y) (at most 1.1); the seed is unused (no noise)."""
    return float(important_part(params["important"], peak) + unimportant_part(params["unimportant"]))


def bergstra(n_problems: int, seed: int) -> dict:
    """9 grid points (3 x 3) vs 9 random points on ``n_problems`` objectives whose peak lies
    at a random place in [0.05, 0.95]; the best value found by each, per problem."""
    peaks = np.random.default_rng(seed).uniform(0.05, 0.95, n_problems)
    grid_best, random_best = [], []
    for i, peak in enumerate(peaks):
        f = functools.partial(bergstra_objective, peak=float(peak))
        grid_best.append(grid_search(f, BERGSTRA_SPACE, points_per_dim=3, quiet=True).best.score)
        random_best.append(random_search(f, BERGSTRA_SPACE, 9, seed=seed + i, quiet=True).best.score)
    return {"peaks": peaks.tolist(), "grid_best": grid_best, "random_best": random_best,
            "grid_mean": float(np.mean(grid_best)), "random_mean": float(np.mean(random_best)),
            "random_wins": int(np.sum(np.array(random_best) > np.array(grid_best))),
            "ties": int(np.sum(np.array(random_best) == np.array(grid_best)))}


def plot_bergstra(peak: float, seed: int, out):
    """Bergstra and Bengio's picture: the 9 points over the 2-D space, the objective's
    marginal along each axis drawn beside it, where each point's projection lands."""
    f = functools.partial(bergstra_objective, peak=peak)
    grid = grid_search(f, BERGSTRA_SPACE, points_per_dim=3, quiet=True)
    rand = random_search(f, BERGSTRA_SPACE, 9, seed=seed, quiet=True)
    fig, axes = scaffold.figure(1, 2, size=(4.2, 4.2))
    t = np.linspace(0, 1, 300)
    f_x, f_y = functools.partial(important_part, peak=peak), unimportant_part
    for ax, result, title in ((axes[0][0], grid, "grid"), (axes[0][1], rand, "random")):
        xs = np.array([tr.params["important"] for tr in result.trials])
        ys = np.array([tr.params["unimportant"] for tr in result.trials])
        # Each marginal drawn beside its axis at the same scale (0.3 per unit of f).
        ax.plot(t, 1.05 + 0.3 * f_x(t), color="C2", label="g(important)")
        ax.plot(-0.05 - 0.3 * f_y(t), t, color="C1", label="0.1 h(unimportant)")
        ax.vlines(xs, 1.05, 1.05 + 0.3 * f_x(xs), color="C2", lw=1.5)
        ax.hlines(ys, -0.05 - 0.3 * f_y(ys), -0.05, color="C1", lw=1.5)
        ax.scatter(xs, ys, s=40, color="k", zorder=3)
        ax.set(xlim=(-0.15, 1.05), ylim=(-0.05, 1.4), xlabel="important parameter",
               ylabel="unimportant parameter",
               title=f"{title} layout: best f = {result.best.score:.3f}\n"
                     f"{len(set(xs.tolist()))} values of the important one tried")
        ax.set_aspect("equal")
    axes[0][0].legend(fontsize=7, loc="center right")
    return scaffold.savefig(fig, out / "hyperparameter_search_grid_vs_random.png")


# ---------------------------------------------------------------- the demo
def build_parser():
    p = scaffold.parser("hyperparameter_search", __doc__.split("\n")[0])
    p.add_argument("--n-jobs", type=int, default=2, help="worker processes (1: serial)")
    p.add_argument("--dask", default=None, metavar="local|ADDRESS",
                   help="run the trials on a Dask cluster: 'local' starts --n-jobs worker processes here "
                        "(one thread each); an address such as tcp://host:8786 uses a running scheduler, "
                        "whose workers need tinygrad_lite, demos/ on their path and the data (extra [dask])")
    p.add_argument("--coarse-trials", type=int, default=None,
                   help="trials per coarse stage (None: 20; 8 with --quick)")
    p.add_argument("--fine-trials", type=int, default=None,
                   help="trials of the fine stage (None: 20; 4 with --quick)")
    p.add_argument("--epochs", type=int, default=5, help="epochs per coarse trial (the lecture's 5)")
    p.add_argument("--fine-epochs", type=int, default=None,
                   help="epochs per fine trial (None: 15 on digits; 5 on the MNIST-sized sets or "
                        "with --quick)")
    p.add_argument("--border-frac", type=float, default=0.1, help="'on the border': this close to an edge")
    p.add_argument("--extend", type=float, default=3.0, help="decades added to a range's flagged edge")
    p.add_argument("--problems", type=int, default=None,
                   help="objectives averaged, random vs grid (None: 200; 40 with --quick)")
    return p


def objective_for(args, epochs: int):
    """The trainer with the data and device fixed: picklable, so a process pool can run it."""
    return functools.partial(train_trial, dataset=args.dataset, data_dir=args.data_dir,
                             epochs=epochs, device=args.device)


def search(args, out) -> dict:
    coarse_n = args.coarse_trials or (8 if args.quick else 20)
    fine_n = args.fine_trials or (4 if args.quick else 20)
    epochs = args.epochs
    fine_epochs = args.fine_epochs or (5 if args.quick or args.dataset != "digits" else 15)
    stages = {}
    space = LECTURE_SPACE
    result, warn = stage("coarse stage (the lecture's ranges)", objective_for(args, epochs), space, coarse_n,
                         args.seed, args)
    stages["coarse"] = (space, result, warn)
    if warn:
        space = widen(space, result, args.border_frac, args.extend)
        result, warn = stage("coarse stage, flagged edges widened", objective_for(args, epochs), space,
                             coarse_n, args.seed + 1, args)
        stages["widened"] = (space, result, warn)
    space = narrow(space, result, top_k=max(2, coarse_n // 6))
    result, warn = stage(f"fine stage (narrowed, {fine_epochs} epochs)", objective_for(args, fine_epochs),
                         space, fine_n, args.seed + 2, args)
    stages["fine"] = (space, result, warn)
    for name, (_, res, _) in stages.items():
        res.to_csv(str(out / f"{name}.csv"))
        res.plot(str(out / f"hyperparameter_search_{name}.png"), title=f"{name} stage")
    return stages


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    out, elapsed = scaffold.output_dir(args), scaffold.timer()
    with contextlib.ExitStack() as stack:
        if args.dask:
            from tinygrad_lite.distributed import dask_executor

            args.dask_executor = stack.enter_context(dask_executor(args.dask, n_workers=max(1, args.n_jobs)))
            print(f"trials on Dask: {args.dask}")
        stages = search(args, out)
    print()
    scaffold.table([summary_row(n, *s) for n, s in stages.items()], "coarse to fine")
    b = bergstra(args.problems or (40 if args.quick else 200), args.seed)
    scaffold.table([{"layout": "grid 3 x 3", "mean best": b["grid_mean"]},
                    {"layout": "random 9", "mean best": b["random_mean"]}],
                   f"random vs grid search, 9 trials, {len(b['peaks'])} objectives (best possible 1.1); "
                   f"random better on {b['random_wins']}, ties {b['ties']}")
    plot_bergstra(0.3, args.seed, out)
    results = {"stages": {n: {"space": {k: s.describe() for k, s in sp.items()},
                              "space_bounds": {k: (s.lo, s.hi) for k, s in sp.items()},
                              "best": {"score": r.best.score, **r.best.params}, "warnings": w,
                              "trials": r.to_dict()["trials"]}
                          for n, (sp, r, w) in stages.items()},
               "bergstra": b, "time_s": elapsed()}
    scaffold.save_results(out, results)
    return results


if __name__ == "__main__":
    main()
