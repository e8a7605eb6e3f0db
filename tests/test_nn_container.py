"""The containers: Sequential, Flatten and Identity; ModuleList and ModuleDict: registration
(parameters, state_dict names, modes, devices), the list and dict protocols, and bad input."""
import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim


# ---------------------------------------------------------------- Sequential, Flatten, Identity
def test_sequential_flatten_identity(device):
    a, b = nn.Flatten(), nn.Linear(6, 2, device=device)
    seq = nn.Sequential(nn.Identity(), a, b)
    assert len(seq) == 3 and seq[1] is a and list(seq)[2] is b
    assert isinstance(seq[1:], nn.Sequential) and seq[1:][0] is a
    x = tl.randn(4, 2, 3, device=device)
    out = seq(x)
    assert out.shape == (4, 2)
    ref = x.numpy().reshape(4, 6) @ b.weight.numpy().T + b.bias.numpy()
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-6)
    assert nn.Identity()(x) is x
    assert nn.Flatten(0)(x).shape == (24,)
    with pytest.raises(TypeError):
        nn.Sequential(lambda t: t)


# ---------------------------------------------------------------- ModuleList, ModuleDict
class Tower(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(3)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(3, 2), "reg": nn.Linear(3, 1)})

    def forward(self, x, head="cls"):
        for layer in self.layers:
            x = layer(x).relu()
        return self.heads[head](x)


def test_registered_modules_are_trained_saved_and_moved(device):
    tl.manual_seed(0)  # an unseeded draw can leave every ReLU path to layers[0] dead (no gradient)
    model = Tower()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.2.weight",
                     "layers.2.bias", "heads.cls.weight", "heads.cls.bias", "heads.reg.weight", "heads.reg.bias"]
    assert list(model.state_dict()) == names
    model.to(device).eval()
    assert all(p.device == device for p in model.parameters())
    assert not model.layers[1].training and not model.heads["reg"].training
    x = tl.randn(4, 3, device=device)
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = model.layers[0].weight.numpy().copy()
    model(x).sum().backward()
    opt.step()
    assert not np.array_equal(before, model.layers[0].weight.numpy())  # the optimizer reached it
    assert model(x, "reg").shape == (4, 1)


def test_module_list_is_a_list():
    a, b, c, d = (nn.Linear(1, 1) for _ in range(4))
    ml = nn.ModuleList([a, b])
    ml.append(c)
    assert len(ml) == 3 and list(ml) == [a, b, c] and ml[-1] is c
    ml.insert(1, d)
    assert list(ml) == [a, d, b, c]
    assert list(ml._modules) == ["0", "1", "2", "3"]  # names follow positions, as PyTorch's
    del ml[0]
    assert list(ml) == [d, b, c] and ml[0] is d
    assert [n for n, _ in ml.named_parameters()][:2] == ["0.weight", "0.bias"]
    ml[1] = a
    assert list(ml) == [d, a, c]
    part = ml[1:]
    assert isinstance(part, nn.ModuleList) and list(part) == [a, c]
    ml += [b]
    assert list(ml) == [d, a, c, b] and list(ml + nn.ModuleList([a])) == [d, a, c, b, a]
    del ml[1:3]
    assert list(ml) == [d, b]
    ml.extend(nn.Sequential(c))
    assert list(ml) == [d, b, c]
    assert len(nn.ModuleList()) == 0


def test_module_dict_is_a_dict():
    a, b, c = (nn.Linear(1, 1) for _ in range(3))
    md = nn.ModuleDict([("x", a), ("y", b)])
    assert list(md) == ["x", "y"] and list(md.keys()) == ["x", "y"] and list(md.values()) == [a, b]
    assert dict(md.items()) == {"x": a, "y": b}
    assert "x" in md and "z" not in md and len(md) == 2
    md["z"] = c
    md.update({"x": c})
    assert md["x"] is c and list(md) == ["x", "y", "z"]  # replacing keeps the position
    assert md.pop("y") is b and "y" not in md
    assert [n for n, _ in md.named_parameters()] == ["x.weight", "x.bias"]  # c is shared: listed once
    md.clear()
    assert len(md) == 0 and list(md.parameters()) == []


@pytest.mark.parametrize("call, error, text", [
    (lambda: nn.ModuleList([nn.ReLU(), 3]), TypeError, "ModuleList: an element must be a Module, got int"),
    (lambda: nn.ModuleList().append("relu"), TypeError, "ModuleList: the appended value must be a Module"),
    (lambda: nn.ModuleList([nn.ReLU()])[1], IndexError, "ModuleList: index 1 is out of range for 1 modules"),
    (lambda: nn.ModuleList([nn.ReLU()])["0"], TypeError, "indices must be integers"),
    (lambda: nn.ModuleList().extend(nn.ReLU()), TypeError, "use append for one module"),
    (lambda: nn.ModuleList([nn.ReLU()])(tl.zeros(1)), NotImplementedError, "ModuleList.forward is not defined"),
    (lambda: nn.ModuleDict({1: nn.ReLU()}), TypeError, "ModuleDict: keys must be strings"),
    (lambda: nn.ModuleDict({"a.b": nn.ReLU()}), ValueError, "without '.'"),
    (lambda: nn.ModuleDict({"": nn.ReLU()}), ValueError, "non-empty"),
    (lambda: nn.ModuleDict({"forward": nn.ReLU()}), ValueError, "'forward' is already an attribute"),
    (lambda: nn.ModuleDict({"training": nn.ReLU()}), ValueError, "'training' is already an attribute"),
    (lambda: nn.ModuleDict({"a": 1}), TypeError, "the value for 'a' must be a Module"),
    (lambda: nn.ModuleDict(["ab"]), TypeError, "ModuleDict.update: expected a mapping or"),
    (lambda: nn.ModuleDict()["a"], KeyError, "a"),
    (lambda: nn.ModuleDict(modules={}, strict=True), TypeError, "strict"),
])
def test_bad_input(call, error, text):
    with pytest.raises(error, match=text):
        call()
