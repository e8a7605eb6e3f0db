"""The fit loop: accuracy, recorded losses, early stopping, NaN handling, Ctrl-C, exact resume and
checkpoints (references are plain NumPy transcriptions); and what training prints: bars only where
they display as bars (a terminal, a notebook), one line per epoch everywhere, ``--quiet`` dropping
only the bars; demos/scaffold.py refuses to run as a demo."""
from __future__ import annotations

import fcntl
import math
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import tiny_fit

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import DataLoader, Standardize, load_digits
from tinygrad_lite.train import NonFiniteLossError, evaluate, fit, load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    prep = Standardize().fit(d.x_train)
    return {"x": prep.transform(d.x_train), "y": d.y_train, "x_val": prep.transform(d.x_val),
            "y_val": d.y_val, "x_test": prep.transform(d.x_test), "y_test": d.y_test}


def mlp(seed, device="cpu", hidden=64, extra=()):
    tl.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, hidden), *extra, nn.ReLU(), nn.Linear(hidden, 10)).to(device)


def np_scores(model, x):
    """float64 forward of Linear -> ReLU -> Linear from the raw parameters."""
    w1, b1, w2, b2 = (p.numpy().astype(np.float64) for p in model.parameters())
    return np.maximum(x @ w1.T + b1, 0) @ w2.T + b2


def np_cross_entropy(scores, y):
    s = scores - scores.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(y)), y]))


def params(model):
    return [p.numpy().copy() for p in model.parameters()]


def test_fit_reaches_95_percent_on_digits(digits, device):
    model = mlp(0, device)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    h = fit(model, nn.CrossEntropyLoss(), opt, (digits["x"], digits["y"]), epochs=8, batch_size=64,
            val=(digits["x_val"], digits["y_val"]), reg=(nn.l2_penalty, 1e-4), seed=0, quiet=True)
    test_acc = np.mean(np_scores(model, digits["x_test"]).argmax(axis=1) == digits["y_test"])
    assert test_acc >= 0.95
    assert h.epochs == 8 and h.iterations == 8 * math.ceil(len(digits["x"]) / 64)
    assert h.meta["stop_reason"] == "completed" and not h.interrupted
    # validation numbers are those of the final model, in eval mode
    val_scores = np_scores(model, digits["x_val"])
    assert h.val_acc[-1] == pytest.approx(np.mean(val_scores.argmax(1) == digits["y_val"]))
    assert h.val_loss[-1] == pytest.approx(np_cross_entropy(val_scores, digits["y_val"]), rel=1e-4)
    assert evaluate(model, nn.CrossEntropyLoss(), (digits["x_val"], digits["y_val"]))[1] == h.val_acc[-1]


def test_data_and_regularization_losses_are_recorded_apart(digits):
    model, lam = mlp(1), 1e-3
    w1, _, w2, _ = (p.numpy().astype(np.float64) for p in model.parameters())
    x, y = digits["x"][:200], digits["y"][:200]
    first = np_cross_entropy(np_scores(model, x[:64]), y[:64])
    loader = DataLoader(x, y, batch_size=64, shuffle=False)
    h = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01), loader, epochs=3,
            reg=(nn.l2_penalty, lam), quiet=True)
    assert h.iter_loss[0] == pytest.approx(first, rel=1e-5)
    assert h.iter_reg[0] == pytest.approx(lam * ((w1 ** 2).sum() + (w2 ** 2).sum()), rel=1e-5)
    assert h.iterations == 3 * 4 and h.iter_epoch[3] == 1.0 and h.iter_epoch[-1] == 3.0
    assert h.iter_epoch[0] == pytest.approx(0.25) and h.lr == [0.01] * 3 and h.val_acc == [None] * 3
    assert all(b >= a for a, b in zip(h.time, h.time[1:]))


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_nan_loss_stops_before_the_update_and_keeps_best_checkpoint(digits, tmp_path):
    x, y, val = digits["x"], digits["y"], (digits["x_val"], digits["y_val"])
    one = mlp(2)
    fit(one, nn.CrossEntropyLoss(), optim.SGD(one.parameters(), lr=0.01), (x, y), epochs=1, seed=3,
        quiet=True)
    after_steps = []

    class Recording(optim.SGD):
        def step(self, closure=None):
            super().step(closure)
            after_steps.append(params(model))

    model = mlp(2)
    opt = Recording(model.parameters(), lr=0.01)
    explode = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=1e8)  # lr 0.01 -> 1e6 after epoch 1
    with pytest.raises(NonFiniteLossError) as info:
        fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=5, val=val, scheduler=explode, seed=3,
            best_path=tmp_path / "best.npz", quiet=True)
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert err.iteration == len(after_steps) + 1 and err.epoch == 2 and err.lr == pytest.approx(1e6)
    assert f"iteration {err.iteration}" in str(err) and "1e+06" in str(err)
    assert not math.isfinite(err.loss) and not math.isfinite(err.history.iter_loss[-1])
    kept = params(model)
    assert all(np.isfinite(p).all() for p in kept)
    assert all(np.array_equal(a, b) for a, b in zip(kept, after_steps[-1]))
    best = load_checkpoint(tmp_path / "best.npz")
    assert best["epoch"] == 1
    assert all(np.array_equal(t.numpy(), p) for t, p in zip(best["model"].values(), params(one)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_gradient_stops_before_the_update(digits):
    def loss_fn(scores, labels):  # finite value, but d sqrt(u)/du = inf at u = 0
        return ((scores - scores) * (scores - scores)).sum().sqrt() + 1.0

    model = mlp(7)
    before = params(model)
    with pytest.raises(NonFiniteLossError, match="a gradient .* iteration 1 "):
        fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.01), (digits["x"], digits["y"]),
            epochs=1, quiet=True)
    assert all(np.array_equal(a, b) for a, b in zip(before, params(model)))


