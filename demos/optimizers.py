"""Fancier optimization: SGD, momentum, Nesterov, Adagrad, RMSprop and Adam, in 2-D and on data.

The lecture's pictures, made with the library's optimizers on a 2-element Parameter:

- an ill-conditioned quadratic f = 0.01 x^2 + y^2 (curvatures 0.02 and 2, condition
  number 100): SGD zig-zags across the steep valley and crawls along the shallow one;
  momentum builds up speed along it and overshoots ("a ball rolling down the hill");
- a saddle point f = x^2 + y^4/4 - y^2/2 started a hair off the ridge (y = 1e-6): SGD sits
  on top of it, the adaptive methods scale the tiny y gradient up and leave at once;
- the Rosenbrock function f = (1 - x)^2 + 100 (y - x^2)^2, a curved narrow valley.

Then on the data set: training-loss curves of the six; Adagrad's effective step
lr / (sqrt(cache) + eps) shrinking (it never grows: cache only accumulates), and
learning-rate decay (StepLR, halving every quarter of the run) with L2 regularization:
it helps SGD+momentum, whose fixed step keeps bouncing around the minimum, more than
Adam (the lecture: "decay is more critical with SGD+Momentum, less common with Adam").

    python demos/optimizers.py [--quick] [--dataset fashion-mnist --data-dir DIR] [--device cuda]
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import scaffold

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.train import evaluate, moving_average

NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
COLORS = dict(zip(NAMES, ("k", "C0", "C1", "C2", "C3", "C4")))
QUAD_TARGET = 1e-3  # f below this counts as converged on the quadratic


def make_optimizer(name: str, params, lr: float):
    """The lecture's six update rules (rho = 0.9, RMSprop decay_rate = 0.9)."""
    if name in ("sgd", "momentum", "nesterov"):
        return optim.SGD(params, lr=lr, momentum=0.0 if name == "sgd" else 0.9,
                         nesterov=name == "nesterov")
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, alpha=0.9)
    return {"adagrad": optim.Adagrad, "adam": optim.Adam}[name](params, lr=lr)


@dataclass(frozen=True)
class Surface:
    """A 2-D loss ``f(x, y)`` written with + - * ** only, so that it runs on Tensors (for the
    gradients) and on NumPy grids (for the contours); per-optimizer learning rates."""

    name: str
    f: object
    start: tuple
    steps: int
    xlim: tuple
    ylim: tuple
    lrs: dict
    formula: str = ""
    minima: tuple = ()  # the global minima, marked on the contours


SURFACES = (
    Surface("ill-conditioned quadratic", lambda x, y: 0.01 * x**2 + y**2, (-9.0, 1.5), 150,
            (-10, 2), (-2, 2), {"sgd": 0.9, "momentum": 0.15, "nesterov": 0.15, "adagrad": 1.0,
                                "rmsprop": 0.1, "adam": 0.3},
            formula="f = 0.01 x² + y²", minima=((0.0, 0.0),)),
    Surface("saddle point", lambda x, y: x**2 + 0.25 * y**4 - 0.5 * y**2, (-1.5, 1e-6), 100,
            (-1.7, 1.7), (-1.5, 1.5), {"sgd": 0.1, "momentum": 0.1, "nesterov": 0.1, "adagrad": 0.5,
                                       "rmsprop": 0.05, "adam": 0.1},
            formula="f = x² + y⁴/4 - y²/2", minima=((0.0, 1.0), (0.0, -1.0))),
    Surface("Rosenbrock", lambda x, y: (1 - x)**2 + 100 * (y - x**2)**2, (-1.2, 1.0), 1000,
            (-1.5, 1.5), (-0.5, 1.6), {"sgd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 0.3,
                                       "rmsprop": 0.01, "adam": 0.05},
            formula="f = (1 - x)² + 100 (y - x²)²", minima=((1.0, 1.0),)),
)


