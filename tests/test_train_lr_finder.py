"""The learning-rate range test: its suggestion on a problem whose good learning rates are known,
exact restoration of everything it touches, its plot, and bad input."""
import functools
import re
import struct

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import backend, nn, optim
from tinygrad_lite.data import DataLoader
from tinygrad_lite.train import LRFindResult, lr_find


def regression(n=512, seed=0):
    """y = x w + 0.5 + noise with x ~ N(0, I_4): for the mean squared error the Hessian is about
    2 I (2 x^T x / n), so SGD converges for lr < 2 / lambda_max, about 1 (less on small batches)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]]) + 0.5 + 0.1 * rng.standard_normal((n, 1))
    return x.astype(np.float32), y.astype(np.float32)


def full_batch_loss(model, x, y):
    return nn.MSELoss()(model(tl.Tensor(x)), tl.Tensor(y)).item()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_suggestion_lies_where_the_loss_decreases_and_trains_well(seed):
    x, y = regression()
    tl.manual_seed(seed)
    model = nn.Linear(4, 1)
    result = lr_find(model, nn.MSELoss(), optim.SGD, (x, y), start_lr=1e-4, end_lr=10.0, num_steps=100,
                     batch_size=32, seed=seed)
    assert isinstance(result, LRFindResult) and len(result.lrs) == len(result.losses) == len(result.smoothed)
    expected_lrs = 1e-4 * 1e5 ** (np.arange(100) / 99)
    np.testing.assert_allclose(result.lrs, expected_lrs[: len(result.lrs)], rtol=1e-12)
    assert result.diverged and len(result.lrs) < 100  # SGD blows up past lr ~ 1: the sweep stops there
    s, lrs = np.array(result.smoothed), np.array(result.lrs)
    assert 1e-3 < result.suggestion < result.lr_min < 1.0, result.message
    i = int(np.flatnonzero(lrs == result.suggestion)[0])
    h = max(3, len(lrs) // 10) // 2
    assert s[i - h] > s[i + h]  # descending there
    assert s[: h + 1].mean() > 5 * s[i + h:].min()  # and the loss does go far lower further on
    # known-ish: full-batch SGD from a fresh start with the suggestion cuts the loss by 100x in 100 steps
    tl.manual_seed(seed)
    fresh = nn.Linear(4, 1)
    opt = optim.SGD(fresh.parameters(), lr=result.suggestion)
    before = full_batch_loss(fresh, x, y)
    for _ in range(100):
        opt.zero_grad()
        nn.MSELoss()(fresh(tl.Tensor(x)), tl.Tensor(y)).backward()
        opt.step()
    assert full_batch_loss(fresh, x, y) < before / 100
    assert "suggested lr" in result.message


def snapshot(model, opt, loader):
    return ({k: (t, t.data, t.data.copy()) for k, t in
             [*model.named_parameters(), *model.named_buffers()]},
            {p: p.grad for p in model.parameters()}, [m.training for m in model.modules()],
            opt.state_dict(), backend.get_rng_state(), loader.state_dict())


def assert_unchanged(model, opt, loader, before):
    arrays, grads, modes, opt_state, rng, loader_state = before
    for k, (t, array, values) in arrays.items():
        assert t.data is array, k  # the same array objects: whoever holds them sees the restored values
        np.testing.assert_array_equal(t.numpy(), values, err_msg=k)
    assert all(p.grad is g for p, g in grads.items())
    assert [m.training for m in model.modules()] == modes
    now = opt.state_dict()
    assert now["param_groups"] == opt_state["param_groups"]
    assert now["state"].keys() == opt_state["state"].keys()
    for i, entries in opt_state["state"].items():
        for key, value in entries.items():
            np.testing.assert_array_equal(now["state"][i][key], value)
    assert backend.get_rng_state() == rng
    assert loader.state_dict() == loader_state


def model_with_state():
    """Batch norm's running statistics (buffers), dropout (random numbers), mixed modes, Adam's state."""
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 1))
    x, y = regression(128)
    loader = DataLoader(x, y, 16, shuffle=True, seed=3)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    for xb, yb in list(loader)[:3]:
        opt.zero_grad()
        nn.MSELoss()(model(xb), yb).backward()
        opt.step()
    model.eval()
    model[3].train()  # mixed modes come back as they were
    return model, opt, loader


def test_everything_the_sweep_touches_is_restored_exactly():
    model, opt, loader = model_with_state()
    before = snapshot(model, opt, loader)
    result = lr_find(model, nn.MSELoss(), opt, loader, start_lr=1e-5, end_lr=1.0, num_steps=30)
    assert len(result.losses) == 30 and not result.diverged
    assert_unchanged(model, opt, loader, before)


def test_state_is_restored_after_an_error_too():
    model, opt, loader = model_with_state()
    before = snapshot(model, opt, loader)
    calls = []

    def failing_loss(scores, y):
        calls.append(1)
        if len(calls) == 7:
            raise RuntimeError("boom")
        return nn.MSELoss()(scores, y)

    with pytest.raises(RuntimeError, match="boom"):
        lr_find(model, failing_loss, opt, loader, num_steps=30)
    assert_unchanged(model, opt, loader, before)


def test_optimizer_factories_and_a_loader_that_runs_out():
    """A class, a partial and a lambda are called as factory(params, lr=start_lr); a loader of
    3 batches is gone through again and again."""
    x, y = regression(48)
    for factory in (optim.Adam, functools.partial(optim.SGD, momentum=0.9), lambda ps, lr: optim.RMSprop(ps, lr)):
        tl.manual_seed(0)
        model = nn.Linear(4, 1)
        result = lr_find(model, nn.MSELoss(), factory, DataLoader(x, y, 16), start_lr=1e-3, end_lr=1e-2,
                         num_steps=10)
        assert len(result.losses) == 10 and result.lrs[0] == pytest.approx(1e-3)


def test_no_suggestion_when_the_loss_never_goes_down():
    x, y = regression(64)
    model = nn.Linear(4, 1)
    result = lr_find(model, lambda scores, target: (scores * 0).sum() + 1.0, optim.SGD, (x, y), num_steps=20)
    assert result.suggestion is None and not result.diverged and "no suggestion" in result.message
    assert result.lr_min == result.lrs[0]


def test_the_suggestion_is_searched_before_the_minimum_only():
    """A scripted curve: a gentle fall to its minimum, a bump, then a steeper fall that stays above
    the minimum. The steepest descent overall is in that late fall, where the lr is already past
    the point where the loss was lowest: the suggestion must come from the gentle part."""
    curve = np.concatenate([np.linspace(10, 5, 30), np.linspace(5, 12, 15), np.linspace(12, 6, 15)])
    calls = []

    def scripted(scores, target):
        calls.append(1)
        return (scores * 0).sum() + float(curve[len(calls) - 1])

    x, y = regression(64)
    result = lr_find(nn.Linear(4, 1), scripted, optim.SGD, (x, y), num_steps=60)
    assert not result.diverged and result.losses == pytest.approx(curve.tolist())
    assert result.suggestion < result.lr_min == pytest.approx(result.lrs[29], rel=0.3)


def test_a_loss_that_is_not_finite_at_once_gives_an_empty_result():
    x, y = regression(64)
    result = lr_find(nn.Linear(4, 1), lambda s, t: s.sum() * float("nan"), optim.SGD, (x, y), num_steps=20)
    assert result.diverged and result.losses == [] and result.suggestion is None and result.lr_min is None


def test_plot_writes_a_png_of_the_figures_size(tmp_path):
    pytest.importorskip("matplotlib")
    x, y = regression(256)
    tl.manual_seed(0)
    result = lr_find(nn.Linear(4, 1), nn.MSELoss(), optim.SGD, (x, y), start_lr=1e-4, num_steps=60, seed=0)
    path = result.plot(tmp_path / "sub" / "lr_find.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (700, 450)  # 7 x 4.5 inches at 100 dpi
    assert not list((tmp_path / "sub").glob("*.tmp*"))  # written atomically: no temporary left


BAD = [
    ({"start_lr": 0.0}, ValueError, "start_lr must be a finite number > 0, got 0.0"),
    ({"start_lr": 1.0, "end_lr": 1.0}, ValueError, "end_lr must be a finite number > 1, got 1.0"),
    ({"num_steps": 1}, ValueError, "num_steps must be an integer >= 2, got 1"),
    ({"num_steps": 10.0}, TypeError, "num_steps must be an integer >= 2, got 10.0"),
    ({"batch_size": 0}, ValueError, "batch_size must be an integer >= 1, got 0"),
    ({"smooth": 0}, ValueError, "smooth must be an integer >= 1, got 0"),
    ({"diverge_factor": 1.0}, ValueError, "diverge_factor must be a finite number > 1, got 1.0"),
]


@pytest.mark.parametrize("kwargs, error, message", BAD)
def test_bad_arguments_raise(kwargs, error, message):
    x, y = regression(32)
    with pytest.raises(error, match=re.escape(f"lr_find: {message}")):
        lr_find(nn.Linear(4, 1), nn.MSELoss(), optim.SGD, (x, y), **kwargs)


def test_bad_optimizers_and_keywords_raise():
    x, y = regression(32)
    model = nn.Linear(4, 1)
    with pytest.raises(TypeError, match=re.escape("lr_find: optimizer must be an optim.Optimizer or a factory")):
        lr_find(model, nn.MSELoss(), "sgd", (x, y))
    with pytest.raises(TypeError, match=re.escape("lr_find: the optimizer factory returned a list")):
        lr_find(model, nn.MSELoss(), lambda ps, lr: [], (x, y))
    with pytest.raises(TypeError, match=re.escape("lr_find: loss_fn must be a function of (scores, targets)")):
        lr_find(model, "mse", optim.SGD, (x, y))
    with pytest.raises(TypeError, match="lr_max"):
        lr_find(model, nn.MSELoss(), optim.SGD, (x, y), lr_max=1.0)
