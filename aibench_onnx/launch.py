"""The one way aibench starts a process (a worker), and what it returns.

A worker is a name in the table of `python -m aibench_onnx.workers NAME REQUEST.json OUT.json`, which hands
the request to the stage that does the work. `run_worker` starts one in a fresh interpreter and returns a
WorkerOutcome: ok, failed (the worker reported a failure), crashed (it died) or timeout (killed at its limit).

Each worker runs in its own session (process group), so a timeout or Ctrl-C kills the worker *and* the
processes it started (an exporter's, ORT's), not just the direct child. The JSON goes through a file, not
stdout, because native libraries print to stdout freely.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Union

from aibench_onnx.status import Status

WORKER_COMMAND = (sys.executable, "-m", "aibench_onnx.workers")  # then the worker's name (workers/__main__.py)
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


def load_function(reference: str) -> Callable:
    """The function `reference` names as "module:function" (a worker's stage, a graph runtime's hook), imported
    where it is called: naming it by text keeps the caller's process free of the module until then."""
    import importlib

    module, _, function = reference.partition(":")
    return getattr(importlib.import_module(module), function)


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGKILL us when the parent dies, so killing `aibench`
    (even with SIGKILL) leaves no orphaned worker writing into the run directory."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: workers still end with their own timeout


class TypedRequest(Protocol):
    """A worker request as a typed record: written as its `to_dict()`, parsed by the worker's `from_dict`."""

    def to_dict(self) -> dict: ...


WorkerRequest = Union[TypedRequest, dict]  # a dict: the few requests of one or two plain fields


def as_json(request: WorkerRequest) -> dict:
    return request if isinstance(request, dict) else request.to_dict()


def run_worker(worker: str, request: WorkerRequest, timeout_s: float,
               request_path: str | Path | None = None) -> WorkerOutcome:
    """Run worker `worker` (a name in workers/__main__.WORKERS) on `request` in a fresh interpreter.
    `request_path` keeps the request next to the
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
        Path(request_path).write_text(json.dumps(as_json(request), default=json_default))
        process = subprocess.Popen(
            [*WORKER_COMMAND, worker, str(request_path), out_path],
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
            return WorkerOutcome(Status.TIMEOUT, f"worker {worker} did not finish within {timeout_s:.0f} s")
        finally:
            with _lock:
                _active.discard(process.pid)
        text = Path(out_path).read_text(encoding="utf-8")
        if process.returncode != 0 or not text:
            tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            return WorkerOutcome(Status.CRASHED, f"worker {worker} exited with {process.returncode}: {tail[0]}")
        document = json.loads(text)
    except (OSError, ValueError) as exc:
        return WorkerOutcome(Status.CRASHED, f"worker {worker}: {exc}")
    finally:
        for path in [out_path] + ([request_path] if temporary_request else []):
            try:
                os.unlink(path)
            except OSError:
                pass
    status = document.get("status", Status.OK) if isinstance(document, dict) else Status.OK
    if status == Status.OK:
        return WorkerOutcome(Status.OK, "", document)
    return WorkerOutcome(Status.FAILED, document.get("reason", f"worker {worker} reported {status}"), document)


def record_progress(progress_path: str | None, document: dict) -> None:
    """In a worker doing several items: append one finished item's document to the request's progress file
    (run_worker_with_progress reads it back, also after a crash)."""
    if progress_path:
        from aibench_onnx.jsonio import json_default

        with open(progress_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(document, default=json_default) + "\n")


def run_worker_with_progress(worker: str, request: WorkerRequest, timeout_s: float) -> tuple[WorkerOutcome, list[dict]]:
    """For a worker that does several items and appends each finished item's document, one JSON line each,
    to request["progress_path"] (which this sets): the outcome, and the documents of the items it finished —
    also when it died, so a crash or a timeout loses only the item that was running."""
    with tempfile.TemporaryDirectory(prefix="aibench-progress-") as tmp:
        progress = Path(tmp) / "done.jsonl"
        outcome = run_worker(worker, {**as_json(request), "progress_path": str(progress)}, timeout_s)
        finished = []
        for line in progress.read_text().splitlines() if progress.exists() else []:
            try:
                finished.append(json.loads(line))
            except ValueError:  # cut short by the crash
                break
    return outcome, finished


def worker_main(argv: list[str], worker: str, run: Callable[[dict], dict],
                failure_status: Callable[[Exception], str] = lambda exc: Status.FAILED,
                traceback_limit: int = 6) -> int:
    """Entry point of a one-shot worker: `python -m aibench_onnx.workers NAME REQUEST.json OUT.json`. The request is
    handed to `run`; an exception becomes a document with a status, a one-line reason and the traceback,
    never a crash of the worker (the parent records what the document says)."""
    from aibench_onnx.jsonio import json_default

    if len(argv) != 3:
        print(f"usage: python -m aibench_onnx.workers {worker} REQUEST.json OUT.json", file=sys.stderr)
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
    """AIBENCH_TEST_JOB_HOOK="crash:SUBSTRING" or "hang:SUBSTRING" (several, comma-separated) makes the job whose
    id contains SUBSTRING abort or hang in its worker, so tests can prove that crashes and timeouts are recorded."""
    for hook in os.environ.get("AIBENCH_TEST_JOB_HOOK", "").split(","):
        action, _, pattern = hook.partition(":")
        if not pattern or pattern not in job_id:
            continue
        if action == "crash":
            os.abort()  # SIGABRT, as a native crash would
        if action == "hang":
            while True:
                time.sleep(60)


class LiveWorker:
    """A worker that stays alive between commands:
    `python -m aibench_onnx.workers NAME REQUEST.json COMMAND_FD REPLY_FD`, one JSON
    line each way over pipes of its own (not stdout: native libraries print there). Waiting for a command, the
    worker blocks on a read — it sleeps, it does not spin — so a live worker leaves the CPUs to the one that
    measures. Started in its own session like every worker; `call` answers None when it died or did not answer
    in time (then `status` and `reason` say which, and the worker is gone)."""

    def __init__(self, worker: str, request: WorkerRequest) -> None:
        from aibench_onnx.jsonio import json_default

        self.worker, self.status, self.reason = worker, Status.OK, ""
        fd, self._request_path = tempfile.mkstemp(prefix="aibench-request-", suffix=".json")
        os.close(fd)
        Path(self._request_path).write_text(json.dumps(as_json(request), default=json_default))
        self._stderr = tempfile.TemporaryFile()
        command_read, self._command_write = os.pipe()
        self._reply_read, reply_write = os.pipe()
        self.process = subprocess.Popen(
            [*WORKER_COMMAND, worker, self._request_path, str(command_read), str(reply_write)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True,
            pass_fds=(command_read, reply_write),
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        os.close(command_read)
        os.close(reply_write)
        self._buffer = b""
        with _lock:
            _active.add(self.process.pid)

    @property
    def alive(self) -> bool:
        return self.status == Status.OK

    def call(self, command: dict, timeout_s: float) -> dict | None:
        """Send one command; its reply (None: the worker died or did not answer within `timeout_s`)."""
        if not self.alive:
            return None
        try:
            os.write(self._command_write, (json.dumps(command) + "\n").encode())
        except OSError:
            return self._died()
        return self.read(timeout_s, command.get("do", ""))

    def read(self, timeout_s: float, waiting_for: str = "start-up") -> dict | None:
        """The worker's next line (its first one says it is ready)."""
        if not self.alive:
            return None
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._reply_read], [], [], left)[0]:
                self.stop(Status.TIMEOUT,
                          f"worker {self.worker} did not answer '{waiting_for}' within {timeout_s:.0f} s")
                return None
            chunk = os.read(self._reply_read, 1 << 20)
            if not chunk:
                return self._died()
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _died(self) -> None:
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        self._stderr.seek(0)
        tail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        self.stop(Status.CRASHED, f"worker {self.worker} exited with {code}: {tail[0]}")
        return None

    def stop(self, status: str = Status.OK, reason: str = "") -> None:
        """End the worker (politely when it is alive and nothing went wrong) and free its pipes and files."""
        if self.alive and status == Status.OK:
            try:
                os.write(self._command_write, b'{"do": "exit"}\n')
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
        with _lock:
            _active.discard(self.process.pid)
        if self.alive:
            self.status, self.reason = status, reason
        for fd in (self._command_write, self._reply_read):
            try:
                os.close(fd)
            except OSError:
                pass
        self._stderr.close()
        try:
            os.unlink(self._request_path)
        except OSError:
            pass