def descend(surface: Surface, name: str, steps: int, device: str, until: float | None = None) -> dict:
    """Run one optimizer on a 2-element Parameter; the path, f along it, and the
    effective step lr / (sqrt(cache) + eps) per coordinate for Adagrad and RMSprop.
    With ``until``, stop at the first point where f <= until (only that crossing is wanted)."""
    p = nn.Parameter(tl.Tensor(list(surface.start), device=device))
    opt = make_optimizer(name, [p], surface.lrs[name])
    path, values, eff = [p.numpy().copy()], [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = surface.f(p[0], p[1])
        values.append(loss.item())
        if until is not None and values[-1] <= until:
            break
        loss.backward()
        opt.step()
        path.append(p.numpy().copy())
        eff.append(effective_step(opt, p))
    values.append(float(surface.f(*path[-1].astype(np.float64))))
    return {"path": np.array(path), "f": np.array(values), "eff": eff}


def effective_step(opt, p) -> list | None:
    """lr / (sqrt(cache) + eps) per element, for the optimizers that keep a cache."""
    key = {"Adagrad": "sum", "RMSprop": "square_avg"}.get(type(opt).__name__)
    if key is None:
        return None
    group = opt.param_groups[0]
    cache = tl.backend.to_numpy(opt.state[p][key]).astype(np.float64)
    return (group["lr"] / (np.sqrt(cache) + group["eps"])).tolist()


def steps_to(values: np.ndarray, target: float) -> int | None:
    """The first step after which f <= target (None if never)."""
    hit = np.flatnonzero(values <= target)
    return int(hit[0]) if hit.size else None


def run_surfaces(device: str, quick: bool) -> dict:
    runs = {}
    for s in SURFACES:
        steps = s.steps // 2 if quick else s.steps
        runs[s.name] = {n: descend(s, n, steps, device) for n in NAMES}
    # Steps to the target on the quadratic: long enough for plain SGD to get there too.
    quad = SURFACES[0]
    reach = {n: steps_to(descend(quad, n, 1000, device, until=QUAD_TARGET)["f"], QUAD_TARGET) for n in NAMES}
    return {"runs": runs, "steps_to_target": reach}


def plot_surfaces(runs: dict, out, frames: int = 0) -> list:
    """Contours with each optimizer's path and the minima marked, one legend for all panels;
    with ``frames`` also a GIF of the paths being drawn. Returns the files written."""
    fig, axes = scaffold.figure(1, len(SURFACES), size=(4.2, 3.7))
    # one legend under all panels: the layout leaves a strip for it
    fig.set_layout_engine("tight", rect=(0, 0.1, 1, 1))
    lines = []
    for ax, s in zip(axes[0], SURFACES):
        gx, gy = np.meshgrid(np.linspace(*s.xlim, 200), np.linspace(*s.ylim, 200))
        z = s.f(gx, gy)
        levels = np.quantile(z, np.linspace(0.0, 0.9, 14) ** 2)
        ax.contour(gx, gy, z, levels=np.unique(levels), colors="0.82", linewidths=0.5, antialiased=False)
        for n in NAMES:
            path = runs[s.name][n]["path"]
            (line,) = ax.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=1, color=COLORS[n], label=n,
                              markevery=max(1, len(path) // 100), zorder=3 if n == "sgd" else 2)
            lines.append((line, path))
        mx, my = zip(*s.minima)
        ax.plot(mx, my, "*", ms=13, color="gold", mec="k", mew=0.8, zorder=4, label="minimum")
        ax.set(xlim=s.xlim, ylim=s.ylim, xlabel="x", ylabel="y")
        ax.set_title(f"{s.name}: {s.formula}", fontsize="medium")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    files = [scaffold.savefig(fig, out / "optimizers_trajectories.png")]
    if frames:
        files.append(scaffold.save_gif(fig, functools.partial(_show, lines, frames), frames,
                                       out / "optimizers_trajectories.gif", fps=4, dpi=55))
    return files


def _show(lines: list, frames: int, k: int) -> list:
    """Frame k of the GIF: each path drawn up to the same fraction of its run."""
    for line, p in lines:
        i = 1 + int((len(p) - 1) * (k + 1) / frames)
        line.set_data(p[:i, 0], p[:i, 1])
    return [line for line, _ in lines]


def plot_effective_steps(runs: dict, adagrad_data: list, out, dataset: str):
    fig, axes = scaffold.figure(1, 2, size=(5, 3.6))
    quad = runs[SURFACES[0].name]
    for n, style in (("adagrad", "-"), ("rmsprop", ":")):
        eff = np.array(quad[n]["eff"])
        for j, coord in enumerate("xy"):
            label = f"{n}, {coord} (curvature {0.02 if j == 0 else 2})"
            axes[0][0].plot(eff[:, j], style, color=f"C{j}", label=label)
    axes[0][0].set(yscale="log", xlabel="step", ylabel="lr / (sqrt(cache) + eps)",
                   title=f"{SURFACES[0].formula}: per-coordinate effective step")
    axes[0][0].legend(fontsize=7)
    axes[0][1].plot(np.arange(1, len(adagrad_data) + 1), adagrad_data, color="C2")
    axes[0][1].set(yscale="log", xlabel="iteration", ylabel="median over weights",
                   title=f"Adagrad on {dataset}: effective step")
    return scaffold.savefig(fig, out / "optimizers_adagrad_step.png")


class RecordingAdagrad(optim.Adagrad):
    """Adagrad that records, after every update, the median over all parameter elements of
    the effective step lr / (sqrt(cache) + eps) (elements that never saw a gradient keep
    lr / eps; the median is not swayed by them)."""

    def __init__(self, params, lr: float):
        super().__init__(params, lr=lr)
        self.median_steps: list[float] = []

    def step(self, closure=None):
        loss = super().step(closure)
        lr, eps = self.param_groups[0]["lr"], self.param_groups[0]["eps"]
        cache = np.concatenate([tl.backend.to_numpy(s["sum"]).ravel() for s in self.state.values()])
        self.median_steps.append(float(np.median(lr / (np.sqrt(cache.astype(np.float64)) + eps))))
        return loss


def train(args, model, opt, split, epochs: int, seed: int, **kwargs) -> tuple:
    """``fit`` with batch size 32 and validation; (history, diverged). A run whose loss
    becomes NaN/inf stops there and keeps its history so far (and its last good weights)."""
    history, error = scaffold.fit_or_diverge(
        model, nn.CrossEntropyLoss(), opt, (split.x_train, split.y_train), epochs=epochs, batch_size=32,
        val=(split.x_val, split.y_val), device=args.device, quiet=True, seed=seed, **kwargs)
    if error is not None:
        print(f"{type(opt).__name__}: {error}")
    return history, error is not None


DATA_LRS = {"sgd": 0.05, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.05, "rmsprop": 1e-3, "adam": 1e-3}


def train_six(args, split, epochs: int) -> tuple[dict, list]:
    """The six optimizers on the data set (same init, same batches); histories and
    Adagrad's recorded effective steps."""
    histories, adagrad_steps = {}, []
    sizes = [split.num_features, 100, split.num_classes]
    for n in NAMES:
        scaffold.seed_all(args.seed)
        model = scaffold.mlp(sizes, device=args.device)
        opt = (RecordingAdagrad(model.parameters(), DATA_LRS[n] * args.lr_scale) if n == "adagrad"
               else make_optimizer(n, model.parameters(), DATA_LRS[n] * args.lr_scale))
        histories[n], _ = train(args, model, opt, split, epochs, args.seed)
        if n == "adagrad":
            adagrad_steps = opt.median_steps
    return histories, adagrad_steps


DECAY = {"momentum": 0.1, "adam": 1e-3}  # each optimizer's usual learning rate
DECAY_REG = 1e-2


def decay_run(args, split, name: str, decay: bool, epochs: int, seed: int) -> dict:
    """Train with L2 (lambda = DECAY_REG), with or without StepLR halving every quarter of
    the run; the final training objective (data loss + lambda R(W), full set, eval mode)."""
    scaffold.seed_all(seed)
    model = scaffold.mlp([split.num_features, 100, split.num_classes], device=args.device)
    opt = make_optimizer(name, model.parameters(), DECAY[name] * args.lr_scale)
    sched = optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 4), gamma=0.5) if decay else None
    h, diverged = train(args, model, opt, split, epochs, seed, scheduler=sched,
                        reg=(nn.l2_penalty, DECAY_REG))
    loss, _ = evaluate(model, nn.CrossEntropyLoss(), (split.x_train, split.y_train), device=args.device)
    _, val_acc = evaluate(model, nn.CrossEntropyLoss(), (split.x_val, split.y_val), device=args.device)
    objective = math.inf if diverged else loss + DECAY_REG * float(nn.l2_penalty(model).item())
    return {"objective": objective, "val_acc": val_acc, "curve": h.iter_loss}


