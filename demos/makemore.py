"""makemore on the embedded names: counting bigrams, a neural bigram, the MLP with and without batch norm, a small Transformer.

Character-level language models of the 32,033 embedded names (makemore, parts 1-3, and a
small Transformer), each trained on the same 80% of the names and scored by its mean
per-character loss (negative log-likelihood of the next character, the boundary '.' after
the last letter included) on the training and validation names:

1. Bigrams. Counting: P(next | previous) from the 27 x 27 count matrix with +1 smoothing.
   Neural: one linear layer (27 x 27 weights, no bias) on the one-hot previous character,
   trained by full-batch gradient descent. Its loss over the training examples is the
   count-weighted loss over the 27 distinct one-hot inputs, so the training batch is those
   27 rows weighted by the bigram counts (same loss, same gradient; the loss over the
   examples themselves is evaluated too, to confirm). Training approaches the unsmoothed
   maximum-likelihood bigram, whose loss is a lower bound: both models end at the same loss,
   and the softmax of each weight row matches the normalized counts of that row.
2. The MLP (Bengio et al. 2003): 3 characters of context, a 10-dim embedding, 200 tanh units,
   batch 32, SGD at lr 0.1 then 0.01 for the last 10% of the steps. The lecture's checks:
   the initial loss against ln 27 = 3.2958 with N(0, 1) weights (makemore part 2's start),
   the library's default init, and the fixed init (hidden weights N(0, 1) * (5/3) / sqrt(fan_in),
   the output layer's N(0, 1) / sqrt(fan_in) scaled by 0.1); the fraction of saturated tanh outputs (|tanh| > 0.97)
   before and after the fix; per-layer activation and gradient statistics of a deeper tanh
   network (five tanh layers, makemore part 3) under each init; overfitting 32 examples.
   Then the MLP without and with batch norm (BatchNorm1d before tanh, the Linear before it
   without bias; the batch norm statistics calibrated on the whole training set after
   training, as in the lecture) is trained, scored and sampled.
3. A small Transformer: character and position embeddings, 2 pre-norm encoder layers
   (d_model 64, 4 heads, feed-forward 256, GELU, no dropout) under a causal mask, a final
   LayerNorm and a linear head, on each name as '.' + name + '.' (the loss at every position
   of the name, so per character as the MLP's); AdamW, lr / 10 for the last 10% of the steps.

Each model samples names (``tinygrad_lite.train.generate``, stopping at the boundary).
Figures: the bigram count matrix, the loss curves, the tanh outputs and their gradients per
layer under each init. ``--quick`` runs every stage with few steps (for the tests).

    python demos/makemore.py [--quick] [--device cpu|cuda|strict] [--steps N] [--tf-steps N]

The default run takes about 2.5 minutes on 2 busy cores (``--quick``: 10-20 s). It uses one
BLAS thread unless ``OPENBLAS_NUM_THREADS`` says otherwise.
"""
from __future__ import annotations

import os

# One BLAS thread unless the caller chose: the matrices here are small, and on a busy 2-core
# machine OpenBLAS's extra threads spin (the Transformer trained 10x slower with them). Set
# before NumPy loads, as tests/conftest.py does.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import itertools
import math
import warnings

import numpy as np
import scaffold
import tinygrad_lite.nn.functional as F

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import CharVocab, context_windows, load_names
from tinygrad_lite.train import InitialLossWarning, check_initial_loss, expected_initial_loss, generate

QUICK = {"steps": 1000, "tf_steps": 100}
DEFAULT = {"steps": 60_000, "tf_steps": 2000}
SATURATED = 0.97  # |tanh| above it: the local gradient 1 - tanh^2 is below 0.06
GAIN = 5 / 3  # tanh's gain (nn.init.calculate_gain("tanh"))
LAST_SCALE = 0.1  # the fixed init's output layer: N(0, 1) / sqrt(fan_in) times this (makemore part 3)
DEEP_HIDDEN, DEEP_LAYERS = 100, 5  # makemore part 3's deeper network
OVERFIT_EXAMPLES, OVERFIT_STEPS, OVERFIT_LR = 32, 300, 1e-2
INITS = ("naive", "default", "fixed")
INIT_NAMES = {"naive": "N(0, 1) weights", "default": "library default", "fixed": "fixed (gain 5/3)"}
EVAL_CHUNK = 8192


