"""SGD updates large parameters piece by piece; the pieces must add up to the plain update.

The piece size is made tiny here so that every parameter is split, including a
weight whose gradient is a transposed view and a 0-d parameter. The reference is a
plain-NumPy float64 transcription of the lecture's update rules.
"""
import numpy as np
import pytest

from tinygrad_lite import optim
import tinygrad_lite as tl

HYPER = [
    {"momentum": 0.0},
    {"momentum": 0.9},
    {"momentum": 0.9, "weight_decay": 0.1},
    {"momentum": 0.8, "nesterov": True, "weight_decay": 0.05},
]


def _reference(x, grads, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    v = np.zeros_like(x)
    for g in grads:
        d = g + weight_decay * x
        v = momentum * v + d
        x = x - lr * ((d + momentum * v) if nesterov else v if momentum else d)
    return x


@pytest.mark.parametrize("hyper", HYPER, ids=lambda h: "-".join(f"{k}{v}" for k, v in h.items()))
@pytest.mark.parametrize("piece", [1, 5, 1 << 16])
def test_pieces_give_the_plain_update(device, hyper, piece):
    rng = np.random.default_rng(0)
    shapes = [(7, 3), (4,), ()]
    x0 = [rng.standard_normal(s) for s in shapes]
    ps = [tl.Tensor(a.copy(), requires_grad=True, device=device) for a in x0]
    opt = optim.SGD(ps, lr=0.1, **hyper)
    opt._piece = piece  # 1: one row (or element) per piece; 5: pieces of one or two rows
    a = tl.Tensor(rng.standard_normal((3, 7)), device=device)
    grads = [[] for _ in ps]
    for _ in range(4):
        opt.zero_grad()
        # p0 enters transposed, so its gradient reaches the optimizer as a transposed view
        loss = (a @ ps[0]).sum() * 0.5 + (ps[1] * ps[1]).sum() + ps[2] * ps[2] * ps[2]
        loss.backward()
        for gs, p in zip(grads, ps):
            gs.append(p.grad.numpy().copy())
        opt.step()
    for p, x, gs in zip(ps, x0, grads):
        np.testing.assert_allclose(p.numpy(), _reference(x, gs, 0.1, **hyper), rtol=1e-12, atol=1e-12)


def test_no_work_arrays_the_size_of_the_parameters():
    p = tl.Tensor(np.ones((300, 400), np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt._piece = 1000
    p.grad = tl.Tensor(np.ones((300, 400), np.float32))
    opt.step()
    scratch = sum(buf.size for buf in opt._work_bufs.values())
    assert 0 < scratch <= 1200  # whole rows of 400: two rows per piece
    np.testing.assert_allclose(p.numpy(), 1 - 0.1)
