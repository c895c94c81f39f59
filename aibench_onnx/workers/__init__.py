"""Run one of our worker modules in a fresh interpreter and read back the JSON it writes.

Each worker runs in its own session (process group), so a timeout or Ctrl-C kills the worker *and* the
processes it started (an exporter's, ORT's), not just the direct child.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Callable

_active: set[int] = set()
_lock = threading.Lock()


def kill_active_workers() -> None:
    """Kill every worker process group still running (used on Ctrl-C)."""
    with _lock:
        groups = list(_active)
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGKILL us when the parent dies, so killing `aibench`
    (even with SIGKILL) leaves no orphaned worker writing into the run directory."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: workers still end with their own timeout


def run_json_module(module: str, args: list[str], timeout_s: float) -> dict:
    """`python -m module *args OUT.json`; returns the document, or {"probe_failed": reason}.

    The JSON goes through a file, not stdout, because native libraries print to stdout freely.
    """
    fd, out_path = tempfile.mkstemp(prefix="aibench-probe-", suffix=".json")
    os.close(fd)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args, out_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        with _lock:
            _active.add(process.pid)
        try:
            _, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return {"probe_failed": f"{module} did not finish within {timeout_s:.0f} s", "timeout": True}
        finally:
            with _lock:
                _active.discard(process.pid)
        with open(out_path, encoding="utf-8") as handle:
            text = handle.read()
        if process.returncode != 0 or not text:
            tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            return {"probe_failed": f"{module} exited with {process.returncode}: {tail[0]}"}
        return json.loads(text)
    except (OSError, ValueError) as exc:
        return {"probe_failed": f"{module}: {exc}"}
    finally:
        try:
            os.unlink(out_path)
        except OSError:
            pass


def worker_main(argv: list[str], module: str, run: Callable[[dict], dict],
                failure_status: Callable[[Exception], str] = lambda exc: "failed", traceback_limit: int = 6) -> int:
    """Entry point shared by the worker modules: `python -m MODULE REQUEST.json OUT.json`. The request is
    handed to `run`; an exception becomes a document with a status, a one-line reason and the traceback,
    never a crash of the worker (the parent records what the document says)."""
    from aibench_onnx.jsonio import json_default

    if len(argv) != 3:
        print(f"usage: python -m {module} REQUEST.json OUT.json", file=sys.stderr)
        return 2
    request = json.loads(Path(argv[1]).read_text())
    try:
        document = run(request)
    except Exception as exc:  # noqa: BLE001 - the failure is the result
        document = {"status": failure_status(exc), "reason": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                    "traceback": traceback.format_exc(limit=traceback_limit)}
    Path(argv[2]).write_text(json.dumps(document, default=json_default))
    return 0
