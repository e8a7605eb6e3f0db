"""The benchmarked MLPs, written three times with exactly the same math.

MLP 784-512-256-10 (``SIZES``), or any other widths (``SMALL``: the lecture's scale,
64-64-...-64-10 with nine 64-unit layers, where the engine's own work per op shows), with
ReLU between layers, mean softmax cross-entropy on integer labels and SGD
with momentum (v = 0.9 v + dx; x -= lr v, PyTorch's form), float32 throughout.
All three start from the same parameters (``init_params``); ``check_same_math``
runs a few steps of each and compares losses and parameters with the NumPy one,
so that the timings compare the same computation.

Each implementation has ``prepare(x, y)`` (host batch -> its own inputs, outside
the timed step), ``step(batch)`` (one training step, returns the loss without
forcing it to the host) and ``params_numpy()`` (weights as (in, out) arrays).
"""
from __future__ import annotations

import itertools

import numpy as np

SIZES = (784, 512, 256, 10)
SMALL = (64,) * 10 + (10,)  # nine 64 -> 64 layers on 8 x 8 digits, then the 10 classes
LR, MOMENTUM = 0.01, 0.9


def init_params(seed: int = 0, sizes: tuple = SIZES) -> list[np.ndarray]:
    """[W1, b1, W2, b2, ...]: Kaiming-normal weights of shape (in, out), small random biases."""
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        std = np.float32(np.sqrt(2.0 / fan_in))
        out.append(rng.standard_normal((fan_in, fan_out), dtype=np.float32) * std)
        out.append(rng.uniform(-0.1, 0.1, fan_out).astype(np.float32))
    return out


