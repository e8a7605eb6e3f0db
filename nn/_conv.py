"""Convolution and pooling over NCHW images, built from kernel-offset slices: the Functions
(``Convolution``, ``MaxPooling``, ``AveragePooling``), ``im2col``/``col2im`` and the argument
checks behind ``nn.functional``'s conv2d and pooling and the ``Conv2d`` and pooling modules
(private to nn).

For each offset (i, j) of a kh x kw kernel, the input pixels that offset meets across all
output positions form one strided slice of the padded image,

    img[:, :, i*dy : i*dy + sy*(OH-1) + 1 : sy,  j*dx : j*dx + sx*(OW-1) + 1 : sx]   (N, C, OH, OW)

so a convolution is kh*kw slice copies into one buffer (im2col) and a matrix product per
image, and its input gradient is the same loop with ``+=`` (col2im). Pooling is the maximum or
the mean of the kh*kw slices. There are no loops over pixels, no ``add.at`` scatter, and
no per-device code: every array comes from the input's array module (NumPy, CuPy or the
strict test device).

Max pooling shares the gradient of a window equally between its tied maxima, as the
engine's ``amax`` does (PyTorch gives all of it to one of them).
"""
from __future__ import annotations

from typing import NamedTuple

from tinygrad_lite.autograd import Function
from tinygrad_lite.backend import is_array, xp_of
from tinygrad_lite.checks import check_float_input, check_int
from tinygrad_lite.ops import index_add


class Geometry(NamedTuple):
    """Kernel (kh, kw), stride (sy, sx), padding (top, bottom, left, right), dilation
    (dy, dx) and the output size (oh, ow) of a convolution or pooling window."""

    kh: int
    kw: int
    sy: int
    sx: int
    pad: tuple
    dy: int
    dx: int
    oh: int
    ow: int

    def slices(self):
        """(i, j, (row slice, column slice)) for each kernel offset, over the padded image."""
        for i in range(self.kh):
            for j in range(self.kw):
                y, x = i * self.dy, j * self.dx
                yield i, j, (slice(y, y + self.sy * (self.oh - 1) + 1, self.sy),
                             slice(x, x + self.sx * (self.ow - 1) + 1, self.sx))


