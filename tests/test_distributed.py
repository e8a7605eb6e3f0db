"""Data-parallel training over MPI, checked against the single-process computation.

Each test launches ``mpiexec -n 2 python tests/distributed_worker.py SCENARIO OUT`` in a
subprocess (its own session, killed whole past the timeout), reads what each rank wrote
and compares it with what one process computes here from the same problem:

- 2 ranks' averaged gradient on half batches = 1 process's on the full batch (float64, 1e-12),
  with plain and with synchronized BatchNorm;
- N fit steps on 2 ranks with batch B = N steps of 1 process with batch 2B (float32, 1e-6),
  without BatchNorm and with synchronized BatchNorm; per-rank BatchNorm equals the
  "ghost batch" step (each half normalized alone) and measurably differs from it;
- a checkpoint resumes exactly on the same number of ranks, and is refused on another;
- a killed rank, or a hung one, ends the job with an error within seconds.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.data import DataLoader
from tinygrad_lite.train import fit

pytestmark = pytest.mark.slow  # mpiexec jobs: `pytest -m "not slow"` leaves them out

pytest.importorskip("mpi4py", reason="mpi4py is not installed: pip install 'tinygrad-lite[mpi]'")
# the venv's mpiexec (the mpich wheel's) first, then the PATH's
MPIEXEC = shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                        os.environ.get("PATH", "")]))
if MPIEXEC is None:
    pytest.skip("no mpiexec: pip install 'tinygrad-lite[mpi]' brings MPICH's", allow_module_level=True)

import distributed_worker as worker  # tests/ is on sys.path under pytest

WORKER = str(Path(worker.__file__).resolve())
LIMIT = 60  # seconds for one job; each takes about one


def mpirun(scenario: str, out: Path, ranks: int = 2, timeout: float = LIMIT, **env) -> tuple:
    """(CompletedProcess-like result, seconds) of the scenario on ``ranks`` ranks."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **env}
    start = time.monotonic()
    proc = subprocess.Popen([MPIEXEC, "-n", str(ranks), sys.executable, WORKER, scenario, str(out)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # mpiexec, its proxies and the ranks: nothing left behind
        proc.communicate()
        pytest.fail(f"mpiexec -n {ranks} {scenario} did not end within {timeout} s")
    return types.SimpleNamespace(returncode=proc.returncode, stdout=stdout, stderr=stderr), \
        time.monotonic() - start


def run_ok(scenario: str, out: Path, ranks: int = 2) -> list[dict]:
    """Every rank's saved arrays, after checking that the job succeeded."""
    proc, _ = mpirun(scenario, out, ranks)
    assert proc.returncode == 0, f"{scenario} failed:\n{proc.stdout}\n{proc.stderr}"
    return [dict(np.load(out / f"rank{r}.npz")) for r in range(ranks)]


def assert_same_state(got: dict, model, atol: float, names=None) -> None:
    want = {k: t.numpy() for k, t in model.state_dict().items()}
    for k in names or want:
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=atol, err_msg=k)


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("scenario",
                         ["gradient", "gradient-sync", "gradient-strict-sync", "gradient-conv-sync"])
def test_averaged_gradient_of_half_batches_is_the_full_batch_gradient(tmp_path, scenario):
    # "strict": arrays on the device that refuses host arrays where device ones belong, as CuPy
    ranks = run_ok(scenario, tmp_path)
    sync, conv = scenario.endswith("sync"), "conv" in scenario
    x, y = worker.images(2 * worker.BATCH) if conv else worker.problem(2 * worker.BATCH, np.float64)
    # rank 0's weights, which were broadcast
    m = worker.convnet(0) if conv else worker.model(sync, dtype=np.float64, seed=0)
    loss = nn.CrossEntropyLoss()(m(tl.Tensor(x)), y)
    loss.backward()
    # gradients worth comparing (the bias before a BatchNorm has none: the mean removes it)
    assert min(np.abs(p.grad.numpy()).max() for k, p in m.named_parameters() if k != "0.bias") > 1e-3
    for r, got in enumerate(ranks):
        assert abs(float(got["loss"]) - loss.item()) < 1e-12, r
        for k, p in m.named_parameters():
            np.testing.assert_allclose(got[k], p.grad.numpy(), rtol=0, atol=1e-12, err_msg=f"rank {r}: {k}")


# ---------------------------------------------------------------- training steps
def reference_fit(batchnorm: bool, batch_size: int, dropout: float = 0.0):
    x, y = worker.problem(2 * worker.BATCH * worker.STEPS)
    m = worker.model(batchnorm, dropout)
    h = fit(m, nn.CrossEntropyLoss(), worker.optimizer(m), (x, y), epochs=1, batch_size=batch_size,
            val=worker.problem(37, seed=1), seed=3, quiet=True)
    return m, h


@pytest.mark.parametrize("scenario", ["steps-plain", "steps-bn-sync"])
def test_steps_on_2_ranks_equal_steps_of_one_process_with_the_doubled_batch(tmp_path, scenario):
    ranks = run_ok(scenario, tmp_path)
    m, h = reference_fit(scenario != "steps-plain", 2 * worker.BATCH)
    for r, got in enumerate(ranks):
        assert_same_state(got, m, 1e-6)  # parameters, and the running statistics too
        np.testing.assert_allclose(got["iter_loss"], h.iter_loss, rtol=0, atol=1e-6, err_msg=f"rank {r}")
        np.testing.assert_allclose(got["val"], [h.val_loss[0], h.val_acc[0]], rtol=0, atol=1e-6)
        np.testing.assert_allclose(got["train"], [h.train_loss[0], h.train_acc[0]], rtol=0, atol=1e-6)
    assert len(h.iter_loss) == worker.STEPS
    for k in ranks[0]:  # the ranks hold one model, bit for bit
        np.testing.assert_array_equal(ranks[0][k], ranks[1][k], err_msg=k)
    # files come from rank 0 alone
    assert (tmp_path / "ckpt0.npz").exists() and not (tmp_path / "ckpt1.npz").exists()


def test_per_rank_batchnorm_is_the_ghost_batch_step_not_the_full_batch_one(tmp_path):
    ranks = run_ok("steps-bn", tmp_path)
    x, y = worker.problem(2 * worker.BATCH * worker.STEPS)
    m = worker.model(True)
    opt, loss_fn, b = worker.optimizer(m), nn.CrossEntropyLoss(), worker.BATCH
    for xb, yb in DataLoader(x, y, 2 * b, shuffle=True, seed=3):  # fit's order for seed 3
        opt.zero_grad()
        for half in (slice(0, b), slice(b, 2 * b)):  # each half normalized with its own statistics
            (loss_fn(m(xb[half]), yb[half]) * 0.5).backward()
        opt.step()
    params = [k for k, _ in m.named_parameters()]
    full, _ = reference_fit(True, 2 * b)
    gap = max(np.abs(ranks[0][k] - full.state_dict()[k].numpy()).max() for k in params)
    assert gap > 1e-4, "per-rank statistics should differ from the full batch's (else sync would not matter)"
    for got in ranks:
        assert_same_state(got, m, 1e-6, params)


def test_one_rank_is_exactly_the_plain_fit(tmp_path):
    (got,) = run_ok("single", tmp_path, ranks=1)
    m, h = reference_fit(True, worker.BATCH, dropout=0.3)
    for k, t in m.state_dict().items():
        np.testing.assert_array_equal(got[k], t.numpy(), err_msg=k)
    np.testing.assert_array_equal(got["iter_loss"], h.iter_loss)


# ---------------------------------------------------------------- checkpoints
def test_a_checkpoint_resumes_exactly_on_the_same_number_of_ranks(tmp_path):
    ranks = run_ok("resume-sync", tmp_path)
    for r, got in enumerate(ranks):
        straight = {k[len("straight."):]: v for k, v in got.items() if k.startswith("straight.")}
        assert straight
        for k, v in straight.items():
            np.testing.assert_array_equal(got[f"resumed.{k}"], v, err_msg=f"rank {r}: {k}")
    m = worker.model(True, dropout=0.3)
    with pytest.raises(ValueError, match="written by a run on 2 ranks"):
        fit(m, nn.CrossEntropyLoss(), worker.optimizer(m), worker.problem(48), epochs=3,
            batch_size=worker.BATCH, quiet=True, resume_from=tmp_path / "resume.npz")


# ---------------------------------------------------------------- failures
def test_a_killed_rank_ends_the_job_with_an_error_in_bounded_time(tmp_path):
    proc, seconds = mpirun("kill", tmp_path)
    assert "rank 1: kill now" in proc.stdout
    assert proc.returncode != 0 and "finished all steps" not in proc.stdout
    assert seconds < 30
    print(f"killed rank: the job ended in {seconds:.1f} s with exit code {proc.returncode}")


def test_a_hung_rank_makes_the_others_stop_with_a_clear_error(tmp_path):
    proc, seconds = mpirun("hang", tmp_path, TEST_MPI_STEP_TIMEOUT="2")
    assert "rank 1: hang now" in proc.stdout
    assert proc.returncode != 0 and "finished all steps" not in proc.stdout
    assert "DistributedError: rank 0 of 2: allreduce of the gradients waited 2 s" in proc.stderr, proc.stderr
    assert seconds < 30  # 2 s of waiting, then MPI_Abort ends the sleeping rank too


def test_ranks_that_built_different_models_are_stopped_before_training(tmp_path):
    proc, _ = mpirun("mismatch", tmp_path)
    assert proc.returncode != 0
    assert "the ranks built different models" in proc.stderr, proc.stderr


# ---------------------------------------------------------------- in this process, without MPI
def test_a_plain_loader_is_refused_since_every_rank_would_get_the_same_batches():
    from tinygrad_lite.distributed import DataParallel

    dp = DataParallel(types.SimpleNamespace(rank=0, size=2, is_root=True))
    x, y = worker.problem(20)
    with pytest.raises(TypeError, match="ShardedLoader with rank=0, world_size=2"):
        dp.loaders(DataLoader(x, y, 4), None, 4, 0, "cpu", 64)


def test_arguments_are_checked_before_mpi_starts_and_missing_mpi4py_says_how_to_install(monkeypatch):
    from tinygrad_lite.distributed import Communicator, import_mpi

    with pytest.raises(ValueError, match="timeout"):
        Communicator(timeout=0)
    with pytest.raises(ValueError, match="gpu"):
        Communicator(gpu="infiniband")
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r"pip install 'tinygrad-lite\[mpi\]'.*mpiexec -n 2"):
        import_mpi()
