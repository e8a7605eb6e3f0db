"""Activation functions: the lecture's table, sigmoid saturation, ReLU's speed and dying ReLUs.

1. The table of eight activations: each f from the library, its derivative from the library's
   autograd (d/dx of sum f(x)), compared with the lecture's formula for f' on a grid of
   [-5, 5] that avoids x = 0 (where the library takes the negative side's slope).
2. Sigmoid saturation: sigma'(-10), sigma'(0), sigma'(10) and max sigma' = 1/4, so four
   sigmoid layers scale a backward signal by at most (1/4)^4.
3. Sigmoid vs tanh vs ReLU: the same network (two hidden layers), data, SGD and learning
   rate, each activation with its customary init (Xavier for sigmoid/tanh, He for ReLU);
   training loss per epoch, mean over seeds.
4. Dying ReLU: the fraction of hidden units never active (pre-activation <= 0 on every
   training example) after training with a normal and with overly large learning rates,
   for ReLU, leaky ReLU (slope 0.1, the lecture's) and ELU. Adam is used here because its
   steps are bounded by the learning rate: with plain SGD at such rates leaky ReLU and ELU
   networks overflow to NaN (ReLU's dead units cap the growth), so the three could not be
   compared at the same rate.

    python demos/activations.py [--quick] [--dataset fashion-mnist --data-dir DIR] [--device cuda]
"""
from __future__ import annotations

import numpy as np
import scaffold

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.train import fit

LEAKY_SLOPE, PRELU_ALPHA, ELU_ALPHA = 0.1, 0.25, 1.0
TARGET_LOSS = 0.1


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _elu(x):
    return np.where(x < 0, ELU_ALPHA * np.expm1(np.minimum(x, 0)), x)


# name, formula as printed, library f, lecture f (float64), lecture f' (float64)
TABLE = [
    ("binary step", "1[x >= 0]", lambda t: t.binary_step(),
     lambda x: (x >= 0) * 1.0, lambda x: np.zeros_like(x)),
    ("logistic", "1/(1+e^-x)", lambda t: t.sigmoid(), _sig, lambda x: _sig(x) * (1 - _sig(x))),
    ("tanh", "2/(1+e^-2x)-1", lambda t: t.tanh(),
     lambda x: 2 / (1 + np.exp(-2 * x)) - 1, lambda x: 1 - (2 / (1 + np.exp(-2 * x)) - 1) ** 2),
    ("arctan", "tan^-1(x)", lambda t: t.arctan(), np.arctan, lambda x: 1 / (x * x + 1)),
    ("ReLU", "max(0, x)", lambda t: t.relu(), lambda x: np.maximum(x, 0), lambda x: (x >= 0) * 1.0),
    ("PReLU", f"x<0: ax (a={PRELU_ALPHA})", None,
     lambda x: np.where(x < 0, PRELU_ALPHA * x, x), lambda x: np.where(x < 0, PRELU_ALPHA, 1.0)),
    ("ELU", f"x<0: a(e^x-1) (a={ELU_ALPHA})", lambda t: t.elu(ELU_ALPHA), _elu,
     lambda x: np.where(x < 0, _elu(x) + ELU_ALPHA, 1.0)),
    ("leaky ReLU", f"max({LEAKY_SLOPE}x, x)", lambda t: t.leaky_relu(LEAKY_SLOPE),
     lambda x: np.maximum(LEAKY_SLOPE * x, x), lambda x: np.where(x < 0, LEAKY_SLOPE, 1.0)),
]


def build_parser():
    p = scaffold.parser("activations", __doc__.split("\n")[0])
    p.add_argument("--train-size", type=int, default=None,
                   help="use the first N training examples (None: all; 2000 with --quick)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs of the training curves (None: 20; 5 with --quick)")
    p.add_argument("--lr", type=float, default=0.05, help="SGD learning rate of the training curves")
    p.add_argument("--seeds", type=int, default=None, help="seeds averaged (None: 3; 1 with --quick)")
    return p


def library_f_and_grad(fn, x_host: np.ndarray, device: str) -> tuple[np.ndarray, np.ndarray]:
    """f(x) and df/dx from autograd: the gradient of sum_i f(x_i) with respect to x."""
    x = tl.Tensor(x_host, requires_grad=True, device=device)
    y = fn(x)
    y.sum().backward()
    return y.numpy(), x.grad.numpy()


def _prelu(device: str):
    layer = nn.PReLU(init=PRELU_ALPHA).to(device)
    return lambda t: layer(t)


def activation_table(device: str) -> tuple[list[dict], dict]:
    """The lecture's table checked: rows to print and the curves to plot."""
    grid = np.linspace(-5, 5, 1000, dtype=np.float32)  # even count: 0 is not on the grid
    zero = np.zeros(1, dtype=np.float32)
    rows, curves = [], {}
    for name, formula, fn, f_ref, df_ref in TABLE:
        fn = fn or _prelu(device)
        f, df = library_f_and_grad(fn, grid, device)
        _, df0 = library_f_and_grad(fn, zero, device)
        x64 = grid.astype(np.float64)
        rows.append({"activation": name, "f(x)": formula,
                     "max |f - lecture f|": float(np.abs(f - f_ref(x64)).max()),
                     "max |autograd f' - lecture f'|": float(np.abs(df - df_ref(x64)).max()),
                     "library f'(0)": float(df0[0])})
        curves[name] = (grid, f, df)
    return rows, curves


