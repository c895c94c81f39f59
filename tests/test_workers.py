"""The one worker entry point (`python -m aibench_onnx.workers NAME ...`): every name in its table resolves to the
stage function it names, and a name not in the table is a usage line, exit 2."""

from __future__ import annotations

import subprocess
import sys

from aibench_onnx.launch import run_worker


def test_every_worker_in_the_table_names_a_function_that_exists():
    """Every name the package launches is in the table, every name in the table is launched somewhere, and each
    names a function that exists."""
    import re
    from pathlib import Path

    import aibench_onnx
    from aibench_onnx.workers.__main__ import WORKERS

    launch = re.compile(r'(?:run_worker|run_worker_with_progress|LiveWorker)(?:\(|, )\s*"([a-z_]+)"')
    launched = {name for path in Path(aibench_onnx.__file__).parent.rglob("*.py")
                for name in launch.findall(path.read_text(encoding="utf-8"))}
    assert launched == set(WORKERS), (launched ^ set(WORKERS))
    # in a process of its own: resolving the targets imports stage modules, which this process need not hold
    script = ("from aibench_onnx.workers.__main__ import WORKERS\n"
              "bad = [n for n, w in WORKERS.items() if not callable(w.function())]\n"
              "print(len(WORKERS), bad)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    count, bad = result.stdout.split(" ", 1)
    assert int(count) == len(launched) and bad.strip() == "[]"


def test_an_unknown_worker_is_a_usage_line_and_exit_2():
    result = subprocess.run([sys.executable, "-m", "aibench_onnx.workers", "no_such_worker", "a", "b"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "usage: python -m aibench_onnx.workers NAME" in result.stderr
    outcome = run_worker("no_such_worker", {}, 60)
    assert outcome.status == "crashed" and "worker no_such_worker exited with 2" in outcome.reason


def test_a_worker_runs_by_name_and_its_stage_answers_with_a_document():
    outcome = run_worker("precision_variant", {"onnx_path": "/nonexistent.onnx", "precisions": ["fp16"],
                                               "calibration_files": []}, 120)
    variant = outcome.document["variants"]["fp16"]
    assert outcome.status == "ok" and variant["status"] == "failed" and "FileNotFoundError" in variant["reason"]


def test_an_exception_in_the_stage_is_a_failed_document_not_a_crash():
    outcome = run_worker("precision_variant", {"onnx_path": "x.onnx"}, 120)  # no "precisions": a KeyError
    assert outcome.status == "failed" and outcome.reason == "KeyError: 'precisions'"
    assert "Traceback" in outcome.document["traceback"]
