"""Text models against PyTorch: nanoGPT's character GPT (demos/char_gpt.py) and a makemore MLP.

    python benchmarks/text.py --threads 1                  # the step benchmark (bench.py --section text too)
    python benchmarks/text.py --recipe --threads 1         # the whole char_gpt recipe in both, one after the other
    python benchmarks/text.py --recipe --iters 200         # a shorter recipe
    python benchmarks/text.py --profile gpt                # cProfile of the tinygrad_lite GPT step

The PyTorch twins are written as a PyTorch user writes them (nanoGPT's ``model.py``; makemore's
MLP) and start from the tinygrad_lite model's weights, copied through its state dict, whose keys
are the twins' own. Both see the same batches: they are drawn once, by
``tinygrad_lite.data.text.sample_blocks`` from one seeded generator, as NumPy arrays.

- ``gpt``: 4 layers, 4 heads, 128 channels, context 64, batch 12, vocabulary 65; one step is
  forward, backward, gradient clipping to norm 1 and AdamW (nanoGPT's groups) on a fixed batch.
- ``makemore``: 3 characters of context, a 10-dim embedding of the 27 characters, 200 tanh
  units, the 27 scores, batch 32, SGD at lr 0.1 (makemore part 2's MLP), batches of the
  embedded names.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np
import timing
import tinygrad_lite.nn.functional as F
from timing import cpu_case, interleaved

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data.text import CharVocab, context_windows, load_names, sample_blocks
from tinygrad_lite.files import write_json

DEMOS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demos")
if DEMOS not in sys.path:
    sys.path.insert(0, DEMOS)
import char_gpt

GPT_SHAPE = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "vocab_size": 65}
GPT_BATCH = 12
MM_CONTEXT, MM_EMBED, MM_HIDDEN, MM_BATCH, MM_LR = 3, 10, 200, 32, 0.1
TARGET = 1.2  # tinygrad_lite / torch per step


# ---------------------------------------------------------------- the PyTorch twins
def torch_gpt_class(torch):
    """nanoGPT's GPT (model.py, without what the recipe does not use), defined on ``torch``."""
    tnn, tF = torch.nn, torch.nn.functional

    class CausalSelfAttention(tnn.Module):
        def __init__(self, config):
            super().__init__()
            self.c_attn = tnn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
            self.c_proj = tnn.Linear(config.n_embd, config.n_embd, bias=config.bias)
            self.resid_dropout = tnn.Dropout(config.dropout)
            self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
            y = tF.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0,
                                                is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.resid_dropout(self.c_proj(y))

    class MLP(tnn.Module):
        def __init__(self, config):
            super().__init__()
            self.c_fc = tnn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
            self.gelu = tnn.GELU()
            self.c_proj = tnn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
            self.dropout = tnn.Dropout(config.dropout)

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(tnn.Module):
        def __init__(self, config):
            super().__init__()
            self.ln_1 = tnn.LayerNorm(config.n_embd, bias=config.bias)
            self.attn = CausalSelfAttention(config)
            self.ln_2 = tnn.LayerNorm(config.n_embd, bias=config.bias)
            self.mlp = MLP(config)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(tnn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.transformer = tnn.ModuleDict({
                "wte": tnn.Embedding(config.vocab_size, config.n_embd),
                "wpe": tnn.Embedding(config.block_size, config.n_embd),
                "drop": tnn.Dropout(config.dropout),
                "h": tnn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                "ln_f": tnn.LayerNorm(config.n_embd, bias=config.bias),
            })
            self.lm_head = tnn.Linear(config.n_embd, config.vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight
            self.apply(self._init_weights)
            for pn, p in self.named_parameters():
                if pn.endswith("c_proj.weight"):
                    torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

        def _init_weights(self, module):
            if isinstance(module, (tnn.Linear, tnn.Embedding)):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if getattr(module, "bias", None) is not None:
                    torch.nn.init.zeros_(module.bias)

        def forward(self, idx, targets=None):
            t = idx.size(1)
            pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
            x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
            for block in self.transformer.h:
                x = block(x)
            x = self.transformer.ln_f(x)
            if targets is None:
                return self.lm_head(x[:, [-1], :]), None
            logits = self.lm_head(x)
            loss = tF.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
            return logits, loss

        def configure_optimizers(self, weight_decay, learning_rate, betas):
            params = [p for p in self.parameters() if p.requires_grad]
            groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                      {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
            return torch.optim.AdamW(groups, lr=learning_rate, betas=betas)

    return GPT


def torch_twin(torch, model: char_gpt.GPT):
    """The PyTorch GPT of ``model``'s config holding ``model``'s weights (its state dict, by key)."""
    twin = torch_gpt_class(torch)(model.config)
    state = {k: torch.from_numpy(np.array(v.numpy())) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)
    return twin.to(dtype=torch.float64 if model.lm_head.weight.dtype == np.float64 else torch.float32)


def tl_gpt(seed: int = 0, **shape) -> char_gpt.GPT:
    tl.manual_seed(seed)
    return char_gpt.GPT(char_gpt.GPTConfig(**{**GPT_SHAPE, **shape}))


# ---------------------------------------------------------------- the step benchmark
class TLGPTStep:
    name = "tinygrad_lite"

    def __init__(self, model):
        self.model = model
        self.opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))

    def prepare(self, x, y):
        return tl.Tensor(x), tl.Tensor(y)

    def step(self, batch):
        _, loss = self.model(*batch)
        self.opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        return loss


class TorchGPTStep:
    name = "torch"

    def __init__(self, torch, model):
        self.torch, self.model = torch, torch_twin(torch, model)
        self.opt = self.model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))

    def prepare(self, x, y):
        return self.torch.from_numpy(x), self.torch.from_numpy(y)

    def step(self, batch):
        _, loss = self.model(*batch)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        return loss


