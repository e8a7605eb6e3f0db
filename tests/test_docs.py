"""Every ```python block of README.md and docs/*.md runs, so the docs cannot rot.

The blocks of one file run in order in one namespace (a later block may use what an
earlier one defined), from the repository root. A block whose fence says
```python no-test is skipped: keep that for code that needs external data.
"""
from __future__ import annotations

import glob
import os
import re

import pytest

from tinygrad_lite import backend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
FENCE = re.compile(r"^```(\S*)[ \t]*(.*?)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(text):
    """(line of the opening fence, source) of each runnable python block of Markdown ``text``."""
    blocks = []
    for m in FENCE.finditer(text):
        lang, info = m.group(1).lower(), m.group(2)
        if lang in ("python", "py") and "no-test" not in info:
            blocks.append((text.count("\n", 0, m.start()) + 1, m.group(3)))
    return blocks


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def test_fence_parser():
    sample = "x\n```python\na = 1\n```\n```python no-test\nb = 2\n```\n```bash\nls\n```\n```py\nc\n```\n"
    assert python_blocks(sample) == [(2, "a = 1\n"), (11, "c\n")]


def test_the_extending_guide_has_examples():
    assert len(python_blocks(read(os.path.join(ROOT, "docs", "extending.md")))) >= 3


@pytest.mark.parametrize("path", FILES, ids=[os.path.relpath(p, ROOT) for p in FILES])
def test_markdown_python_blocks_run(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MPLBACKEND", "Agg")  # plots go nowhere
    device = backend.get_default_device()
    namespace = {"__name__": "__docs__"}
    try:
        for line, source in python_blocks(read(path)):
            # padded so that tracebacks give the Markdown file's own line numbers
            exec(compile("\n" * line + source, os.path.relpath(path, ROOT), "exec"), namespace)  # noqa: S102
    finally:
        backend.set_default_device(device)
