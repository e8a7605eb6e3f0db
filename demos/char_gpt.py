"""A character-level GPT on tiny Shakespeare: nanoGPT's model and its CPU recipe, in tinygrad_lite.

The model is nanoGPT's ``model.py`` written with the Tensor API and ``nn`` layers: token and
position embeddings, ``n_layer`` blocks of pre-LayerNorm causal self-attention (one ``c_attn``
linear layer to queries, keys and values, split into heads, ``F.scaled_dot_product_attention``
with ``is_causal=True``, ``c_proj``) and an MLP (4x wide, GELU, ``c_proj``), a final LayerNorm
and ``lm_head`` tied to the token embedding; no biases; weights N(0, 0.02), the residual
projections (``c_proj``) N(0, 0.02 / sqrt(2 n_layer)). Its state-dict keys are nanoGPT's
(``transformer.wte.weight``, ``transformer.h.0.attn.c_attn.weight``, ...).

The training is nanoGPT's CPU recipe for Shakespeare characters (its README): 4 layers, 4
heads, 128 channels, context 64, batch 12, 2,000 iterations, no dropout, AdamW at lr 1e-3 with
betas (0.9, 0.99) and weight decay 0.1 on the 2-D weights only, 100 warm-up iterations then
cosine decay to 1e-4 at iteration 2,000, gradients clipped to norm 1.0, the train and val loss
estimated over 20 batches every 250 iterations and at the end. nanoGPT reports a val loss of
about 1.88 for it. The first 90% of the text trains, the last 10% validates.

Writes results.json (every printed number), loss.png (the curves), sample.txt (300 characters
generated from a newline at temperature 0.8, top-k 200) and model.safetensors (the trained
weights under nanoGPT's keys: PyTorch's ``load_state_dict(safetensors.torch.load_file(...))``
of nanoGPT's GPT takes them) to ``--out`` (default runs/char_gpt).

    python demos/char_gpt.py                                   # finds ../shared/data/tiny-shakespeare
    python demos/char_gpt.py --data-dir ../shared/data/tiny-shakespeare --iters 200
    python demos/char_gpt.py --text my_book.txt --quick        # any text file, a small fast run
    OPENBLAS_NUM_THREADS=1 python demos/char_gpt.py            # one BLAS thread (the environment sets it)

The PyTorch twin of the model and recipe (same weights, same batches) is in
benchmarks/text.py: ``python benchmarks/text.py --recipe`` runs both and compares, and
``python benchmarks/text.py --profile gpt`` profiles a training step.
"""
from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scaffold
import tinygrad_lite.nn.functional as F

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data.text import CharVocab, load_text, sample_blocks, split_text
from tinygrad_lite.train import generate

ROOT = Path(__file__).resolve().parent.parent
DATA_SUBDIR = Path("shared", "data", "tiny-shakespeare")  # ../shared/... of the repository or the cwd
SAMPLE_CHARS, TEMPERATURE, TOP_K = 300, 0.8, 200