def build_parser() -> argparse.ArgumentParser:
    """The shared flags (``--quick --device --seed --out``; no data set flags: the names are
    embedded) and the demo's own; ``--help`` shows every default."""
    p = argparse.ArgumentParser(prog="demos/makemore.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a small, fast run (used by the tests)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "strict"],
                   help="strict: the CPU, refusing host arrays where device arrays belong, as CuPy does")
    p.add_argument("--seed", type=int, default=0, help="seeds the library's and the host's generators")
    p.add_argument("--out", default="runs/makemore", help="directory for figures and results")
    p.add_argument("--steps", type=int, default=None,
                   help=f"MLP training steps (None: {DEFAULT['steps']}; {QUICK['steps']} with --quick)")
    p.add_argument("--batch-size", type=int, default=32, help="MLP examples per SGD step")
    p.add_argument("--lr", type=float, default=0.1, help="MLP learning rate; lr / 10 for the last 10%% of the steps")
    p.add_argument("--block-size", type=int, default=3, help="MLP characters of context")
    p.add_argument("--embed-dim", type=int, default=10, help="MLP embedding size per character")
    p.add_argument("--hidden", type=int, default=200, help="MLP tanh units")
    p.add_argument("--bigram-steps", type=int, default=5000, help="neural bigram full-batch gradient steps")
    p.add_argument("--bigram-lr", type=float, default=50.0, help="neural bigram learning rate")
    p.add_argument("--tf-steps", type=int, default=None,
                   help=f"Transformer steps (None: {DEFAULT['tf_steps']}; {QUICK['tf_steps']} with --quick)")
    p.add_argument("--tf-batch-size", type=int, default=32, help="Transformer names per AdamW step")
    p.add_argument("--tf-lr", type=float, default=3e-3, help="Transformer AdamW learning rate; lr / 10 for the last 10%%")
    p.add_argument("--d-model", type=int, default=64, help="Transformer width (4 heads, feed-forward 4x)")
    p.add_argument("--tf-layers", type=int, default=2, help="Transformer encoder layers")
    p.add_argument("--samples", type=int, default=10, help="names sampled from each model")
    return p


# ---------------------------------------------------------------- helpers
def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def decay_at(steps: int) -> int:
    """makemore's schedule: the learning rate drops tenfold after 90% of the steps."""
    return int(0.9 * steps)


