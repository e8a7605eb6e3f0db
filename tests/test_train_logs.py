"""What training prints: bars only where they display as bars (a terminal, a notebook), one line per
epoch everywhere, ``--quiet`` dropping only the bars; demos/scaffold.py refuses to run as a demo."""
from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.train import fit

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


def tiny_fit(**kwargs):
    tl.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 4)).astype(np.float32), rng.integers(0, 2, 64)
    model = nn.Sequential(nn.Linear(4, 2))
    return fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=2,
               batch_size=16, seed=0, **kwargs)


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
    script = "import sys; sys.path.insert(0, 'tests'); from test_train_logs import tiny_fit; tiny_fit()"
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
