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


def known_fields(cls: type, data: dict) -> dict:
    """The entries of a JSON document that are fields of dataclass `cls`: what a newer version added (or an older
    one wrote and this one dropped) is left out, so `cls(**known_fields(cls, data))` reads either."""
    return {key: value for key, value in data.items() if key in cls.__dataclass_fields__}


def json_default(value: Any) -> Any:
    """numpy scalars (np.bool_, np.float32 in provider info) become plain JSON values; anything else text."""
    return value.item() if hasattr(value, "item") else str(value)


def check_writable_dir(target: str, option: str) -> None:
    """Fail early, before any work is done, if the folder `target` (`option`'s value) cannot be made or written:
    it exists as something else, or what it would be made in is not writable."""
    path = Path(target)
    if path.exists() and not path.is_dir():
        raise UserError(f"{option} {target}: exists and is not a directory")
    existing = next(p for p in [path, *path.parents] if p.exists())
    if not existing.is_dir():
        raise UserError(f"{option} {target}: {existing} is not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".aibench.", suffix=".probe"):
            pass
    except OSError as exc:
        raise UserError(f"{option} {target}: cannot write in {existing} ({exc.strerror or exc})") from None


def check_writable(target: str) -> None:
    """Fail early, before any work is done, if `target` cannot be written."""
    if target == STDOUT:
        return
    path = Path(target)
    if path.is_dir():
        raise UserError(f"{target}: is a directory, expected a file path")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{target}: directory {parent} does not exist")
    # Try for real: os.access says yes to root even on read-only file systems such as /proc.
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{path.name}.", suffix=".probe"):
            pass
        if path.exists():
            with path.open("a"):
                pass
    except OSError as exc:
        raise UserError(f"{target}: not writable ({exc.strerror or exc})") from None


def write_json(document: Any, target: str) -> None:
    """Write `document` to `target` ('-' for stdout) atomically: a failed write leaves no half file."""
    text = json.dumps(document, indent=2, sort_keys=False, default=json_default) + "\n"
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
