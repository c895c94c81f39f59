"""Capture what libraries say while they work: native stderr (file descriptor 2) and Python warnings.

ONNX Runtime logs provider load errors, and exporters log graph-break and shape warnings, straight to fd 2
from C++ or through `warnings`; a record that should explain a failure needs both.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Iterator

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Captured:
    stderr_lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def messages(self, limit: int = 30) -> list[str]:
        """Warnings first, then stderr lines, without duplicates, at most `limit`."""
        return list(dict.fromkeys(self.warnings + self.stderr_lines))[:limit]


@contextlib.contextmanager
def captured_stderr_fd() -> Iterator[list[str]]:
    """Capture what native code writes to fd 2 (Python's sys.stderr alone is not enough)."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = _ANSI_ESCAPE.sub("", sink.read().decode("utf-8", "replace"))
            lines.extend(line.rstrip() for line in text.splitlines() if line.strip())


@contextlib.contextmanager
def captured_output() -> Iterator[Captured]:
    """Python warnings (each distinct message once) and native stderr, together."""
    result = Captured()
    with warnings.catch_warnings(record=True) as caught, captured_stderr_fd() as lines:
        warnings.simplefilter("always")
        try:
            yield result
        finally:
            result.warnings = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
            result.stderr_lines = lines
