"""Shared helpers for tests: run the real `aibench` entry point of this interpreter's environment; a callable
of known cost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def aibench_executable() -> str:
    """The console script installed next to this interpreter (what a user's shell would run)."""
    script = Path(sys.executable).parent / ("aibench.exe" if os.name == "nt" else "aibench")
    assert script.exists(), f"entry point not installed at {script}: pip install -e ."
    return str(script)


def run_aibench(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [aibench_executable(), *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def spin(seconds: float):
    """A callable that busy-waits for `seconds`: a known cost that sleep() granularity would blur."""
    def run():
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
    return run
