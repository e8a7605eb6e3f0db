"""Every ```python block of README.md and docs/*.md runs, so the docs cannot rot.

Each README block runs on its own in a fresh interpreter, as a newcomer copies it: it must
import what it uses, and no name leaks from one block into the next. A guide in docs/ builds
up from block to block (its later blocks use what the first defined): its blocks run in order
in one namespace, in one fresh interpreter per file. Everything runs from the repository root
with matplotlib's Agg backend; tracebacks give the Markdown file's own line numbers. A block
whose fence says ```python no-test is skipped: keep that for code that needs external data.
"""
from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
GUIDES = sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
FENCE = re.compile(r"^```(\S*)[ \t]*(.*?)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
# run in the child: the blocks (JSON on stdin) in order, in one namespace of a fresh __main__,
# each padded so that its lines are the Markdown file's
RUNNER = """
import json, sys
path, blocks = sys.argv[1], json.load(sys.stdin)
namespace = {"__name__": "__main__"}
for line, source in blocks:
    exec(compile("\\n" * line + source, path, "exec"), namespace)
"""


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


def run_blocks(path, blocks) -> subprocess.CompletedProcess:
    """``blocks`` ((line, source) pairs) of the Markdown file ``path``, run in order in one fresh
    interpreter from the repository root, plots going nowhere."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-c", RUNNER, os.path.relpath(path, ROOT)], input=json.dumps(blocks),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


README_BLOCKS = python_blocks(read(README))


@pytest.mark.parametrize(("line", "source"), README_BLOCKS, ids=[f"README.md:{line}" for line, _ in README_BLOCKS])
def test_each_readme_block_runs_alone(line, source):
    proc = run_blocks(README, [(line, source)])
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", GUIDES, ids=[os.path.relpath(p, ROOT) for p in GUIDES])
def test_each_guide_runs_in_order(path):
    proc = run_blocks(path, python_blocks(read(path)))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_block_run_alone_sees_no_name_of_another():
    """What "on its own" means: a block that uses a name only an earlier block defined works in
    a guide's order and fails alone, with the Markdown file's line in the traceback."""
    first, second = (1, "import tinygrad_lite as tl\n"), (3, "x = tl.zeros(2)\n")
    assert run_blocks(README, [first, second]).returncode == 0
    proc = run_blocks(README, [second])
    assert proc.returncode != 0 and "NameError: name 'tl' is not defined" in proc.stderr
    assert 'File "README.md", line 4' in proc.stderr
