"""Second order: Newton's method against gradient descent, and the curvature that sets the
largest learning rate SGD survives.

1. Logistic regression (digits, one class against another, L2 strength ``--l2``) is convex,
   so Newton's step w <- w - H^-1 g, with H from ``tl.autograd.functional.hessian``, converges
   quadratically: a handful of iterations. Gradient descent with the step 1/L that its theory
   allows (L = lambda_max(X^T X) / 4n + l2 bounds the curvature everywhere) needs hundreds.
2. The largest eigenvalue lambda_max of a small MLP's loss Hessian, by power iteration on
   Hessian-vector products (``hvp``: two backward passes, H never formed), checked against the
   explicit float64 Hessian's eigenvalues. Near a minimum the loss is a quadratic bowl, and
   gradient descent multiplies the error along the top eigenvector by (1 - lr lambda_max) per
   step: it shrinks for lr < 2 / lambda_max and grows for lr > 2 / lambda_max. The lecture's
   "loss explodes: learning rate too high" is that threshold, measured here by training from
   the minimum at rates below and above it (the update w -= lr dw on the full batch).

    python demos/second_order.py [--quick] [--device cpu] [--seed 0] [--out runs/second_order]
"""
from __future__ import annotations

import itertools

import numpy as np
import scaffold
import tinygrad_lite.nn.functional as F

import tinygrad_lite as tl

AF = tl.autograd.functional


# ---------------------------------------------------------------- 1. Newton vs gradient descent
def binary_task(args):
    """Standardized digits of two classes (--classes), float64, with a column of ones (the bias)."""
    split = scaffold.load_data(args)
    a, b = args.classes
    keep = np.isin(split.y_train, (a, b))
    x = split.x_train[keep].astype(np.float64)
    if args.quick:
        x = x[:150]
    y = (split.y_train[keep][:len(x)] == b).astype(np.float64)
    return np.hstack([x, np.ones((len(x), 1))]), y


def logistic_loss(x, y, l2):
    """w -> mean binary cross-entropy of sigmoid(x w) + l2/2 ||w||^2 (as a function of a Tensor)."""
    def loss(w):
        return F.binary_cross_entropy_with_logits(x @ w, y) + 0.5 * l2 * (w * w).sum()
    return loss


def newton_and_gd(args) -> dict:
    xs, ys = binary_task(args)
    x, y = tl.tensor(xs, device=args.device), tl.tensor(ys, device=args.device)
    loss = logistic_loss(x, y, args.l2)
    w0 = np.zeros(xs.shape[1])

    def value_and_grad(w):
        t = tl.tensor(w, device=args.device, requires_grad=True)
        value = loss(t)
        value.backward()
        return float(value), t.grad.numpy()

    newton, w = [], w0.copy()
    for _ in range(50):
        f, g = value_and_grad(w)
        newton.append(f)
        if np.linalg.norm(g) < 1e-10:
            break
        h = AF.hessian(loss, tl.tensor(w, device=args.device)).numpy()
        w = w - np.linalg.solve(h, g)
    best = newton[-1]
    lipschitz = np.linalg.eigvalsh(xs.T @ xs).max() / (4 * len(xs)) + args.l2
    gd, w = [], w0.copy()
    for _ in range(args.gd_max_iters):
        f, g = value_and_grad(w)
        gd.append(f)
        if f - best < args.tol:
            break
        w = w - g / lipschitz

    def iters(curve):  # the first iteration within tol of the minimum
        return next((i for i, f in enumerate(curve) if f - best < args.tol), None)

    return {"n": len(xs), "features": xs.shape[1], "l2": args.l2, "tol": args.tol, "loss_min": best,
            "newton_iters": iters(newton), "gd_iters": iters(gd), "gd_lr": 1 / lipschitz,
            "newton_curve": newton, "gd_curve": gd}


# ---------------------------------------------------------------- 2. lambda_max and the learning rate
def mlp_loss(x, y, sizes, l2):
    """theta (one flat vector) -> cross-entropy of a tanh MLP of layer ``sizes`` on (x, y) plus
    l2/2 |theta|^2 (without it the loss has no minimum on data it can fit, only a valley whose
    curvature fades as the loss goes to 0)."""
    shapes = [s for a, b in itertools.pairwise(sizes) for s in ((b, a), (b,))]
    ends = np.cumsum([int(np.prod(s)) for s in shapes])

    def loss(theta):
        ps = [theta[e - int(np.prod(s)):e].reshape(s) for s, e in zip(shapes, ends)]
        h = x
        for i in range(0, len(ps), 2):
            h = F.linear(h, ps[i], ps[i + 1])
            h = h.tanh() if i + 2 < len(ps) else h
        return F.cross_entropy(h, y) + 0.5 * l2 * (theta * theta).sum()
    return loss, int(ends[-1])