def sigmoid_saturation(device: str) -> tuple[list[dict], dict]:
    """sigma'(x) by autograd at the lecture's three points, and its maximum."""
    points = np.array([-10.0, 0.0, 10.0], dtype=np.float32)
    s, ds = library_f_and_grad(lambda t: t.sigmoid(), points, device)
    rows = [{"x": float(x), "sigma(x)": float(a), "sigma'(x) autograd": float(d),
             "sigma(1-sigma) formula": float(_sig(float(x)) * (1 - _sig(float(x))))}
            for x, a, d in zip(points, s, ds)]
    grid = np.linspace(-20, 20, 4001, dtype=np.float32)
    _, dgrid = library_f_and_grad(lambda t: t.sigmoid(), grid, device)
    k = int(dgrid.argmax())
    summary = {"d_at_-10": float(ds[0]), "d_at_0": float(ds[1]), "d_at_10": float(ds[2]),
               "max_derivative": float(dgrid[k]), "argmax_x": float(grid[k]),
               "four_layer_factor": float(dgrid[k]) ** 4}
    return rows, summary


def customary_init(model, activation: str, slope: float = 0.0) -> None:
    """He (kaiming normal) init for ReLU-like units, Xavier with gain for sigmoid/tanh; zero biases."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            if activation in ("relu", "leaky_relu", "elu"):
                nn.init.kaiming_normal_(m.weight, a=slope, nonlinearity="leaky_relu")
            else:
                nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain(activation))
            nn.init.zeros_(m.bias)


def make_net(split, hidden: list[int], activation: str, device: str):
    model = scaffold.mlp([split.num_features, *hidden, split.num_classes], activation)
    slope = LEAKY_SLOPE if activation == "leaky_relu" else 0.0
    for m in model.modules():
        if isinstance(m, nn.LeakyReLU):
            m.negative_slope = LEAKY_SLOPE  # the lecture's max(0.1x, x)
    customary_init(model, activation, slope)
    return model.to(device)


def training_curves(args, split, epochs: int, seeds: int) -> dict:
    """Per-epoch training loss of each activation, one row per seed."""
    curves = {}
    for act in ("sigmoid", "tanh", "relu"):
        runs = []
        for s in range(seeds):
            scaffold.seed_all(args.seed + s)
            model = make_net(split, [64, 64], act, args.device)
            h = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=args.lr),
                    (split.x_train, split.y_train), epochs=epochs, batch_size=32, quiet=True,
                    seed=args.seed + s)
            runs.append(h.train_loss)
        curves[act] = np.array(runs)
    return curves


def _epochs_to(losses: np.ndarray, target: float) -> int | str:
    below = np.nonzero(losses < target)[0]
    return int(below[0]) + 1 if below.size else f"> {len(losses)}"


def pre_activations(model, x: tl.Tensor) -> list[np.ndarray]:
    """The output of every hidden Linear layer (the activations' inputs) on x."""
    outs = []
    with tl.no_grad():
        for m in model:
            x = m(x)
            if isinstance(m, nn.Linear):
                outs.append(x.numpy())
    return outs[:-1]


def dead_fraction(model, x: tl.Tensor) -> float:
    """Fraction of hidden units whose pre-activation is <= 0 for every example of x."""
    never = [(z <= 0).all(axis=0) for z in pre_activations(model, x)]
    return float(np.concatenate(never).mean())


def dying_relu(args, split, lrs: list[float], epochs: int, seeds: int) -> dict:
    """dead[act][lr] = list over seeds of (dead fraction, val accuracy) after Adam training."""
    x_train = tl.Tensor(split.x_train, device=args.device)
    dead = {}
    for act in ("relu", "leaky_relu", "elu"):
        dead[act] = {}
        for lr in lrs:
            runs = []
            for s in range(seeds):
                scaffold.seed_all(args.seed + s)
                model = make_net(split, [64, 64], act, args.device)
                h = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=lr),
                        (split.x_train, split.y_train), epochs=epochs, batch_size=32,
                        val=(split.x_val, split.y_val), quiet=True, seed=args.seed + s)
                runs.append((dead_fraction(model, x_train), h.val_acc[-1]))
            dead[act][lr] = runs
    return dead


def plot_table(curves: dict, path):
    fig, axes = scaffold.figure(2, 4, size=(3.0, 2.4))
    for ax, (name, (x, f, df)) in zip(axes.ravel(), curves.items()):
        ax.plot(x, f, label="f(x)")
        ax.plot(x, df, "--", label="f'(x) (autograd)")
        ax.axhline(0, color="0.8", lw=0.5)
        ax.axvline(0, color="0.8", lw=0.5)
        ax.set_title(name)
    axes[0][0].legend(fontsize=7)
    return scaffold.savefig(fig, path)


