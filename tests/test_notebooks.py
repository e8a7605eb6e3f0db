"""The notebooks in demos/notebooks run from top to bottom in a Jupyter kernel (nbclient and
ipykernel), each well under a minute, and are stored without outputs.

Each runs in a fresh kernel of this interpreter (a kernel spec written for the test, so that
no other installed "python3" kernel is picked up) with a temporary folder as its working
directory; the assertions inside the notebooks check their claims.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each notebook runs in a kernel: `pytest -m "not slow"` leaves them out

nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' (nbformat, nbclient, ipykernel)")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

FOLDER = Path(__file__).resolve().parent.parent / "demos" / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
KERNEL = "tinygrad-lite-test"
TIME_LIMIT_S = 60.0
HAVE_DOT = shutil.which("dot") is not None


def test_the_notebooks_are_there_and_stored_without_outputs():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        for cell in book.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs stored"
        assert "widgets" not in book.metadata, f"{path.name}: widget state stored"


@pytest.fixture(scope="module")
def kernel_spec(tmp_path_factory):
    """A kernel spec for this interpreter, first on JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tinygrad_lite tests", "language": "python"}))
    return root


def run_notebook(path: Path, cwd: Path, kernel_spec: Path, monkeypatch) -> tuple:
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_spec))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    book = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(book, timeout=TIME_LIMIT_S, kernel_name=KERNEL,
                            resources={"metadata": {"path": str(cwd)}}).execute()
    return book, time.perf_counter() - start


def outputs(book) -> list:
    return [out for cell in book.cells if cell.cell_type == "code" for out in cell.outputs]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs(path, tmp_path, kernel_spec, monkeypatch):
    book, seconds = run_notebook(path, tmp_path, kernel_spec, monkeypatch)
    print(f"{path.name}: {seconds:.1f}s")
    assert seconds < TIME_LIMIT_S, f"{path.name} took {seconds:.1f}s"
    outs = outputs(book)
    assert not [o for o in outs if o.output_type == "error"]
    streams = "".join(o.get("text", "") for o in outs if o.output_type == "stream")
    assert "\r" not in streams, "a progress bar wrote carriage-return frames into the notebook"
    kinds = {mime for o in outs for mime in o.get("data", {})}
    if path.stem.startswith(("01", "04")):  # the graph shows inline: SVG with dot, its DOT text without
        assert "image/svg+xml" in kinds if HAVE_DOT or os.environ.get("CI") else "digraph" in str(outs)
    if path.stem.startswith(("02", "03", "04")):
        assert "image/png" in kinds
    if path.stem.startswith("02"):  # fit's bar is tqdm.auto's notebook widget
        assert "application/vnd.jupyter.widget-view+json" in kinds
