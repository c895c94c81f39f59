"""Benchmarks of the measurement method itself (not tests: numbers for the record, on a quiet machine).

fidelity:       ORT CPU on `cnn` (small, batch 1): aibench's median vs a bare time.perf_counter loop around
                session.run in the same process, alternated, 5 rounds; prints each ratio.
repeatability:  the same ORT configuration measured in 5 separate processes by `aibench bench`'s worker;
                prints the medians and their spread.

    python benchmarks/fidelity.py [--model cnn] [--size small] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def export_graph(model: str, size: str, workdir: Path) -> str:
    from aibench_onnx.artifacts.native import export_only
    from aibench_onnx.zoo.registry import get_spec

    record = export_only(get_spec(model), size, "torch", threads=2, out_dir=workdir, opset=18)
    assert record["status"] == "ok", record["reason"]
    return record["path"]


def fidelity(onnx_path: str, feed: dict, rounds: int, threads: int) -> list[float]:
    from aibench_onnx.measuring.loop import TimingConfig, measure
    from aibench_onnx.ort.session import create_session

    session, _ = create_session(onnx_path, "cpu", "all", threads)
    ratios = []
    for _ in range(rounds):
        ours = measure(lambda: session.run(None, feed), config=TimingConfig(min_time_s=2.0, max_time_s=10.0)).median
        bare = []
        deadline = time.perf_counter() + 2.0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            session.run(None, feed)
            bare.append(time.perf_counter() - t0)
        bare_median = statistics.median(bare[len(bare) // 10:])  # drop the first tenth as warm-up
        ratios.append(ours / bare_median)
        print(f"aibench median {ours * 1e3:.4f} ms   bare loop median {bare_median * 1e3:.4f} ms   "
              f"ratio {ours / bare_median:.4f}")
    return ratios


def repeatability(model: str, size: str, rounds: int, threads: int, workdir: Path) -> list[float]:
    from aibench_onnx.runs.bench import bench_model
    from aibench_onnx.timing.configs import plan
    from aibench_onnx.zoo.registry import get_spec

    medians = []
    configs = plan(["torch"], ["ort"], ["cpu"], ["all"], [True])
    for index in range(rounds):
        result = bench_model(get_spec(model), size, configs, [1], threads, {"min_time_s": 2.0, "max_time_s": 10.0},
                             workdir / f"round{index}", "cpu", 600, 18)
        summary = result.results[0].replicates[0]["batches"]["1"]["measurement"]["summary"]
        medians.append(summary["median_s"])
        print(f"process {index + 1}: median {summary['median_s'] * 1e3:.4f} ms  n={summary['n']}  flags={summary['flags']}")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--size", default="small")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from aibench_onnx.zoo.registry import get_spec

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = export_graph(args.model, args.size, workdir / "export")
        feed = get_spec(args.model).make_inputs(args.size, 1, seed=0)
        print(f"== fidelity: {args.model} ({args.size}), ORT CPU level all, batch 1, {args.threads} threads")
        ratios = fidelity(path, feed, args.rounds, args.threads)
        print(f"ratio aibench/bare: mean {np.mean(ratios):.4f}, min {min(ratios):.4f}, max {max(ratios):.4f}")
        print(f"== repeatability: {args.rounds} separate processes")
        medians = repeatability(args.model, args.size, args.rounds, args.threads, workdir)
        spread = (max(medians) - min(medians)) / statistics.median(medians)
        print(f"medians (ms): {', '.join(f'{m * 1e3:.4f}' for m in medians)}; spread (max-min)/median = {100 * spread:.2f}%")


if __name__ == "__main__":
    main()