def pair(owner: str, name: str, value, low: int) -> tuple[int, int]:
    """An int or a pair of ints (height, width) as a checked pair, as PyTorch takes them."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2:
        raise ValueError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}")
    return tuple(check_int(owner, name, v, low) for v in values)


def padding_of(owner: str, padding, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """(top, bottom, left, right) from an int or pair, or for stride 1 "valid" (none) or
    "same" (the output keeps H x W; an odd total goes to the bottom and right, as in PyTorch)."""
    if padding in ("same", "valid"):
        if stride != (1, 1):
            raise ValueError(f"{owner}: padding={padding!r} needs stride 1, got stride {stride}")
        th, tw = (dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)) if padding == "same" else (0, 0)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    if isinstance(padding, str):  # a string is a legal type here: an unknown one is a bad value
        raise ValueError(f"{owner}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")  # noqa: TRY004
    ph, pw = pair(owner, "padding", padding, 0)
    return ph, ph, pw, pw


def geometry(owner: str, shape: tuple, kernel: tuple, stride, padding, dilation=1) -> Geometry:
    """The checked geometry of a window of ``kernel`` (kh, kw) over input ``shape`` (N, C, H, W)."""
    stride, dilation = pair(owner, "stride", stride, 1), pair(owner, "dilation", dilation, 1)
    pads = padding_of(owner, padding, kernel, stride, dilation)
    h, w = shape[2] + pads[0] + pads[1], shape[3] + pads[2] + pads[3]
    span_h, span_w = dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1
    if span_h > h or span_w > w:
        raise ValueError(f"{owner}: the kernel spans {(span_h, span_w)} pixels (kernel {kernel}, dilation "
                         f"{dilation}), more than the padded input of {(h, w)} (input {shape})")
    return Geometry(*kernel, *stride, pads, *dilation, (h - span_h) // stride[0] + 1, (w - span_w) // stride[1] + 1)


def pool_args(owner: str, kernel_size, stride, padding) -> tuple:
    """(kernel, stride, padding) of a pooling window, checked; ``stride`` None means the kernel
    size. Padding is at most half the kernel (PyTorch's rule: every window holds a pixel)."""
    kernel = pair(owner, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else pair(owner, "stride", stride, 1)
    ph, pw = pair(owner, "padding", padding, 0)
    if 2 * ph > kernel[0] or 2 * pw > kernel[1]:
        raise ValueError(f"{owner}: padding {(ph, pw)} must be at most half the kernel size {kernel}")
    return kernel, stride, (ph, pw)


def check_images(owner: str, x, weight=None) -> None:
    """``x`` must be a float (N, C, H, W) tensor, of ``weight``'s dtype if one is given."""
    if x.ndim != 4:
        raise ValueError(f"{owner}: expected input of shape (N, C, H, W), got {x.shape}")
    check_float_input(owner, x, weight)


def pad(x, geom: Geometry, value: float = 0.0):
    """``x`` with ``geom``'s padding filled with ``value`` (``x`` itself when there is none)."""
    top, bottom, left, right = geom.pad
    if not (top or bottom or left or right):
        return x
    if not is_array(x):  # a Tensor (create_graph=True): the differentiable pad
        return xp_of(x).pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)
    n, c, h, w = x.shape
    out = xp_of(x).full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def unpad(img, geom: Geometry):
    """The inverse of ``pad``: cut the padding of ``geom`` off an (N, C, H, W) image."""
    top, bottom, left, right = geom.pad
    return img[:, :, top:img.shape[2] - bottom, left:img.shape[3] - right]


def im2col(x, geom: Geometry):
    """(N, C, kh, kw, OH, OW): per image, a (C kh kw, OH OW) matrix that needs no copy to
    be read as one, and slices copied in the input's own NCHW order (no transposes)."""
    img = pad(x, geom)
    n, c = x.shape[:2]
    if not is_array(x):  # a Tensor (create_graph=True): the slices stacked, differentiably
        pieces = [img[:, :, ys, xs] for _, _, (ys, xs) in geom.slices()]
        return xp_of(x).stack(pieces, axis=2).reshape(n, c, geom.kh, geom.kw, geom.oh, geom.ow)
    col = xp_of(x).empty((n, c, geom.kh, geom.kw, geom.oh, geom.ow), dtype=x.dtype)
    for i, j, (ys, xs) in geom.slices():
        col[:, :, i, j] = img[:, :, ys, xs]
    return col


def col2im(col, geom: Geometry, shape: tuple):
    """The adjoint of ``im2col``: each column entry added back to the pixel it came from."""
    n, c, h, w = shape
    top, bottom, left, right = geom.pad
    img = xp_of(col).zeros((n, c, h + top + bottom, w + left + right), dtype=col.dtype)
    for i, j, (ys, xs) in geom.slices():
        img = index_add(img, (slice(None), slice(None), ys, xs), col[:, :, i, j])  # += on arrays
    return unpad(img, geom)


class Convolution(Function):
    """out[n, o] = sum_{c, i, j} w[o, c, i, j] x_pad[n, g(o) c, y*sy + i*dy, x*sx + j*dx] + b[o].

    The columns (N, C, kh, kw, OH, OW) are read per image and group as K x P matrices
    (K = C/g kh kw, P = OH OW): one product per image and group, all in one batched matmul,
    so that the output comes out in NCHW order and the incoming gradient is used as it is
    (one large (OC, K) @ (K, N P) product would need copies into and out of (C, N, ...)
    order; per image it is also as fast or faster with one BLAS thread).

    forward:  out[n] = W (OC/g, K) @ col[n] (K, P), per group.
    backward: gW = sum_n g_out[n] @ col[n]^T, g_col[n] = W^T @ g_out[n] then col2im,
              gb = sum of g_out over N, OH, OW.
    """

    def forward(self, x, w, b=None, *, geom: Geometry, groups: int):
        """The convolution of raw arrays ``x`` (N, C, H, W) and ``w`` (OC, C/groups, kh, kw), plus ``b``; keeps the columns for backward."""
        n, oc, g = x.shape[0], w.shape[0], groups
        self.geom, self.x_shape, self.w = geom, x.shape, w
        self.col = im2col(x, geom).reshape(n, g, -1, geom.oh * geom.ow)  # (N, g, K, P)
        out = (w.reshape(1, g, oc // g, -1) @ self.col).reshape(n, oc, geom.oh, geom.ow)
        if b is not None:
            if b.dtype == out.dtype and is_array(out):
                out += b[:, None, None]
            else:  # on Tensors (create_graph), or a wider bias that promotes, as conv + b would
                out = out + b[:, None, None]
        return out

    def backward(self, grad):
        """Gradients of x (through col2im), of w and of b (None where not needed)."""
        w, geom, need = self.w, self.geom, self.needs_input_grad
        n, g = self.col.shape[:2]
        wg = w.reshape(1, g, w.shape[0] // g, -1)  # (1, g, OC/g, K)
        gout = grad.reshape(n, g, w.shape[0] // g, -1)  # (N, g, OC/g, P), a view
        gw = (gout @ self.col.swapaxes(2, 3)).sum(axis=0).reshape(w.shape) if need[1] else None
        gx = None
        if need[0]:
            gcol = (wg.swapaxes(2, 3) @ gout).reshape(n, -1, geom.kh, geom.kw, geom.oh, geom.ow)
            gx = col2im(gcol, geom, self.x_shape)
        if len(need) == 2:
            return gx, gw
        return gx, gw, grad.sum(axis=(0, 2, 3)) if need[2] else None


class TransposedConvolution(Function):
    """The adjoint of ``Convolution`` in its input: out = col2im(W^T x) + b, with the
    convolution's geometry ``geom`` taken over the (N, OC, OH, OW) output (so geom.oh x geom.ow
    is the input's H x W), and ``w`` (C, OC/g, kh, kw) read as that convolution's weight.

    forward:  col[n] = W^T (K, C/g) @ x[n] (C/g, H W) per group (K = OC/g kh kw), then col2im.
    backward: g_col = im2col(g_out) (a convolution's columns), gx[n] = W @ g_col[n] (the
              convolution of g_out by w), gW = sum_n x[n] @ g_col[n]^T, gb = sum of g_out
              over N, OH, OW.
    """

    def forward(self, x, w, b=None, *, geom: Geometry, groups: int, out_shape: tuple):
        """The transposed convolution of raw arrays ``x`` (N, C, H, W) and ``w`` (C, OC/groups, kh, kw), plus ``b``."""
        n, c, g = x.shape[0], x.shape[1], groups
        self.geom, self.out_shape, self.w = geom, out_shape, w
        self.x = x.reshape(n, g, c // g, -1)  # (N, g, C/g, H W), a view
        wg = w.reshape(1, g, c // g, -1)  # (1, g, C/g, K)
        col = (wg.swapaxes(2, 3) @ self.x).reshape(n, -1, geom.kh, geom.kw, geom.oh, geom.ow)
        out = col2im(col, geom, out_shape)
        if b is not None:
            out = out + b[:, None, None]  # col2im's result is a view of its padded buffer: no +=
        return out

    def backward(self, grad):
        """Gradients of x (a convolution of grad), of w and of b (None where not needed)."""
        w, geom, need = self.w, self.geom, self.needs_input_grad
        n, g, cg = self.x.shape[:3]
        col = im2col(grad, geom).reshape(n, g, -1, geom.oh * geom.ow)  # (N, g, K, H W)
        gx = (w.reshape(1, g, cg, -1) @ col).reshape(n, g * cg, geom.oh, geom.ow) if need[0] else None
        gw = (self.x @ col.swapaxes(2, 3)).sum(axis=0).reshape(w.shape) if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, grad.sum(axis=(0, 2, 3)) if need[2] else None


class MaxPooling(Function):
    """out = max over the window of the (-inf padded) input; the gradient of each window
    goes to its maxima, split equally between ties."""

    def forward(self, x, geom: Geometry):
        """The maximum over each window of the raw array ``x``; keeps where the maxima are."""
        xp = xp_of(x)
        self.img, self.geom = pad(x, geom, -xp.inf), geom
        (_, _, first), *rest = geom.slices()
        out = xp.copy(self.img[:, :, first[0], first[1]])
        for _, _, (ys, xs) in rest:
            out = xp.maximum(out, self.img[:, :, ys, xs], out=out)  # in place on arrays
        self.out = out
        return out

    def backward(self, grad):
        """Each window's gradient to its maxima, split equally between ties."""
        img, out, geom = self.img, self.out, self.geom
        xp = xp_of(grad)
        hits = [(img[:, :, ys, xs] == out, (ys, xs)) for _, _, (ys, xs) in geom.slices()]
        count = hits[0][0].astype(grad.dtype)
        for hit, _ in hits[1:]:
            count = xp.add(count, hit, out=count)
        share = xp.divide(grad, count, out=count)
        # windows that neither overlap nor leave pixels out (2x2, stride 2 on even sizes) write
        # every pixel exactly once: written straight into place, no zeroing and no adding
        disjoint = geom.sy >= geom.dy * (geom.kh - 1) + 1 and geom.sx >= geom.dx * (geom.kw - 1) + 1
        tiled = disjoint and (geom.sy, geom.sx) == (geom.kh, geom.kw) and img.shape[2:] == (
            geom.oh * geom.kh, geom.ow * geom.kw)
        gimg = (xp.empty if tiled else xp.zeros)(img.shape, dtype=grad.dtype)
        for hit, (ys, xs) in hits:
            if disjoint and is_array(gimg):
                xp.multiply(hit, share, out=gimg[:, :, ys, xs])
            else:
                gimg = index_add(gimg, (slice(None), slice(None), ys, xs), hit * share)
        return unpad(gimg, geom)


class AveragePooling(Function):
    """out = mean over the window of the zero-padded input (padding counts, as PyTorch's
    default ``count_include_pad=True``); each input gets grad / (kh kw) from each window."""

    saves = False  # its backward needs the geometry only

    def forward(self, x, geom: Geometry):
        """The mean over each window of the zero-padded raw array ``x``."""
        img, self.geom, self.x_shape = pad(x, geom), geom, x.shape
        (_, _, first), *rest = geom.slices()
        out = img[:, :, first[0], first[1]].copy()
        for _, _, (ys, xs) in rest:
            out += img[:, :, ys, xs]
        out *= 1.0 / (geom.kh * geom.kw)
        return out

    def backward(self, grad):
        """``grad / (kh kw)`` to every input of each window."""
        geom, (n, c, h, w) = self.geom, self.x_shape
        top, bottom, left, right = geom.pad
        gimg = xp_of(grad).zeros((n, c, h + top + bottom, w + left + right), dtype=grad.dtype)
        share = grad * (1.0 / (geom.kh * geom.kw))
        for _, _, (ys, xs) in geom.slices():
            gimg = index_add(gimg, (slice(None), slice(None), ys, xs), share)  # += on arrays
        return unpad(gimg, geom)


def convolve(owner, x, weight, bias, stride, padding, dilation, groups: int):
    """``Convolution`` of Tensors after every check, errors naming ``owner`` (the op's name, or
    the layer itself, whose repr is made only if an error is raised)."""
    check_images(owner, x, weight)
    groups = check_int(owner, "groups", groups)
    if weight.ndim != 4:
        raise ValueError(f"{owner}: expected a weight of shape (out_channels, in_channels / groups, kh, kw), "
                         f"got {weight.shape}")
    oc, cg, kh, kw = weight.shape
    if x.shape[1] % groups or oc % groups:
        raise ValueError(f"{owner}: groups={groups} must divide both the input channels ({x.shape[1]}) "
                         f"and the output channels ({oc})")
    if cg * groups != x.shape[1]:
        raise ValueError(f"{owner}: input of shape {x.shape} has {x.shape[1]} channels; the weight of shape "
                         f"{weight.shape} with groups={groups} expects {cg * groups}")
    if bias is not None and bias.shape != (oc,):
        raise ValueError(f"{owner}: expected a bias of shape ({oc},) for weight {weight.shape}, got {bias.shape}")
    geom = geometry(owner, x.shape, (kh, kw), stride, padding, dilation)
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return Convolution.apply(*tensors, geom=geom, groups=groups)


def transposed_size(owner, size: int, k: int, s: int, p: int, op: int, d: int, axis: str) -> int:
    """One side of a transposed convolution's output: (size - 1) s - 2 p + d (k - 1) + op + 1."""
    out = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        raise ValueError(f"{owner}: the output {axis} would be {out} (input {axis} {size}, kernel {k}, stride {s}, "
                         f"padding {p}, dilation {d}, output_padding {op}); it must be at least 1")
    return out


def convolve_transposed(owner, x, weight, bias, stride, padding, output_padding, groups: int, dilation):
    """``TransposedConvolution`` of Tensors after every check, errors naming ``owner``."""
    check_images(owner, x, weight)
    groups = check_int(owner, "groups", groups)
    if weight.ndim != 4:
        raise ValueError(f"{owner}: expected a weight of shape (in_channels, out_channels / groups, kh, kw), "
                         f"got {weight.shape}")
    c, og, kh, kw = weight.shape
    if c % groups:
        raise ValueError(f"{owner}: groups={groups} must divide the input channels ({c})")
    if x.shape[1] != c:
        raise ValueError(f"{owner}: input of shape {x.shape} has {x.shape[1]} channels; the weight of shape "
                         f"{weight.shape} expects {c}")
    if bias is not None and bias.shape != (og * groups,):
        raise ValueError(f"{owner}: expected a bias of shape ({og * groups},) for weight {weight.shape} and "
                         f"groups={groups}, got {bias.shape}")
    (sy, sx), (dy, dx) = pair(owner, "stride", stride, 1), pair(owner, "dilation", dilation, 1)
    if isinstance(padding, str):
        raise ValueError(f"{owner}: padding must be an int or a pair of ints, got {padding!r}")  # noqa: TRY004
    (ph, pw), (oy, ox) = pair(owner, "padding", padding, 0), pair(owner, "output_padding", output_padding, 0)
    if not (oy < sy or oy < dy) or not (ox < sx or ox < dx):
        raise ValueError(f"{owner}: output_padding {(oy, ox)} must be smaller than either the stride "
                         f"{(sy, sx)} or the dilation {(dy, dx)}")
    n, _, h, w = x.shape
    oh = transposed_size(owner, h, kh, sy, ph, oy, dy, "height")
    ow = transposed_size(owner, w, kw, sx, pw, ox, dx, "width")
    geom = Geometry(kh, kw, sy, sx, (ph, ph, pw, pw), dy, dx, h, w)
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return TransposedConvolution.apply(*tensors, geom=geom, groups=groups, out_shape=(n, og * groups, oh, ow))


def pool(owner, op: type, x, kernel_size, stride, padding, dilation=1):
    """Max or average pooling (``op``) after every check."""
    check_images(owner, x)
    kernel, stride, padding = pool_args(owner, kernel_size, stride, padding)
    return op.apply(x, geom=geometry(owner, x.shape, kernel, stride, padding, dilation))