def gradient_descent(loss, theta, lr, steps, device):
    """Full-batch w -= lr dw for ``steps`` steps: (the loss before each step, the last theta); it
    stops once the loss overflows or passes 1e6."""
    curve, theta = [], theta.copy()
    with scaffold.overflow_ignored():
        for _ in range(steps):
            t = tl.tensor(theta, requires_grad=True, device=device)
            value = loss(t)
            f = float(value)
            curve.append(f if np.isfinite(f) else float("inf"))
            if not np.isfinite(f) or f > 1e6:
                break
            value.backward()
            theta = theta - lr * t.grad.numpy()
    return curve, theta


def power_iteration(loss, theta, device, iters, rng):
    """lambda_max of the Hessian at ``theta`` by v <- H v / |H v| (H v from ``hvp``): (the estimates,
    the last unit vector)."""
    v = rng.standard_normal(theta.shape)
    v /= np.linalg.norm(v)
    estimates = []
    for _ in range(iters):
        _, hv = AF.hvp(loss, tl.tensor(theta, device=device), tl.tensor(v, device=device))
        hv = hv.numpy()
        estimates.append(float(v @ hv))  # the Rayleigh quotient
        v = hv / np.linalg.norm(hv)
        if len(estimates) > 5 and abs(estimates[-1] - estimates[-2]) < 1e-12 * abs(estimates[-1]):
            break
    return estimates, v


def rayleigh_by_differences(loss, theta, v, device, eps=1e-5):
    """v^T H v from first-order gradients only: v . (g(theta + eps v) - g(theta - eps v)) / (2 eps)."""
    def gradient(point):
        t = tl.tensor(point, requires_grad=True, device=device)
        loss(t).backward()
        return t.grad.numpy()
    return float(v @ (gradient(theta + eps * v) - gradient(theta - eps * v)) / (2 * eps))


def curvature_and_learning_rate(args, rng) -> dict:
    split = scaffold.load_data(args)
    n = 100 if args.quick else args.mlp_examples
    x = tl.tensor(split.x_train[:n].astype(np.float64), device=args.device)
    y = tl.tensor(split.y_train[:n], device=args.device)
    sizes = [split.num_features, args.hidden, split.num_classes]
    fn, size = mlp_loss(x, y, sizes, args.mlp_l2)
    theta = rng.standard_normal(size) * 0.1
    # to near the minimum first: the bowl's curvature is what the threshold is about
    _, theta = gradient_descent(fn, theta, args.warmup_lr, args.warmup_steps, args.device)
    estimates, v = power_iteration(fn, theta, args.device, args.power_iters, rng)
    lam = estimates[-1]
    lam_fd = rayleigh_by_differences(fn, theta, v, args.device)
    hessian = AF.hessian(fn, tl.tensor(theta, device=args.device)).numpy()
    eig = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    threshold = 2 / lam
    runs = {}
    for factor in args.factors:
        curve, end = gradient_descent(fn, theta, factor * threshold, args.steps, args.device)
        diverged = not np.isfinite(curve[-1]) or curve[-1] > 10 * curve[0]
        # where it did not diverge: the curvature where it ended (is lr still above 2 / lambda_max there?)
        sharpness = None if diverged else power_iteration(fn, end, args.device, args.power_iters, rng)[0][-1]
        runs[f"{factor:g}"] = {"factor": factor, "lr": factor * threshold, "start": curve[0], "final": curve[-1],
                               "max": max(curve), "steps": len(curve), "curve": curve,
                               "rose": max(curve) > curve[0] * (1 + 1e-9), "diverged": diverged,
                               "lambda_max_end": sharpness}
    return {"sizes": sizes, "parameters": size, "examples": n, "lambda_max_power": lam, "lambda_max_fd": lam_fd,
            "power_iterations": len(estimates), "power_estimates": estimates, "lambda_max_explicit": float(eig[-1]),
            "lambda_min_explicit": float(eig[0]), "eigenvalues": eig.tolist(), "lr_threshold": threshold,
            "runs": runs}