def plot_training(curves: dict, sat: dict, path):
    fig, axes = scaffold.figure(1, 2, size=(4.5, 3.2))
    x = np.linspace(-10, 10, 401)
    ax = axes[0][0]
    ax.plot(x, _sig(x), label="sigma(x)")
    ax.plot(x, _sig(x) * (1 - _sig(x)), label="sigma'(x)")
    for p in (-10.0, 0.0, 10.0):
        ax.annotate(f"{sat[f'd_at_{p:g}']:.2g}", (p, sat[f"d_at_{p:g}"]), textcoords="offset points",
                    xytext=(0, 8), ha="center", fontsize=8)
    ax.set_title("sigmoid saturates: sigma' <= 0.25")
    ax.legend(fontsize=8)
    ax = axes[0][1]
    for act, runs in curves.items():
        ax.plot(np.arange(1, runs.shape[1] + 1), runs.mean(axis=0), marker=".", label=act)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_title("same net, SGD, same lr")
    ax.legend()
    return scaffold.savefig(fig, path)


def plot_dying(dead: dict, path):
    fig, axes = scaffold.figure(1, 1, size=(5.5, 3.2))
    ax = axes[0][0]
    lrs = list(next(iter(dead.values())))
    width = 0.8 / len(dead)
    for k, (act, by_lr) in enumerate(dead.items()):
        means = [np.mean([d for d, _ in by_lr[lr]]) for lr in lrs]
        ax.bar(np.arange(len(lrs)) + (k - 1) * width, means, width, label=act)
    ax.set_xticks(range(len(lrs)), [f"Adam lr {lr:g}" for lr in lrs])
    ax.set_ylabel("fraction of dead hidden units")
    ax.set_title("units never active on the training set")
    ax.legend()
    return scaffold.savefig(fig, path)


DYING_LRS = (0.003, 0.03, 0.1)


def training_rows(curves: dict, epochs: int) -> list[dict]:
    early = min(2, epochs) - 1
    return [{"activation": a, f"loss after epoch {early + 1}": float(r[:, early].mean()),
             f"final loss (epoch {epochs})": float(r[:, -1].mean()),
             "final / early": float(r[:, -1].mean() / r[:, early].mean()),
             f"epochs to loss < {TARGET_LOSS}": _epochs_to(r.mean(axis=0), TARGET_LOSS)}
            for a, r in curves.items()]


def dead_rows(dead: dict) -> list[dict]:
    mean = lambda runs, k: float(np.mean([run[k] for run in runs]))
    return [{"activation": act, **{f"dead @ lr {lr:g}": mean(by_lr[lr], 0) for lr in DYING_LRS},
             **{f"val acc @ lr {lr:g}": mean(by_lr[lr], 1) for lr in DYING_LRS}}
            for act, by_lr in dead.items()]


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    out, elapsed = scaffold.output_dir(args), scaffold.timer()
    rows, act_curves = activation_table(args.device)
    scaffold.table(rows, "the lecture's activations: library f and autograd f' against the lecture's "
                         "formulas")
    sat_rows, sat = sigmoid_saturation(args.device)
    scaffold.table(sat_rows, f"sigmoid saturation: max sigma' = {sat['max_derivative']:.4f} at x = "
                             f"{sat['argmax_x']:g}; four layers scale the gradient by <= "
                             f"{sat['four_layer_factor']:.2e}")
    split = scaffold.load_data(args, max_train=args.train_size or (2000 if args.quick else None))
    epochs = args.epochs or (5 if args.quick else 20)
    seeds = args.seeds or (1 if args.quick else 3)
    curves = training_curves(args, split, epochs, seeds)
    train_rows = training_rows(curves, epochs)
    scaffold.table(train_rows, f"training loss, mean of {seeds} seeds ({split.name}, 2x64 hidden, "
                               f"SGD lr {args.lr})")
    dead = dying_relu(args, split, DYING_LRS, 2 if args.quick else 5, seeds)
    scaffold.table(dead_rows(dead), "dying ReLU: fraction of hidden units never active on the training set "
                                    "after Adam at a normal (0.003) and overly large learning rates")
    files = [plot_table(act_curves, out / "activations_table.png"),
             plot_training(curves, sat, out / "activations_training.png"),
             plot_dying(dead, out / "activations_dying.png")]
    results = {"dataset": split.name, "table": rows, "saturation": sat, "training": train_rows,
               "final_loss": {a: float(r[:, -1].mean()) for a, r in curves.items()},
               "dead": {a: {f"{lr:g}": float(np.mean([d for d, _ in v])) for lr, v in by.items()}
                        for a, by in dead.items()},
               "files": [str(f) for f in files], "time_s": elapsed()}
    return scaffold.finish(out, results)


if __name__ == "__main__":
    main()