def window_means(losses: list, windows: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """(step at each window's middle, mean loss of the window): at most ``windows`` points."""
    losses = np.asarray(losses, dtype=np.float64)
    w = max(1, len(losses) // windows)
    n = len(losses) // w * w
    return np.arange(n // w) * w + w / 2, losses[:n].reshape(-1, w).mean(axis=1)


def decode_rows(ids: tl.Tensor, start: int, vocab: CharVocab) -> list[str]:
    """Each generated row after its ``start`` context ids, cut at its first boundary."""
    out = []
    for row in ids.numpy()[:, start:].tolist():
        b = vocab.boundary_id
        out.append(vocab.decode(row[:row.index(b)] if b in row else row))
    return out


# ---------------------------------------------------------------- 1. bigrams
def counting_bigram(pairs: dict) -> dict:
    """The count matrix of the training bigrams, P = (N + 1) / row sums, and its losses."""
    x, y = pairs["train"]
    counts = np.zeros((27, 27), dtype=np.int64)
    np.add.at(counts, (x, y), 1)
    probs = (counts + 1) / (counts + 1).sum(axis=1, keepdims=True)  # +1 smoothing
    losses = {part: float(-np.log(probs[xs, ys]).mean()) for part, (xs, ys) in pairs.items()}
    mle = counts / counts.sum(axis=1, keepdims=True)
    lower = float(-np.log(mle[x, y]).mean())  # unsmoothed: no bigram model does better on train
    return {"counts": counts, "probs": probs, "train_loss": losses["train"], "val_loss": losses["val"],
            "mle_train_loss": lower}


def neural_bigram(pairs: dict, counts: np.ndarray, args) -> dict:
    """One Linear(27, 27, bias=False) on one-hot inputs, full-batch gradient descent. The batch
    is the 27 distinct one-hot rows, each example's loss weighted by its count: the mean loss
    over all training examples, at the cost of 27 rows."""
    v, dev = len(counts), args.device
    layer = nn.Linear(v, v, bias=False).to(dev)
    with tl.no_grad():
        layer.weight.data = tl.randn(v, v, device=dev).data  # makemore: W = torch.randn((27, 27))
    onehot = F.one_hot(tl.arange(v, device=dev), v).float()
    weights = tl.tensor(counts.astype(np.float32) / counts.sum(), device=dev)
    opt = optim.SGD(layer.parameters(), lr=args.bigram_lr)
    curve = []
    for _ in range(args.bigram_steps):
        loss = -(weights * F.log_softmax(layer(onehot), 1)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(float(loss.item()))

    def examples_loss(x, y) -> float:  # the lecture's form: every example's one-hot row
        with tl.no_grad():
            return float(F.cross_entropy(layer(F.one_hot(tl.tensor(x, device=dev), v).float()), tl.tensor(y, device=dev)).item())

    with tl.no_grad():
        final = float(-(weights * F.log_softmax(layer(onehot), 1)).sum().item())
        w = layer.weight.numpy().T.astype(np.float64)  # W[i, j]: input i, output j, as xenc @ W
    return {"layer": layer, "curve": curve, "train_loss": examples_loss(*pairs["train"]), "val_loss": examples_loss(*pairs["val"]),
            "weighted_train_loss": final, "W": w}


def bigram_agreement(count: dict, neural: dict) -> dict:
    """The neural bigram's softmax rows against the normalized counts, and its weights against
    log(counts) up to a constant per row."""
    w = neural["W"]
    p = np.exp(w - w.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    counts = count["counts"]
    q = counts / counts.sum(axis=1, keepdims=True)
    logn = np.log(counts + 1.0)
    wc, lc = w - w.mean(axis=1, keepdims=True), logn - logn.mean(axis=1, keepdims=True)
    return {"max |softmax(W) - N / row sum|": float(np.abs(p - q).max()),
            "max |softmax(W) - (N + 1) / row sum|": float(np.abs(p - count["probs"]).max()),
            "corr(W, log(N + 1)), rows centered": float(np.corrcoef(wc.ravel(), lc.ravel())[0, 1])}


# ---------------------------------------------------------------- 2. the MLP
def mlp(args, batchnorm: bool) -> nn.Sequential:
    """Embedding -> flatten -> Linear -> [BatchNorm1d] -> tanh -> Linear (makemore part 3)."""
    vocab_size, fan_in = 27, args.block_size * args.embed_dim
    layers = [nn.Embedding(vocab_size, args.embed_dim), nn.Flatten(),
              nn.Linear(fan_in, args.hidden, bias=not batchnorm)]
    if batchnorm:
        layers.append(nn.BatchNorm1d(args.hidden))
    layers += [nn.Tanh(), nn.Linear(args.hidden, vocab_size)]
    return nn.Sequential(*layers)


def init_(model: nn.Sequential, kind: str) -> nn.Sequential:
    """naive: every weight and bias N(0, 1) (makemore part 2's torch.randn); default: as built
    (PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in))); fixed: hidden weights N(0, 1) * gain /
    sqrt(fan_in), hidden biases N(0, 1) * 0.01, output weights N(0, 1) * LAST_SCALE / sqrt(fan_in)
    (less confident initial scores), output bias 0."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if kind == "default":
        return model
    with tl.no_grad():
        for i, m in enumerate(linears):
            last = i == len(linears) - 1
            fan_in = m.weight.shape[1]
            if kind == "naive":
                scale, bias_scale = 1.0, 1.0
            elif last:
                scale, bias_scale = LAST_SCALE / math.sqrt(fan_in), 0.0
            else:
                scale, bias_scale = GAIN / math.sqrt(fan_in), 0.01
            m.weight.data = (tl.randn(*m.weight.shape) * scale).data
            if m.bias is not None:
                m.bias.data = (tl.randn(*m.bias.shape) * bias_scale).data
    return model


def batched_loss(model, x: np.ndarray, y: np.ndarray, device: str) -> float:
    """Mean cross-entropy over all of (x, y), in eval mode, in chunks."""
    model.eval()
    total = 0.0
    with tl.no_grad():
        for i in range(0, len(x), EVAL_CHUNK):
            xb, yb = tl.tensor(x[i:i + EVAL_CHUNK], device=device), tl.tensor(y[i:i + EVAL_CHUNK], device=device)
            total += float(F.cross_entropy(model(xb), yb, reduction="sum").item())
    model.train()
    return total / len(x)


def init_checks(args, data: dict) -> dict:
    """Initial loss and tanh saturation of the MLP (no batch norm) under each init."""
    x, y = data["train"]
    rng = np.random.default_rng(args.seed)
    batch = x[rng.choice(len(x), 1000, replace=False)]
    expected = expected_initial_loss(F.cross_entropy, 27)
    out = {}
    for kind in INITS:
        scaffold.seed_all(args.seed)
        model = init_(mlp(args, batchnorm=False), kind).to(args.device)
        with warnings.catch_warnings():  # the naive init is far off on purpose: the table says so
            warnings.simplefilter("ignore", InitialLossWarning)
            check = check_initial_loss(model, F.cross_entropy, x, y, expected=expected)
        with tl.no_grad():
            h = model[:4](tl.tensor(batch, device=args.device)).numpy()  # the tanh outputs
        out[kind] = {"initial_loss": check.measured, "within_10%": check.ok,
                     "saturated": float(np.mean(np.abs(h) > SATURATED)), "tanh_std": float(h.std())}
    return {"expected": expected, "inits": out}


def deep_net(args) -> nn.Sequential:
    layers = [nn.Embedding(27, args.embed_dim), nn.Flatten()]
    sizes = [args.block_size * args.embed_dim] + [DEEP_HIDDEN] * DEEP_LAYERS
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.Tanh()]
    layers.append(nn.Linear(DEEP_HIDDEN, 27))
    return nn.Sequential(*layers)


def layer_statistics(args, data: dict, kind: str, batch: int = 1000) -> list[dict]:
    """Forward and backward of the deeper tanh network on one batch: per tanh layer, its outputs
    and their gradients (``retain_grad``, as makemore part 3 reads them), and the gradient of the
    Linear weight before it."""
    scaffold.seed_all(args.seed)
    model = init_(deep_net(args), kind).to(args.device)
    x, y = data["train"]
    idx = np.random.default_rng(args.seed + 1).choice(len(x), batch, replace=False)
    h = tl.tensor(x[idx], device=args.device)
    outs, linears = [], []
    for m in model:
        h = m(h)
        if isinstance(m, nn.Linear):
            linears.append(m)
        if isinstance(m, nn.Tanh):
            h.retain_grad()
            outs.append(h)
    loss = F.cross_entropy(h, tl.tensor(y[idx], device=args.device))
    loss.backward()
    rows = []
    for i, (t, lin) in enumerate(zip(outs, linears)):
        a, g, wg = t.numpy().astype(np.float64), t.grad.numpy().astype(np.float64), lin.weight.grad.numpy()
        counts, edges = np.histogram(a, bins=50, range=(-1, 1))
        gcounts, gedges = np.histogram(g, bins=50)
        rows.append({"layer": i + 1, "mean": float(a.mean()), "std": float(a.std()),
                     "saturated": float(np.mean(np.abs(a) > SATURATED)), "grad_std": float(g.std()),
                     "weight_grad_std": float(wg.std()),
                     "grad:data": float(wg.std() / lin.weight.numpy().std()),
                     "hist": (counts.tolist(), edges.tolist()), "grad_hist": (gcounts.tolist(), gedges.tolist())})
    return rows


def overfit_batch(args, data: dict) -> dict:
    """The MLP (fixed init) on 32 training examples with distinct contexts, full batch, Adam:
    the loss must go to about 0 (a context seen with two different next characters, such as
    '...' at the start of two names, could not)."""
    x, y = data["train"]
    _, first = np.unique(x, axis=0, return_index=True)
    pick = np.random.default_rng(args.seed).choice(first, OVERFIT_EXAMPLES, replace=False)
    scaffold.seed_all(args.seed)
    model = init_(mlp(args, batchnorm=False), "fixed").to(args.device)
    xb, yb = tl.tensor(x[pick], device=args.device), tl.tensor(y[pick], device=args.device)
    opt = optim.Adam(model.parameters(), lr=OVERFIT_LR)
    first_loss = None
    for _ in range(OVERFIT_STEPS):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first_loss = float(loss.item()) if first_loss is None else first_loss
    model.eval()
    with tl.no_grad():
        scores = model(xb)
        final = float(F.cross_entropy(scores, yb).item())
        acc = float((scores.numpy().argmax(axis=1) == y[pick]).mean())
    return {"examples": OVERFIT_EXAMPLES, "steps": OVERFIT_STEPS, "initial_loss": first_loss,
            "final_loss": final, "train_acc": acc}


def calibrate_batchnorm(model: nn.Sequential, x: np.ndarray, device: str) -> None:
    """Set each BatchNorm1d's running statistics to those of its input over all of ``x``
    (makemore part 3: "calibrate the batch norm at the end of training")."""
    for i, m in enumerate(model):
        if isinstance(m, nn.BatchNorm1d):
            total = square = 0.0
            with tl.no_grad():
                for j in range(0, len(x), EVAL_CHUNK):
                    z = model[:i](tl.tensor(x[j:j + EVAL_CHUNK], device=device)).numpy().astype(np.float64)
                    total, square = total + z.sum(axis=0), square + (z * z).sum(axis=0)
            mean = total / len(x)
            var = (square - len(x) * mean * mean) / (len(x) - 1)  # unbiased, as the running variance
            m.running_mean.data = tl.tensor(mean.astype(np.float32), device=device).data
            m.running_var.data = tl.tensor(var.astype(np.float32), device=device).data


def train_mlp(args, data: dict, batchnorm: bool, steps: int) -> dict:
    elapsed = scaffold.timer()
    scaffold.seed_all(args.seed)
    model = init_(mlp(args, batchnorm), "fixed").to(args.device)
    x, y = data["train"]
    opt = optim.SGD(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    curve = []
    for step in range(steps):
        if step == decay_at(steps):
            opt.param_groups[0]["lr"] = args.lr / 10
        ix = rng.integers(0, len(x), args.batch_size)
        loss = F.cross_entropy(model(tl.tensor(x[ix], device=args.device)), tl.tensor(y[ix], device=args.device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(float(loss.item()))
    if batchnorm:
        calibrate_batchnorm(model, x, args.device)
    result = {"model": model, "curve": curve, "params": n_params(model),
              "train_loss": batched_loss(model, *data["train"], args.device),
              "val_loss": batched_loss(model, *data["val"], args.device)}
    result["time_s"] = elapsed()
    return result


def sample_mlp(model, args, vocab: CharVocab) -> list[str]:
    model.eval()
    ctx = tl.zeros(args.samples, args.block_size, dtype="int64", device=args.device)  # '...'
    ids = generate(lambda ids: model(ids[:, -args.block_size:]), ctx, 30, stop_token=vocab.boundary_id)
    model.train()
    return decode_rows(ids, args.block_size, vocab)


# ---------------------------------------------------------------- 3. a small Transformer
class CharTransformer(nn.Module):
    """Character + position embeddings, a causal pre-norm TransformerEncoder with a final
    LayerNorm, and a linear head: scores for the next character at every position."""

    def __init__(self, vocab_size: int, block_size: int, d_model: int, layers: int, nhead: int = 4):
        super().__init__()
        self.block_size = block_size
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(block_size, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=4 * d_model, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model))
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, idx: tl.Tensor) -> tl.Tensor:
        t = idx.shape[1]
        h = self.tok(idx) + self.pos(tl.arange(t, device=idx.device))
        mask = tl.ones(t, t, device=idx.device).tril() == 0  # True: a later position, not attended to
        return self.head(self.encoder(h, mask=mask, is_causal=True))


def padded_names(words: list, vocab: CharVocab, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Each name as '.' + name + '.': inputs x (the first ``block``), targets y (shifted by one),
    -1 (ignored) after the final boundary. A name of n letters has n + 1 targets, as in the MLP."""
    x = np.full((len(words), block), vocab.boundary_id, dtype=np.int64)
    y = np.full((len(words), block), -1, dtype=np.int64)
    for i, w in enumerate(words):
        s = np.concatenate([[vocab.boundary_id], vocab.encode(w), [vocab.boundary_id]])
        x[i, :len(s) - 1], y[i, :len(s) - 1] = s[:-1], s[1:]
    return x, y


def lengths(y: np.ndarray) -> np.ndarray:
    return (y >= 0).sum(axis=1)


def transformer_loss(model, x: np.ndarray, y: np.ndarray, device: str, chunk: int = 1024) -> float:
    """Mean per-character loss over every target of (x, y)."""
    model.eval()
    total = 0.0
    with tl.no_grad():
        for i in range(0, len(x), chunk):
            yb = y[i:i + chunk]
            t = int(lengths(yb).max())
            scores = model(tl.tensor(x[i:i + chunk, :t], device=device))
            total += float(F.cross_entropy(scores.reshape(-1, scores.shape[-1]), tl.tensor(yb[:, :t].reshape(-1), device=device),
                                           ignore_index=-1, reduction="sum").item())
    model.train()
    return total / int(lengths(y).sum())


def train_transformer(args, names, vocab: CharVocab, steps: int, train_eval: int | None) -> dict:
    elapsed = scaffold.timer()
    block = max(len(w) for w in names.train + names.val + names.test) + 1
    x, y = padded_names(names.train, vocab, block)
    xv, yv = padded_names(names.val, vocab, block)
    scaffold.seed_all(args.seed)
    model = CharTransformer(len(vocab), block, args.d_model, args.tf_layers).to(args.device)
    opt = optim.AdamW(model.parameters(), lr=args.tf_lr, weight_decay=0.01)
    rng = np.random.default_rng(args.seed)
    curve = []
    for step in range(steps):
        if step == decay_at(steps):
            opt.param_groups[0]["lr"] = args.tf_lr / 10
        ix = rng.integers(0, len(x), args.tf_batch_size)
        t = int(lengths(y[ix]).max())  # no position past the longest name of the batch
        scores = model(tl.tensor(x[ix, :t], device=args.device))
        loss = F.cross_entropy(scores.reshape(-1, len(vocab)), tl.tensor(y[ix, :t].reshape(-1), device=args.device),
                               ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(float(loss.item()))
    n = len(x) if train_eval is None else train_eval
    result = {"model": model, "curve": curve, "params": n_params(model), "block_size": block,
              "train_loss": transformer_loss(model, x[:n], y[:n], args.device), "train_eval_names": n,
              "val_loss": transformer_loss(model, xv, yv, args.device)}
    result["time_s"] = elapsed()
    return result


def sample_transformer(model, args, vocab: CharVocab) -> list[str]:
    model.eval()
    ctx = tl.zeros(args.samples, 1, dtype="int64", device=args.device)
    ids = generate(lambda ids: model(ids[:, -model.block_size:])[:, -1, :], ctx, model.block_size,
                   stop_token=vocab.boundary_id)
    model.train()
    return decode_rows(ids, 1, vocab)


def sample_bigram(logits: np.ndarray, args, vocab: CharVocab) -> list[str]:
    table = tl.tensor(logits.astype(np.float32), device=args.device)
    ctx = tl.zeros(args.samples, 1, dtype="int64", device=args.device)
    ids = generate(lambda ids: table[ids[:, -1]], ctx, 30, stop_token=vocab.boundary_id)
    return decode_rows(ids, 1, vocab)


# ---------------------------------------------------------------- figures
def plot_counts(counts: np.ndarray, vocab: CharVocab, path):
    fig, axes = scaffold.figure(1, 1, size=(9.0, 9.0))
    ax = axes[0][0]
    ax.imshow(counts, cmap="Blues")
    for i in range(len(vocab)):
        for j in range(len(vocab)):
            ax.text(j, i, vocab.itos[i] + vocab.itos[j], ha="center", va="bottom", color="gray", fontsize=6)
            ax.text(j, i, str(counts[i, j]), ha="center", va="top", color="gray", fontsize=5)
    ax.set_xticks(range(len(vocab)), vocab.itos)
    ax.set_yticks(range(len(vocab)), vocab.itos)
    ax.set(xlabel="next character", ylabel="previous character",
           title=f"bigram counts of the {counts.sum():,} training bigrams ('.' = start/end of a name)")
    return scaffold.savefig(fig, path)


def plot_losses(r: dict, path):
    fig, axes = scaffold.figure(1, 3, size=(4.2, 3.2))
    ax = axes[0][0]
    ax.plot(np.arange(1, len(r["neural"]["curve"]) + 1), r["neural"]["curve"], label="neural bigram (GD)")
    ax.axhline(r["count"]["train_loss"], color="k", ls="--", lw=0.8, label="counting (+1 smoothing)")
    ax.set(xscale="log", ylim=(r["count"]["train_loss"] - 0.05, r["count"]["train_loss"] + 0.5), xlabel="step",
           ylabel="training loss", title="bigrams")
    ax.legend(fontsize=8)
    ax = axes[0][1]
    for key, label, color in (("mlp", "MLP", "C0"), ("mlp_bn", "MLP + batch norm", "C1")):
        s, m = window_means(r[key]["curve"])
        ax.plot(s, m, color=color, label=f"{label} (batch mean)")
        ax.axhline(r[key]["val_loss"], color=color, ls="--", lw=0.8, label=f"{label}: val {r[key]['val_loss']:.3f}")
    ax.set(xlabel="step", ylabel="loss", title="MLP, batch 32, SGD", ylim=(1.9, 3.0))
    ax.legend(fontsize=7)
    ax = axes[0][2]
    s, m = window_means(r["transformer"]["curve"])
    ax.plot(s, m, color="C2", label="Transformer (batch mean)")
    ax.axhline(r["transformer"]["val_loss"], color="C2", ls="--", lw=0.8,
               label=f"val {r['transformer']['val_loss']:.3f}")
    ax.axhline(r["mlp_bn"]["val_loss"], color="C1", ls=":", lw=0.8, label=f"MLP + BN val {r['mlp_bn']['val_loss']:.3f}")
    ax.set(xlabel="step (32 names)", ylabel="per-character loss", title="Transformer, AdamW", ylim=(1.9, 3.0))
    ax.legend(fontsize=7)
    return scaffold.savefig(fig, path)


def plot_layers(stats: dict, path):
    """makemore part 3's figure: per-layer histograms of the tanh outputs (top) and of their
    gradients (bottom), one column per init."""
    fig, axes = scaffold.figure(2, len(stats), size=(3.8, 2.8))
    for col, (kind, rows) in enumerate(stats.items()):
        for row in rows:
            counts, edges = row["hist"]
            centers = (np.asarray(edges[:-1]) + np.asarray(edges[1:])) / 2
            axes[0][col].plot(centers, counts, label=f"layer {row['layer']}: {row['saturated']:.0%} sat.")
            gcounts, gedges = row["grad_hist"]
            gcenters = (np.asarray(gedges[:-1]) + np.asarray(gedges[1:])) / 2
            axes[1][col].plot(gcenters, gcounts, label=f"layer {row['layer']}: std {row['grad_std']:.1e}")
        axes[0][col].set(title=f"tanh outputs, {INIT_NAMES[kind]}", xlabel="tanh output")
        axes[1][col].set(title=f"their gradients, {INIT_NAMES[kind]}", xlabel="gradient")
        for r in (0, 1):
            axes[r][col].legend(fontsize=6)
    return scaffold.savefig(fig, path)


# ---------------------------------------------------------------- main
def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    out, elapsed = scaffold.output_dir(args), scaffold.timer()
    steps = args.steps or (QUICK if args.quick else DEFAULT)["steps"]
    tf_steps = args.tf_steps or (QUICK if args.quick else DEFAULT)["tf_steps"]
    names = load_names()
    vocab = CharVocab.from_words(names.train)
    data = {part: context_windows(getattr(names, part), vocab, args.block_size) for part in ("train", "val")}
    print(f"{names!r}, vocabulary {vocab!r}; {len(data['train'][1]):,} training examples of "
          f"{args.block_size} characters of context")
    rows, results = [], {"quick": args.quick, "device": args.device, "steps": steps, "tf_steps": tf_steps}

    # 1. bigrams
    t0 = scaffold.timer()
    pairs = {part: (x[:, 0], y) for part, (x, y) in
             ((p, context_windows(getattr(names, p), vocab, 1)) for p in ("train", "val"))}
    count = counting_bigram(pairs)
    count_time = t0()
    scaffold.seed_all(args.seed)
    t0 = scaffold.timer()
    neural = neural_bigram(pairs, count["counts"], args)
    neural["time_s"] = t0()
    agree = bigram_agreement(count, neural)
    bigram = {"counting train loss": count["train_loss"], "counting val loss": count["val_loss"],
              "neural train loss": neural["train_loss"], "neural val loss": neural["val_loss"],
              "train difference (neural - counting)": neural["train_loss"] - count["train_loss"],
              "val difference (neural - counting)": neural["val_loss"] - count["val_loss"],
              "unsmoothed bigram train loss (lower bound)": count["mle_train_loss"],
              "neural - unsmoothed (row KL, weighted by row frequency)": neural["train_loss"] - count["mle_train_loss"],
              "neural: count-weighted loss over the 27 inputs": neural["weighted_train_loss"], **agree}
    scaffold.table([{"bigram": k, "value": v} for k, v in bigram.items()],
                   f"[1/3] bigrams: counting vs a 27x27 linear layer on one-hot inputs "
                   f"({args.bigram_steps} gradient steps at lr {args.bigram_lr:g})")
    results["bigram"] = bigram
    rows.append({"model": "bigram (counts)", "params": count["counts"].size, "train loss": count["train_loss"],
                 "val loss": count["val_loss"], "time s": count_time})
    rows.append({"model": "bigram (neural)", "params": n_params(neural["layer"]), "train loss": neural["train_loss"],
                 "val loss": neural["val_loss"], "time s": neural["time_s"]})

    # 2. the MLP: initialization, statistics, overfitting, training
    init = init_checks(args, data)
    scaffold.table([{"init": INIT_NAMES[k], "initial loss": v["initial_loss"], "ln 27": init["expected"],
                     "within 10%": v["within_10%"], f"|tanh| > {SATURATED}": v["saturated"], "tanh std": v["tanh_std"]}
                    for k, v in init["inits"].items()],
                    "[2/3] the MLP's initial loss (whole training set) and saturation (1000 examples)")
    layer_stats = {kind: layer_statistics(args, data, kind) for kind in INITS}
    scaffold.table([{"init": INIT_NAMES[k], "layer": r["layer"], "mean": r["mean"], "std": r["std"],
                     "saturated": r["saturated"], "grad std": r["grad_std"], "weight grad std": r["weight_grad_std"],
                     "grad:data": r["grad:data"]} for k, rs in layer_stats.items() for r in rs],
                   f"a deeper tanh network ({DEEP_LAYERS} x {DEEP_HIDDEN} units) at init, one batch of 1000")
    overfit = overfit_batch(args, data)
    print(f"overfit: {overfit['examples']} examples with distinct contexts, {overfit['steps']} full-batch Adam steps: "
          f"loss {overfit['initial_loss']:.4f} -> {overfit['final_loss']:.4f}, accuracy {overfit['train_acc']:.0%}")
    results["init"] = init
    results["layers"] = {k: [{c: v for c, v in r.items() if "hist" not in c} for r in rs]
                         for k, rs in layer_stats.items()}
    results["overfit"] = overfit
    trained = {}
    for key, bn, label in (("mlp", False, "MLP"), ("mlp_bn", True, "MLP + batch norm")):
        r = train_mlp(args, data, bn, steps)
        r["samples"] = sample_mlp(r["model"], args, vocab)
        trained[key] = r
        print(f"{label}: {steps} steps, train loss {r['train_loss']:.4f}, val loss {r['val_loss']:.4f} "
              f"({r['time_s']:.1f}s); samples: {', '.join(r['samples'])}")
        rows.append({"model": label, "params": r["params"], "train loss": r["train_loss"], "val loss": r["val_loss"],
                     "time s": r["time_s"]})

    # 3. a Transformer
    tf = train_transformer(args, names, vocab, tf_steps, 2000 if args.quick else None)
    tf["samples"] = sample_transformer(tf["model"], args, vocab)
    trained["transformer"] = tf
    print(f"[3/3] Transformer: {tf_steps} steps of {args.tf_batch_size} names, train loss {tf['train_loss']:.4f} "
          f"({tf['train_eval_names']:,} names), val loss {tf['val_loss']:.4f} ({tf['time_s']:.1f}s); "
          f"samples: {', '.join(tf['samples'])}")
    rows.append({"model": "Transformer", "params": tf["params"], "train loss": tf["train_loss"],
                 "val loss": tf["val_loss"], "time s": tf["time_s"]})

    samples = {"bigram (counts)": sample_bigram(np.log(count["probs"]), args, vocab),
               "bigram (neural)": sample_bigram(neural["W"], args, vocab),
               "MLP": trained["mlp"]["samples"], "MLP + batch norm": trained["mlp_bn"]["samples"],
               "Transformer": tf["samples"]}
    print("samples:")
    for k, v in samples.items():
        print(f"  {k:17s} {' '.join(v)}")
    for key in ("mlp", "mlp_bn", "transformer"):
        results[key] = {k: v for k, v in trained[key].items() if k not in ("model", "curve")}
    results["samples"] = samples
    results["summary"] = rows

    curves = {"count": count, "neural": neural, **trained}
    files = {"counts": plot_counts(count["counts"], vocab, out / "makemore_bigram_counts.png"),
             "losses": plot_losses(curves, out / "makemore_losses.png"),
             "layers": plot_layers(layer_stats, out / "makemore_tanh_layers.png")}
    results["files"] = [str(f) for f in files.values()]
    scaffold.table(rows, "summary (per-character loss; time: training and scoring)")
    results["blas_threads"] = os.environ.get("OPENBLAS_NUM_THREADS")  # None: OpenBLAS's default (one per core)
    results["time_s"] = elapsed()
    return scaffold.finish(out, results)


if __name__ == "__main__":
    main()
