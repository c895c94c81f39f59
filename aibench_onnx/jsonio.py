"""Writing JSON documents to a file or to stdout, with errors a user can act on."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from aibench_onnx.errors import UserError

STDOUT = "-"


def check_writable(target: str) -> None:
    """Fail early, before any work is done, if `target` cannot be written."""
    if target == STDOUT:
        return
    path = Path(target)
    if path.is_dir():
        raise UserError(f"--json {target}: is a directory, expected a file path")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"--json {target}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"--json {target}: not writable")


def write_json(document: Any, target: str) -> None:
    """Write `document` to `target` ('-' for stdout) atomically: a failed write leaves no half file."""
    text = json.dumps(document, indent=2, sort_keys=False, default=str) + "\n"
    if target == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    check_writable(target)
    path = Path(target)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except OSError as exc:
        raise UserError(f"--json {target}: cannot write ({exc.strerror or exc})") from None
