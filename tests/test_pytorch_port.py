"""PyTorch code runs here with only its import lines changed, and gives PyTorch's results.

tests/programs/pytorch_names.py is a short PyTorch program that uses each name a port meets
first (PyTorch's meanings of transpose, max(dim), repeat, std/var, squeeze; the factories,
conversions, random draws, in-place writes, grad modes, Module.apply, save/load, torch.cuda and
torch.utils.data). ``port`` turns its imports into tinygrad_lite's and touches no other line.
Without PyTorch, each result is checked against values computed here with NumPy from PyTorch's
documented definitions; with PyTorch, the original runs too and both give the same results.
The script of docs/from_pytorch.md, "Porting a script", is checked the same way: its import lines
are the only difference, and with PyTorch's imports it trains under PyTorch as well.
"""
from __future__ import annotations

import math
import os
import re
import runpy
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM_PATH = os.path.join(ROOT, "tests", "programs", "pytorch_names.py")
GUIDE = os.path.join(ROOT, "docs", "from_pytorch.md")

# PyTorch's import lines -> tinygrad_lite's; the whole line, or the part before the imported names
IMPORT_LINES = {
    "import torch": "import tinygrad_lite as torch",
    "from torch import nn": "from tinygrad_lite import nn",
    "import torch.nn as nn": "from tinygrad_lite import nn",  # (unport gives the first spelling)
    "import torch.nn.functional as F": "import tinygrad_lite.nn.functional as F",
}
IMPORT_PREFIXES = {"from torch.utils.data import ": "from tinygrad_lite.utils.data import "}
TORCH_IMPORT = re.compile(r"^\s*(import|from)\s+torch\b")


def port(text: str) -> str:
    """``text`` with PyTorch's import lines replaced by tinygrad_lite's, every other line as it is.
    An import of torch this table does not know is an error, not left in place."""
    lines = []
    for line in text.splitlines(keepends=True):
        body, end = line.rstrip("\n"), line[len(line.rstrip("\n")):]
        if body in IMPORT_LINES:
            body = IMPORT_LINES[body]
        elif any(body.startswith(p) for p in IMPORT_PREFIXES):
            prefix = next(p for p in IMPORT_PREFIXES if body.startswith(p))
            body = IMPORT_PREFIXES[prefix] + body[len(prefix):]
        elif TORCH_IMPORT.match(body):
            raise ValueError(f"port: no tinygrad_lite import known for {body!r}")
        lines.append(body + end)
    return "".join(lines)


def unport(text: str) -> str:
    """The inverse of ``port``: tinygrad_lite's import lines back to PyTorch's."""
    back = {}
    for torch_line, line in IMPORT_LINES.items():
        back.setdefault(line, torch_line)
    lines = []
    for line in text.splitlines(keepends=True):
        body, end = line.rstrip("\n"), line[len(line.rstrip("\n")):]
        prefix = next((p for p in IMPORT_PREFIXES.values() if body.startswith(p)), None)
        if body in back:
            body = back[body]
        elif prefix is not None:
            body = {v: k for k, v in IMPORT_PREFIXES.items()}[prefix] + body[len(prefix):]
        lines.append(body + end)
    return "".join(lines)


def changed_lines(a: str, b: str) -> list[tuple[str, str]]:
    a_lines, b_lines = a.splitlines(), b.splitlines()
    assert len(a_lines) == len(b_lines), "a port must keep the line count"
    return [(x, y) for x, y in zip(a_lines, b_lines) if x != y]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


PROGRAM = read(PROGRAM_PATH)


