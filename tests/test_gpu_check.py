"""benchmarks/gpu_check.sh, the one command for a GPU machine, as far as a machine without a
GPU can check it: it must stop at once, saying why, and run nothing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_lite import backend

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.sh"


@pytest.mark.skipif(backend.is_available("cuda"), reason="with a GPU the script runs everything, this suite too")
def test_without_a_gpu_it_stops_at_once_and_says_why(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(["bash", str(SCRIPT), str(out)], env={**os.environ, "PYTHON": sys.executable},
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "CuPy finds no usable GPU" in proc.stderr and "nothing was run" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["cupy.log"]  # no install, no tests, no demos
    assert proc.stdout == ""


def test_it_needs_an_output_folder():
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0 and "usage: bash benchmarks/gpu_check.sh OUT_DIR" in proc.stderr
