"""nn.summary: layers, output shapes, parameter counts, totals; shared, unused and frozen
layers; the model left as it was; bad input."""
import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


class TwoPaths(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.shared = nn.Linear(4, 4)
        self.norm = nn.BatchNorm1d(4)
        self.unused = nn.Linear(4, 1)

    def forward(self, idx):
        h = self.emb(idx).mean(axis=1)
        return self.norm(self.shared(self.shared(h)))


def test_summary_of_a_sequential(device):
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 10)).to(device)
    s = nn.summary(model, (2, 1, 8, 8))
    assert [(r.name, r.layer, r.output_shape, r.params) for r in s.rows] == [
        ("", "Sequential", (2, 10), 0),
        ("0", "Conv2d", (2, 4, 8, 8), 4 * 9 + 4),
        ("1", "ReLU", (2, 4, 8, 8), 0),
        ("2", "MaxPool2d", (2, 4, 4, 4), 0),
        ("3", "Flatten", (2, 64), 0),
        ("4", "Linear", (2, 10), 64 * 10 + 10),
    ]
    assert s.total_params == sum(p.numel() for p in model.parameters()) == 690
    assert s.trainable_params == 690 and s.non_trainable_params == 0
    assert s.input_shape == (2, 1, 8, 8) and s.output_shape == (2, 10)
    text = str(s)
    assert "Total params: 690" in text and "4 (Linear)" in text and "(2, 4, 4, 4)" in text
    assert repr(s) == text
    assert all("forward" not in m.__dict__ for m in model.modules())  # the recorders are gone


def test_summary_with_an_example_tensor_shared_unused_and_frozen_layers(device):
    model = TwoPaths().to(device)
    model.emb.weight.requires_grad_(False)
    running = model.norm.running_mean.numpy().copy()
    s = nn.summary(model, tl.Tensor([[1, 2, 3], [4, 5, 6]], device=device))
    rows = {r.name: r for r in s.rows}
    assert rows["emb"].output_shape == (2, 3, 4) and rows["emb"].params == 40
    assert rows["shared"].calls == 2 and "(2, 4) x2" in str(s)
    assert rows["unused"].output_shape is None and rows["unused"].calls == 0
    assert s.total_params == 40 + 20 + 8 + 5 and s.non_trainable_params == 40 and s.trainable_params == 33
    # eval mode and no graph: batch norm's statistics stay, a batch of 1 would even work
    np.testing.assert_array_equal(model.norm.running_mean.numpy(), running)
    assert model.training and model.norm.training
    assert nn.summary(model, tl.Tensor([[1, 2]], device=device)).output_shape == (1, 4)


def test_summary_restores_the_model_when_the_forward_fails():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(5, 1))
    with pytest.raises(ValueError, match="linear"):
        nn.summary(model, (1, 3))
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert model.training


@pytest.mark.parametrize("call, error, text", [
    (lambda: nn.summary(nn.Linear(2, 2), "2, 2"), TypeError, "summary: example must be a shape"),
    (lambda: nn.summary(nn.Linear(2, 2), (2, -1)), TypeError, "summary: example"),
    (lambda: nn.summary(lambda x: x, (2, 2)), TypeError, "summary: model must be a Module"),
    (lambda: nn.summary(nn.Linear(2, 2), (2, 2), batch_dim=0), TypeError, "batch_dim"),
])
def test_summary_bad_input(call, error, text):
    with pytest.raises(error, match=text):
        call()