@pytest.mark.parametrize("part, name, bad", [("train", "x", np.nan), ("train", "y", np.inf), ("val", "x", -np.inf)])
def test_data_holding_nan_or_inf_is_refused_before_training_naming_the_array(digits, part, name, bad):
    """Not a NonFiniteLossError blaming the learning rate after some steps: a ValueError before
    the first, naming the array (train or val, x or y), the count and the first position."""
    data = {"train": [digits["x"].copy(), digits["y"].astype(np.float32)],
            "val": [digits["x_val"].copy(), digits["y_val"].astype(np.float32)]}
    array = data[part]["xy".index(name)]
    array[3] = bad  # the whole row 3: 64 features of x, or one target of y
    nans, infs = (array[3].size, 0) if np.isnan(bad) else (0, array[3].size)
    first = "(3, 0)" if name == "x" else "(3,)"
    model = mlp(1)
    before = params(model)
    with pytest.raises(ValueError, match=re.escape(f"fit: the {part} data's {name} holds {nans} NaN and {infs} "
                                                   f"infinite values (the first at index {first}); clean them")):
        fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.01), tuple(data["train"]),
            val=tuple(data["val"]), epochs=1, quiet=True)
    assert all(np.array_equal(a, b) for a, b in zip(before, params(model)))


def test_tensors_are_checked_for_nan_and_inf_too_and_clean_data_trains(digits):
    x = digits["x"].copy()
    x[5, 7] = np.inf
    model = mlp(1)
    with pytest.raises(ValueError, match=re.escape("fit: the train data's x holds 0 NaN and 1 infinite values "
                                                   "(the first at index (5, 7))")):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01), (tl.Tensor(x), digits["y"]),
            epochs=1, quiet=True)
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01),
                  (tl.Tensor(digits["x"]), digits["y"]), epochs=1, quiet=True)
    assert history.iterations > 0


def test_ctrl_c_returns_history_so_far(digits):
    calls = 0

    def loss_fn(scores, labels):
        nonlocal calls
        calls += 1
        if calls == 25:
            raise KeyboardInterrupt
        return nn.functional.cross_entropy(scores, labels)

    model = mlp(4)
    h = fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.01), (digits["x"], digits["y"]),
            epochs=5, quiet=True)
    assert h.interrupted and h.meta["stop_reason"] == "interrupted"
    assert h.iterations == 24 and h.epochs == 1  # 20 batches per epoch


def test_early_stopping_waits_patience_epochs(digits):
    model = mlp(5)
    h = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0),
            (digits["x"][:256], digits["y"][:256]), epochs=10, val=(digits["x_val"], digits["y_val"]),
            patience=2, quiet=True)
    assert h.epochs == 3 and h.meta["stop_reason"] == "early_stopping"
    assert h.meta["best_epoch"] == 1 and h.meta["bad_epochs"] == 2


def test_fit_rejects_bad_arguments(digits):
    model = mlp(6)
    opt = optim.SGD(model.parameters(), lr=0.01)
    data = (digits["x"][:64], digits["y"][:64])
    with pytest.raises(ValueError, match="needs validation data"):
        fit(model, nn.CrossEntropyLoss(), opt, data, patience=2, quiet=True)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, nn.CrossEntropyLoss(), opt, data, epochs=0, quiet=True)
    with pytest.raises(TypeError, match="reg"):
        fit(model, nn.CrossEntropyLoss(), opt, data, reg=1e-3, quiet=True)
    empty = DataLoader(*data, batch_size=128, drop_last=True)
    with pytest.raises(ValueError, match="no batch"):
        fit(model, nn.CrossEntropyLoss(), opt, empty, quiet=True)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min")
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        fit(model, nn.CrossEntropyLoss(), opt, data, val=data, scheduler=plateau, quiet=True)


