"""Data preprocessing, fitted on the training data only and then applied unchanged to
the validation and test data (statistics of held-out data must not leak into training).

Every transform has ``fit(x_train) -> self``, ``transform(x)``, ``fit_transform(x)``,
``state_dict()`` and ``load_state_dict(state)``. Inputs are host arrays of shape
(N, ...) (any real dtype, e.g. uint8 images); statistics are computed in float64 and
stored in float32; outputs are float32.

The lecture's recipe: zero-center (``x -= np.mean(X, axis=0)``, ``ZeroCenter``), then normalize
(``x /= np.std(X, axis=0)``, ``Standardize``); for images, zero-centering only, by the mean image
(AlexNet: ``ZeroCenter`` on the images) or the per-channel mean (VGGNet: ``PerChannelMean``); PCA
and whitening (``PCAWhiten``) are rarely used for images.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_choice, check_int, check_real

_F32 = np.float32


def _as_real(x, who: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{who}: expected a real-valued array, got dtype {x.dtype}")
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{who}: expected a non-empty array of shape (N, features...), got {x.shape}")
    return x


class Transform:
    """Base class: subclasses set ``_params`` (constructor arguments) and ``_stats``
    (fitted arrays) and implement ``_fit(x)`` and ``_apply(x)`` on float arrays."""

    _params: tuple = ()
    _stats: tuple = ()

    def __init__(self):
        for name in self._stats:
            setattr(self, name, None)
        self.feature_shape = None

    @property
    def fitted(self) -> bool:
        """Whether ``fit`` has run (or a fitted state was loaded)."""
        return self.feature_shape is not None

    def fit(self, x) -> Transform:
        """Compute the statistics of ``x`` (the training data)."""
        x = _as_real(x, f"{type(self).__name__}.fit")
        self._check_input(x)
        self._fit(x)
        self.feature_shape = tuple(x.shape[1:])
        return self

    def transform(self, x) -> np.ndarray:
        """Apply the fitted statistics to ``x``; returns a new float32 array."""
        who = f"{type(self).__name__}.transform"
        if not self.fitted:
            raise ValueError(f"{who}: not fitted; call fit(x_train) first")
        x = _as_real(x, who)
        self._check_input(x)
        if not self._compatible(tuple(x.shape[1:])):
            raise ValueError(f"{who}: fitted on examples of shape {self.feature_shape}, got {x.shape[1:]}")
        return self._apply(x.astype(_F32)).astype(_F32, copy=False)

    def fit_transform(self, x) -> np.ndarray:
        """``fit(x)`` then ``transform(x)``: the training data, transformed with its own statistics."""
        return self.fit(x).transform(x)

    def _check_input(self, x: np.ndarray) -> None:
        pass

    def _compatible(self, shape: tuple) -> bool:
        return shape == self.feature_shape

    def state_dict(self) -> dict:
        """Type, constructor arguments and fitted statistics (copies), e.g. for np.savez or a checkpoint."""
        state = {"type": type(self).__name__, "feature_shape": self.feature_shape}
        state.update({p: getattr(self, p) for p in self._params})
        state.update({s: None if getattr(self, s) is None else getattr(self, s).copy() for s in self._stats})
        return state

    def load_state_dict(self, state: dict) -> Transform:
        """Restore a ``state_dict()`` of the same type (arguments and fitted statistics); returns self."""
        if state.get("type") != type(self).__name__:
            raise ValueError(f"{type(self).__name__}.load_state_dict: state is of type {state.get('type')!r}")
        for p in self._params:
            setattr(self, p, state[p])
        for s in self._stats:
            setattr(self, s, None if state[s] is None else np.asarray(state[s], dtype=_F32))
        shape = state["feature_shape"]
        self.feature_shape = None if shape is None else tuple(int(d) for d in shape)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._params)
        return f"{type(self).__name__}({args})" + ("" if self.fitted else " (not fitted)")


class ZeroCenter(Transform):
    """Mean subtraction: ``x' = x - mu``, ``mu = mean(x_train, axis=0)`` (one value per feature).

    On images of any layout, (N, H, W, C), (N, C, H, W) or (N, H, W), this subtracts the mean
    image (AlexNet): ``mean`` then has the shape of one image.
    """

    _stats = ("mean",)

    def _fit(self, x):
        self.mean = x.mean(axis=0, dtype=np.float64).astype(_F32)

    def _apply(self, x):
        return x - self.mean


class Standardize(Transform):
    """Normalization: ``x' = (x - mu) / sigma`` (``center=True``) or ``x' = x / sigma``,
    with ``mu`` and ``sigma`` the per-feature mean and standard deviation of the training data.

    Features that are constant in the training data (max == min, e.g. the border pixels
    of the digits) get ``sigma = 1`` instead of 0, so they stay finite.
    """

    _params = ("center",)
    _stats = ("mean", "std")

    def __init__(self, center: bool = True):
        super().__init__()
        self.center = bool(center)

    def _fit(self, x):
        std = x.std(axis=0, dtype=np.float64)
        std[np.ptp(x, axis=0) == 0] = 1.0
        self.mean = x.mean(axis=0, dtype=np.float64).astype(_F32)
        self.std = std.astype(_F32)

    def _apply(self, x):
        return ((x - self.mean) if self.center else x) / self.std


class PerChannelMean(Transform):
    """Subtract the per-channel mean (VGGNet): one mean per colour channel over all
    examples and pixels, ``x'[..., c] = x[..., c] - mu_c``.

    ``layout`` is "NHWC" (channels last, ``mean`` over axes 0, 1, 2) or "NCHW"
    (channels first, over axes 0, 2, 3). Images of other sizes with the same channels
    can be transformed.
    """

    _params = ("layout",)
    _stats = ("mean",)

    def __init__(self, layout: str = "NHWC"):
        super().__init__()
        check_choice("PerChannelMean", "layout", layout, ("NHWC", "NCHW"))
        self.layout = layout

    @property
    def _axis(self) -> int:
        return 3 if self.layout == "NHWC" else 1

    def _check_input(self, x):
        if x.ndim != 4:
            raise ValueError(f"PerChannelMean: expected images of shape {self.layout} (4-D), got {x.shape}")

    def _compatible(self, shape):
        return shape[self._axis - 1] == self.feature_shape[self._axis - 1]

    def _fit(self, x):
        axes = tuple(a for a in range(4) if a != self._axis)
        self.mean = x.mean(axis=axes, dtype=np.float64).astype(_F32)

    def _apply(self, x):
        shape = [1, 1, 1, 1]
        shape[self._axis] = -1
        return x - self.mean.reshape(shape)


class PCAWhiten(Transform):
    """PCA (and whitening) of flat features (N, D).

    Fit: ``mu = mean(X)``, ``cov = (X - mu)^T (X - mu) / N = U diag(S) U^T`` with the
    eigenvalues ``S`` in decreasing order; keep the first ``n_components`` columns of
    ``U`` (all when None). Transform: ``x_rot = (x - mu) U`` (decorrelated), and with
    ``whiten`` ``x_white = x_rot / sqrt(S + eps)``: unit variance in every direction
    (``eps`` keeps directions of near-zero variance from blowing up noise).
    """

    _params = ("n_components", "whiten", "eps")
    _stats = ("mean", "components", "variances")
    _CHUNK = 8192  # rows per float64 block when accumulating the covariance

    def __init__(self, n_components: int | None = None, whiten: bool = True, eps: float = 1e-5):
        super().__init__()
        if n_components is not None:
            check_int("PCAWhiten", "n_components", n_components)
        check_real("PCAWhiten", "eps", eps, 0.0)
        self.n_components, self.whiten, self.eps = n_components, bool(whiten), float(eps)

    def _check_input(self, x):
        if x.ndim != 2:
            raise ValueError(f"PCAWhiten: expected flat features (N, D), got {x.shape}; "
                             "use x.reshape(len(x), -1) first")

    def _fit(self, x):
        d = x.shape[1]
        k = d if self.n_components is None else self.n_components
        if k > d:
            raise ValueError(f"PCAWhiten: n_components={k} exceeds the {d} features")
        mean = x.mean(axis=0, dtype=np.float64)
        cov = np.zeros((d, d))
        for i in range(0, len(x), self._CHUNK):
            block = x[i:i + self._CHUNK].astype(np.float64) - mean
            cov += block.T @ block
        s, u = np.linalg.eigh(cov / len(x))
        top = np.argsort(s)[::-1][:k]
        self.mean = mean.astype(_F32)
        self.components = u[:, top].astype(_F32)
        self.variances = np.maximum(s[top], 0.0).astype(_F32)  # round-off can give tiny negatives

    def _apply(self, x):
        rot = (x - self.mean) @ self.components
        return rot / np.sqrt(self.variances + _F32(self.eps)) if self.whiten else rot


class Compose:
    """Apply transforms in sequence; each is fitted on the output of the previous one."""

    def __init__(self, transforms: list):
        self.transforms = list(transforms)

    def fit(self, x) -> Compose:
        """Fit each transform on the output of the ones before it; returns self."""
        self.fit_transform(x)
        return self

    def transform(self, x) -> np.ndarray:
        """Apply every transform in order."""
        for t in self.transforms:
            x = t.transform(x)
        return x

    def fit_transform(self, x) -> np.ndarray:
        """Fit and apply each transform in order; returns the transformed ``x``."""
        for t in self.transforms:
            x = t.fit_transform(x)
        return x

    def state_dict(self) -> dict:
        """The states of the transforms, in order."""
        return {"type": "Compose", "transforms": [t.state_dict() for t in self.transforms]}

    def load_state_dict(self, state: dict) -> Compose:
        """Restore each transform from a ``state_dict()`` of the same pipeline; returns self."""
        if state.get("type") != "Compose" or len(state["transforms"]) != len(self.transforms):
            raise ValueError("Compose.load_state_dict: state does not match this pipeline's transforms")
        for t, s in zip(self.transforms, state["transforms"], strict=True):
            t.load_state_dict(s)
        return self

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"
