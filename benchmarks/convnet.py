"""The benchmarked ConvNet (LeNet-like), written three times with exactly the same math.

    (N, 1, 28, 28) -> conv 1->8 3x3 pad 1 -> ReLU -> max pool 2 -> conv 8->16 3x3 pad 1
    -> ReLU -> max pool 2 -> flatten (N, 784) -> linear 784->10

with mean softmax cross-entropy on integer labels and SGD with momentum (v = 0.9 v + dx;
x -= lr v), float32 throughout, as the MLP benchmark (``mlp.py``). The data are the MLP's
(``mlp.make_batch``: 784 pixels and 10 classes, MNIST's shape); ``prepare`` takes each
example as a 28 x 28 image, so ``mlp.check_same_math`` compares these implementations too.

Parameters are in PyTorch's layouts: conv weights (out, in, kh, kw), the linear weight
(out, in); the interface is the MLP's: ``prepare(x, y)``, ``step(batch)``, ``params_numpy()``.
``MODELS`` lists the benchmarked models (MLP, ConvNet, small MLP) for bench.py and memory.py.
"""
from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import NamedTuple

import mlp
import numpy as np
from mlp import LR, MOMENTUM, HandMLP, TinygradMLP, TorchMLP, torch_to

IMAGE = (1, 28, 28)
CHANNELS = (1, 8, 16)
KERNEL = 3  # 3x3 convolutions with padding 1: the output keeps the input's size
CLASSES = 10
FEATURES = CHANNELS[-1] * (IMAGE[1] // 4) * (IMAGE[2] // 4)  # 16 x 7 x 7 = 784 after two pools


def init_params(seed: int = 0) -> list[np.ndarray]:
    """[K1, c1, K2, c2, W, b]: Kaiming-normal weights, small random biases."""
    rng = np.random.default_rng(seed)
    shapes = [(c_out, c_in, KERNEL, KERNEL) for c_in, c_out in itertools.pairwise(CHANNELS)]
    out = []
    for shape in shapes + [(CLASSES, FEATURES)]:
        std = np.float32(np.sqrt(2.0 / np.prod(shape[1:])))
        out.append(rng.standard_normal(shape, dtype=np.float32) * std)
        out.append(rng.uniform(-0.1, 0.1, shape[0]).astype(np.float32))
    return out


def images(x: np.ndarray) -> np.ndarray:
    """A batch of flat examples (or images) as (N, 1, 28, 28) images, without a copy."""
    return x.reshape(len(x), *IMAGE)


def lenet(nn):
    """The model as a user writes it, from ``nn`` = ``tinygrad_lite.nn`` or ``torch.nn``."""
    (c0, c1, c2), k = CHANNELS, KERNEL
    return nn.Sequential(nn.Conv2d(c0, c1, k, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(c1, c2, k, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(FEATURES, CLASSES))


def _offsets(h: int, w: int) -> list[tuple]:
    """For each offset (i, j) of a 3x3 kernel with padding 1 on h x w maps: (i, j, output
    (row, column) slices, input slices), clipped to where the offset meets the image; the
    rest of its column block is padding and stays zero."""
    def clip(d, size):
        return slice(max(0, -d), size - max(0, d)), slice(max(0, d), size + min(0, d))

    out = []
    for i in range(KERNEL):
        for j in range(KERNEL):
            (oy, iy), (ox, ix) = clip(i - 1, h), clip(j - 1, w)
            out.append((i, j, (oy, ox), (iy, ix)))
    return out


def _pool_slices() -> list[tuple]:
    """The four offsets of a 2x2, stride-2 window as slices of (C, N, H, W) maps."""
    return [(Ellipsis, slice(i, None, 2), slice(j, None, 2)) for i in (0, 1) for j in (0, 1)]


class HandConvNet(HandMLP):
    """The floor: the step by hand with im2col, in place wherever the math allows.

    Activations stay channels-first, (C, N, H, W), so a convolution is (OC, C*9) @ (C*9,
    N*H*W), whose result is already the next layer's layout; only the flatten before the
    linear layer (and its gradient) is transposed. Each product of the step is one batched
    matmul of one image per product (``_per_image``), the weight gradient's summed. The column buffers
    (C, 3, 3, N, H, W) are allocated once per batch shape, zero: each step writes only the
    part of each offset's block that meets the image, so the padding is never copied.
    ReLU and pooling run in place; max-pool backward puts the gradient where the window's
    maximum is (a tie gets it twice; with real-valued inputs ties happen only between ReLU
    zeros, whose gradient is zero anyway). The update (and ``params_numpy``) is HandMLP's.
    """

    def __init__(self, params: list[np.ndarray], xp=np):
        super().__init__(params, xp)
        self._cols: tuple = (None,)
        self._pool = _pool_slices()

    def prepare(self, x, y):
        # channels first; for one input channel that is the same memory as (N, 1, H, W)
        x = images(self.xp.asarray(x)).transpose(1, 0, 2, 3)
        return self.xp.ascontiguousarray(x), self.xp.asarray(y)

    def _buffers(self, n: int, h: int, w: int):
        """(col1, col2, offsets1, offsets2) for this batch shape; one set is kept at a time."""
        if self._cols[0] != (n, h, w):
            (c0, c1, _), k = CHANNELS, KERNEL
            self._cols = ((n, h, w), self.xp.zeros((c0, k, k, n, h, w), np.float32),
                          self.xp.zeros((c1, k, k, n, h // 2, w // 2), np.float32),
                          _offsets(h, w), _offsets(h // 2, w // 2))
        return self._cols[1:]

    def _forward(self, x, k, c, col, offsets):
        """Conv (im2col into ``col``), bias, ReLU, 2x2 max pool: (activation, pooled)."""
        xp = self.xp
        for i, j, (oy, ox), (iy, ix) in offsets:
            col[:, i, j, :, oy, ox] = x[:, :, iy, ix]
        a = self._per_image(k.reshape(len(k), -1), col.reshape(k[0].size, -1), x.shape[1])
        a += c[:, None]
        xp.maximum(a, 0, out=a)
        a = a.reshape((len(k),) + x.shape[1:])
        first, *rest = self._pool
        p = a[first].copy()
        for s in rest:
            xp.maximum(p, a[s], out=p)
        return a, p

    def _per_image(self, m, x, n: int):
        """``m @ x`` for ``x`` of shape (K, N*P) made of N image blocks, as N products of one image
        each (one batched matmul, written into the (M, N*P) result in place). With one BLAS
        thread that was as fast as or up to 2.5x faster than the one product (batch 64 and
        256), and 1.2-3.9x faster for the weight gradient's (OC, N*P) @ (N*P, K), whose outer
        dimensions are tiny and whose inner one is huge."""
        out = self.xp.empty((len(m), x.shape[1]), dtype=x.dtype)
        self.xp.matmul(m, x.reshape(len(x), n, -1).transpose(1, 0, 2),
                       out=out.reshape(len(m), n, -1).transpose(1, 0, 2))
        return out

    def _backward(self, a, p, dp, k, col, offsets):
        """Gradients (dK, dc, d input or None) of ``_forward`` given ``dp``, the gradient of
        ``p`` (a new array: it is overwritten)."""
        xp, oc = self.xp, len(k)
        dp *= p > 0  # ReLU's mask, read at the window's maximum: the only pixel it reaches
        da = xp.empty_like(a)
        for s in self._pool:
            xp.multiply(a[s] == p, dp, out=da[s])
        n = a.shape[1]
        dk = xp.matmul(da.reshape(oc, n, -1).transpose(1, 0, 2),  # per image, then summed
                       col.reshape(k[0].size, n, -1).transpose(1, 2, 0)).sum(axis=0).reshape(k.shape)
        da = da.reshape(oc, -1)
        if offsets is None:
            return dk, da.sum(axis=1), None
        dcol = self._per_image(k.reshape(oc, -1).T, da, n).reshape(col.shape)
        (ci, cj, _, _) = offsets[len(offsets) // 2]  # the centre offset meets every pixel
        dx = dcol[:, ci, cj].copy()
        for i, j, (oy, ox), (iy, ix) in offsets:
            if (i, j) != (ci, cj):
                dx[:, :, iy, ix] += dcol[:, i, j, :, oy, ox]
        return dk, da.sum(axis=1), dx

    def _backprop(self, x, y):
        xp = self.xp
        k1, c1, k2, c2, w, b = self.params
        n, h, wd = x.shape[1:]
        col1, col2, off1, off2 = self._buffers(n, h, wd)
        a1, p1 = self._forward(x, k1, c1, col1, off1)
        a2, p2 = self._forward(p1, k2, c2, col2, off2)
        f = p2.transpose(1, 0, 2, 3).reshape(n, -1)  # the one copy into (N, C*H*W)
        z, loss = self._softmax_cross_entropy(f @ w.T + b, y)
        df = (z @ w).reshape(n, len(p2), *p2.shape[2:]).transpose(1, 0, 2, 3)
        dk2, dc2, dp1 = self._backward(a2, p2, xp.ascontiguousarray(df), k2, col2, off2)
        dk1, dc1, _ = self._backward(a1, p1, dp1, k1, col1, None)
        return [dk1, dc1, dk2, dc2, z.T @ f, z.sum(axis=0)], loss

    def _softmax_cross_entropy(self, z, y):
        """(d(mean loss)/dz computed in ``z``'s memory, mean loss)."""
        xp, n = self.xp, len(z)
        rows = self._rows.get(n)
        if rows is None:
            rows = self._rows[n] = xp.arange(n)
        z -= z.max(axis=1, keepdims=True)
        loss = -z[rows, y]
        xp.exp(z, out=z)
        s = z.sum(axis=1, keepdims=True)
        loss += xp.log(s[:, 0])
        z *= 1.0 / n / s
        z[rows, y] -= 1.0 / n
        return z, loss.mean()


class UserConvNet:
    """A library's ConvNet as a user writes it: ``lenet(nn)``, CrossEntropyLoss, SGD with
    momentum, the given parameters copied in. Subclasses say how arrays go in and out."""

    def __init__(self, nn, optim, params: list[np.ndarray], device: str = "cpu"):
        self.device = device
        self.model = lenet(nn).to(device)
        self.params = list(self.model.parameters())
        for p, value in zip(self.params, params):
            self._set(p, value)
        self.opt = optim.SGD(self.params, lr=LR, momentum=MOMENTUM)
        self.loss_fn = nn.CrossEntropyLoss()

    def step(self, batch):
        x, y = batch
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss

    def params_numpy(self) -> list[np.ndarray]:
        return [self._get(p) for p in self.params]


class TinygradConvNet(UserConvNet):
    """tinygrad_lite: nn.Sequential of nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Linear."""

    name = "tinygrad_lite"

    def __init__(self, params: list[np.ndarray], device: str = "cpu"):
        import tinygrad_lite as tl
        from tinygrad_lite import nn, optim

        self.tl = tl
        super().__init__(nn, optim, params, device)

    def _set(self, p, value):
        p.data = self.tl.backend.to_device(value, self.device)

    def _get(self, p):
        return p.numpy()

    def prepare(self, x, y):
        return self.tl.Tensor(images(x), device=self.device), self.tl.Tensor(y, device=self.device)


class TorchConvNet(UserConvNet):
    """PyTorch: the same torch.nn modules."""

    name = "torch"

    def __init__(self, torch, params: list[np.ndarray], device: str = "cpu"):
        self.torch = torch
        super().__init__(torch.nn, torch.optim, params, device)

    def _set(self, p, value):
        with self.torch.no_grad():
            p.copy_(self.torch.from_numpy(value))

    def _get(self, p):
        return p.detach().cpu().numpy()

    def prepare(self, x, y):
        return torch_to(self.torch, images(x), self.device), torch_to(self.torch, y, self.device)


class Model(NamedTuple):
    """A benchmarked model: its title, its initial parameters, its numpy, tinygrad_lite and
    torch classes (in the order of NAMES), the (input, ..., classes) sizes of its data
    (``mlp.make_batch``) and the batch sizes it is timed at."""

    title: str
    init_params: Callable[[], list]
    classes: tuple
    sizes: tuple = mlp.SIZES
    batches: tuple = (64, 256)


MODELS = {
    "mlp": Model("MLP 784-512-256-10", mlp.init_params, (HandMLP, TinygradMLP, TorchMLP)),
    "convnet": Model("ConvNet conv 1-8 3x3, pool 2, conv 8-16 3x3, pool 2, linear 784-10", init_params,
                     (HandConvNet, TinygradConvNet, TorchConvNet)),
    "small": Model("MLP 64-64x9-10 (nine 64-unit layers)", functools.partial(mlp.init_params, sizes=mlp.SMALL),
                   (HandMLP, TinygradMLP, TorchMLP), mlp.SMALL, (32,)),
}
NAMES = ("numpy", "tinygrad_lite", "torch")


def build(model: str, name: str, params: list[np.ndarray], torch=None):
    """Implementation ``name`` (one of NAMES) of ``model`` (a key of MODELS) from ``params``."""
    cls = MODELS[model].classes[NAMES.index(name)]
    return cls(torch, params) if name == "torch" else cls(params)


def implementations(model: str, torch, params: list[np.ndarray]) -> list:
    """numpy, tinygrad_lite and (when ``torch`` is not None) torch, from the same parameters."""
    return [build(model, name, params, torch) for name in NAMES[:2 if torch is None else 3]]