# ---------------------------------------------------------------- figures, flags, main
def plot(newton: dict, curv: dict, out):
    fig, axes = scaffold.figure(1, 3, size=(4.4, 3.5))
    ax = axes[0][0]
    best = newton["loss_min"]
    for name, key, style in (("Newton", "newton", "o-"), ("gradient descent, lr = 1/L", "gd", "-")):
        curve = newton[f"{key}_curve"]
        gap = np.maximum(np.array(curve) - best, 1e-16)
        ax.semilogy(range(len(curve)), gap, style, ms=4, label=f"{name}: {newton[f'{key}_iters']} iterations")
    ax.axhline(newton["tol"], color="gray", ls=":", lw=1)
    ax.set(xscale="symlog", xlim=(0, None), xlabel="iteration", ylabel="loss - min loss",
           title="logistic regression")
    ax.legend(fontsize=7)
    ax = axes[0][1]
    ax.hist(curv["eigenvalues"], bins=60, color="C0", alpha=0.7)
    ax.axvline(curv["lambda_max_power"], color="C3", ls="--", label=f"power iteration: {curv['lambda_max_power']:.3g}")
    ax.set(yscale="log", xlabel="Hessian eigenvalue", ylabel="count",
           title=f"MLP loss Hessian ({curv['parameters']} parameters)")
    ax.legend(fontsize=7)
    ax = axes[0][2]
    for i, run in enumerate(curv["runs"].values()):
        curve = np.minimum(run["curve"], 1e6)
        ax.semilogy(curve, color=f"C{i}", label=f"lr = {run['factor']:g} x 2/lambda_max")
    ax.set(xlabel="step", ylabel="training loss", ylim=(None, 1e4),
           title=f"from the minimum: 2/lambda_max = {curv['lr_threshold']:.3g}")
    ax.legend(fontsize=6, ncol=2, loc="upper center")
    return scaffold.savefig(fig, out / "second_order.png")


def build_parser():
    p = scaffold.parser("second_order", __doc__.split("\n")[0])
    p.add_argument("--classes", type=int, nargs=2, default=[3, 8], help="the two digits told apart")
    p.add_argument("--l2", type=float, default=1e-2, help="L2 strength of the logistic regression")
    p.add_argument("--tol", type=float, default=1e-6, help="converged: loss within tol of the minimum")
    p.add_argument("--gd-max-iters", type=int, default=20000, help="gradient descent's iteration cap")
    p.add_argument("--hidden", type=int, default=16, help="hidden units of the MLP")
    p.add_argument("--mlp-examples", type=int, default=300, help="training examples of the MLP (100 with --quick)")
    p.add_argument("--mlp-l2", type=float, default=1e-2, help="L2 strength of the MLP's loss (gives it a minimum)")
    p.add_argument("--warmup-lr", type=float, default=0.5, help="learning rate of the descent to the minimum")
    p.add_argument("--warmup-steps", type=int, default=2000, help="steps of the descent to the minimum")
    p.add_argument("--power-iters", type=int, default=200, help="power iterations at most")
    p.add_argument("--factors", type=float, nargs="+", default=[0.5, 0.9, 1.1, 2.0, 5.0, 10.0],
                   help="learning rates tried, as multiples of 2 / lambda_max")
    p.add_argument("--steps", type=int, default=300, help="gradient descent steps at each of those rates")
    return p


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    out, elapsed = scaffold.output_dir(args), scaffold.timer()
    rng = scaffold.seed_all(args.seed)
    newton = newton_and_gd(args)
    scaffold.table([{"method": "Newton (H from hessian)", "iterations": newton["newton_iters"]},
                    {"method": f"gradient descent, lr = 1/L = {newton['gd_lr']:.3g}", "iterations": newton["gd_iters"]}],
                   f"[1/2] logistic regression, digits {args.classes[0]} vs {args.classes[1]} ({newton['n']} examples, "
                   f"{newton['features']} weights): iterations to a loss within {args.tol:g} of the minimum")
    curv = curvature_and_learning_rate(args, rng)
    print(f"[2/2] MLP {curv['sizes']} ({curv['parameters']} parameters): lambda_max = {curv['lambda_max_power']:.6g} "
          f"by {curv['power_iterations']} power iterations on hvp, {curv['lambda_max_explicit']:.6g} from the "
          f"explicit Hessian, {curv['lambda_max_fd']:.6g} by finite differences of gradients; "
          f"2 / lambda_max = {curv['lr_threshold']:.4g}")
    scaffold.table([{"lr / (2/lambda_max)": r["factor"], "lr": r["lr"], "loss at start": r["start"],
                     "max loss": r["max"], "final loss": r["final"], "left the minimum": r["rose"],
                     "diverged": r["diverged"], "lambda_max at the end": "-" if r["lambda_max_end"] is None
                     else f"{r['lambda_max_end']:.4g}"}
                    for r in curv["runs"].values()],
                   f"full-batch gradient descent from the minimum, {args.steps} steps (diverged: final loss > 10x "
                   "the start, or overflow)")
    figure = plot(newton, curv, out)
    return scaffold.finish(out, {"newton": newton, "curvature": curv, "files": [str(figure)], "time_s": elapsed()})


if __name__ == "__main__":
    main()
