"""Zero-centering: with all-positive inputs a neuron's weight gradients share one sign, and the path zig-zags.

The lecture's derivation, for one sigmoid output unit a = sigma(w . x + b) with the loss
L = (a - t)^2 / 2:

    dL/dw_i = (a - t) * a (1 - a) * x_i
              (same for all i) (always +) (x_i: always + for raw pixels or sigmoid outputs)

so the per-example gradient on w has a single sign: all weights go up or all go down.

1. Counted on the data: that unit (one class against the rest, w ~ N(0, 0.01^2)) trained by
   SGD on mini-batches; per-example gradients from the library's autograd (the weight row
   is replicated per example, so one backward pass gives every example's dL/dw). For each
   input kind: the fraction of examples, and of mini-batches (mean gradient), whose weight
   gradients all share one sign (zeros ignored). Inputs: raw pixels (>= 0), the same pixels
   zero-centered, the outputs of a random sigmoid layer (> 0) and of a tanh layer.
2. A 2-weight toy, y = w . x with the optimum w* = (1, -1): with x in the positive quadrant
   every per-example SGD step is a multiple of x, so both weights move the same way and
   reaching w* (one up, one down) takes a zig-zag; full-batch gradient descent zig-zags too
   (E[x x^T] is ill-conditioned when the mean is large). Zero-centered x (the bias absorbs the
   mean) removes both. Measured: steps whose two components share a sign, direction
   reversals (consecutive steps with a negative dot product), path length / displacement.

    python demos/zero_centering.py [--quick] [--dataset fashion-mnist --data-dir DIR] [--device cuda]
"""
from __future__ import annotations

import numpy as np
import scaffold

import tinygrad_lite as tl
from tinygrad_lite.data import DataLoader, ZeroCenter

W_STAR = np.array([1.0, -1.0], dtype=np.float32)


def build_parser():
    p = scaffold.parser("zero_centering", __doc__.split("\n")[0])
    p.add_argument("--positive-class", type=int, default=0, help="the unit's target: 1 for this class")
    p.add_argument("--batch-size", type=int, default=16, help="examples per SGD update of the unit")
    p.add_argument("--lr", type=float, default=0.05, help="SGD learning rate of the single unit")
    return p


# ---------------------------------------------------------------- 1. sign agreement on data
def per_example_gradients(w: tl.Tensor, b: tl.Tensor, x: tl.Tensor, t: tl.Tensor) -> tuple:
    """dL/dw of every example (rows) and dL/db, L_i = (sigma(w . x_i + b) - t_i)^2 / 2.

    The weight row is replicated per example (W[i] = w), so the gradient of sum_i L_i with
    respect to W has example i's own gradient in row i."""
    rows = w.detach().unsqueeze(0).expand(x.shape[0], w.shape[0]) * 1.0
    rows.requires_grad_()
    bias = b.detach().requires_grad_()
    a = ((rows * x).sum(axis=1) + bias).sigmoid()
    (((a - t) ** 2).sum() * 0.5).backward()
    return rows.grad, bias.grad


def all_same_sign(g: np.ndarray) -> np.ndarray:
    """Per row: every nonzero entry has the same sign."""
    return ~((g > 0).any(axis=-1) & (g < 0).any(axis=-1))


def sign_agreement(x_host: np.ndarray, t_host: np.ndarray, args, epochs: int) -> dict:
    """Train the single unit with SGD; count same-sign gradients per example and per batch."""
    scaffold.seed_all(args.seed)
    w = tl.randn(x_host.shape[1], device=args.device) * 0.01
    b = tl.zeros(1, device=args.device)
    per_example, per_batch = [], []
    loader = DataLoader(x_host, t_host, args.batch_size, shuffle=True, seed=args.seed, device=args.device)
    for _ in range(epochs):
        for xb, tb in loader:
            gw, gb = per_example_gradients(w, b, xb, tb)
            g = gw.mean(axis=0)
            per_example.append(all_same_sign(gw.numpy()))
            per_batch.append(bool(all_same_sign(g.numpy())))
            w = w - g * args.lr
            b = b - gb * (args.lr / xb.shape[0])
    return {"examples": float(np.concatenate(per_example).mean()), "batches": float(np.mean(per_batch)),
            "n_examples": int(sum(len(p) for p in per_example)), "n_batches": len(per_batch)}