def _resume_setup(seed, device):
    model = mlp(seed, device, extra=(nn.BatchNorm1d(64), nn.Dropout(0.2)))
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return model, opt, optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)


@pytest.mark.parametrize("name", ["ckpt.npz", "ckpt.safetensors"])
def test_resume_equals_uninterrupted_run(digits, device, tmp_path, name):
    data, val = (digits["x"][:300], digits["y"][:300]), (digits["x_val"], digits["y_val"])
    kw = {"batch_size": 32, "val": val, "reg": (nn.l2_penalty, 1e-4), "device": device, "seed": 11,
          "quiet": True}
    model, opt, sched = _resume_setup(0, device)
    straight = fit(model, nn.CrossEntropyLoss(), opt, data, epochs=4, scheduler=sched, **kw)

    first, opt1, sched1 = _resume_setup(0, device)
    ckpt = tmp_path / name
    fit(first, nn.CrossEntropyLoss(), opt1, data, epochs=2, scheduler=sched1, checkpoint_path=ckpt, **kw)
    again, opt2, sched2 = _resume_setup(99, device)  # other initial weights: all must come from ckpt
    resumed = fit(again, nn.CrossEntropyLoss(), opt2, data, epochs=4, scheduler=sched2, resume_from=ckpt, **kw)

    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy())
    assert resumed.iter_loss == straight.iter_loss and resumed.val_acc == straight.val_acc
    assert resumed.lr == straight.lr and resumed.epoch == [1, 2, 3, 4]


def test_resume_from_a_checkpoint_missing_an_entry_names_the_file_and_entry(digits, tmp_path):
    data = (digits["x"][:64], digits["y"][:64])
    model, opt, _ = _resume_setup(0, "cpu")
    ckpt = tmp_path / "ckpt.npz"
    fit(model, nn.CrossEntropyLoss(), opt, data, epochs=1, batch_size=32, quiet=True, checkpoint_path=ckpt)
    state = load_checkpoint(ckpt)
    del state["history"]
    save_checkpoint(ckpt, state)
    again, opt2, _ = _resume_setup(1, "cpu")
    with pytest.raises(ValueError, match=r"ckpt.npz.*history"):  # was a bare KeyError
        fit(again, nn.CrossEntropyLoss(), opt2, data, epochs=2, batch_size=32, quiet=True, resume_from=ckpt)


def _snapshot(model, opt):
    """Host copies of every parameter, buffer and optimizer state entry (step counts included)."""
    state = opt.state_dict()["state"]
    return ({k: t.numpy().copy() for k, t in model.state_dict().items()},
            {i: {k: np.array(v, copy=True) for k, v in s.items()} for i, s in state.items()})


def _assert_same_state(a, b):
    (model_a, opt_a), (model_b, opt_b) = a, b
    assert model_a.keys() == model_b.keys() and opt_a.keys() == opt_b.keys() and opt_a
    for k in model_a:
        assert model_a[k].dtype == model_b[k].dtype and np.array_equal(model_a[k], model_b[k]), k
    for i in opt_a:
        assert opt_a[i].keys() == opt_b[i].keys()
        for k in opt_a[i]:
            assert np.array_equal(opt_a[i][k], opt_b[i][k]), (i, k)


@pytest.mark.parametrize("make_opt", [lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
                                      lambda ps: optim.Adam(ps, lr=1e-3)], ids=["sgd_momentum", "adam"])
