"""A short PyTorch program that uses the names PyTorch code meets first.

tests/test_pytorch_port.py runs this text under tinygrad_lite with only its import lines
changed, and under PyTorch where it is installed, and compares the results. ``run()`` returns
plain Python numbers, booleans and lists; random draws give only what holds for any seed.
"""
import os
import tempfile

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler, TensorDataset


class Squares(Dataset):
    """Sample i is (i as a float tensor, i * i as a Python int)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return torch.tensor([float(i)]), i * i


def init_weights(m):
    """Module.apply's function: fixed weights, so that both libraries compute the same numbers."""
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            m.weight.copy_(torch.linspace(-0.5, 0.5, m.weight.numel()).reshape(m.weight.shape))
            m.bias.fill_(0.1)


def run():
    out = {}
    torch.manual_seed(0)
    torch.cuda.manual_seed_all(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    # tensors, dtypes and conversions
    a = torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    out["a_is_float32"] = a.dtype == torch.float32
    b = torch.arange(24).reshape(2, 3, 4)
    out["arange_is_long"] = b.dtype == torch.long
    out["to_float64"] = a.to(torch.float64).dtype == torch.float64
    out["long"] = torch.tensor([1.7, -2.7, 0.5]).long().tolist()
    out["int"] = torch.tensor([1.7, -2.7]).int().tolist()
    out["int_is_int32"] = torch.tensor([1.7]).int().dtype == torch.int32
    out["float"] = b[0, 0].float().tolist()
    out["float_is_float32"] = b.float().dtype == torch.float32
    out["half"] = torch.tensor([0.1, 2.5, 1000.3]).half().tolist()
    out["half_is_float16"] = torch.tensor([0.1]).half().dtype == torch.float16
    out["linspace"] = torch.linspace(0, 1, 5).tolist()
    out["cpu"] = a.cpu().tolist()
    if torch.cuda.is_available():
        on_gpu = a.cuda() * 2
        torch.cuda.synchronize()
        out["device_roundtrip"] = on_gpu.cpu().tolist()
    else:
        out["device_roundtrip"] = (a.to(device) * 2).cpu().tolist()

    # movement and shape: PyTorch's meanings of names NumPy has too
    out["transpose_2d"] = a.transpose(0, 1).tolist()
    out["transpose_3d"] = b.transpose(1, 2).tolist()
    out["transpose_3d_shape"] = list(b.transpose(1, 2).shape)
    out["t"] = a.t().tolist()
    out["repeat"] = a.repeat(2, 1).tolist()
    out["repeat_3d"] = torch.tensor([1, 2]).repeat(2, 1, 2).tolist()
    out["squeeze_1"] = list(torch.zeros(2, 1, 3).squeeze(1).shape)
    out["squeeze_0_keeps"] = list(torch.zeros(2, 1, 3).squeeze(0).shape)
    out["roll"] = a.roll(1, dims=1).tolist()
    out["roll_flat"] = a.roll(2).tolist()
    c = a.contiguous()
    out["contiguous"] = c.tolist()
    d = a.clone()
    d[0, 0] = 100.0
    out["clone_is_a_copy"] = [a[0, 0].item(), d[0, 0].item()]

    # reductions
    values, indices = a.max(1)
    out["max_values"] = values.tolist()
    out["max_indices"] = indices.tolist()
    out["min_dim0"] = [a.min(dim=0).values.tolist(), a.min(dim=0).indices.tolist()]
    out["std"] = a.std().item()
    out["std_biased"] = a.std(unbiased=False).item()
    out["var"] = a.var().item()
    out["var_biased"] = a.var(unbiased=False).item()
    out["var_dim1"] = a.var(1).tolist()
    out["all"] = [(a != 0).all().item(), (a > 0).all().item()]
    out["any_dim1"] = (a > 4).any(dim=1).tolist()

    # indexing and writes
    out["index_select"] = a.index_select(1, torch.tensor([2, 0])).tolist()
    i = torch.tensor(2)
    out["index"] = [[10, 20, 30][i], list(range(torch.tensor(3)))]
    e = torch.zeros(3, 4)
    e[1] = 1.0
    e[:, 2] = torch.tensor([7.0, 8.0, 9.0])
    e[e > 8] = -1.0
    out["setitem"] = e.tolist()
    mask = torch.tril(torch.ones(3, 3)) == 0
    scores = torch.arange(9).reshape(3, 3).float()
    out["masked_fill"] = scores.masked_fill(mask, float("-inf")).tolist()
    out["causal_softmax"] = scores.masked_fill(mask, float("-inf")).softmax(dim=-1).tolist()

    # products
    m1 = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out["mm"] = a.mm(m1).tolist()
    batch = torch.arange(12).reshape(2, 2, 3).float()
    out["bmm"] = batch.bmm(batch.transpose(1, 2)).tolist()
    out["einsum"] = torch.einsum("ij,jk->ik", a, m1).tolist()
    out["einsum_batched"] = torch.einsum("bij,bkj->bik", batch, batch).tolist()

    # random draws (seeded; only what holds for any seed)
    perm = torch.randperm(10)
    out["randperm"] = sorted(perm.tolist())
    out["randperm_is_long"] = perm.dtype == torch.long
    r = torch.randint(3, 7, (200,))
    out["randint_range"] = [r.min().item() >= 3, r.max().item() < 7, list(r.shape), r.dtype == torch.long]
    probs = torch.tensor([[0.0, 0.5, 0.2, 0.0, 0.3], [0.0, 0.0, 0.0, 1.0, 0.0]])
    draws = torch.multinomial(probs, 1, replacement=True)
    out["multinomial_one_hot_row"] = draws[1].tolist()
    picks = probs[0].multinomial(3)  # without replacement: the three nonzero entries, once each
    out["multinomial_no_repeats"] = sorted(picks.tolist())
    out["multinomial_shape"] = list(torch.multinomial(probs, 10, replacement=True).shape)

    # functional
    out["one_hot"] = F.one_hot(torch.tensor([0, 2, 1]), num_classes=4).tolist()
    out["one_hot_is_long"] = F.one_hot(torch.tensor([1, 0])).dtype == torch.long
    out["pad"] = F.pad(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), (1, 2, 1, 0), value=-1.0).tolist()

    # autograd
    w = torch.tensor([1.0, -2.0, 3.0]).requires_grad_()
    loss = (w * w).sum()
    out["grad_fn"] = loss.grad_fn is not None and w.grad_fn is None
    loss.backward()
    out["grad"] = w.grad.tolist()
    with torch.no_grad():
        off = w * 2
        with torch.enable_grad():
            on = w * 2
    with torch.inference_mode():
        inference = w * 2
    out["grad_modes"] = [off.requires_grad, on.requires_grad, inference.requires_grad]

    # a module, Module.apply, one optimizer step, zero_grad(set_to_none=True)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    out["apply_returns_model"] = model.apply(init_weights) is model
    x = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
    y = torch.tensor([1, 0])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    loss = F.cross_entropy(model(x), y)
    out["loss_before"] = loss.item()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    out["bias_grad"] = model[2].bias.grad.tolist()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    out["grads_dropped"] = all(p.grad is None for p in model.parameters())
    out["loss_after"] = F.cross_entropy(model(x), y).item()
    model.requires_grad_(False)
    out["module_requires_grad_"] = [any(p.requires_grad for p in model.parameters()), model(x).requires_grad]

    # torch.save / torch.load of a state dict
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.pt")
        torch.save(model.state_dict(), path)
        again = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        again.load_state_dict(torch.load(path))
    out["save_load"] = again(x).tolist() == model(x).tolist()

    # torch.utils.data
    dataset = TensorDataset(torch.arange(10).float().reshape(10, 1), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]))
    out["tensor_dataset"] = [len(dataset), dataset[4][0].tolist(), dataset[4][1].item()]
    batches = [(xb.shape[0], yb.tolist()) for xb, yb in DataLoader(dataset, batch_size=4)]
    out["loader_batches"] = [[n, ys] for n, ys in batches]
    out["loader_drop_last"] = len(list(DataLoader(dataset, batch_size=4, drop_last=True)))
    order = list(RandomSampler(dataset))
    out["random_sampler"] = sorted(int(k) for k in order)
    drawn = list(RandomSampler(dataset, replacement=True, num_samples=25))
    out["random_sampler_replacement"] = [len(drawn), all(0 <= int(k) < 10 for k in drawn)]
    seen = []
    for xb, yb in DataLoader(dataset, batch_size=3, sampler=RandomSampler(dataset)):
        seen += xb.reshape(-1).tolist()
    out["loader_sampler_covers"] = sorted(seen)
    shuffled = sorted(v for xb, _ in DataLoader(dataset, batch_size=4, shuffle=True) for v in xb.reshape(-1).tolist())
    out["loader_shuffle_covers"] = shuffled
    squares = DataLoader(Squares(5), batch_size=2)
    out["custom_dataset"] = [[xb.tolist(), yb.tolist(), yb.dtype == torch.long] for xb, yb in squares]
    return out


if __name__ == "__main__":
    for key, value in run().items():
        print(key, value)