class TLMakemore:
    name = "tinygrad_lite"

    def __init__(self, params):
        C, W1, b1, W2, b2 = params
        self.emb = nn.Embedding(*C.shape)
        self.fc1, self.fc2 = nn.Linear(*W1.shape[::-1]), nn.Linear(*W2.shape[::-1])
        self.emb.weight.data = C.copy()
        self.fc1.weight.data, self.fc1.bias.data = W1.copy(), b1.copy()
        self.fc2.weight.data, self.fc2.bias.data = W2.copy(), b2.copy()
        self.params = [self.emb.weight, self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias]
        self.opt = optim.SGD(self.params, lr=MM_LR)

    def prepare(self, x, y):
        return tl.Tensor(x), tl.Tensor(y)

    def step(self, batch):
        x, y = batch
        h = self.fc1(self.emb(x).view(x.shape[0], -1)).tanh()
        loss = F.cross_entropy(self.fc2(h), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss


class TorchMakemore:
    name = "torch"

    def __init__(self, torch, params):
        self.torch = torch
        C, W1, _, W2, _ = params
        self.emb = torch.nn.Embedding(*C.shape)
        self.fc1, self.fc2 = torch.nn.Linear(*W1.shape[::-1]), torch.nn.Linear(*W2.shape[::-1])
        with torch.no_grad():
            for p, v in zip(self.parameters(), params):
                p.copy_(torch.from_numpy(v))
        self.opt = torch.optim.SGD(self.parameters(), lr=MM_LR)

    def parameters(self):
        return [self.emb.weight, self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias]

    def prepare(self, x, y):
        return self.torch.from_numpy(x), self.torch.from_numpy(y)

    def step(self, batch):
        x, y = batch
        h = self.torch.tanh(self.fc1(self.emb(x).view(x.shape[0], -1)))
        loss = self.torch.nn.functional.cross_entropy(self.fc2(h), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss


def makemore_params(vocab_size: int, seed: int = 0) -> list[np.ndarray]:
    """C (vocab, 10), W1 (200, 30), b1, W2 (vocab, 200), b2: makemore's scaled random init."""
    rng = np.random.default_rng(seed)
    fan_in = MM_CONTEXT * MM_EMBED
    return [rng.standard_normal((vocab_size, MM_EMBED), dtype=np.float32),
            rng.standard_normal((MM_HIDDEN, fan_in), dtype=np.float32) * np.float32(5 / 3 / fan_in ** 0.5),
            rng.standard_normal(MM_HIDDEN, dtype=np.float32) * np.float32(0.01),
            rng.standard_normal((vocab_size, MM_HIDDEN), dtype=np.float32) * np.float32(0.01),
            np.zeros(vocab_size, np.float32)]


def gpt_batch(seed: int = 1, batch: int = GPT_BATCH) -> tuple[np.ndarray, np.ndarray]:
    ids = np.random.default_rng(seed).integers(0, GPT_SHAPE["vocab_size"], 10_000)
    x, y = sample_blocks(ids, GPT_SHAPE["block_size"], batch, np.random.default_rng(seed), "cpu")
    return x.numpy(), y.numpy()


def makemore_batch(seed: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    words = load_names().train
    vocab = CharVocab.from_words(words)
    x, y = context_windows(words[:2000], vocab, MM_CONTEXT)
    rows = np.random.default_rng(seed).integers(0, len(x), MM_BATCH)
    return x[rows], y[rows], len(vocab)


def make_impls(torch, case: str) -> tuple[list, tuple]:
    """The implementations of ``case`` (same starting weights) and the host batch."""
    if case == "gpt":
        model = tl_gpt()
        impls = [TLGPTStep(model)] + ([TorchGPTStep(torch, model)] if torch is not None else [])
        return impls, gpt_batch()
    x, y, vocab_size = makemore_batch()
    params = makemore_params(vocab_size)
    return [TLMakemore(params)] + ([TorchMakemore(torch, params)] if torch is not None else []), (x, y)


def first_losses(impls, batch, steps: int = 3) -> dict:
    """The losses of the first ``steps`` steps of each implementation (from the same weights)."""
    out = {}
    for impl in impls:
        data = impl.prepare(*batch)
        out[impl.name] = [float(impl.step(data).item()) for _ in range(steps)]
    return out


CASES = {"gpt": f"char GPT {GPT_SHAPE['n_layer']}x{GPT_SHAPE['n_embd']}, context {GPT_SHAPE['block_size']}, "
                f"batch {GPT_BATCH}, AdamW",
         "makemore": f"makemore MLP {MM_CONTEXT}x{MM_EMBED} -> {MM_HIDDEN} tanh -> 27, batch {MM_BATCH}, SGD"}


def text_section(torch, rounds: int, target_s: float) -> dict:
    """Per-step time of each case, tinygrad_lite and PyTorch interleaved; the first losses of
    fresh copies of both, which must agree for the times to compare the same computation."""
    out = {}
    for case, title in CASES.items():
        impls, batch = make_impls(torch, case)
        losses = first_losses(impls, batch)
        ref = losses["tinygrad_lite"]
        diff = max((abs(a - b) for v in losses.values() for a, b in zip(v, ref)), default=0.0)
        impls, batch = make_impls(torch, case)  # fresh weights for the timing
        cases = {}
        for impl in impls:
            data = impl.prepare(*batch)
            cases[impl.name] = cpu_case(lambda impl=impl, data=data: impl.step(data))
        out[case] = {"title": title, "first_losses": losses, "max_loss_diff": diff, "same_math": diff < 1e-4,
                     "times": interleaved(cases, rounds, target_s)}
    return out


def print_text(sec: dict) -> None:
    print("\nText models, one training step (ms, median)")
    print(f"{'case':>9} {'tl':>9} {'torch':>9} {'tl/torch':>9}  first losses (tl / torch)")
    for case, res in sec.items():
        t = res["times"]["tinygrad_lite"]["median_s"] * 1e3
        pt = res["times"]["torch"]["median_s"] * 1e3 if "torch" in res["times"] else None
        ratio = f"{t / pt:8.2f}x{' ok' if t / pt <= TARGET else ' MISS'}" if pt else "        -"
        fl = res["first_losses"]
        same = " / ".join(f"{fl[k][0]:.5f}" for k in fl)
        state = "" if res["same_math"] else "  DIFFERENT MATH: timings not comparable"
        print(f"{case:>9} {t:9.3f} {pt if pt is not None else float('nan'):9.3f} {ratio}  {same} "
              f"(max diff {res['max_loss_diff']:.1e} over 3 steps){state}")
        print(f"{'':>9} {res['title']}")


# ---------------------------------------------------------------- the whole recipe in PyTorch
def torch_recipe(torch, model_tl: char_gpt.GPT, splits: dict, args) -> dict:
    """char_gpt's ``train`` written for the PyTorch twin: the same loop, schedule and batches
    (drawn by sample_blocks from the same seeds, moved as NumPy arrays)."""
    model = torch_twin(torch, model_tl)
    rng, eval_rng = np.random.default_rng(args.seed), np.random.default_rng(args.seed + 1)
    opt = model.configure_optimizers(args.weight_decay, args.lr, (0.9, args.beta2))

    def batch(ids, r):
        x, y = sample_blocks(ids, args.block_size, args.batch_size, r, "cpu")
        return torch.from_numpy(x.numpy()), torch.from_numpy(y.numpy())

    @torch.no_grad()
    def estimate_loss():
        model.eval()
        out = {name: float(np.mean([model(*batch(ids, eval_rng))[1].item() for _ in range(args.eval_iters)]))
               for name, ids in splits.items()}
        model.train()
        return out

    evals, losses, step_s = [], [], 0.0
    for it in range(args.iters + 1):
        lr = char_gpt.lr_at(it, args.lr, args.min_lr, args.warmup_iters, args.lr_decay_iters)
        for group in opt.param_groups:
            group["lr"] = lr
        if it % args.eval_interval == 0 or it == args.iters:
            evals.append({"iter": it, **estimate_loss()})
            print(f"torch step {it}: train loss {evals[-1]['train']:.4f}, val loss {evals[-1]['val']:.4f}")
        if it == args.iters:
            break
        t0 = time.perf_counter()
        x, y = batch(splits["train"], rng)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        losses.append(loss.item())
        step_s += time.perf_counter() - t0
    return {"evals": evals, "train_losses": losses, "train_s": step_s, "s_per_iter": step_s / max(1, args.iters)}


def recipe(torch, demo_argv: list[str]) -> dict:
    """The demo's recipe in tinygrad_lite (the demo itself), then in PyTorch from the same
    initial weights, one after the other in this process with the same threads."""
    t0 = time.perf_counter()
    res_tl = char_gpt.main(demo_argv)
    tl_total = time.perf_counter() - t0
    args = char_gpt.resolve(char_gpt.build_parser().parse_args(demo_argv))
    text = char_gpt.load_text(res_tl["text"])
    vocab = CharVocab.from_text(text)
    train_ids, val_ids = char_gpt.split_text(vocab.encode(text), 0.1)
    tl.manual_seed(args.seed)  # the demo's initial weights again (seed_all seeds the same generator)
    model0 = char_gpt.make_model(args, len(vocab))
    t0 = time.perf_counter()
    res_pt = torch_recipe(torch, model0, {"train": train_ids, "val": val_ids}, args)
    pt_total = time.perf_counter() - t0
    out = {"tinygrad_lite": {"final_val_loss": res_tl["final_val_loss"], "final_train_loss": res_tl["final_train_loss"],
                             "total_s": tl_total, "train_s": res_tl["train_s"], "s_per_iter": res_tl["s_per_iter"]},
           "torch": {"final_val_loss": res_pt["evals"][-1]["val"], "final_train_loss": res_pt["evals"][-1]["train"],
                     "total_s": pt_total, "train_s": res_pt["train_s"], "s_per_iter": res_pt["s_per_iter"],
                     "evals": res_pt["evals"]},
           "iters": args.iters}
    out["ratio_total"] = tl_total / pt_total
    out["ratio_train"] = res_tl["train_s"] / res_pt["train_s"]
    print(f"\nrecipe, {args.iters} iterations: tinygrad_lite val loss {out['tinygrad_lite']['final_val_loss']:.4f} in "
          f"{tl_total:.1f}s ({res_tl['s_per_iter'] * 1e3:.1f} ms/iter); torch val loss "
          f"{out['torch']['final_val_loss']:.4f} in {pt_total:.1f}s ({res_pt['s_per_iter'] * 1e3:.1f} ms/iter); "
          f"ratio {out['ratio_total']:.2f}x total, {out['ratio_train']:.2f}x training steps")
    return out


def profile(case: str, seconds: float = 3.0) -> None:
    (impl, *_), batch = make_impls(None, case)
    data = impl.prepare(*batch)
    timing.profile_steps(lambda: impl.step(data), seconds, f"tinygrad_lite {case}")


def main(argv=None) -> dict | None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, help="BLAS and torch threads (default: NumPy's BLAS default)")
    p.add_argument("--quick", action="store_true", help="3 short rounds instead of 9")
    p.add_argument("--recipe", action="store_true", help="run the whole char_gpt recipe in both instead")
    p.add_argument("--iters", type=int, default=2000, help="with --recipe: training iterations")
    p.add_argument("--out", default="runs/char_gpt_recipe", help="with --recipe: the demo's --out")
    p.add_argument("--demo-args", default="", help="with --recipe: more flags for demos/char_gpt.py")
    p.add_argument("--profile", choices=tuple(CASES), help="cProfile the tinygrad_lite step of this case and exit")
    args = p.parse_args(argv)
    if args.threads:
        timing.set_blas_threads(args.threads)
    torch = timing.import_torch(args.threads)
    if args.profile:
        profile(args.profile)
        return None
    print(f"threads: BLAS {timing.blas_threads()}, torch {torch.get_num_threads() if torch else None}; "
          f"load average {os.getloadavg()[0]:.2f}")  # the recipe's JSON records the load at its end
    if args.recipe:
        if torch is None:
            raise SystemExit("--recipe needs PyTorch")
        res = recipe(torch, ["--iters", str(args.iters), "--out", args.out, *args.demo_args.split()])
        res["load_avg_1min_end"] = os.getloadavg()[0]
        write_json(os.path.join(args.out, "recipe_vs_torch.json"), res)
        print(f"load average {res['load_avg_1min_end']:.2f} at the end; wrote {args.out}/recipe_vs_torch.json")
        return res
    rounds, target_s = (3, 0.05) if args.quick else (9, 0.2)
    res = text_section(torch, rounds, target_s)
    print_text(res)
    return res


if __name__ == "__main__":
    main()