def run_program(source: str, folder, name: str) -> dict:
    """``run()`` of the program text ``source``, written to ``folder``/``name``.py and run as a
    fresh module (its ``__main__`` part does not run)."""
    path = os.path.join(folder, f"{name}.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(source)
    return runpy.run_path(path)["run"]()


def assert_same(got, want, where="", rtol=1e-6):
    """Equal, leaf by leaf: bools and ints exactly and of the same type (an int where PyTorch
    gives a float is a different dtype), floats to ``rtol`` (and infinities exactly)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), f"{where}: keys {sorted(got)} != {sorted(want)}"
        for key in want:
            assert_same(got[key], want[key], f"{where}[{key!r}]", rtol)
    elif isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), f"{where}: {got!r} != {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]", rtol)
    else:
        assert type(got) is type(want), f"{where}: {got!r} ({type(got).__name__}) != {want!r} ({type(want).__name__})"
        if isinstance(want, float):
            assert math.isclose(got, want, rel_tol=rtol, abs_tol=1e-12) or got == want, f"{where}: {got!r} != {want!r}"
        else:
            assert got == want, f"{where}: {got!r} != {want!r}"


# ---------------------------------------------------------------- the program: only its imports change
# Each name of the lists, as the program spells it: the program must keep using them all.
NAMES = [
    "a.transpose(0, 1)", "b.transpose(1, 2)", "values, indices = a.max(1)", ".repeat(2, 1)", "a.std()",
    "a.var()", "std(unbiased=False)", "var(unbiased=False)", ".squeeze(1)", ".squeeze(0)", "torch.tensor([",
    ".to(torch.float64)", "zero_grad(set_to_none=True)", "e[1] = 1.0", "[10, 20, 30][i]",
    "torch.multinomial(", ".multinomial(3)", "torch.randint(", "torch.randperm(", ".masked_fill(",
    ".roll(1, dims=1)", "model.apply(init_weights)", ".contiguous()", ".clone()", ".long()", ".int()",
    ".float()", ".half()", "a.t()", "a.mm(", ".bmm(", "torch.einsum(", ".all()", ".any(dim=1)",
    ".index_select(1", ".cpu()", ".cuda()", ".grad_fn is not None", ".requires_grad_()",
    "model.requires_grad_(False)", "torch.float32", "torch.long", "torch.linspace(", "F.one_hot(", "F.pad(",
    "torch.enable_grad()", "torch.inference_mode()", "torch.save(", "torch.load(", "torch.cuda.is_available()",
    "torch.cuda.manual_seed_all(", "torch.cuda.synchronize()", "(Dataset)", "TensorDataset(", "DataLoader(",
    "RandomSampler(", "torch.tril(",
]


def test_the_program_uses_each_name():
    assert [n for n in NAMES if n not in PROGRAM] == []


def test_the_port_changes_only_import_lines():
    ported = port(PROGRAM)
    changed = changed_lines(PROGRAM, ported)
    assert len(changed) == 4, changed  # torch, nn, nn.functional, utils.data
    for before, after in changed:
        assert TORCH_IMPORT.match(before) and re.match(r"^(import|from) tinygrad_lite\b", after), (before, after)
    assert not any(TORCH_IMPORT.match(line) for line in ported.splitlines())
    assert unport(ported) == PROGRAM


def test_port_refuses_an_import_it_does_not_know():
    with pytest.raises(ValueError, match="torch.optim"):
        port("import torch.optim as optim\n")


def _softmax_rows(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _mlp_step():
    """The program's Linear(3, 4) - ReLU - Linear(4, 2) with its fixed weights (linspace over each
    weight, bias 0.1), cross-entropy, one SGD step of lr 0.5 by hand: (loss before, the second
    bias's gradient, loss after), in float64."""
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
    y = np.array([1, 0])
    w1, b1 = np.linspace(-0.5, 0.5, 12).reshape(4, 3), np.full(4, 0.1)
    w2, b2 = np.linspace(-0.5, 0.5, 8).reshape(2, 4), np.full(2, 0.1)

    def forward(w1, b1, w2, b2):
        pre = x @ w1.T + b1
        h = np.maximum(pre, 0)
        p = _softmax_rows(h @ w2.T + b2)
        return pre, h, p, -np.log(p[np.arange(2), y]).mean()

    pre, h, p, loss = forward(w1, b1, w2, b2)
    dlogits = (p - np.eye(2)[y]) / len(y)  # d mean cross-entropy / d logits
    dw2, db2 = dlogits.T @ h, dlogits.sum(0)
    dpre = (dlogits @ w2) * (pre > 0)
    dw1, db1 = dpre.T @ x, dpre.sum(0)
    lr = 0.5
    after = forward(w1 - lr * dw1, b1 - lr * db1, w2 - lr * dw2, b2 - lr * db2)[3]
    return float(loss), db2.tolist(), float(after)


def expected_results() -> dict:
    """What PyTorch's documentation says the program gives, computed with NumPy."""
    f32 = np.float32
    a = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], f32)
    b = np.arange(24).reshape(2, 3, 4)
    scores = np.arange(9.0).reshape(3, 3)
    causal = np.where(np.tril(np.ones((3, 3))) == 0, -np.inf, scores)
    m1 = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    batch = np.arange(12.0).reshape(2, 2, 3)
    e = np.zeros((3, 4))
    e[1] = 1.0
    e[:, 2] = [7.0, 8.0, 9.0]
    e[e > 8] = -1.0
    probs = np.array([[0.0, 0.5, 0.2, 0.0, 0.3], [0.0, 0.0, 0.0, 1.0, 0.0]])
    loss_before, bias_grad, loss_after = _mlp_step()
    ys = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    ten = [float(i) for i in range(10)]
    return {
        "a_is_float32": True, "arange_is_long": True, "to_float64": True,
        "long": [1, -2, 0], "int": [1, -2], "int_is_int32": True,  # casts to integers truncate toward 0
        "float": [0.0, 1.0, 2.0, 3.0], "float_is_float32": True,
        "half": np.array([0.1, 2.5, 1000.3], f32).astype(np.float16).astype(float).tolist(),
        "half_is_float16": True,
        "linspace": [0 + (1 - 0) * i / 4 for i in range(5)],
        "cpu": a.tolist(), "device_roundtrip": (2 * a).tolist(),
        "transpose_2d": np.swapaxes(a, 0, 1).tolist(), "transpose_3d": np.swapaxes(b, 1, 2).tolist(),
        "transpose_3d_shape": [2, 4, 3], "t": a.T.tolist(),
        "repeat": np.tile(a, (2, 1)).tolist(), "repeat_3d": np.tile([1, 2], (2, 1, 2)).tolist(),
        "squeeze_1": [2, 3], "squeeze_0_keeps": [2, 1, 3],
        "roll": np.roll(a, 1, axis=1).tolist(), "roll_flat": np.roll(a, 2).tolist(),  # no dim: the flat tensor
        "contiguous": a.tolist(), "clone_is_a_copy": [1.0, 100.0],
        "max_values": a.max(1).tolist(), "max_indices": a.argmax(1).tolist(),
        "min_dim0": [a.min(0).tolist(), a.argmin(0).tolist()],
        "std": float(np.std(a.astype(float), ddof=1)), "std_biased": float(np.std(a.astype(float))),
        "var": float(np.var(a.astype(float), ddof=1)), "var_biased": float(np.var(a.astype(float))),
        "var_dim1": np.var(a.astype(float), axis=1, ddof=1).tolist(),
        "all": [bool(np.all(a != 0)), bool(np.all(a > 0))], "any_dim1": np.any(a > 4, axis=1).tolist(),
        "index_select": a[:, [2, 0]].tolist(), "index": [30, [0, 1, 2]], "setitem": e.tolist(),
        "masked_fill": causal.tolist(), "causal_softmax": _softmax_rows(causal).tolist(),
        "mm": (a @ m1).tolist(), "bmm": (batch @ np.swapaxes(batch, 1, 2)).tolist(),
        "einsum": (a @ m1).tolist(), "einsum_batched": (batch @ np.swapaxes(batch, 1, 2)).tolist(),
        "randperm": list(range(10)), "randperm_is_long": True, "randint_range": [True, True, [200], True],
        # probability 1 on index 3; without replacement, 3 draws from 3 nonzero weights take each once
        "multinomial_one_hot_row": [3], "multinomial_no_repeats": np.flatnonzero(probs[0]).tolist(),
        "multinomial_shape": [2, 10],
        "one_hot": np.eye(4, dtype=np.int64)[[0, 2, 1]].tolist(), "one_hot_is_long": True,
        # F.pad's pairs start at the last dim: (left, right, top, bottom)
        "pad": np.pad(np.array([[1.0, 2.0], [3.0, 4.0]]), ((1, 0), (1, 2)), constant_values=-1.0).tolist(),
        "grad_fn": True, "grad": [2.0, -4.0, 6.0], "grad_modes": [False, True, False],
        "apply_returns_model": True, "loss_before": loss_before, "bias_grad": bias_grad,
        "grads_dropped": True, "loss_after": loss_after, "module_requires_grad_": [False, False],
        "save_load": True,
        "tensor_dataset": [10, [4.0], 1],
        "loader_batches": [[4, ys[0:4]], [4, ys[4:8]], [2, ys[8:10]]], "loader_drop_last": 2,
        "random_sampler": list(range(10)), "random_sampler_replacement": [25, True],
        "loader_sampler_covers": ten, "loader_shuffle_covers": ten,
        # ints collate to an int64 tensor, float tensors stack
        "custom_dataset": [[[[0.0], [1.0]], [0, 1], True], [[[2.0], [3.0]], [4, 9], True], [[[4.0]], [16], True]],
    }


