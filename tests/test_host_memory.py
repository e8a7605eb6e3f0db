"""Freed host memory is kept for reuse after ``import tinygrad_lite`` (glibc): a step that makes
and frees 40 arrays of 1 MB faults no page in again; with TINYGRAD_LITE_MALLOC=system malloc's
defaults hand the memory back and each step faults its 40 x 256 pages in again."""
import os
import subprocess
import sys

import pytest

from tinygrad_lite import host_memory

PROGRAM = """
import resource
import numpy as np
import tinygrad_lite
def step():
    arrays = [np.ones(1 << 17) for _ in range(40)]  # 40 arrays of 1 MB, freed together
    del arrays
step(); step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""
GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None


def faults_per_step(setting: str) -> float:
    env = dict(os.environ, TINYGRAD_LITE_MALLOC=setting)
    out = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout)


@pytest.mark.skipif(not GLIBC, reason="malloc's settings are glibc's")
def test_freed_memory_is_reused_unless_the_system_default_is_asked_for():
    assert faults_per_step("keep") < 100  # 10,240 pages are made and freed per step
    assert faults_per_step("system") > 5000


def test_an_unknown_setting_is_refused(monkeypatch):
    monkeypatch.setenv("TINYGRAD_LITE_MALLOC", "fast")
    with pytest.raises(ValueError, match="TINYGRAD_LITE_MALLOC='fast'"):
        host_memory.apply_setting()
    monkeypatch.setenv("TINYGRAD_LITE_MALLOC", "system")
    assert host_memory.apply_setting() is False  # "system": nothing is set