def make_batch(batch: int, seed: int = 1, sizes: tuple = SIZES) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs in [0, 1) and random labels (the speed does not depend on the values)."""
    rng = np.random.default_rng(seed)
    return rng.random((batch, sizes[0]), dtype=np.float32), rng.integers(0, sizes[-1], batch)


class HandMLP:
    """The floor: forward, backward and update by hand, in place wherever the math allows.

    ``xp`` is NumPy (or CuPy for the GPU section). Each matmul makes one new array, as
    any engine's op must; everything elementwise reuses its input's memory, and the
    update writes into the parameters with the gradient arrays as scratch.
    """

    name = "numpy"

    def __init__(self, params: list[np.ndarray], xp=np):
        self.xp = xp
        self.params = [xp.array(p) for p in params]
        self.velocity = [xp.zeros_like(p) for p in self.params]
        self._rows: dict = {}

    def prepare(self, x, y):
        return self.xp.asarray(x), self.xp.asarray(y)

    def step(self, batch):
        grads, loss = self._backprop(*batch)
        for p, g, v in zip(self.params, grads, self.velocity):
            v *= MOMENTUM
            v += g
            self.xp.multiply(v, LR, out=g)
            p -= g
        return loss

    def _backprop(self, x, y):
        xp = self.xp
        ws, bs = self.params[::2], self.params[1::2]
        n = x.shape[0]
        rows = self._rows.get(n)
        if rows is None:
            rows = self._rows[n] = xp.arange(n)
        hs = [x]  # each layer's input
        for w, b in zip(ws[:-1], bs[:-1]):
            h = hs[-1] @ w
            h += b
            xp.maximum(h, 0, out=h)
            hs.append(h)
        z = hs[-1] @ ws[-1]
        z += bs[-1]
        z -= z.max(axis=1, keepdims=True)
        zy = z[rows, y]
        xp.exp(z, out=z)
        s = z.sum(axis=1)
        loss = (xp.log(s) - zy).mean()  # mean of log-sum-exp minus the true-class logit
        z /= s[:, None]  # softmax, turned in place into d(loss)/d(logits)
        z[rows, y] -= 1
        z *= 1.0 / n
        grads, d = [], z
        for i in range(len(ws) - 1, -1, -1):
            grads[:0] = [hs[i].T @ d, d.sum(axis=0)]
            if i:
                d = d @ ws[i].T
                d *= hs[i] > 0
        return grads, loss

    def params_numpy(self) -> list[np.ndarray]:
        from tinygrad_lite.backend import to_numpy

        return [to_numpy(p) for p in self.params]


class TinygradMLP:
    """tinygrad_lite as a user writes it: nn.Linear, nn.CrossEntropyLoss, optim.SGD."""

    name = "tinygrad_lite"

    def __init__(self, params: list[np.ndarray], device: str = "cpu"):
        import tinygrad_lite as tl
        from tinygrad_lite import nn, optim

        self.tl, self.device = tl, device
        self.layers = []
        for w, b in zip(params[::2], params[1::2]):
            layer = nn.Linear(*w.shape).to(device)
            layer.weight.data = tl.backend.to_device(np.ascontiguousarray(w.T), device)  # (out, in)
            layer.bias.data = tl.backend.to_device(b, device)
            self.layers.append(layer)
        self.params = [p for layer in self.layers for p in (layer.weight, layer.bias)]
        self.loss_fn = nn.CrossEntropyLoss()
        self.opt = optim.SGD(self.params, lr=LR, momentum=MOMENTUM)

    def prepare(self, x, y):
        return self.tl.Tensor(x, device=self.device), self.tl.Tensor(y, device=self.device)

    def step(self, batch):
        h, y = batch
        self.opt.zero_grad()
        for layer in self.layers[:-1]:
            h = layer(h).relu()
        loss = self.loss_fn(self.layers[-1](h), y)
        loss.backward()
        self.opt.step()
        return loss

    def params_numpy(self) -> list[np.ndarray]:
        return [p.numpy().T if p.ndim == 2 else p.numpy() for p in self.params]


class TorchMLP:
    """PyTorch as a user writes it, with the same initial parameters copied in."""

    name = "torch"

    def __init__(self, torch, params: list[np.ndarray], device: str = "cpu"):
        self.torch, self.device = torch, device
        self.layers = [torch.nn.Linear(*w.shape, device=device) for w in params[::2]]
        with torch.no_grad():
            for layer, w, b in zip(self.layers, params[::2], params[1::2]):
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                layer.bias.copy_(torch.from_numpy(b))
        self.params = [p for layer in self.layers for p in layer.parameters()]
        self.opt = torch.optim.SGD(self.params, lr=LR, momentum=MOMENTUM)
        self.loss_fn = torch.nn.CrossEntropyLoss()

    def prepare(self, x, y):
        return torch_to(self.torch, x, self.device), torch_to(self.torch, y, self.device)

    def step(self, batch):
        h, y = batch
        self.opt.zero_grad()
        for layer in self.layers[:-1]:
            h = self.torch.relu(layer(h))
        loss = self.loss_fn(self.layers[-1](h), y)
        loss.backward()
        self.opt.step()
        return loss

    def params_numpy(self) -> list[np.ndarray]:
        out = []
        for layer in self.layers:
            out += [layer.weight.detach().cpu().numpy().T, layer.bias.detach().cpu().numpy()]
        return out


def torch_to(torch, array: np.ndarray, device: str):
    return torch.from_numpy(array).to(device)


def check_same_math(impls: list, batch: int = 64, steps: int = 3, sizes: tuple = SIZES) -> dict:
    """Largest loss and parameter differences of each implementation against the first."""
    x, y = make_batch(batch, seed=2, sizes=sizes)

    def run(impl):
        data = impl.prepare(x, y)
        losses = [float(impl.step(data).item()) for _ in range(steps)]
        return np.array(losses), impl.params_numpy()

    ref_loss, ref_params = run(impls[0])
    out = {}
    for impl in impls[1:]:
        loss, params = run(impl)
        dp = max(float(np.abs(a - b).max()) for a, b in zip(params, ref_params))
        dl = float(np.abs(loss - ref_loss).max())
        out[impl.name] = {"max_loss_diff": dl, "max_param_diff": dp, "ok": dl < 1e-4 and dp < 1e-5}
    return out
