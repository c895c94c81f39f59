"""What the Ray executor costs, and when each node ran what: the same `aibench run` plan on the local executor,
on Ray with one target (a one-node cluster: the per-job overhead of Ray itself), and on Ray with two
logical nodes of this machine as two targets (every job twice), with a per-node timeline from the records.

    python benchmarks/ray_overhead.py --out DIR [--models mlp,cnn] [-- extra run options]

Writes DIR/table.md (wall times, jobs, overhead per job) and DIR/timeline.md + timeline.svg (per node: which
job ran from when to when). Needs the `ray` extra.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

PLAN = ["run", "--quick"]


def aibench_run(out: Path, *extra: str) -> tuple[float, Path]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "aibench_onnx.cli", *PLAN, *extra, "-o", str(out)],
                            capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"aibench run failed ({result.returncode}): {result.stderr[-2000:]}")
    (run_dir,) = out.iterdir()
    return wall, run_dir


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]


def timeline(run_dir: Path, out: Path) -> None:
    found = records(run_dir)
    origin = min(r["started"] for r in found)
    lines = ["| node (target) | job | kind | start s | end s |", "|---|---|---|---|---|"]
    rows = sorted(found, key=lambda r: (r.get("target") or "", r["started"]))
    for r in rows:
        lines.append(f"| {r.get('target', 'local')} | {r['job_id'].rsplit('@', 1)[0]} | {r['kind']} | "
                     f"{r['started'] - origin:.1f} | {r['ended'] - origin:.1f} |")
    (out / "timeline.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = sorted({r.get("target", "local") for r in found})
    figure, axis = plt.subplots(figsize=(11, 1.2 + 0.9 * len(targets)))
    for index, target in enumerate(targets):
        for r in (r for r in found if r.get("target", "local") == target):
            colour = "#4c72b0" if r["kind"] == "bench" else "#dd8452"
            axis.barh(index, r["ended"] - r["started"], left=r["started"] - origin, color=colour, edgecolor="white")
    axis.set_yticks(range(len(targets)), targets)
    axis.set_xlabel("seconds since the first job started (blue: timing jobs, orange: parity jobs)")
    figure.tight_layout()
    figure.savefig(out / "timeline.svg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--models", default=None, help="zoo models (default: the whole quick plan)")
    parser.add_argument("extra", nargs="*")
    options = parser.parse_args()
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    extra = (["--models", options.models] if options.models else []) + options.extra
    from ray.cluster_utils import Cluster

    local_wall, local_dir = aibench_run(out / "local", *extra)
    one = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "resources": {"aibench_node": 1, "one": 1}})
    one_wall, one_dir = aibench_run(out / "ray-1", *extra, "--executor", "ray", "--address", one.address,
                                    "--targets", "one")
    one.shutdown()
    two = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": {"aibench_node": 1, "cpu_a": 1}})
    two.add_node(num_cpus=1, resources={"aibench_node": 1, "cpu_b": 1})
    two.wait_for_nodes()
    two_wall, two_dir = aibench_run(out / "ray-2", *extra, "--executor", "ray", "--address", two.address,
                                    "--targets", "cpu_a,cpu_b")
    two.shutdown()
    jobs = len(records(local_dir))
    rows = [("local executor", local_wall, jobs), ("Ray, one target (one-node cluster)", one_wall, len(records(one_dir))),
            ("Ray, two targets (two logical nodes, every job twice)", two_wall, len(records(two_dir)))]
    lines = ["| executor | wall s | job records | s per job |", "|---|---|---|---|"]
    lines += [f"| {name} | {wall:.1f} | {count} | {wall / count:.2f} |" for name, wall, count in rows]
    lines.append(f"\nRay's overhead on the same plan: {one_wall - local_wall:+.1f} s, "
                 f"{(one_wall - local_wall) / jobs:+.2f} s per job ({jobs} jobs).")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    timeline(two_dir, out)
    print((out / "table.md").read_text())


if __name__ == "__main__":
    main()
