"""An exception in a background thread fails the run (pyproject.toml turns pytest's warning into an error).

Each case runs pytest in a subprocess with this project's own configuration on a tiny test file, so
what is proven is the suite's real setting, not a copy of it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TINY_TEST = """
import threading

def test_starts_a_thread():
    def work():
        if {raises}:
            raise RuntimeError("boom in a background thread")
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
"""


def run_pytest_on(tmp_path: Path, *, raises: bool) -> subprocess.CompletedProcess[str]:
    """Run pytest with the project's pyproject.toml on a file whose thread raises or not."""
    test_file = tmp_path / "test_tiny.py"
    test_file.write_text(TINY_TEST.format(raises=raises))
    config = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "-p", "no:cacheprovider"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *config, "-q", str(test_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("raises", [True, False], ids=["thread-raises", "thread-is-fine"])
def test_an_exception_in_a_thread_fails_the_run(tmp_path: Path, raises: bool) -> None:
    result = run_pytest_on(tmp_path, raises=raises)
    output = result.stdout + result.stderr
    if raises:
        assert result.returncode != 0, output
        assert "boom in a background thread" in output and "1 failed" in output, output
    else:  # the control: the same file without the exception passes, so the failure is the thread's
        assert result.returncode == 0, output