@pytest.mark.parametrize("bad", ["loss", "gradient"])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_step_keeps_the_whole_last_good_state(digits, make_opt, bad):
    """A NaN loss (one NaN input row) or a NaN gradient (finite loss) at a later batch: the
    parameters, BatchNorm's running statistics and the optimizer's buffers and step counts are
    those right after the last good step, and eval predictions stay finite."""
    x, y = digits["x"][:160].copy(), digits["y"][:160]
    nan_batch = 3  # batches of 32, unshuffled: batches 0-2 are good
    if bad == "loss":
        x[nan_batch * 32 + 5, 7] = np.nan
    model = mlp(5, extra=(nn.BatchNorm1d(64),))
    opt = make_opt(model.parameters())
    after_steps = []
    step = opt.step

    def recording_step(closure=None):
        step(closure)
        after_steps.append(_snapshot(model, opt))

    opt.step = recording_step
    calls = 0

    def loss_fn(scores, labels):  # at the bad batch, sqrt at 0 gives a finite loss, an inf gradient
        nonlocal calls
        calls += 1
        loss = nn.CrossEntropyLoss()(scores, labels)
        return loss + ((scores - scores) ** 2).sum().sqrt() if bad == "gradient" and calls > nan_batch else loss

    with pytest.raises(NonFiniteLossError, match=f"iteration {nan_batch + 1} "):
        fit(model, loss_fn, opt, DataLoader(x, y, batch_size=32, shuffle=False), epochs=1, quiet=True)
    assert len(after_steps) == nan_batch and "1.num_batches_tracked" in after_steps[-1][0]
    _assert_same_state(_snapshot(model, opt), after_steps[-1])
    model.eval()
    with tl.no_grad():
        assert np.isfinite(model(tl.Tensor(digits["x_val"])).numpy()).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_an_update_that_overflows_is_reported_not_hidden(digits):
    """A finite loss and gradient whose update makes a weight infinite: the next loss is NaN and
    the error says the weights were already non-finite, instead of claiming good ones."""
    class Overflowing(optim.SGD):
        def step(self, closure=None):
            super().step(closure)
            self.param_groups[0]["params"][0].data[0, 0] = np.inf

    model = mlp(6)
    with pytest.raises(NonFiniteLossError, match="iteration 2 .*weights were already non-finite"):
        fit(model, nn.CrossEntropyLoss(), Overflowing(model.parameters(), lr=0.01),
            DataLoader(digits["x"][:64], digits["y"][:64], batch_size=32, shuffle=False), epochs=1, quiet=True)


# ---------------------------------------------------------------- what training prints
ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def run_demo(*args, tmp_path) -> str:
    done = subprocess.run([sys.executable, "demos/train_mlp.py", "--quick", "--out", str(tmp_path), *args],
                          cwd=ROOT, capture_output=True, env=ENV, timeout=300, check=True)
    return done.stdout.decode() + done.stderr.decode()


def epoch_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("epoch ")]


def test_a_piped_demo_writes_one_line_per_epoch_and_no_frames(tmp_path):
    for flags in ((), ("--quiet",)):  # --quiet drops the bars only: the epoch lines stay
        text = run_demo(*flags, tmp_path=tmp_path)
        assert "\r" not in text and "batch/s" not in text, flags
        lines = epoch_lines(text)
        assert [ln.split(":")[0] for ln in lines] == ["epoch 1", "epoch 2"], (flags, lines)
        assert all(" | val loss " in ln for ln in lines)


def test_fit_prints_per_epoch_lines_and_bars_only_when_asked(capsys):
    tiny_fit()  # pytest's captured stderr is no terminal: no bars
    out, err = capsys.readouterr()
    assert [ln.split(":")[0] for ln in epoch_lines(out)] == ["epoch 1", "epoch 2"] and "\r" not in out + err
    tiny_fit(progress=True)
    out, err = capsys.readouterr()
    assert "\r" in err and "epoch 2/2" in err and len(epoch_lines(out)) == 2
    tiny_fit(quiet=True, progress=True)  # quiet: nothing at all
    assert capsys.readouterr() == ("", "")


def test_on_a_terminal_the_bars_are_drawn():
    script = "import sys; sys.path.insert(0, 'tests'); from helpers import tiny_fit; tiny_fit()"
    leader, follower = pty.openpty()
    # a terminal of 100 columns: a new pty has 0, and tqdm draws nothing into 0 columns
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    chunks: list[bytes] = []

    def read_terminal():  # concurrently: a full terminal buffer would block the child
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: every copy of the follower side is closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read_terminal)
    reader.start()
    try:
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                              stderr=follower, timeout=120, check=False)
    finally:
        os.close(follower)  # kept open until the child is done, so nothing it wrote is dropped
        reader.join(timeout=30)
        os.close(leader)
    assert done.returncode == 0
    terminal = b"".join(chunks).decode()
    assert "\r" in terminal and "epoch 1/2" in terminal and "batch" in terminal
    assert len(epoch_lines(done.stdout.decode())) == 2


def test_the_demos_shared_module_is_not_a_demo():
    done = subprocess.run([sys.executable, "demos/scaffold.py"], cwd=ROOT, capture_output=True, env=ENV,
                          timeout=120, check=False)
    assert done.returncode != 0 and b"not a demo" in done.stderr and b"train_mlp.py" in done.stderr
