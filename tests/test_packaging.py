"""What ``pip install`` puts on a user's machine: one top-level package, nothing else.

The wheel is built from a copy of this checkout's sources (no network: the test
environment's setuptools, ``--no-build-isolation``; a copy, so that no build folder is left
in the checkout) and its file list read; then it is installed into a folder of
its own and imported by a fresh interpreter started outside the repository.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import tinygrad_lite

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "tinygrad_lite", "nn", "optim")


def _run(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    proc = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                 "-w", str(out), str(src)], cwd=out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = out.glob("tinygrad_lite-*.whl")
    return path


def test_the_wheel_holds_one_top_level_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"tinygrad_lite"}
    for required in ("tinygrad_lite/nn/__init__.py", "tinygrad_lite/nn/linear.py",
                     "tinygrad_lite/optim/__init__.py", "tinygrad_lite/optim/sgd.py",
                     "tinygrad_lite/datasets/digits.csv.gz", "tinygrad_lite/py.typed"):
        assert required in names, f"{required} is missing from {wheel.name}"
    licenses = [n for n in names if ".dist-info/" in n and n.rsplit("/", 1)[-1] == "LICENSE"]
    assert licenses, f"no LICENSE in {wheel.name}"
    assert "MIT License" in zipfile.ZipFile(wheel).read(licenses[0]).decode()


def test_the_wheel_declares_the_version_of_the_package(wheel):
    assert wheel.name.startswith(f"tinygrad_lite-{tinygrad_lite.__version__}-")
    meta = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert f"Version: {tinygrad_lite.__version__}\n" in text
    assert "License :: OSI Approved :: MIT License" in text


IMPORTS = """
import tinygrad_lite as tl
import tinygrad_lite.nn, tinygrad_lite.optim
from tinygrad_lite import nn, optim
assert tl.nn is nn and nn.__name__ == "tinygrad_lite.nn" and optim.__name__ == "tinygrad_lite.optim"
model = nn.Sequential(nn.Linear(3, 2))
optim.SGD(model.parameters(), lr=0.1)
from tinygrad_lite.data import DataLoader  # built on tinygrad_lite.utils.data's samplers
from tinygrad_lite.utils.data import TensorDataset
print(tl.__file__)
for name in ("nn", "optim"):
    try:
        __import__(name)
    except ModuleNotFoundError:
        continue
    raise SystemExit(f"import {name} worked: a top-level {name!r} package is installed")
"""


def test_the_installed_wheel_imports_outside_the_repository(wheel, tmp_path):
    target = tmp_path / "site"
    proc = _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                 "--target", str(target), str(wheel)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = _run([sys.executable, "-c", IMPORTS], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(target), proc.stdout  # the wheel's copy, not the checkout


def test_the_development_install_imports_outside_the_repository(tmp_path):
    """The README's editable install: the same names, and no top-level nn or optim."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = _run([sys.executable, "-c", IMPORTS], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_subpackage_is_in_the_wheel(wheel):
    # pyproject.toml lists the packages by name: a new subpackage left out of it would be
    # missing from every installed copy while the editable checkout still imports it
    names = set(zipfile.ZipFile(wheel).namelist())
    for init in sorted((ROOT / "tinygrad_lite").rglob("__init__.py")):
        name = "tinygrad_lite/" + init.relative_to(ROOT / "tinygrad_lite").as_posix()
        assert name in names, f"{name} is missing from {wheel.name}: list its package in pyproject.toml"
