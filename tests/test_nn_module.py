"""nn.Module: registration, traversal, modes, devices, functional_call, copies, state dicts
(the containers: tests/test_nn_container.py)."""
import copy

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


class Block(nn.Module):
    """Two layers sharing nothing, plus a buffer and a plain attribute."""

    def __init__(self, device="cpu"):
        super().__init__()
        self.fc = nn.Linear(3, 4, device=device)
        self.scale = nn.Parameter(tl.ones(4, device=device))
        self.register_buffer("count", tl.zeros(1, dtype="int64", device=device))
        self.note = tl.zeros(2)  # a plain tensor attribute is neither parameter nor buffer
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x)) * self.scale


def test_registration_and_order():
    m = Block()
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc.weight", "fc.bias"]
    assert [n for n, _ in m.named_buffers()] == ["count"]
    assert [n for n, _ in m.named_children()] == ["fc", "act"]
    assert [type(x).__name__ for x in m.modules()] == ["Block", "Linear", "ReLU"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
    assert "note" not in dict(m.named_parameters()) and "note" not in dict(m.named_buffers())
    assert m.fc.weight is m._modules["fc"]._parameters["weight"]


def test_shared_parameter_is_listed_once():
    a = nn.Linear(2, 2)
    b = nn.Linear(2, 2)
    b.weight = a.weight
    seq = nn.Sequential(a, b, a)
    names = [n for n, _ in seq.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.bias"]
    assert len(list(seq.parameters())) == 3
    # the state dict keeps every name so each module can be restored on its own
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_assignment_rules():
    m = Block()
    with pytest.raises(TypeError, match="'scale'"):
        m.scale = tl.ones(4)  # a plain tensor cannot replace a parameter silently
    m.count = tl.ones(1, dtype="int64")  # a buffer can be replaced by a tensor
    assert dict(m.named_buffers())["count"].item() == 1
    m.fc = nn.Identity()  # a module can be replaced by a module
    assert [n for n, _ in m.named_parameters()] == ["scale"]
    del m.scale
    assert list(m.parameters()) == []
    with pytest.raises(AttributeError):
        _ = m.scale

    class NoInit(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tl.ones(1))

    with pytest.raises(AttributeError, match="super"):
        NoInit()
    with pytest.raises(TypeError):
        m.register_buffer("b", np.ones(2))
    with pytest.raises(TypeError):
        m.register_parameter("p", tl.ones(2))


def test_train_eval_recurse():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(2)))
    assert all(x.training for x in m.modules())
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    m[1].eval()
    assert m.training and not m[1][0].training and not m[1][1].training


def test_eval_mode_restores_each_modules_own_mode():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(2)))
    m[1][1].eval()  # mixed modes: model.train(was_training) would lose this one
    before = [x.training for x in m.modules()]
    with nn.eval_mode(m) as same:
        assert same is m and not any(x.training for x in m.modules())
    assert [x.training for x in m.modules()] == before
    with pytest.raises(RuntimeError, match="inside"), nn.eval_mode(m):
        raise RuntimeError("inside")
    assert [x.training for x in m.modules()] == before


def test_zero_grad(device):
    m = Block(device)
    out = m(tl.randn(5, 3, device=device)).sum()
    out.backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_zero_grad_set_to_none_false_zeroes_in_place(device):
    """PyTorch's ``zero_grad(set_to_none=False)``: the same gradient tensors, now all zeros; a
    parameter without a gradient keeps none. ``set_to_none=True`` (the default) drops them."""
    m = Block(device)
    m(tl.randn(5, 3, device=device)).sum().backward()
    m.scale.grad = None
    grads = [p.grad for p in m.parameters()]
    m.zero_grad(set_to_none=False)
    assert m.scale.grad is None
    for p, g in zip(m.parameters(), grads):
        if g is not None:
            assert p.grad is g and not np.any(p.grad.numpy())
    m.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in m.parameters())