# ---------------------------------------------------------------- the model (nanoGPT's model.py)
@dataclass
class GPTConfig:
    block_size: int = 64
    vocab_size: int = 65
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        # (B, T, C) -> (B, n_head, T, head size)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                           is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # the heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict({
            "wte": nn.Embedding(config.vocab_size, config.n_embd),
            "wpe": nn.Embedding(config.block_size, config.n_embd),
            "drop": nn.Dropout(config.dropout),
            "h": nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            "ln_f": nn.LayerNorm(config.n_embd, bias=config.bias),
        })
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying: one parameter, two keys
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # GPT-2's scaled init of the residual projections
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters, each once; without the position embedding (nanoGPT's count) by default."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def forward(self, idx, targets=None):
        """(logits, loss): logits (B, T, vocab) and the mean cross-entropy with ``targets``;
        without targets, the last position's logits (B, 1, vocab) and None (for generation)."""
        t = idx.shape[1]
        if t > self.config.block_size:
            raise ValueError(f"GPT: a sequence of {t} tokens is longer than block_size {self.config.block_size}")
        pos = tl.arange(0, t, dtype=tl.int64, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is None:
            return self.lm_head(x[:, -1:, :]), None
        logits = self.lm_head(x)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1), ignore_index=-1)
        return logits, loss

    def configure_optimizers(self, weight_decay: float, learning_rate: float, betas) -> optim.AdamW:
        """nanoGPT's groups: weight decay on the 2-D tensors (matmul weights, embeddings), none
        on the 1-D ones (LayerNorm weights, biases)."""
        params = [p for _, p in self.named_parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
                  {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
        return optim.AdamW(groups, lr=learning_rate, betas=betas)


def lr_at(it: int, lr: float, min_lr: float, warmup_iters: int, lr_decay_iters: int) -> float:
    """nanoGPT's ``get_lr``: a linear warm-up, then cosine decay to ``min_lr``, then ``min_lr``."""
    if it < warmup_iters:
        return lr * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    ratio = (it - warmup_iters) / max(1, lr_decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


# ---------------------------------------------------------------- flags and data
QUICK = {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 16, "batch_size": 8, "iters": 30,
         "eval_interval": 10, "eval_iters": 4, "warmup_iters": 3, "lr": 1e-2}
DEFAULT = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "batch_size": 12, "iters": 2000,
           "eval_interval": 250, "eval_iters": 20, "warmup_iters": 100, "lr": 1e-3}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="demos/char_gpt.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="a tiny model and 30 iterations, every stage (used by the tests)")
    p.add_argument("--data-dir", default=None,
                   help="a folder holding input.txt (None: --text, else ../shared/data/tiny-shakespeare "
                        "beside the repository or the working directory)")
    p.add_argument("--text", default=None, help="a text file to train on, in place of --data-dir")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "strict"],
                   help="strict: the CPU, refusing host arrays where device arrays belong, as CuPy does")
    p.add_argument("--seed", type=int, default=0, help="seeds the weights, the batches and the sample")
    p.add_argument("--out", default="runs/char_gpt", help="directory for results, figure, sample and weights")
    for name, help_ in (("n_layer", "transformer blocks"), ("n_head", "attention heads"),
                        ("n_embd", "channels"), ("block_size", "context length"),
                        ("batch_size", "sequences per batch"), ("iters", "training iterations"),
                        ("eval_interval", "estimate the losses every this many iterations (and at the end)"),
                        ("eval_iters", "batches per loss estimate"),
                        ("warmup_iters", "linear warm-up iterations")):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=None,
                       help=f"{help_} (None: {DEFAULT[name]}, --quick {QUICK[name]})")
    p.add_argument("--lr", type=float, default=None,
                   help=f"peak learning rate (None: {DEFAULT['lr']}, --quick {QUICK['lr']})")
    p.add_argument("--min-lr", type=float, default=None, help="final learning rate (None: lr / 10)")
    p.add_argument("--lr-decay-iters", type=int, default=None, help="end of the cosine decay (None: --iters)")
    p.add_argument("--weight-decay", type=float, default=0.1, help="AdamW's, on the 2-D weights only")
    p.add_argument("--beta2", type=float, default=0.99, help="AdamW's second beta (the first is 0.9)")
    p.add_argument("--grad-clip", type=float, default=1.0, help="clip the gradient norm to this (0: off)")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout probability (nanoGPT's CPU recipe: 0)")
    p.add_argument("--log-interval", type=int, default=None,
                   help="print the training loss every this many iterations (None: eval_interval / 5)")
    return p


def resolve(args) -> argparse.Namespace:
    """Fill the None defaults from the recipe (or the quick one)."""
    preset = QUICK if args.quick else DEFAULT
    for k, v in preset.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.min_lr = args.lr / 10 if args.min_lr is None else args.min_lr
    args.lr_decay_iters = args.iters if args.lr_decay_iters is None else args.lr_decay_iters
    args.log_interval = args.log_interval or max(1, args.eval_interval // 5)
    return args


def find_text(args) -> Path:
    """``--text``, or input.txt in ``--data-dir``, or in ../shared/data/tiny-shakespeare beside
    the repository or the working directory; a clear error naming the flags otherwise."""
    if args.text:
        return Path(args.text)
    if args.data_dir:
        return Path(args.data_dir) / "input.txt"
    tried = [ROOT.parent / DATA_SUBDIR, Path.cwd().parent / DATA_SUBDIR, Path.cwd() / DATA_SUBDIR]
    for d in tried:
        if (d / "input.txt").is_file():
            return d / "input.txt"
    raise SystemExit("char_gpt: no text to train on: pass --data-dir DIR (a folder holding input.txt, e.g. "
                     "tiny Shakespeare) or --text FILE; looked in " + ", ".join(str(d) for d in tried))


# ---------------------------------------------------------------- training
def estimate_loss(model, splits: dict, args, rng: np.random.Generator) -> dict:
    """nanoGPT's ``estimate_loss``: the mean loss of ``eval_iters`` random batches of each split."""
    model.eval()
    out = {}
    with tl.no_grad():
        for name, ids in splits.items():
            losses = [model(*sample_blocks(ids, args.block_size, args.batch_size, rng, args.device))[1].item()
                      for _ in range(args.eval_iters)]
            out[name] = float(np.mean(losses))
    model.train()
    return out


def make_model(args, vocab_size: int) -> GPT:
    cfg = GPTConfig(block_size=args.block_size, vocab_size=vocab_size, n_layer=args.n_layer,
                    n_head=args.n_head, n_embd=args.n_embd, dropout=args.dropout)
    return GPT(cfg).to(args.device)


def train_step(model, opt, sched, x, y, grad_clip: float):
    _, loss = model(x, y)
    opt.zero_grad()
    loss.backward()
    if grad_clip:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    sched.step()
    return loss


def train(model, splits: dict, args) -> dict:
    """The recipe's loop; returns the curves and timings. Batches come from a generator seeded
    with ``seed`` (training) and ``seed + 1`` (loss estimates), so a twin run gets the same ones."""
    rng, eval_rng = np.random.default_rng(args.seed), np.random.default_rng(args.seed + 1)
    opt = model.configure_optimizers(args.weight_decay, args.lr, (0.9, args.beta2))
    sched = optim.lr_scheduler.LambdaLR(opt, lambda it: lr_at(it, args.lr, args.min_lr, args.warmup_iters,
                                                                  args.lr_decay_iters) / args.lr)
    evals, train_curve, step_s = [], [], 0.0
    for it in range(args.iters + 1):
        if it % args.eval_interval == 0 or it == args.iters:
            losses = estimate_loss(model, splits, args, eval_rng)
            evals.append({"iter": it, **losses})
            print(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        if it == args.iters:
            break
        t0 = time.perf_counter()
        x, y = sample_blocks(splits["train"], args.block_size, args.batch_size, rng, args.device)
        loss = train_step(model, opt, sched, x, y, args.grad_clip).item()
        dt = time.perf_counter() - t0
        step_s += dt
        train_curve.append(loss)
        if it % args.log_interval == 0:
            print(f"iter {it}: loss {loss:.4f}, time {dt * 1e3:.1f} ms")
    return {"evals": evals, "train_losses": train_curve, "train_s": step_s,
            "s_per_iter": step_s / max(1, args.iters)}


def plot_losses(curves: dict, path: Path, title: str) -> Path:
    fig, axes = scaffold.figure(size=(7.0, 4.0))
    ax = axes[0][0]
    ax.plot(np.arange(len(curves["train_losses"])), curves["train_losses"], color="0.75", lw=0.6,
            label="training batch")
    its = [e["iter"] for e in curves["evals"]]
    ax.plot(its, [e["train"] for e in curves["evals"]], "o-", label="train (estimate)")
    ax.plot(its, [e["val"] for e in curves["evals"]], "s-", label="val (estimate)")
    ax.set(xlabel="iteration", ylabel="cross-entropy (nats / character)", title=title)
    ax.legend()
    ax.grid(alpha=0.3)
    return scaffold.savefig(fig, path)


def sample_text(model, vocab: CharVocab, args, n: int = SAMPLE_CHARS) -> str:
    model.eval()
    start = tl.Tensor(vocab.encode("\n").reshape(1, 1), device=args.device)
    ids = generate(lambda ctx: model(ctx[:, -args.block_size:])[0][:, -1, :], start, n,
                   temperature=TEMPERATURE, top_k=min(TOP_K, len(vocab)))
    model.train()
    return vocab.decode(ids[0])[1:]


def main(argv=None) -> dict:
    args = resolve(build_parser().parse_args(argv))
    elapsed = scaffold.timer()
    path = find_text(args)
    text = load_text(path)
    vocab = CharVocab.from_text(text)
    train_ids, val_ids = split_text(vocab.encode(text), 0.1)
    splits = {"train": train_ids, "val": val_ids}
    print(f"data: {path}: {len(text):,} characters, vocabulary of {len(vocab)}; "
          f"{len(train_ids):,} train, {len(val_ids):,} val")
    scaffold.seed_all(args.seed)
    model = make_model(args, len(vocab))
    print(f"model: {args.n_layer} layers, {args.n_head} heads, {args.n_embd} channels, context "
          f"{args.block_size}: {model.num_params() / 1e6:.2f}M parameters (without position embeddings)")
    out = scaffold.output_dir(args)
    curves = train(model, splits, args)
    final = curves["evals"][-1]
    sample = sample_text(model, vocab, args)
    print(f"final: train loss {final['train']:.4f}, val loss {final['val']:.4f}; "
          f"{curves['s_per_iter'] * 1e3:.1f} ms/iter ({curves['train_s']:.1f}s of training steps)")
    print(f"sample (temperature {TEMPERATURE}, top-k {TOP_K}):\n{sample}\n")
    files = {"loss": plot_losses(curves, out / "loss.png",
                                 f"char GPT, {args.n_layer}x{args.n_embd}, {len(vocab)} characters"),
             "sample": out / "sample.txt", "weights": out / "model.safetensors"}
    (out / "sample.txt").write_text(sample, encoding="utf-8")
    tl.save(model, out / "model.safetensors", metadata={"config": str(asdict(model.config))})
    results = {"text": str(path), "characters": len(text), "vocab_size": len(vocab),
               "vocab": "".join(vocab.itos), "config": asdict(model.config), "params": model.num_params(),
               "iters": args.iters, "batch_size": args.batch_size, "lr": args.lr, "min_lr": args.min_lr,
               "initial_loss": curves["evals"][0], "ln_vocab": math.log(len(vocab)),
               "final_train_loss": final["train"], "final_val_loss": final["val"], **curves,
               "sample": sample, "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "time_s": elapsed()}
    return scaffold.write_results(out, results, files)


if __name__ == "__main__":
    main()
