"""The one way aibench starts a process (a worker), and what it returns.

The workers are thin `python -m aibench_onnx.workers.NAME REQUEST.json OUT.json` entry points that hand
the request to the stage that does the work. `run_worker` starts one in a fresh interpreter and returns a
WorkerOutcome: ok, failed (the worker reported a failure), crashed (it died) or timeout (killed at its limit).

Each worker runs in its own session (process group), so a timeout or Ctrl-C kills the worker *and* the
processes it started (an exporter's, ORT's), not just the direct child. The JSON goes through a file, not
stdout, because native libraries print to stdout freely.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from aibench_onnx.status import Status

_active: set[int] = set()
_lock = threading.Lock()


@dataclass
class WorkerOutcome:
    status: str  # ok | failed | crashed | timeout
    reason: str = ""
    document: dict = field(default_factory=dict)  # what the worker wrote; empty when it died

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    @property
    def died(self) -> bool:
        return self.status in (Status.CRASHED, Status.TIMEOUT)


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


def run_worker(module: str, request: dict, timeout_s: float, request_path: str | Path | None = None) -> WorkerOutcome:
    """Run worker `module` on `request` in a fresh interpreter. `request_path` keeps the request next to the
    artifacts it produces (else a temporary file). A document whose status is not "ok" is a failed
    outcome with the document's reason; the document is kept either way."""
    from aibench_onnx.jsonio import json_default

    fd, out_path = tempfile.mkstemp(prefix="aibench-worker-", suffix=".json")
    os.close(fd)
    temporary_request = request_path is None
    if temporary_request:
        fd, request_path = tempfile.mkstemp(prefix="aibench-request-", suffix=".json")
        os.close(fd)
    try:
        Path(request_path).write_text(json.dumps(request, default=json_default))
        process = subprocess.Popen(
            [sys.executable, "-m", module, str(request_path), out_path],
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
            return WorkerOutcome(Status.TIMEOUT, f"{module} did not finish within {timeout_s:.0f} s")
        finally:
            with _lock:
                _active.discard(process.pid)
        text = Path(out_path).read_text(encoding="utf-8")
        if process.returncode != 0 or not text:
            tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            return WorkerOutcome(Status.CRASHED, f"{module} exited with {process.returncode}: {tail[0]}")
        document = json.loads(text)
    except (OSError, ValueError) as exc:
        return WorkerOutcome(Status.CRASHED, f"{module}: {exc}")
    finally:
        for path in [out_path] + ([request_path] if temporary_request else []):
            try:
                os.unlink(path)
            except OSError:
                pass
    status = document.get("status", Status.OK) if isinstance(document, dict) else Status.OK
    if status == Status.OK:
        return WorkerOutcome(Status.OK, "", document)
    return WorkerOutcome(Status.FAILED, document.get("reason", f"{module} reported {status}"), document)


def record_progress(request: dict, document: dict) -> None:
    """In a worker doing several items: append one finished item's document to the request's progress file
    (run_worker_with_progress reads it back, also after a crash)."""
    if request.get("progress_path"):
        from aibench_onnx.jsonio import json_default

        with open(request["progress_path"], "a", encoding="utf-8") as handle:
            handle.write(json.dumps(document, default=json_default) + "\n")


def run_worker_with_progress(module: str, request: dict, timeout_s: float) -> tuple[WorkerOutcome, list[dict]]:
    """For a worker that does several items and appends each finished item's document, one JSON line each,
    to request["progress_path"] (which this sets): the outcome, and the documents of the items it finished —
    also when it died, so a crash or a timeout loses only the item that was running."""
    with tempfile.TemporaryDirectory(prefix="aibench-progress-") as tmp:
        progress = Path(tmp) / "done.jsonl"
        outcome = run_worker(module, {**request, "progress_path": str(progress)}, timeout_s)
        finished = []
        for line in progress.read_text().splitlines() if progress.exists() else []:
            try:
                finished.append(json.loads(line))
            except ValueError:  # cut short by the crash
                break
    return outcome, finished


def worker_main(argv: list[str], module: str, run: Callable[[dict], dict],
                failure_status: Callable[[Exception], str] = lambda exc: Status.FAILED,
                traceback_limit: int = 6) -> int:
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


def apply_test_hook(job_id: str) -> None:
    """AIBENCH_TEST_JOB_HOOK="crash:SUBSTRING" or "hang:SUBSTRING" makes the job whose id contains SUBSTRING
    abort or hang in its worker, so tests can prove that crashes and timeouts are recorded."""
    hook = os.environ.get("AIBENCH_TEST_JOB_HOOK", "")
    action, _, pattern = hook.partition(":")
    if not pattern or pattern not in job_id:
        return
    if action == "crash":
        os.abort()  # SIGABRT, as a native crash would
    if action == "hang":
        while True:
            time.sleep(60)
