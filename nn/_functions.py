"""The Functions behind nn's layers and losses, private to nn: each a ``Function`` over raw
arrays, forward and backward side by side; the checked, user-facing forms are in
``nn.functional``.

The fused ones make one graph node (and one backward) where the composition of primitives
would make several and keep more arrays alive: ``Linear`` (``linear``), ``LayerNorm``
(``layer_norm``), ``SoftmaxCrossEntropy`` (``cross_entropy``) and ``BinaryCrossEntropyWithLogits``
(``binary_cross_entropy_with_logits``). ``BinaryCrossEntropy`` (``binary_cross_entropy``) is
the loss on probabilities with PyTorch's clamped logs.

A Function's class name is its op's name in drawn graphs (``tl.draw_graph``) and in the
engine's backward errors, as the engine's own Functions (``ops.ReLU`` is drawn "ReLU"), so
``Linear`` keeps that name: it lives only here, never beside the ``nn.Linear`` module.
"""
from __future__ import annotations

import numpy as np  # errstate only: arrays come from the backend

from tinygrad_lite.autograd import Function
from tinygrad_lite.backend import is_array, xp_of
from tinygrad_lite.ops import index_add


class Linear(Function):
    """Fused y = x W^T + b over raw arrays, with W of shape (out_features, in_features).

    forward:  out = x W^T, then b added in place (out is a fresh matmul result).
    backward: gx = g W, gW = g^T x, gb = sum_i g_i, over x and g flattened to 2-D
              (batch axes before the feature axis). g^T x is computed as one matmul
              whose result is already a C-contiguous (out, in) array: going through
              ``x @ W.T`` as two ops would return W's gradient as a transposed view.
    """

    def forward(self, x, w, b=None):
        self.x, self.w = x, w
        x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])  # batch axes flattened
        # (W x^T)^T rather than x W^T: the same numbers, but OpenBLAS multiplies a C-ordered
        # x by a transposed W up to 30% slower at small batches (measured at 64 x 784 x 512).
        # The result is F-ordered; elementwise ops keep that order, and the next layer's
        # x^T is then C-ordered, the fastest case.
        out = (w @ x2.T).T
        if b is not None:
            if b.dtype == out.dtype and is_array(out):
                out += b  # in place on the fresh matmul result
            else:  # on Tensors (create_graph), or a wider bias that promotes, as ``x @ W.T + b`` would
                out = out + b
        return out if x.ndim == 2 else out.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, grad):
        x, need = self.x, self.needs_input_grad
        g = grad if grad.ndim == 2 else grad.reshape(-1, grad.shape[-1])
        # (W^T g^T)^T, not g W: the result is F-ordered like the forward's outputs, so that
        # the elementwise backward of an activation before this layer (ReLU's grad * mask)
        # sees one memory order; mixed orders make NumPy's loops up to 5x slower.
        gx = (self.w.T @ g.T).T if need[0] else None
        if gx is not None and x.ndim != 2:
            gx = gx.reshape(x.shape)
        gw = g.T @ (x if x.ndim == 2 else x.reshape(-1, x.shape[-1])) if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, g.sum(axis=0) if need[2] else None


class LayerNorm(Function):
    """Fused x_hat = (x - mean) / sqrt(var + eps) over ``axes`` (mean and biased variance per
    sample), layer norm without its weight and bias: one node where the primitives would make
    seven. backward: gx = (g - mean(g) - x_hat mean(g x_hat)) / sqrt(var + eps)."""

    def forward(self, x, axes, eps):
        xp = xp_of(x)
        d = x - x.mean(axis=axes, keepdims=True)
        rstd = 1 / xp.sqrt((d * d).mean(axis=axes, keepdims=True) + eps)
        d = xp.multiply(d, rstd, out=d)  # in place on an array; on Tensors (create_graph=True) a new one
        self.out, self.rstd, self.axes = d, rstd, axes
        return d

    def backward(self, grad):
        xhat, axes, xp = self.out, self.axes, xp_of(grad)
        gx = grad - grad.mean(axis=axes, keepdims=True)
        gx = xp.subtract(gx, xhat * (grad * xhat).mean(axis=axes, keepdims=True), out=gx)
        return xp.multiply(gx, self.rstd, out=gx)


class SoftmaxCrossEntropy(Function):
    """Fused softmax + negative log likelihood over (N, C) logits ``x`` and int labels ``y``.

    forward:  L_i = logsumexp(x_i) - x_{i, y_i}, with the row max subtracted first;
              then mean, sum or none over i.
    backward: dL_i/dx_ij = softmax(x_i)_j - [j == y_i], times the incoming gradient
              (divided by N for the mean).
    """

    def forward(self, x, y, reduction):
        xp = xp_of(x)
        self.rows = xp.arange(x.shape[0])
        self.y, self.reduction = y, reduction
        shifted = x - xp.amax(x, axis=1, keepdims=True)
        self.e = xp.exp(shifted)
        self.total = self.e.sum(axis=1, keepdims=True)
        loss = xp.log(self.total[:, 0]) - shifted[self.rows, y]
        if reduction == "none":
            return loss
        out = loss.sum()
        return out / x.shape[0] if reduction == "mean" else out

    def backward(self, grad):
        xp = xp_of(grad)
        gx = index_add(self.e / self.total, (self.rows, self.y), -1, unique=True)  # a new array: changed in place
        if self.reduction == "none":
            return xp.multiply(gx, grad[:, None], out=gx)
        return xp.multiply(gx, grad / self.e.shape[0] if self.reduction == "mean" else grad, out=gx)


class BinaryCrossEntropyWithLogits(Function):
    """L = max(x, 0) - x t + log(1 + e^-|x|) = -[t log s(x) + (1 - t) log(1 - s(x))].

    dL/dx = s(x) - t (smooth everywhere, also at x = 0); dL/dt = -x.
    """

    def forward(self, x, t):
        xp = xp_of(x)
        self.x, self.t = x, t
        return xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-abs(x)))

    def backward(self, grad):
        xp = xp_of(grad)
        gx = grad * (0.5 * (1 + xp.tanh(0.5 * self.x)) - self.t) if self.needs_input_grad[0] else None
        gt = -grad * self.x if self.needs_input_grad[1] else None
        return gx, gt


class BinaryCrossEntropy(Function):
    """PyTorch's binary cross-entropy on probabilities x in [0, 1], logs clamped at -100 so
    that x = 0 or 1 gives a finite loss:

        l = -[t max(log x, -100) + (1 - t) max(log(1 - x), -100)]
        dl/dx = (x - t) / max(x (1 - x), 1e-12),   dl/dt = max(log(1 - x), -100) - max(log x, -100)
    """

    def forward(self, x, t):
        """l elementwise from probabilities ``x`` and targets ``t`` (raw arrays)."""
        xp = xp_of(x)
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped just below
            self.log_x = xp.maximum(xp.log(x), -100)
            self.log_1mx = xp.maximum(xp.log1p(-x), -100)
        self.x, self.t = x, t
        return (t - 1) * self.log_1mx - t * self.log_x

    def backward(self, grad):
        """(dl/dx, dl/dt) times the incoming gradient, each only where needed."""
        xp, need = xp_of(grad), self.needs_input_grad
        gx = grad * (self.x - self.t) / xp.maximum((1 - self.x) * self.x, 1e-12) if need[0] else None
        gt = grad * (self.log_1mx - self.log_x) if need[1] else None
        return gx, gt
