"""Shared fixtures: every device-generic test runs on each device."""
import os

# The tests multiply small matrices, for which BLAS threads only add contention (on a busy
# 2-core machine they spin and make some tests 10-100x slower). Must precede numpy's import.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
from helpers import DEVICES


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def pytest_terminal_summary(terminalreporter):
    """One line that counts the skipped tests by reason, in place of a line per skipped test
    (most are the "cuda" cases on a machine without a GPU)."""
    counts: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        counts[reason] = counts.get(reason, 0) + 1
    if counts:
        parts = (f"{n} {reason}" for reason, n in sorted(counts.items(), key=lambda item: -item[1]))
        terminalreporter.write_line("skipped by reason: " + "; ".join(parts))