def test_requires_grad_freezes_and_unfreezes_every_parameter(device):
    m = Block(device)
    assert m.requires_grad_(False) is m
    assert not any(p.requires_grad for p in m.parameters())
    x = tl.randn(5, 3, device=device, requires_grad=True)
    m(x).sum().backward()  # the input still gets its gradient; the frozen parameters none
    assert x.grad is not None and all(p.grad is None for p in m.parameters())
    m.fc.requires_grad_()  # on a sub-module only: PyTorch's default is True
    assert [n for n, p in m.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    assert m.requires_grad_(True) is m and all(p.requires_grad for p in m.parameters())


def test_apply_visits_children_before_parents_and_returns_self():
    """PyTorch's order: each child's whole subtree (post-order, registration order), then the module."""
    inner = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
    model = nn.Sequential(nn.Linear(3, 2), inner, nn.ReLU())
    seen = []
    assert model.apply(seen.append) is model
    assert seen == [model[0], inner[0], inner[1], inner, model[2], model]
    assert [type(m).__name__ for m in Block().apply(lambda m: None).modules()] == ["Block", "Linear", "ReLU"]


def test_apply_initializes_weights():
    """The common use: ``model.apply(init)`` with a function that checks the layer type."""
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2)))

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)
            nn.init.zeros_(m.bias)

    model.apply(init)
    for layer in (model[0], model[2][0]):
        assert np.all(layer.weight.numpy() == 0.5) and not np.any(layer.bias.numpy())


def test_to_moves_parameters_and_buffers(device):
    m = Block("cpu")
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    expected = m(tl.Tensor(x)).numpy()
    old = list(m.parameters())
    m.fc.weight.requires_grad_(False)  # frozen state must survive the move
    assert m.to(device) is m
    assert all(t.device == device for t in list(m.parameters()) + list(m.buffers()))
    assert all(p is q for p, q in zip(m.parameters(), old))  # moved in place, as PyTorch
    assert not m.fc.weight.requires_grad and m.fc.bias.requires_grad
    assert isinstance(m.fc.weight, nn.Parameter)
    np.testing.assert_allclose(m(tl.Tensor(x, device=device)).numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError):
        m.to("tpu")


def test_astype_keeps_int_buffers():
    m = Block().double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert m.count.dtype == np.int64
    assert m.float().fc.weight.dtype == np.float32


def test_repr_is_readable():
    m = nn.Sequential(nn.Linear(4, 3), nn.Sequential(nn.ReLU(), nn.Dropout(0.25)))
    text = repr(m)
    assert text.splitlines()[0] == "Sequential("
    assert "(0): Linear(in_features=4, out_features=3, bias=True)" in text
    assert "    (1): Dropout(p=0.25)" in text
    assert repr(nn.LeakyReLU(0.1)) == "LeakyReLU(negative_slope=0.1)"
    assert repr(nn.Parameter(tl.zeros(1))).startswith("Parameter(")


def test_functional_call_swaps_and_restores():
    m = nn.Linear(2, 1)
    w = tl.Tensor([[2.0, 3.0]])
    out = nn.functional_call(m, {"weight": w, "bias": tl.Tensor([1.0])}, tl.Tensor([[1.0, 1.0]]))
    assert out.item() == 6.0
    assert isinstance(m.weight, nn.Parameter) and m.weight is not w
    with pytest.raises(ValueError, match="nope"):
        nn.functional_call(m, {"nope": w}, tl.ones(1, 2))


def test_deepcopy_gives_independent_model():
    m = Block()
    c = copy.deepcopy(m)
    c.fc.weight.data[...] = 0
    assert np.abs(m.fc.weight.numpy()).sum() > 0
    assert [n for n, _ in c.named_parameters()] == [n for n, _ in m.named_parameters()]


# ---------------------------------------------------------------- state dicts
def _values(m):
    return {k: v.numpy().copy() for k, v in m.state_dict().items()}