def live_worker_main(argv: list[str], worker: str, serve: Callable[[dict, Callable[[], dict | None],
                                                                         Callable[[dict], None]], None]) -> int:
    """Entry point of a live worker (LiveWorker): `serve(request, receive, reply)` answers commands until
    `receive()` gives None (the parent said exit or went away). An exception ends the worker with its reason
    on stderr (the parent reports the last line)."""
    from aibench_onnx.jsonio import json_default

    if len(argv) != 4:
        print(f"usage: python -m aibench_onnx.workers {worker} REQUEST.json COMMAND_FD REPLY_FD", file=sys.stderr)
        return 2
    request = json.loads(Path(argv[1]).read_text())
    # a live worker's request is always LiveWorker's temporary file: gone once read, so a parent killed before
    # its stop() (a SIGKILLed run, a Ray worker lost) leaves none behind in the temporary folder
    Path(argv[1]).unlink(missing_ok=True)
    commands = os.fdopen(int(argv[2]), "r", encoding="utf-8")
    replies = os.fdopen(int(argv[3]), "w", encoding="utf-8")

    def receive() -> dict | None:
        line = commands.readline()
        command = json.loads(line) if line.strip() else None
        return None if command is None or command.get("do") == "exit" else command

    def reply(document: dict) -> None:
        replies.write(json.dumps(document, default=json_default) + "\n")
        replies.flush()

    try:
        serve(request, receive, reply)
    except Exception as exc:  # noqa: BLE001 - the parent reads the reason from stderr's last line
        traceback.print_exc(limit=6)
        print(f"{type(exc).__name__}: {exc}".splitlines()[0][:500], file=sys.stderr)
        return 1
    return 0
