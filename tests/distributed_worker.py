"""The rank side of tests/test_distributed.py: ``mpiexec -n 2 python distributed_worker.py SCENARIO OUT``.

Each scenario writes what rank r computed to OUT/rank<r>.npz (or fails on purpose); the
test compares it with the single-process computation, which it builds from the same
``problem`` and ``model`` functions imported from this file.
"""
from __future__ import annotations

import os
import signal
import sys
import time

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.train import fit

STEPS, BATCH = 5, 8  # per rank: 2 ranks x 8 = one process with batch 16


def problem(n: int, dtype=np.float32, seed: int = 0):
    """A fixed classification problem: (x, y) with 6 features, 3 classes."""
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 2.0, (n, 6)).astype(dtype)  # off-centre, so BatchNorm has work to do
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 1).astype(np.int64) + (x[:, 3] > 2)
    return x, y


def model(batchnorm: bool, dropout: float = 0.0, dtype=np.float32, seed: int = 0) -> nn.Sequential:
    """6 -> 16 [BatchNorm1d] ReLU [Dropout] -> 3, initialised from ``seed``."""
    tl.manual_seed(seed)
    layers = [nn.Linear(6, 16), *([nn.BatchNorm1d(16)] if batchnorm else []), nn.ReLU(),
              *([nn.Dropout(dropout)] if dropout else []), nn.Linear(16, 3)]
    return nn.Sequential(*layers).astype(dtype)


def images(n: int, seed: int = 0):
    """(x, y): n float64 images of 1 x 4 x 4 and labels in 0..2, for the ConvNet case."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.5, 1.5, (n, 1, 4, 4))
    return x, (x[:, 0, :2].sum(axis=(1, 2)) > 1).astype(np.int64) + (x[:, 0, 3, 3] > 1)


def convnet(seed: int = 0) -> nn.Sequential:
    """conv 3x3 -> BatchNorm2d -> ReLU -> flatten -> linear to 3 scores, float64."""
    tl.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(48, 3)).double()


def optimizer(m):
    return optim.SGD(m.parameters(), lr=0.1, momentum=0.9)


def save(out: str, rank: int, **arrays) -> None:
    np.savez(os.path.join(out, f"rank{rank}.npz"), **arrays)


def state_arrays(m) -> dict:
    return {k: t.numpy() for k, t in m.state_dict().items()}


# ---------------------------------------------------------------- scenarios
def gradient(dp, out: str, sync: bool, device: str = "cpu", conv: bool = False) -> None:
    """One float64 backward on half of a batch of 16; gradients averaged over the ranks."""
    x, y = images(2 * BATCH) if conv else problem(2 * BATCH, np.float64)
    # rank 1 builds different weights on purpose: prepare() must overwrite them with rank 0's
    m = convnet(dp.rank) if conv else model(sync, dtype=np.float64, seed=dp.rank)
    m = dp.prepare(m.to(device))
    part = slice(dp.rank * BATCH, (dp.rank + 1) * BATCH)
    loss = nn.CrossEntropyLoss()(m(tl.Tensor(x[part], device=device)), tl.Tensor(y[part], device=device))
    loss.backward()
    (mean_loss,) = dp.allreduce_gradients(m, [loss.item()])
    save(out, dp.rank, loss=mean_loss, **{k: p.grad.numpy() for k, p in m.named_parameters()})


def steps(dp, out: str, batchnorm: bool, dropout: float = 0.0) -> None:
    """STEPS fit steps with validation and a checkpoint (written by rank 0 alone)."""
    x, y = problem(2 * BATCH * STEPS)
    m = model(batchnorm, dropout)
    h = fit(m, nn.CrossEntropyLoss(), optimizer(m), (x, y), epochs=1, batch_size=BATCH,
            val=problem(37, seed=1), seed=3, quiet=True, distributed=dp, checkpoint_path=os.path.join(out, f"ckpt{dp.rank}.npz"))
    save(out, dp.rank, iter_loss=h.iter_loss, val=[h.val_loss[0], h.val_acc[0]],
         train=[h.train_loss[0], h.train_acc[0]], **state_arrays(m))


def resume(dp, out: str) -> None:
    """3 epochs straight, against 1 epoch, a checkpoint, and 2 more resumed from it (with
    dropout, so that every rank's random state must come back)."""
    data, loss_fn = problem(2 * BATCH * 3), nn.CrossEntropyLoss()
    run = lambda m, **kw: fit(m, loss_fn, optimizer(m), data, batch_size=BATCH, seed=5, quiet=True,
                              distributed=dp, **kw)
    straight = model(True, dropout=0.3)
    run(straight, epochs=3)
    ckpt = os.path.join(out, "resume.npz")
    first = model(True, dropout=0.3)
    run(first, epochs=1, checkpoint_path=ckpt)
    resumed = model(True, dropout=0.3, seed=9)  # other weights: the checkpoint must replace them
    run(resumed, epochs=3, checkpoint_path=ckpt, resume_from=ckpt)
    save(out, dp.rank, **{f"straight.{k}": v for k, v in state_arrays(straight).items()},
         **{f"resumed.{k}": v for k, v in state_arrays(resumed).items()})


def failure(dp, out: str, how: str) -> None:
    """Rank 1 dies (SIGKILL) or hangs at step 3; rank 0 must not wait forever."""
    x, y = problem(2 * BATCH * 100)
    m = model(False)
    opt, loss_fn = optimizer(m), nn.CrossEntropyLoss()
    dp.prepare(m)
    # the short timeout only from here: a slow start on a busy machine is not what is tested
    dp.comm.timeout = float(os.environ.get("TEST_MPI_STEP_TIMEOUT", dp.comm.timeout))
    for i in range(100):
        if dp.rank == 1 and i == 3:
            print(f"rank 1: {how} now", flush=True)
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(120)  # hangs: never joins the next allreduce
        part = slice((2 * i + dp.rank) * BATCH, (2 * i + dp.rank + 1) * BATCH)
        opt.zero_grad()
        loss_fn(m(tl.Tensor(x[part])), y[part]).backward()
        dp.allreduce_gradients(m)
        opt.step()
    print(f"rank {dp.rank}: finished all steps, which it should not have", flush=True)


def main(argv: list[str]) -> None:
    from tinygrad_lite.distributed import DataParallel, init

    scenario, out = argv[0], argv[1]
    comm = init(timeout=float(os.environ.get("TEST_MPI_TIMEOUT", "60")))
    dp = DataParallel(comm, sync_batchnorm=scenario.endswith("-sync"))
    {"gradient": lambda: gradient(dp, out, False), "gradient-sync": lambda: gradient(dp, out, True),
     "gradient-strict-sync": lambda: gradient(dp, out, True, "strict"),
     "gradient-conv-sync": lambda: gradient(dp, out, True, conv=True),
     "steps-plain": lambda: steps(dp, out, False), "steps-bn": lambda: steps(dp, out, True),
     "steps-bn-sync": lambda: steps(dp, out, True), "resume-sync": lambda: resume(dp, out),
     "single": lambda: steps(dp, out, True, dropout=0.3),
     "kill": lambda: failure(dp, out, "kill"), "hang": lambda: failure(dp, out, "hang"),
     "mismatch": lambda: dp.prepare(model(batchnorm=dp.rank == 1))}[scenario]()


if __name__ == "__main__":
    main(sys.argv[1:])
