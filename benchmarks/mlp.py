"""The benchmarked model, written three times with exactly the same math.

MLP 784-512-256-10 with ReLU, mean softmax cross-entropy on integer labels and SGD
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
LR, MOMENTUM = 0.01, 0.9


def init_params(seed: int = 0) -> list[np.ndarray]:
    """[W1, b1, W2, b2, W3, b3]: Kaiming-normal weights of shape (in, out), small random biases."""
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in itertools.pairwise(SIZES):
        std = np.float32(np.sqrt(2.0 / fan_in))
        out.append(rng.standard_normal((fan_in, fan_out), dtype=np.float32) * std)
        out.append(rng.uniform(-0.1, 0.1, fan_out).astype(np.float32))
    return out


def make_batch(batch: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs in [0, 1) and random labels (the speed does not depend on the values)."""
    rng = np.random.default_rng(seed)
    return rng.random((batch, SIZES[0]), dtype=np.float32), rng.integers(0, SIZES[-1], batch)


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
        w1, b1, w2, b2, w3, b3 = self.params
        n = x.shape[0]
        rows = self._rows.get(n)
        if rows is None:
            rows = self._rows[n] = xp.arange(n)
        h1 = x @ w1
        h1 += b1
        xp.maximum(h1, 0, out=h1)
        h2 = h1 @ w2
        h2 += b2
        xp.maximum(h2, 0, out=h2)
        z = h2 @ w3
        z += b3
        z -= z.max(axis=1, keepdims=True)
        zy = z[rows, y]
        xp.exp(z, out=z)
        s = z.sum(axis=1)
        loss = (xp.log(s) - zy).mean()  # mean of log-sum-exp minus the true-class logit
        z /= s[:, None]  # softmax, turned in place into d(loss)/d(logits)
        z[rows, y] -= 1
        z *= 1.0 / n
        d2 = z @ w3.T
        d2 *= h2 > 0
        d1 = d2 @ w2.T
        d1 *= h1 > 0
        grads = [x.T @ d1, d1.sum(axis=0), h1.T @ d2, d2.sum(axis=0), h2.T @ z, z.sum(axis=0)]
        return grads, loss

    def params_numpy(self) -> list[np.ndarray]:
        from tinygrad_lite.backend import to_numpy

        return [to_numpy(p) for p in self.params]


class _RawSGD:
    """Placeholder for optim.SGD until it exists: the same update on the arrays."""

    def __init__(self, params):
        self.params = params
        self.velocity = [None] * len(params)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for i, p in enumerate(self.params):
            g = p.grad.data
            v = self.velocity[i]
            if v is None:
                v = self.velocity[i] = g.copy()
            else:
                v *= MOMENTUM
                v += g
            p.data -= LR * v


class TinygradMLP:
    """tinygrad_lite as a user writes it: nn.Linear, nn.CrossEntropyLoss, optim.SGD.

    Each of the three is taken from the library when it exists and replaced by the
    equivalent raw Tensor code otherwise; ``uses`` records which were used.
    """

    name = "tinygrad_lite"

    def __init__(self, params: list[np.ndarray], device: str = "cpu"):
        import tinygrad_lite as tl
        from tinygrad_lite import nn, optim

        self.tl, self.device = tl, device
        self.layers, self.params, self.transposed = self._make_layers(nn, params)
        self.uses = {"linear": "nn.Linear" if hasattr(nn, "Linear") else "raw Tensor ops"}
        if hasattr(nn, "CrossEntropyLoss"):
            self.loss_fn, self.uses["loss"] = nn.CrossEntropyLoss(), "nn.CrossEntropyLoss"
        else:
            self.loss_fn, self.uses["loss"] = self._raw_cross_entropy, "raw log_softmax + index"
        if hasattr(optim, "SGD"):
            self.opt = optim.SGD(self.params, lr=LR, momentum=MOMENTUM)
            self.uses["optim"] = "optim.SGD"
        else:
            self.opt, self.uses["optim"] = _RawSGD(self.params), "raw array update"

    def _make_layers(self, nn, params):
        tl, dev = self.tl, self.device
        pairs = list(zip(params[::2], params[1::2]))
        if not hasattr(nn, "Linear"):
            ts = [tl.Tensor(p, requires_grad=True, device=dev) for p in params]
            layers = [lambda h, w=w, b=b: h @ w + b for w, b in zip(ts[::2], ts[1::2])]
            return layers, ts, [False] * len(pairs)
        layers, out, transposed = [], [], []
        for w, b in pairs:
            layer = nn.Linear(*w.shape)
            if dev != "cpu":
                layer.to(dev)
            flip = tuple(layer.weight.shape) == w.T.shape
            layer.weight.data = tl.backend.to_device(np.ascontiguousarray(w.T if flip else w), dev)
            layer.bias.data = tl.backend.to_device(b.reshape(layer.bias.shape), dev)
            layers.append(layer)
            out += [layer.weight, layer.bias]
            transposed.append(flip)
        return layers, out, transposed

    def _raw_cross_entropy(self, logits, y):
        rows = self.tl.arange(logits.shape[0], device=self.device)
        return -(logits.log_softmax(-1)[rows, y]).mean()

    def prepare(self, x, y):
        return self.tl.Tensor(x, device=self.device), self.tl.Tensor(y, device=self.device)

    def step(self, batch):
        x, y = batch
        self.opt.zero_grad()
        h = self.layers[0](x).relu()
        h = self.layers[1](h).relu()
        loss = self.loss_fn(self.layers[2](h), y)
        loss.backward()
        self.opt.step()
        return loss

    def params_numpy(self) -> list[np.ndarray]:
        out = [p.numpy() for p in self.params]
        for i, flip in enumerate(self.transposed):
            out[2 * i] = out[2 * i].T if flip else out[2 * i]
        return out


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
        x, y = batch
        self.opt.zero_grad()
        h = self.torch.relu(self.layers[0](x))
        h = self.torch.relu(self.layers[1](h))
        loss = self.loss_fn(self.layers[2](h), y)
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


def check_same_math(impls: list, batch: int = 64, steps: int = 3) -> dict:
    """Largest loss and parameter differences of each implementation against the first."""
    x, y = make_batch(batch, seed=2)

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
