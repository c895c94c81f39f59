"""How a status looks in every terminal table: one colour and one label per status."""

from __future__ import annotations

from aibench_onnx.status import FAILING, Status

COLOURS = {Status.OK: "green", Status.PASSED: "green", Status.KNOWN_FAILURE: "yellow",
           Status.UNAVAILABLE: "yellow", Status.EP_UNAVAILABLE: "magenta",
           Status.CANNOT_RUN: "magenta"}
LABELS = {Status.PASSED: "pass", Status.FAILED: "FAIL", Status.EXPORT_FAILED: "EXPORT FAILED",
          Status.KNOWN_FAILURE: "known export failure", Status.EP_UNAVAILABLE: "EP unavailable",
          Status.UNAVAILABLE: "framework not installed", Status.ERROR: "ERROR",
          Status.CANNOT_RUN: "cannot run"}


def status_colour(status: str) -> str:
    """green: fine; yellow/magenta: not available or known; red: anything that fails."""
    return COLOURS.get(status, "red")


def status_markup(status: str) -> str:
    """The status as rich markup: its label in its colour, bold when it fails a command."""
    style = ("bold " if status in FAILING else "") + status_colour(status)
    return f"[{style}]{LABELS.get(status, status)}[/{style}]"
