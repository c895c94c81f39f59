"""`aibench run --executor ray` on a real Ray cluster on this machine: two logical nodes labelled as two
targets (custom resources cpu_a and cpu_b, each offering one aibench_node), a quick plan through the Ray
executor against the same plan run locally; exclusivity from the records' start/end times; a Ray worker
killed mid-job; a driver killed and resumed."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.torch, pytest.mark.ray]  # CI installs Ray: a missing one fails there

# the planned rounds only: a Ray run adds none for unresolved effects (yet), a local one would
PLAN = ["run", "--quick", "--models", "mlp", "-f", "torch", "--batch", "1", "--repeats", "2", "--target-mde", "0"]
TARGETS = ("cpu_a", "cpu_b")
KILLED_JOB = "bench/mlp/torch-eager/r1@cpu_b"


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    # The hook reaches the nodes' workers through the environment the cluster's processes inherit.
    os.environ["AIBENCH_TEST_RAY_HOOK"] = f"die:{KILLED_JOB}"
    started = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": {"aibench_node": 1, "cpu_a": 1}})
    started.add_node(num_cpus=1, resources={"aibench_node": 1, "cpu_b": 1})
    started.wait_for_nodes()
    yield started
    started.shutdown()
    os.environ.pop("AIBENCH_TEST_RAY_HOOK", None)


def aibench(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aibench_onnx.cli", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def records_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]


def final(records: list[dict]) -> dict[str, dict]:
    return {r["job_id"]: r for r in records}


def ray_run(cluster, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return aibench(*PLAN, "--executor", "ray", "--address", cluster.address, "--targets", ",".join(TARGETS),
                   "-o", "runs", *extra, cwd=tmp_path)


def test_a_plan_runs_on_every_target_alone_with_a_lost_job_retried_and_a_killed_driver_resumed(cluster, tmp_path):
    """One Ray run (a run of this plan is most of the file's time): its driver killed once a timing job finished
    and the run resumed, then compared with the same plan run locally."""
    local = aibench(*PLAN, "-o", "local", cwd=tmp_path)
    assert local.returncode == 0, local.stdout[-2000:] + local.stderr[-2000:]
    (local_dir,) = (tmp_path / "local").iterdir()
    local_jobs = {job_id: r["status"] for job_id, r in final(records_of(local_dir)).items()}

    driver = subprocess.Popen([sys.executable, "-m", "aibench_onnx.cli", *PLAN, "--executor", "ray", "--address",
                               cluster.address, "--targets", ",".join(TARGETS), "-o", "runs"], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    results = None
    while time.time() < deadline and driver.poll() is None:
        found = list((tmp_path / "runs").glob("*/results.jsonl"))
        if found and any('"kind": "bench"' in line for line in found[0].read_text().splitlines()):
            results = found[0]
            break
        time.sleep(0.2)
    assert results is not None and driver.poll() is None, "the driver ended before a timing job finished"
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    run_dir = results.parent
    run = json.loads((run_dir / "run.json").read_text())
    assert len(records_of(run_dir)) < len(run["jobs"])

    resumed = aibench("run", "--resume", str(run_dir), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    records = records_of(run_dir)
    assert sorted(r["job_id"] for r in records if r["status"] != "lost") == sorted(run["jobs"])  # each job once
    latest = final(records)
    # the same jobs as the local executor, once per target, with the same outcomes
    for target in TARGETS:
        assert {job_id.removesuffix(f"@{target}"): r["status"] for job_id, r in latest.items()
                if r["target"] == target} == local_jobs
    # the Ray worker killed once the job's first process ran (the second round's, after the driver's kill): a lost
    # record, then the retry's
    attempts = [r["status"] for r in records if r["job_id"] == KILLED_JOB]
    assert attempts == ["lost", "ok"], attempts
    lost = next(r for r in records if r["status"] == "lost")
    assert "retried once" in lost["reason"]
    # every record names its node and hardware; each target ran on its own node
    nodes = {r["target"]: r["node"]["node_id"] for r in latest.values()}
    assert len(set(nodes.values())) == 2 and all(r["node"]["fingerprint"]["cpu_model"] for r in latest.values())
    # Ray starts workers at niceness 15; the jobs ran at 0, as a local run's do (root may lower it)
    assert {r["node"]["niceness"] for r in latest.values()} == {0}
    # exclusivity: on each node, nothing else ran while a timing job measured
    for node in nodes.values():
        spans = sorted((r["started"], r["ended"], r["kind"]) for r in latest.values() if r["node"]["node_id"] == node)
        for (start_a, end_a, kind_a), (start_b, end_b, kind_b) in zip(spans, spans[1:]):
            if "bench" in (kind_a, kind_b):
                assert end_a <= start_b, spans
    assert set(run["targets"]) == set(TARGETS)
    assert run["targets"]["cpu_a"]["environment"]["system"]["cpu_model"]

    report = aibench("report", str(run_dir), "--format", "markdown", cwd=tmp_path)
    assert report.returncode == 0 and "## Latency: mlp@cpu_a" in report.stdout and "## Latency: mlp@cpu_b" in report.stdout
    assert "Hardware effect: mlp" in report.stdout and "torch-eager @ cpu_a" in report.stdout
    compared = aibench("compare", f"{run_dir}@cpu_a", f"{run_dir}@cpu_b", "--json", "-", cwd=tmp_path)
    document = json.loads(compared.stdout)
    assert {row["model"] for row in document["rows"]} == {"mlp"} and len(document["rows"]) == 2
    assert document["hardware_differences"] == []  # two logical nodes of one machine: the same hardware
    against_local = aibench("compare", str(local_dir), f"{run_dir}@cpu_a", cwd=tmp_path)
    assert against_local.returncode == 0 and "mlp" in against_local.stdout


def test_a_target_no_node_declares_is_one_line_exit_2_and_writes_nothing(cluster, tmp_path):
    result = aibench(*PLAN, "--executor", "ray", "--address", cluster.address, "--targets", "cpu_a,h100", "-o", "runs",
                     cwd=tmp_path)
    lines = [line for line in result.stdout.splitlines() + result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "target 'h100'" in lines[0], result.stdout + result.stderr
    assert not (tmp_path / "runs").exists()


def test_a_target_whose_node_goes_away_ends_lost_without_hanging(cluster, tmp_path):
    """Its only node removed mid-run: the jobs it was running and every later one are lost (not waited for
    for ever), the run ends with exit 1, and --resume would run them where the target lives again."""
    node = cluster.add_node(num_cpus=1, resources={"aibench_node": 1, "cpu_c": 1})
    cluster.wait_for_nodes()
    driver = subprocess.Popen([sys.executable, "-m", "aibench_onnx.cli", *PLAN, "--executor", "ray", "--address",
                               cluster.address, "--targets", "cpu_c", "-o", "runs"], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and driver.poll() is None:
        found = list((tmp_path / "runs").glob("*/results.jsonl"))
        if found and '"kind": "bench"' in found[0].read_text():
            break
        time.sleep(0.2)
    cluster.remove_node(node)
    assert driver.wait(timeout=180) == 1
    (run_dir,) = (tmp_path / "runs").iterdir()
    latest = final(records_of(run_dir))
    run = json.loads((run_dir / "run.json").read_text())
    assert set(latest) == set(run["jobs"])  # every job has a record: ok, or lost
    lost = [r for r in latest.values() if r["status"] == "lost"]
    assert lost and all("cpu_c" in r["reason"] for r in lost)
    assert any("no live node" in r["reason"] for r in lost)