def input_kinds(args, split) -> dict:
    """The unit's inputs: raw pixels, zero-centered pixels, random sigmoid / tanh layer outputs."""
    x = split.x_train
    centered = ZeroCenter().fit(x).transform(x)
    rng = scaffold.seed_all(args.seed)
    v = rng.standard_normal((x.shape[1], 30)).astype(np.float32) / np.float32(np.sqrt(x.shape[1]))
    z = centered / np.float32(centered.std() + 1e-8) @ v
    return {"raw pixels (>= 0)": x, "zero-centered pixels": centered,
            "sigmoid layer outputs (> 0)": 1 / (1 + np.exp(-z)), "tanh layer outputs": np.tanh(z)}


# ---------------------------------------------------------------- 2. the 2-weight toy
def toy_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs in the positive quadrant (mean (1, 1)) and targets y = w* . x."""
    x = rng.uniform(0.2, 1.8, size=(n, 2)).astype(np.float32)
    return x, x @ W_STAR


def toy_path(x_host: np.ndarray, y_host: np.ndarray, lr: float, steps: int, per_example: bool,
             device: str) -> np.ndarray:
    """Weights visited by gradient descent on L = mean (w . x - y)^2 / 2 from w = 0."""
    x, y = tl.Tensor(x_host, device=device), tl.Tensor(y_host, device=device)
    w = tl.zeros(2, device=device, requires_grad=True)
    path = [w.numpy().copy()]
    for k in range(steps):
        xb, yb = (x[k % len(x_host)].unsqueeze(0), y[k % len(x_host)].unsqueeze(0)) if per_example else (x, y)
        loss = (((xb @ w) - yb) ** 2).mean() * 0.5
        w.grad = None
        loss.backward()
        with tl.no_grad():
            w.data -= lr * w.grad.data
        path.append(w.numpy().copy())
    return np.array(path)


def zigzag(path: np.ndarray, tol: float = 0.05) -> dict:
    """How much a path wanders: see the module docstring."""
    steps = np.diff(path, axis=0)
    moving = steps[np.abs(steps).sum(axis=1) > 0]
    same = np.sign(moving[:, 0]) == np.sign(moving[:, 1])
    reversals = int((np.sum(moving[1:] * moving[:-1], axis=1) < 0).sum())
    length = float(np.linalg.norm(moving, axis=1).sum())
    displacement = float(np.linalg.norm(path[-1] - path[0]))
    dist = np.linalg.norm(path - W_STAR, axis=1)
    reached = np.nonzero(dist < tol)[0]
    return {"same-sign steps": float(same.mean()), "reversals": reversals,
            "length / displacement": length / max(displacement, 1e-12),
            f"steps to |w - w*| < {tol}": int(reached[0]) if reached.size else f"> {len(path) - 1}",
            "final |w - w*|": float(dist[-1])}


def toy(args, steps: int) -> tuple[dict, dict]:
    """Paths of per-example SGD and full-batch GD on positive and zero-centered inputs, each
    with its largest step that never overshoots: lr = 1 / max_i |x_i|^2 (SGD; one step then
    at most projects w onto the example's solution line) and lr = 1 / lambda_max(E[x x^T]) (GD)."""
    rng = scaffold.seed_all(args.seed)
    x, y = toy_data(rng, 64)
    xc = x - x.mean(axis=0)
    sets = {"positive x": (x, y), "zero-centered x": (xc, xc @ W_STAR)}
    paths, rows = {}, {}
    for name, (xs, ys) in sets.items():
        lr_sgd = 1.0 / float((xs ** 2).sum(axis=1).max())
        lr_gd = 1.0 / float(np.linalg.eigvalsh(xs.T @ xs / len(xs)).max())
        for method, per_ex, lr in (("SGD, one example", True, lr_sgd), ("full-batch GD", False, lr_gd)):
            path = toy_path(xs, ys, lr, steps, per_ex, args.device)
            paths[(name, method)] = path
            rows[(name, method)] = {"lr": lr, **zigzag(path)}
    return paths, rows


def plot_toy(paths: dict, x_pos: np.ndarray, path, frames: int = 0):
    """Contours of each data set's loss with the SGD and GD paths; with ``frames`` also a GIF
    of the paths being drawn. Returns the files written."""
    fig, axes = scaffold.figure(1, 2, size=(4.2, 3.8))
    grid = np.linspace(-1.5, 1.5, 121)
    ww = np.stack(np.meshgrid(grid, grid), axis=-1)
    lines = []
    for ax, name in zip(axes[0], ("positive x", "zero-centered x")):
        x = x_pos if name == "positive x" else x_pos - x_pos.mean(axis=0)
        loss = 0.5 * (((ww - W_STAR) @ x.T) ** 2).mean(axis=-1)
        ax.contour(grid, grid, loss, levels=np.geomspace(loss.min() + 1e-3, loss.max(), 12), colors="0.75",
                   linewidths=0.6)
        for method, color in (("SGD, one example", "C3"), ("full-batch GD", "C0")):
            p = paths[(name, method)]
            lines.append((ax.plot(p[:, 0], p[:, 1], ".-", color=color, ms=3, lw=1, label=method)[0], p))
        ax.plot(*W_STAR, "k*", ms=12, label="w*")
        ax.set(title=name, xlabel="w1", ylabel="w2", aspect="equal")
    axes[0][0].legend(fontsize=7, loc="lower left")
    files = [scaffold.savefig(fig, path)]
    if frames:
        n = max(len(p) for _, p in lines)

        def draw(i):
            k = 1 + round(i * (n - 1) / (frames - 1))
            for line, p in lines:
                line.set_data(p[:k, 0], p[:k, 1])
            return [line for line, _ in lines]

        files.append(scaffold.save_gif(fig, draw, frames, path.with_suffix(".gif"), fps=6, dpi=70))
    return files


def plot_signs(results: dict, path):
    fig, axes = scaffold.figure(1, 1, size=(6.0, 3.0))
    ax = axes[0][0]
    names = list(results)
    pos = np.arange(len(names))
    for shift, key, label in ((-0.2, "examples", "per example"), (0.2, "batches", "per mini-batch (mean)")):
        bars = ax.bar(pos + shift, [results[n][key] for n in names], 0.4, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(pos, [n.replace(" (", "\n(") for n in names], fontsize=8)
    ax.set_ylabel("all weight gradients share a sign")
    ax.set_ylim(0, 1.15)
    ax.legend(fontsize=8)
    return scaffold.savefig(fig, path)


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    out, elapsed = scaffold.output_dir(args), scaffold.timer()
    split = scaffold.load_data(args, max_train=400 if args.quick else None, standardize=False)
    t_host = (split.y_train == args.positive_class).astype(np.float32)
    epochs = 1 if args.quick else 3
    signs = {name: sign_agreement(x, t_host, args, epochs) for name, x in input_kinds(args, split).items()}
    rows = [{"input to the unit": n, "examples with one sign": r["examples"],
             "mini-batches with one sign": r["batches"]} for n, r in signs.items()]
    any_r = next(iter(signs.values()))
    scaffold.table(rows, f"one sigmoid unit ({split.name}, class {args.positive_class} vs rest, "
                         f"SGD lr {args.lr}): dL/dw all of one sign, over {any_r['n_examples']} examples / "
                         f"{any_r['n_batches']} mini-batches of {args.batch_size}")

    paths, toy_rows = toy(args, 40 if args.quick else 80)
    scaffold.table([{"inputs": n, "method": m, **r} for (n, m), r in toy_rows.items()],
                   "2-weight toy, y = w . x, w* = (1, -1), from w = 0")
    x_pos, _ = toy_data(scaffold.seed_all(args.seed), 64)
    files = [plot_signs(signs, out / "zero_centering_signs.png"),
             *plot_toy(paths, x_pos, out / "zero_centering_paths.png", frames=0 if args.quick else 30)]
    results = {"dataset": split.name, "signs": signs,
               "toy": {f"{n} | {m}": r for (n, m), r in toy_rows.items()},
               "files": [str(f) for f in files], "time_s": elapsed()}
    return scaffold.finish(out, results)


if __name__ == "__main__":
    main()
