"""Hyperparameter search on a Dask cluster: a local one of 2 worker processes (one thread
each, no dashboard) gives the serial run's results, trial by trial, for a random search and
for the next, narrowed stage, and in the hyperparameter demo (``--dask local``); and it
runs identical calls again (``pure=False``)."""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

from tinygrad_lite import nn, optim
from tinygrad_lite.data import load_digits
from tinygrad_lite.hparam import LogUniform, narrow, random_search
from tinygrad_lite.train import evaluate, fit

pytestmark = pytest.mark.slow  # a local Dask cluster: `pytest -m "not slow"` leaves it out

pytest.importorskip("distributed", reason="Dask's distributed is not installed: "
                                          "pip install 'tinygrad-lite[dask]'")
from tinygrad_lite.distributed import dask_executor

SPACE = {"lr": LogUniform(1e-3, 1.0), "reg": LogUniform(1e-5, 1e-1)}


def trial(params: dict, seed: int, n: int = 300) -> dict:
    """A real (small) training run: 3 epochs of a 64-32-10 MLP on part of the digits."""
    import tinygrad_lite as tl  # in the worker process

    split = load_digits()
    x, y = split.x_train[:n] / 16.0, split.y_train[:n]
    tl.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=params["lr"], momentum=0.9), (x, y),
        epochs=3, batch_size=32, reg=(nn.l2_penalty, params["reg"]), quiet=True, seed=seed)
    return {"val_acc": evaluate(model, nn.CrossEntropyLoss(), (split.x_val / 16.0, split.y_val))[1],
            "pid": os.getpid()}


@pytest.fixture(scope="module")
def executor():
    with dask_executor("local", n_workers=2, threads_per_worker=1) as ex:
        yield ex


def same_trials(a, b) -> None:
    assert len(a.trials) == len(b.trials)
    for ta, tb in zip(a.trials, b.trials):
        assert (ta.index, ta.params, ta.seed, ta.score) == (tb.index, tb.params, tb.seed, tb.score)


def test_coarse_to_fine_on_dask_equals_the_serial_run_trial_by_trial(executor):
    serial = random_search(trial, SPACE, 6, seed=4, quiet=True)
    on_dask = random_search(trial, SPACE, 6, seed=4, quiet=True, executor=executor)
    same_trials(serial, on_dask)
    assert len({t.metrics["pid"] for t in on_dask.trials}) == 2, "both workers should have run trials"
    assert {t.metrics["pid"] for t in on_dask.trials}.isdisjoint({os.getpid()})
    assert max(t.score for t in serial.trials) > 0.5, "a search whose trials learn something"
    fine = narrow(SPACE, serial, top_k=3)
    same_trials(random_search(trial, fine, 4, seed=5, quiet=True),
                random_search(trial, fine, 4, seed=5, quiet=True, executor=executor))


def test_identical_calls_run_again_since_trials_are_not_pure(executor):
    # with Dask's default pure=True these two calls would share one key and one result
    first, second = (f.result(timeout=60) for f in [executor.submit(os.urandom, 16) for _ in range(2)])
    assert first != second


def test_the_demo_with_dask_local_gives_the_serial_stages(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "demos"))
    demo = importlib.import_module("hyperparameter_search")
    quick = ["--quick", "--problems", "2"]
    serial = demo.main([*quick, "--n-jobs", "1", "--out", str(tmp_path / "serial")])
    on_dask = demo.main([*quick, "--dask", "local", "--out", str(tmp_path / "dask")])
    assert serial["stages"].keys() == on_dask["stages"].keys()
    for name, stage in serial["stages"].items():
        assert stage["trials"] == on_dask["stages"][name]["trials"], name


def test_missing_dask_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'tinygrad-lite\[dask\]'"), dask_executor("local"):
        pass


def test_a_bad_address_names_the_argument():
    with pytest.raises(TypeError, match="address must be 'local' or a scheduler address"), dask_executor(""):
        pass
