"""The one set of result statuses, which of them fail a command or mean "not available here", and the
exit code a set of statuses gives.

Statuses are strings in every JSON document (a StrEnum compares and serializes as its value), so the
result schemas are unchanged.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Iterable

from aibench_onnx.errors import ExitCode


class Status(StrEnum):
    OK = "ok"  # a job, a timing configuration or a native run finished
    PASSED = "passed"  # a comparison held within its tolerance
    FAILED = "failed"  # a comparison did not hold, or a step raised
    EXPORT_FAILED = "export_failed"  # the exporter raised or wrote an invalid graph
    KNOWN_FAILURE = "known_failure"  # an export failure the zoo lists, with its upstream issue
    EP_UNAVAILABLE = "ep_unavailable"  # the requested execution provider does not load here
    UNAVAILABLE = "unavailable"  # a framework (or what a job needs) is not installed
    CANNOT_RUN = "cannot_run"  # a graph runtime cannot read, compile or run the graph (nothing was compared)
    ERROR = "error"  # a worker could not produce what the comparison needs
    CRASHED = "crashed"  # a worker process died
    TIMEOUT = "timeout"  # a worker process was killed at its time limit
    LOST = "lost"  # the machine or executor running a job went away before it ended (--resume runs it again)


USER_ERROR = "user_error"  # a worker document's status: the user's input was wrong (one line, exit 2)

FAILING = frozenset({Status.FAILED, Status.EXPORT_FAILED, Status.ERROR, Status.CRASHED, Status.TIMEOUT,
                     Status.LOST})
NOT_AVAILABLE = frozenset({Status.EP_UNAVAILABLE, Status.UNAVAILABLE})
SUCCEEDED = frozenset({Status.OK, Status.PASSED, Status.KNOWN_FAILURE})


def exit_code(statuses: Iterable[str]) -> ExitCode:
    """1 when anything failed, else 4 when a runtime cannot run the graph, else 3 when something was not
    available here, else 0."""
    seen = set(statuses)
    if seen & FAILING:
        return ExitCode.CHECK_FAILED
    if Status.CANNOT_RUN in seen:
        return ExitCode.CANNOT_RUN
    if seen & NOT_AVAILABLE:
        return ExitCode.ENVIRONMENT
    return ExitCode.OK


def overall(statuses: Iterable[str]) -> Status:
    """One status for a job made of several results: failed, else unavailable, else ok."""
    return {ExitCode.CHECK_FAILED: Status.FAILED, ExitCode.ENVIRONMENT: Status.UNAVAILABLE,
            ExitCode.CANNOT_RUN: Status.CANNOT_RUN}.get(
        exit_code(statuses), Status.OK)
