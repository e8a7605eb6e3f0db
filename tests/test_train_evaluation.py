"""The toolkit measures in eval mode (dropout off, batch norm on running statistics) and
gives every module back the mode it had: evaluate, fit's validation numbers,
overfit_small_subset and check_initial_loss, on a model with BatchNorm1d and Dropout."""
import copy
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.train import InitialLossWarning, check_initial_loss, evaluate, fit, overfit_small_subset

C = 3
BN, DROP = 1, 3  # positions in the Sequential


def make_model(seed=0, momentum=0.1, warm=True):
    """Linear -> BatchNorm1d -> ReLU -> Dropout(0.9) -> Linear: in train mode dropout keeps one
    unit in ten (scaled x10) and batch norm uses the batch's statistics, so its outputs are far
    from eval mode's."""
    tl.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16, momentum=momentum), nn.ReLU(),
                          nn.Dropout(0.9), nn.Linear(16, C))
    if warm:  # running statistics that are neither the initial ones nor any batch's own
        with tl.no_grad():
            model(tl.Tensor(data(50, seed=seed + 100)[0] * 2.0 + 1.0))
    return model


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = rng.integers(0, C, n)
    return x, y


def modes(model):
    return [m.training for m in model.modules()]


def set_modes(model, config):
    """'train', 'eval', or a mixed mode: one sub-module in eval, the rest in train."""
    model.train(config != "eval")
    if config == "bn_eval":
        model[BN].eval()
    elif config == "dropout_eval":
        model[DROP].eval()
    return modes(model)


CONFIGS = ["train", "eval", "bn_eval", "dropout_eval"]


def running_stats(model):
    bn = model[BN]
    return bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()


def scores_in(model, x, training):
    """The model's scores in the given mode, computed here (the modes are put back after)."""
    saved = [(m, m.training) for m in model.modules()]
    model.train(training)
    try:
        with tl.no_grad():
            return model(tl.Tensor(x)).numpy().astype(np.float64)
    finally:
        for m, t in saved:
            m.training = t


def cross_entropy(s, y):
    s = s - s.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(y)), y]))


def by_hand(model, x, y):
    """Eval-mode mean cross-entropy and accuracy, in NumPy."""
    s = scores_in(model, x, training=False)
    return cross_entropy(s, y), float(np.mean(s.argmax(axis=1) == y))


def test_the_model_differs_between_modes():
    """The premise of every test below: train mode gives very different numbers."""
    model = make_model()
    x, y = data(40, seed=1)
    stats = running_stats(model)
    s_eval = scores_in(model, x, training=False)
    tl.manual_seed(5)
    s_train = scores_in(copy.deepcopy(model), x, training=True)
    assert abs(cross_entropy(s_train, y) - cross_entropy(s_eval, y)) > 0.1
    assert np.abs(s_train - s_eval).max() > 1.0
    assert all(np.array_equal(a, b) for a, b in zip(stats, running_stats(model)))


# ---------------------------------------------------------------- evaluate
@pytest.mark.parametrize("config", CONFIGS)
def test_evaluate_runs_in_eval_mode_and_restores_the_modes(config):
    model = make_model()
    x, y = data(40, seed=1)
    loss, acc = by_hand(model, x, y)
    before = set_modes(model, config)
    stats = running_stats(model)
    got_loss, got_acc = evaluate(model, nn.CrossEntropyLoss(), (x, y))
    assert modes(model) == before
    np.testing.assert_allclose(got_loss, loss, rtol=1e-5)
    assert got_acc == acc
    assert all(np.array_equal(a, b) for a, b in zip(stats, running_stats(model)))  # no train-mode update


def test_evaluate_with_small_batches_averages_over_examples():
    model = make_model()
    x, y = data(40, seed=2)
    loss, acc = by_hand(model, x, y)
    got_loss, got_acc = evaluate(model, nn.CrossEntropyLoss(), (x, y), batch_size=16)  # 16 + 16 + 8
    np.testing.assert_allclose(got_loss, loss, rtol=1e-5)
    assert got_acc == acc and all(modes(model))


# ---------------------------------------------------------------- fit
def test_fit_validation_numbers_are_eval_mode_numbers():
    model = make_model()
    train, val = data(64, seed=3), data(40, seed=4)
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), train, epochs=2,
                  batch_size=16, val=val, quiet=True, seed=0)
    assert all(modes(model))  # back in train mode
    loss, acc = by_hand(model, *val)  # the same weights and running statistics as fit's last evaluation
    assert len(history.val_loss) == 2
    np.testing.assert_allclose(history.val_loss[-1], loss, rtol=1e-5)
    assert history.val_acc[-1] == acc


# ---------------------------------------------------------------- overfit_small_subset
def _labelled_by_eval_mode(n=20):
    """A model that already classifies (x, y) perfectly in eval mode, not in train mode; its batch
    norm keeps its running statistics (momentum 0), so training steps leave eval mode unchanged."""
    model = make_model(seed=7, momentum=0.0, warm=False)
    x, _ = data(n, seed=8)
    y = scores_in(model, x, training=False).argmax(axis=1)
    tl.manual_seed(9)
    train_acc = float(np.mean(scores_in(copy.deepcopy(model), x, training=True).argmax(axis=1) == y))
    assert train_acc < 0.9  # train mode would not reach 100%
    return model, x, y


@pytest.mark.parametrize("config", CONFIGS)
def test_overfit_small_subset_measures_in_eval_mode(config):
    model, x, y = _labelled_by_eval_mode()
    before = set_modes(model, config)
    tl.manual_seed(0)
    result = overfit_small_subset(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0),
                                  x, y, num_examples=len(x), max_iters=20)
    assert modes(model) == before
    assert result.reached and result.iterations == 1 and result.train_acc == 1.0
    assert by_hand(model, x, y)[1] == 1.0


@pytest.mark.parametrize("config", ["train", "bn_eval"])
def test_overfit_small_subset_accuracy_is_the_eval_mode_accuracy(config):
    model = make_model(seed=1)
    x, y = data(20, seed=5)
    before = set_modes(model, config)
    tl.manual_seed(0)
    result = overfit_small_subset(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05),
                                  x, y, num_examples=len(x), max_iters=3)
    assert modes(model) == before
    assert result.iterations == 3 and not result.reached
    # measured after the last update: the model's weights and running statistics as returned
    assert result.train_acc == by_hand(model, x, y)[1]


# ---------------------------------------------------------------- check_initial_loss
@pytest.mark.parametrize("config", CONFIGS)
def test_check_initial_loss_measures_in_eval_mode(config):
    model = make_model(seed=2)
    x, y = data(30, seed=6)
    loss, _ = by_hand(model, x, y)
    before = set_modes(model, config)
    stats = running_stats(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InitialLossWarning)
        result = check_initial_loss(model, nn.CrossEntropyLoss(), x, y, expected=loss, rtol=1e-4)
    assert modes(model) == before
    np.testing.assert_allclose(result.measured, loss, rtol=1e-5)
    assert result.ok and result.num_classes == C
    assert all(np.array_equal(a, b) for a, b in zip(stats, running_stats(model)))
