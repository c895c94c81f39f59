"""Run one of our probe modules in a fresh interpreter and read back the JSON it writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile


def run_json_module(module: str, args: list[str], timeout_s: float) -> dict:
    """`python -m module *args OUT.json`; returns the document, or {"probe_failed": reason}.

    The JSON goes through a file, not stdout, because native libraries print to stdout freely.
    """
    fd, out_path = tempfile.mkstemp(prefix="aibench-probe-", suffix=".json")
    os.close(fd)
    try:
        completed = subprocess.run(
            [sys.executable, "-m", module, *args, out_path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout_s,
            check=False,
        )
        with open(out_path, encoding="utf-8") as handle:
            text = handle.read()
        if completed.returncode != 0 or not text:
            tail = completed.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            return {"probe_failed": f"{module} exited with {completed.returncode}: {tail[0]}"}
        return json.loads(text)
    except subprocess.TimeoutExpired:
        return {"probe_failed": f"{module} did not finish within {timeout_s:.0f} s"}
    except (OSError, ValueError) as exc:
        return {"probe_failed": f"{module}: {exc}"}
    finally:
        try:
            os.unlink(out_path)
        except OSError:
            pass
