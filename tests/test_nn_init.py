"""nn.init: the lecture's small normal, Xavier and Kaiming, against their defining moments."""
import math

import numpy as np
import pytest
from tinygrad_lite.nn import init

import tinygrad_lite as tl
from tinygrad_lite import nn

SHAPE = (200, 100)  # (fan_out, fan_in): 20000 samples
N = SHAPE[0] * SHAPE[1]


def _fresh(device, shape=SHAPE, dtype=None):
    return nn.Parameter(tl.zeros(*shape, dtype=dtype, device=device))


def _check_normal(values, std, rounding=0.0):
    # sample mean ~ N(0, std^2/N); sample std within ~5 sigma of std (its sd is std / sqrt(2N))
    assert abs(values.mean()) < 5 * std / math.sqrt(N)
    assert abs(values.std() / std - 1) < 5 / math.sqrt(2 * N) + rounding


def _check_uniform(values, bound, rounding=0.0):
    assert np.abs(values).max() <= bound * (1 + rounding)
    assert values.max() > 0.99 * bound and values.min() < -0.99 * bound
    assert abs(values.std() / (bound / math.sqrt(3)) - 1) < 0.02


def test_small_normal_is_the_lecture_std(device):
    t = _fresh(device)
    assert init.small_normal_(t) is t  # in place: a parameter keeps its identity
    _check_normal(t.numpy(), 0.01)
    assert t.dtype == np.float32 and t.device == device


@pytest.mark.parametrize("name, check", [
    ("xavier_uniform_", lambda v: _check_uniform(v, math.sqrt(6 / (100 + 200)))),
    ("xavier_normal_", lambda v: _check_normal(v, math.sqrt(2 / (100 + 200)))),
    ("kaiming_uniform_", lambda v: _check_uniform(v, math.sqrt(2) * math.sqrt(3 / 100))),
    ("kaiming_normal_", lambda v: _check_normal(v, math.sqrt(2 / 100))),
])
def test_fan_based_inits(device, name, check):
    tl.manual_seed(0)
    t = _fresh(device)
    getattr(init, name)(t)
    check(t.numpy())


def test_kaiming_options_and_gain():
    t = _fresh("cpu")
    init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
    _check_normal(t.numpy(), math.sqrt(2 / 200))
    init.kaiming_uniform_(t, a=math.sqrt(5))  # Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    _check_uniform(t.numpy(), 1 / math.sqrt(100))
    init.xavier_uniform_(t, gain=init.calculate_gain("tanh"))
    _check_uniform(t.numpy(), 5 / 3 * math.sqrt(6 / 300))
    assert init.calculate_gain("leaky_relu", 0.1) == pytest.approx(math.sqrt(2 / 1.01))
    with pytest.raises(ValueError):
        init.kaiming_normal_(t, mode="fan_avg")
    with pytest.raises(ValueError):
        init.calculate_gain("swish")


def test_fans_include_the_receptive_field():
    assert init.fans(tl.zeros(8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match="2 dimensions"):
        init.xavier_uniform_(tl.zeros(5))


def test_constant_inits_and_dtype(device):
    t = _fresh(device, (3, 2), dtype="float64")
    assert np.all(init.constant_(t, 0.5).numpy() == 0.5)
    assert np.all(init.ones_(t).numpy() == 1) and np.all(init.zeros_(t).numpy() == 0)
    init.uniform_(t, 2.0, 3.0)
    assert t.dtype == np.float64 and np.all((t.numpy() >= 2) & (t.numpy() < 3))


def test_seeded_generator_reproduces(device):
    a, b = _fresh(device, (4, 4)), _fresh(device, (4, 4))
    tl.manual_seed(9)
    init.normal_(a)
    tl.manual_seed(9)
    init.normal_(b)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    init.normal_(b)
    assert not np.array_equal(a.numpy(), b.numpy())


INITS = {  # name: (call, check of the float64 values with float16's rounding allowed)
    "uniform_": (lambda t: init.uniform_(t, -0.5, 0.5), lambda v: _check_uniform(v, 0.5, 2e-3)),
    "normal_": (lambda t: init.normal_(t, 0.0, 2.0), lambda v: _check_normal(v, 2.0, 2e-3)),
    "small_normal_": (init.small_normal_, lambda v: _check_normal(v, 0.01, 2e-3)),
    "xavier_uniform_": (init.xavier_uniform_, lambda v: _check_uniform(v, math.sqrt(6 / 300), 2e-3)),
    "xavier_normal_": (init.xavier_normal_, lambda v: _check_normal(v, math.sqrt(2 / 300), 2e-3)),
    "kaiming_uniform_": (init.kaiming_uniform_, lambda v: _check_uniform(v, math.sqrt(6 / 100), 2e-3)),
    "kaiming_normal_": (init.kaiming_normal_, lambda v: _check_normal(v, math.sqrt(2 / 100), 2e-3)),
    "pytorch_default_": (init.pytorch_default_, lambda v: _check_uniform(v, 1 / math.sqrt(100), 2e-3)),
    "zeros_": (init.zeros_, lambda v: np.testing.assert_array_equal(v, 0)),
    "ones_": (init.ones_, lambda v: np.testing.assert_array_equal(v, 1)),
    "constant_": (lambda t: init.constant_(t, 0.25), lambda v: np.testing.assert_array_equal(v, 0.25)),
}


@pytest.mark.parametrize("name", sorted(INITS))
def test_every_init_fills_float16(device, name):
    """Drawn in float32 and cast: the dtype stays float16, the moments are the float32 ones."""
    assert set(INITS) == set(init.__all__) - {"calculate_gain", "fans"}  # none left out
    tl.manual_seed(1)
    t = _fresh(device, dtype=np.float16)
    call, check = INITS[name]
    assert call(t) is t
    assert t.dtype == np.float16 and t.device == device
    check(t.numpy().astype(np.float64))


# ---------------------------------------------------------------- the layers' default init
@pytest.mark.parametrize("make", [lambda d: nn.Linear(64, 32, dtype=np.float16, device=d),
                                  lambda d: nn.Conv2d(4, 8, 4, dtype="float16", device=d)])
def test_layers_made_in_float16(device, make):
    """PyTorch's default init, drawn in float32 and cast: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in 64."""
    tl.manual_seed(2)
    layer = make(device)
    for p in layer.parameters():
        values = p.numpy().astype(np.float64)
        assert p.dtype == np.float16 and p.device == device
        assert np.abs(values).max() <= 1 / 8 * (1 + 2e-3) and values.std() > 0.5 / 8 / math.sqrt(3)


def test_init_fans_of_a_conv_weight():
    w = nn.Conv2d(3, 8, (5, 2)).weight
    assert nn.init.fans(w) == (3 * 5 * 2, 8 * 5 * 2)
    tl.manual_seed(0)
    nn.init.kaiming_normal_(w)  # std = sqrt(2 / fan_in)
    assert abs(w.numpy().std() - math.sqrt(2 / 30)) < 0.15 * math.sqrt(2 / 30)