def decay_study(args, split, epochs: int, seeds: int) -> dict:
    """gain = objective without decay / objective with decay (> 1: decay helps), mean over seeds."""
    out = {}
    for name in DECAY:
        runs = {d: [decay_run(args, split, name, d, epochs, args.seed + s) for s in range(seeds)]
                for d in (False, True)}
        out[name] = {
            "objective_no_decay": float(np.mean([r["objective"] for r in runs[False]])),
            "objective_decay": float(np.mean([r["objective"] for r in runs[True]])),
            "val_acc_no_decay": float(np.mean([r["val_acc"] for r in runs[False]])),
            "val_acc_decay": float(np.mean([r["val_acc"] for r in runs[True]])),
            "curves": (runs[False][0]["curve"], runs[True][0]["curve"]),
        }
        out[name]["gain"] = out[name]["objective_no_decay"] / out[name]["objective_decay"]
    return out


def plot_data(histories: dict, decay: dict, out, dataset: str):
    fig, axes = scaffold.figure(1, 2, size=(5, 3.6))
    for n, h in histories.items():
        w = max(1, h.iterations // 40)
        axes[0][0].plot(h.iter_epoch, moving_average(h.iter_loss, w), color=COLORS[n], label=n)
    axes[0][0].set(yscale="log", xlabel="epoch", ylabel="training loss (smoothed)",
                   title=f"the six optimizers on {dataset}")
    axes[0][0].legend(fontsize=7)
    for i, (n, d) in enumerate(decay.items()):
        for curve, style, label in zip(d["curves"], ("-", "--"), ("constant lr", "StepLR (halve)")):
            x = np.linspace(0, 1, len(curve))
            w = max(1, len(curve) // 40)
            axes[0][1].plot(x, moving_average(curve, w), style, color=f"C{i}", label=f"{n}, {label}")
    axes[0][1].set(xlabel="fraction of training", ylabel="data loss (smoothed)", yscale="log",
                   title=f"learning-rate decay on {dataset} (L2, lambda={DECAY_REG:g})")
    axes[0][1].legend(fontsize=7)
    return scaffold.savefig(fig, out / "optimizers_data.png")


def build_parser():
    p = scaffold.parser("optimizers", __doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs of the data-set runs (None: 15 on digits; 3 on the MNIST-sized sets or "
                        "with --quick)")
    p.add_argument("--decay-epochs", type=int, default=None,
                   help="epochs of the decay study (None: 40 on digits; 12 on the MNIST-sized sets or "
                        "with --quick)")
    p.add_argument("--train-size", type=int, default=None,
                   help="training examples kept (None: all on digits, 10000 on the MNIST-sized sets)")
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds averaged in the decay study (None: 2; 1 with --quick)")
    p.add_argument("--lr-scale", type=float, default=1.0,
                   help="multiplies every data-set learning rate (tuned on digits; 0.1 suits Fashion-MNIST)")
    p.add_argument("--no-gif", action="store_true", help="skip the animated GIF")
    return p


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    out, elapsed = scaffold.output_dir(args), scaffold.timer()
    surf = run_surfaces(args.device, args.quick)
    plot_surfaces(surf["runs"], out, frames=0 if args.no_gif else 3 if args.quick else 16)
    small = args.dataset == "digits"
    split = scaffold.load_data(args, max_train=args.train_size or (None if small else 10000))
    histories, adagrad_steps = train_six(args, split, args.epochs or (15 if small and not args.quick else 3))
    decay = decay_study(args, split, args.decay_epochs or (40 if small and not args.quick else 12),
                        args.seeds or (1 if args.quick else 2))
    plot_effective_steps(surf["runs"], adagrad_steps, out, split.name)
    plot_data(histories, decay, out, split.name)
    results = report(surf, histories, adagrad_steps, decay, args.lr_scale)
    results["time_s"] = elapsed()
    scaffold.save_results(out, results)
    return results


def report(surf: dict, histories: dict, adagrad_steps: list, decay: dict, lr_scale: float) -> dict:
    rows = []
    for n in NAMES:
        row = {"optimizer": n, f"steps to f<{QUAD_TARGET:g} (quadratic)": surf["steps_to_target"][n]}
        for s in SURFACES:
            row[f"final f ({s.name.split()[0]})"] = float(surf["runs"][s.name][n]["f"][-1])
        h = histories[n]
        row.update({"lr (data)": DATA_LRS[n] * lr_scale,
                    "train loss": h.train_loss[-1] if h.epochs else math.nan,
                    "val acc": h.val_acc[-1] if h.epochs else math.nan})
        rows.append(row)
    scaffold.table(rows, "2-D surfaces (own learning rates, see SURFACES) and the data set (last epoch)")
    scaffold.table([{"optimizer": n, "lr": DECAY[n] * lr_scale,
                     "objective, constant lr": d["objective_no_decay"],
                     "objective, StepLR": d["objective_decay"], "gain (ratio)": d["gain"],
                     "val acc, constant": d["val_acc_no_decay"], "val acc, StepLR": d["val_acc_decay"]}
                    for n, d in decay.items()],
                   "learning-rate decay: final training objective (lower is better)")
    eff = np.array(surf["runs"][SURFACES[0].name]["adagrad"]["eff"])
    print(f"Adagrad effective step: quadratic x {eff[0, 0]:.3g} -> {eff[-1, 0]:.3g}, y {eff[0, 1]:.3g} -> "
          f"{eff[-1, 1]:.3g}; data set (median) {adagrad_steps[0]:.3g} -> {adagrad_steps[-1]:.3g}")
    return {"steps_to_target": surf["steps_to_target"], "table": rows,
            "adagrad_effective_step_quadratic": eff.T.tolist(), "adagrad_effective_step_data": adagrad_steps,
            "decay": {n: {k: v for k, v in d.items() if k != "curves"} for n, d in decay.items()}}


if __name__ == "__main__":
    main()