def _model(seed, device="cpu"):
    tl.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4, device=device), nn.BatchNorm1d(4, device=device), nn.PReLU(4, device=device),
                         nn.Linear(4, 2, device=device))


def test_state_dict_round_trip(device):
    src, dst = _model(0, device), _model(1, device)
    src(tl.randn(6, 3, device=device))  # move the running statistics away from their init
    x = tl.randn(5, 3, device=device)
    src.eval(), dst.eval()
    assert not np.allclose(src(x).numpy(), dst(x).numpy())
    params = list(dst.parameters())
    assert dst.load_state_dict(src.state_dict()) == ([], [])
    assert all(p is q for p, q in zip(params, dst.parameters()))  # optimizers stay valid
    np.testing.assert_array_equal(src(x).numpy(), dst(x).numpy())
    for k, v in _values(src).items():
        np.testing.assert_array_equal(_values(dst)[k], v)


def test_state_dict_is_a_snapshot():
    m = _model(0)
    state = m.state_dict()
    before = state["0.weight"].numpy().copy()
    m[0].weight.data[...] += 1.0  # an optimizer step updates p.data in place
    np.testing.assert_array_equal(state["0.weight"].numpy(), before)
    assert not state["0.weight"].requires_grad
    # and the loaded model does not alias the given arrays either
    arrays = {k: v.numpy() for k, v in state.items()}
    m.load_state_dict(arrays)
    arrays["0.weight"][...] = 7.0
    np.testing.assert_array_equal(m[0].weight.numpy(), before)


def _broken(state, kind):
    state = dict(state)
    if kind == "missing":
        del state["1.running_var"]
    elif kind == "unexpected":
        state["3.extra"] = np.zeros(2, np.float32)
    elif kind == "shape":
        state["3.weight"] = np.zeros((3, 4), np.float32)
    elif kind == "dtype":
        state["1.running_mean"] = np.zeros(4, np.float64)
    return state


@pytest.mark.parametrize("kind, error, key", [
    ("missing", ValueError, "1.running_var"), ("unexpected", ValueError, "3.extra"),
    ("shape", ValueError, "3.weight"), ("dtype", TypeError, "1.running_mean")])
def test_failed_strict_load_changes_nothing(kind, error, key):
    src, dst = _model(0), _model(1)
    before = _values(dst)
    # the failing entry comes last in iteration order for "shape": earlier ones must not be written
    with pytest.raises(error, match=key.replace(".", r"\.")):
        dst.load_state_dict(_broken(src.state_dict(), kind))
    for k, v in _values(dst).items():
        np.testing.assert_array_equal(v, before[k])


def test_non_strict_load_reports_and_loads_the_rest():
    src, dst = _model(0), _model(1)
    result = dst.load_state_dict(_broken(src.state_dict(), "missing") | {"extra": np.ones(1)}, strict=False)
    assert result.missing_keys == ["1.running_var"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(dst[0].weight.numpy(), src[0].weight.numpy())
    np.testing.assert_array_equal(dst[1].running_var.numpy(), np.ones(4, np.float32))
    with pytest.raises(ValueError, match="3.weight"):
        dst.load_state_dict(_broken(src.state_dict(), "shape"), strict=False)


def test_optimizer_made_before_to_follows_the_move():
    from tinygrad_lite import optim

    m = nn.Linear(3, 2)
    opt = optim.SGD(m.parameters(), lr=0.5, momentum=0.9)
    m.to("strict")
    w0 = m.weight.numpy().copy()
    x = tl.Tensor(np.ones((4, 3), dtype=np.float32), device="strict")
    (m(x) ** 2).sum().backward()
    expected = w0 - 0.5 * m.weight.grad.numpy()  # first momentum step: v = g
    opt.step()
    assert m.weight.device == "strict"
    np.testing.assert_allclose(m.weight.numpy(), expected, rtol=1e-6)