def test_the_ported_program_gives_pytorchs_documented_results(tmp_path):
    got = run_program(port(PROGRAM), tmp_path, "pytorch_names_ported")
    assert_same(got, expected_results(), "tinygrad_lite", rtol=1e-6)


def test_the_ported_program_gives_what_pytorch_gives(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is not installed: the NumPy expectations are checked instead")
    want = run_program(PROGRAM, tmp_path, "pytorch_names")
    got = run_program(port(PROGRAM), tmp_path, "pytorch_names_ported")
    assert_same(got, want, "tinygrad_lite vs PyTorch", rtol=1e-6)
    assert_same(want, expected_results(), "PyTorch vs the NumPy expectations", rtol=1e-6)


def test_tril_and_triu_functions_are_the_methods():
    """``torch.tril(t)``, the causal mask's spelling, as well as ``t.tril()``."""
    import tinygrad_lite as tl

    t = tl.tensor(np.arange(1.0, 10.0).reshape(3, 3), requires_grad=True)
    assert tl.tril(t).tolist() == np.tril(np.arange(1.0, 10.0).reshape(3, 3)).tolist()
    assert tl.tril(t, diagonal=-1).tolist() == t.tril(-1).tolist()
    assert tl.triu(t, 1).tolist() == np.triu(np.arange(1.0, 10.0).reshape(3, 3), 1).tolist()
    tl.tril(t).sum().backward()
    assert t.grad.tolist() == np.tril(np.ones((3, 3))).tolist()
    with pytest.raises(TypeError, match="tril: takes a Tensor"):
        tl.tril(np.ones((2, 2)))


# ---------------------------------------------------------------- docs/from_pytorch.md, "Porting a script"
def _porting_section():
    text = read(GUIDE)
    start = text.index("\n## Porting a script\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def _fenced(section, lang):
    blocks = re.findall(rf"^```{lang}[ \t]*\n(.*?)^```[ \t]*$", section, re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1, f"the section holds one ```{lang} block"
    return blocks[0]


def test_the_guides_script_differs_from_pytorchs_in_the_import_lines_only():
    section = _porting_section()
    script, diff = _fenced(section, "python"), _fenced(section, "diff")
    original = unport(script)
    assert port(original) == script
    changed = changed_lines(original, script)
    assert [before for before, _ in changed] == [line[1:] for line in diff.splitlines() if line.startswith("-")]
    assert [after for _, after in changed] == [line[1:] for line in diff.splitlines() if line.startswith("+")]
    for name in ("transpose(-2, -1)", "masked_fill(", "torch.tril(", "torch.multinomial(", "TensorDataset(",
                 "DataLoader(", "optim.Adam(", "F.cross_entropy(", "nn.Embedding("):
        assert name in script, name


def test_the_guides_script_trains_under_pytorch_with_pytorchs_imports(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is not installed: the docs test runs the tinygrad_lite script")
    path = tmp_path / "char_attention.py"
    path.write_text(unport(_fenced(_porting_section(), "python")), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the script asserts that its loss went down
    assert proc.stdout.startswith("loss "), proc.stdout
