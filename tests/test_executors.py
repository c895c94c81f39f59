"""The executor interface's pieces that need no cluster: jobs per target, the timing groups a Ray node runs
in one process, round by round, hardware fingerprints and how compare tells different machines apart."""

from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.runs.compare import hardware_differences
from aibench_onnx.runs.job import BenchJob, ParityJob
from aibench_onnx.runs.targets import for_targets
from aibench_onnx.subjects import Subject

runner = CliRunner()
COMMON = {"model": "mlp", "framework": "torch", "size": "tiny", "threads": 1, "opset": 18, "run_dir": ""}


def parity_job(job_id: str) -> ParityJob:
    return ParityJob(job_id=job_id, eps=("cpu",), opt_levels=("all",), **COMMON)


def bench_job(job_id: str, config: RuntimeConfig, round_index: int = 0) -> BenchJob:
    return BenchJob(job_id=job_id, config=config, round=round_index, subject=Subject.of_zoo("mlp", "tiny"), **COMMON)


def test_every_job_runs_on_every_target_with_the_target_in_its_id():
    eager = RuntimeConfig.native("torch-eager", "torch")
    jobs = for_targets([parity_job("parity/mlp/torch"), bench_job("bench/mlp/torch-eager/r0", eager)], ["cpu", "l4"])
    assert [j.job_id for j in jobs] == ["parity/mlp/torch@cpu", "bench/mlp/torch-eager/r0@cpu",
                                        "parity/mlp/torch@l4", "bench/mlp/torch-eager/r0@l4"]
    assert [j.target for j in jobs] == ["cpu", "cpu", "l4", "l4"]
    assert [j.kind for j in jobs] == ["parity", "bench"] * 2


def test_timing_jobs_go_round_by_round_one_group_per_runtime_process():
    from aibench_onnx.runs.ray_executor import timing_rounds

    eager = RuntimeConfig.native("torch-eager", "torch")
    ort = RuntimeConfig.graph_runtime("ort", "torch", "cpu", "all")
    jobs = [bench_job(f"bench/{c.kind}/r{r}", c, r) for r in (1, 0) for c in (eager, ort)]
    rounds = timing_rounds(jobs + [parity_job("parity/mlp/torch")])
    assert [[[j.job_id for j in group] for group in groups] for groups in rounds] == [
        [["bench/torch-eager/r0"], ["bench/ort/r0"]], [["bench/torch-eager/r1"], ["bench/ort/r1"]]]


def test_compare_names_what_differs_between_two_machines():
    a = {"cpu_model": "Xeon", "logical_cores": 2, "gpus": [], "gpu_driver": None}
    assert hardware_differences([a], [dict(a)]) == []
    assert hardware_differences([a], [{**a, "gpus": ["NVIDIA L4"], "gpu_driver": "580.1"}]) == [
        "gpu_driver: None -> 580.1", "gpus: [] -> ['NVIDIA L4']"]
    assert hardware_differences([a, {**a, "logical_cores": 8}], [a]) == ["base mixes 2 different machines"]


def test_the_fingerprint_names_this_machine():
    from aibench_onnx.env.system import hardware_fingerprint

    found = hardware_fingerprint()
    assert found["cpu_model"] and found["logical_cores"] >= 1 and isinstance(found["gpus"], list)


def test_ray_options_without_the_ray_executor_are_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for extra in (["--targets", "l4"], ["--address", "auto"], ["--executor", "slurm"]):
        result = runner.invoke(app, ["run", "--quick", "--models", "mlp", *extra, "-o", "runs"])
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1, result.output
    assert not (tmp_path / "runs").exists()
