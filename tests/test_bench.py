"""`aibench bench`: every runtime kind on a tiny model yields a complete record; effects and bad input."""

import functools
import json

import pytest
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.runs.bench import bench_model
from aibench_onnx.runs.report import build_report
from aibench_onnx.timing.configs import plan
from aibench_onnx.timing.effects import compute_effects
from aibench_onnx.zoo.registry import get_spec

runner = CliRunner()
QUICK = {"min_time_s": 0.05, "max_time_s": 0.3, "warmup_s": 0.02, "warmup_max_s": 0.5}


def assert_complete(result, batches=("1", "3"), repeats=1):
    assert result.status == "ok", (result.config.label, result.reason)
    assert result.peak_rss_bytes and result.peak_rss_bytes > 10 * 2**20
    assert result.threads["threads"] == 1
    assert sorted(r.round for r in result.replicates) == list(range(repeats))
    for replicate in result.replicates:
        assert set(replicate.batches) == {int(b) for b in batches}
        for batch, record in replicate.batches.items():
            summary = record["measurement"]["summary"]
            assert summary["median_s"] > 0 and summary["n"] >= 1 and summary["block_size"] >= 1
            assert summary["ci95_s"][0] <= summary["median_s"] <= summary["ci95_s"][1]
            assert record["cold"]["first_call_s"] > 0
            assert record["energy"]["available"] or record["energy"]["reason"]
            assert record["measurement"]["samples_s"], batch
    for batch, across in result.summary.items():
        assert across["processes"] == repeats and across["ci95_s"][0] <= across["median_s"] <= across["ci95_s"][1]


@pytest.mark.slow
@pytest.mark.parametrize("framework, runtimes", [
    pytest.param("torch", ["torch-eager", "torch-compile", "ort"], marks=pytest.mark.torch),
    pytest.param("tf", ["tf-eager", "tf-function", "tf-xla", "ort"], marks=pytest.mark.tf),
    pytest.param("jax", ["jax-jit", "ort"], marks=pytest.mark.jax),
])
def test_every_runtime_kind_runs_on_a_tiny_model(framework, runtimes, tmp_path):
    configs = plan([framework], runtimes, ["cpu"], ["disabled", "all"], [True, False])
    bench = bench_model(get_spec("mlp"), "tiny", configs, [1, 3], threads=1, timing=QUICK, run_dir=tmp_path,
                        device="cpu", timeout_s=600, opset=18)
    assert {r.config.label for r in bench.results} == {c.label for c in configs}
    # a bench is a run: its directory reports as one, with the bench's effects
    report = build_report(tmp_path)
    assert sorted(e["ratio"] for e in report.effects["mlp"]) == sorted(e.ratio for e in bench.effects)
    assert report.jobs_done == report.jobs_planned == len(configs)
    assert report.written_by == "bench" and report.settings["models"] == ["mlp"]
    assert report.headline[0].startswith("Largest runtime effect")  # a bench checks no parity: no line says so
    # traced at batch 2 even though the first benchmark batch is 1 (batch 1 can freeze the dimension)
    assert bench.exports[framework]["export_batch"] == 2
    assert not any("batch dimension fixed" in f for f in bench.exports[framework]["graph"]["suspicious"])
    for result in bench.results:
        assert_complete(result)
        if result.config.kind == "ort":
            info = result.replicates[0].batches[1]["info"]
            assert info["providers"][0] == "CPUExecutionProvider"
            assert info["io_binding"] is result.config.io_binding
            assert info["audit"]["per_provider"] == {"CPUExecutionProvider": info["audit"]["nodes"]}
    kinds = {e.kind for e in bench.effects}
    assert {"optimizer", "runtime"} <= kinds
    for effect in bench.effects:
        assert effect.ci_low <= effect.ratio <= effect.ci_high


@pytest.mark.torch
def test_unavailable_provider_is_recorded_and_exits_3(tmp_path):
    """Here CUDA does not load: its configurations are ep_unavailable, exit 3. Where it loads (the GPU
    check), plain IO binding and CUDA graph replay both run on CUDA and the replay matched a plain run."""
    from aibench_onnx.ort.probe import probe

    cuda_loads = any(p["provider"] == "CUDAExecutionProvider" and p["loads"] for p in probe().get("providers", []))
    target = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", "matmul", "-f", "torch", "--runtime", "ort", "--ep", "cpu,cuda",
                                 "--opt-level", "all", "--cuda-graph", "both", "--size", "tiny", "--batch", "1",
                                 "--min-time", "0.05", "--threads", "1",
                                 "-o", str(tmp_path / "run"), "--json", str(target)])
    results = {r["config"]["label"]: r for r in json.loads(target.read_text())["results"][0]["results"]}
    cpu, cuda = ort_label("torch", "cpu", "all"), ort_label("torch", "cuda", "all")
    graph = ort_label("torch", "cuda", "all", cuda_graph=True)
    assert set(results) == {cpu, cuda, graph}  # no CUDA graph on the CPU provider
    assert results[cpu]["status"] == "ok"
    if cuda_loads:
        assert result.exit_code == 0, result.output
        assert results[cuda]["status"] == results[graph]["status"] == "ok"
        info = results[graph]["replicates"][0]["batches"]["1"]["info"]
        assert info["providers"][0] == "CUDAExecutionProvider"
        assert info["provider_options"]["CUDAExecutionProvider"]["enable_cuda_graph"] == "1"
        assert info["cuda_graph"]["enabled"] and info["cuda_graph"]["max_abs_vs_plain_run"] < 1e-3
    else:
        assert result.exit_code == 3, result.output
        for label in (cuda, graph):
            assert results[label]["status"] == "ep_unavailable" and results[label]["reason"]


def test_cuda_graph_configurations_exist_only_for_cuda_with_io_binding():
    configs = plan(["torch"], ["ort"], ["cpu", "cuda", "tensorrt"], ["all"], [True, False], (False, True))
    graphs = [c for c in configs if c.cuda_graph]
    assert [(c.ep, c.io_binding, c.label) for c in graphs] == [("cuda", True, "ort:torch-graph:cuda:all:cuda-graph")]
    assert len(configs) == 3 * 2 + 1


def test_cuda_graph_refuses_a_provider_it_cannot_use(tmp_path):
    from aibench_onnx.ort.timed import prepare_ort

    with pytest.raises(ValueError, match="cuda provider with IO binding"):
        prepare_ort("unused.onnx", {}, "cpu", "all", 1, True, str(tmp_path), cuda_graph=True)
    with pytest.raises(ValueError, match="cuda provider with IO binding"):
        prepare_ort("unused.onnx", {}, "cuda", "all", 1, False, str(tmp_path), cuda_graph=True)


def ort_label(graph: str, ep: str, level: str, **options) -> str:
    return RuntimeConfig.graph_runtime("ort", graph, ep, level, **options).label


ort_config = functools.partial(RuntimeConfig.graph_runtime, "ort")


def test_io_binding_and_cuda_graph_effects_and_native_effects_on_the_native_device():
    samples = {config: {1: {0: [base * (1 + 0.001 * (i % 7)) for i in range(50)]}} for config, base in {
        RuntimeConfig.native("torch-eager", "torch"): 3.0,
        ort_config("torch", "cuda", "all", io_binding=False): 2.0,
        ort_config("torch", "cuda", "all"): 1.0,
        ort_config("torch", "cuda", "all", cuda_graph=True): 0.5,
        ort_config("torch", "cpu", "all"): 8.0,
    }.items()}
    configs = [RuntimeConfig.native("torch-eager", "torch")] + [ort_config("torch", ep, "all") for ep in ("cpu", "cuda")]
    found = {(e.baseline, e.candidate): e for e in compute_effects(configs, samples, native_device="cuda")}
    assert found[(ort_label("torch", "cuda", "all", io_binding=False), ort_label("torch", "cuda", "all"))].ratio \
        == pytest.approx(0.5, rel=0.01)
    assert found[(ort_label("torch", "cuda", "all"), ort_label("torch", "cuda", "all", cuda_graph=True))].ratio \
        == pytest.approx(0.5, rel=0.01)
    # torch on the GPU is compared with ORT's CUDA provider, not with ORT on the CPU
    assert found[("torch-eager", ort_label("torch", "cuda", "all"))].kind == "runtime"
    assert ("torch-eager", ort_label("torch", "cpu", "all")) not in found


def test_effects_pair_the_right_configurations():
    noise = lambda base: {0: [base * (1 + 0.001 * (i % 7)) for i in range(50)]}  # noqa: E731 - one process
    samples = {
        RuntimeConfig.native("torch-eager", "torch"): {1: noise(4.0)},
        ort_config("torch", "cpu", "disabled"): {1: noise(2.0)},
        ort_config("torch", "cpu", "all"): {1: noise(1.0)},
        ort_config("jax", "cpu", "all"): {1: noise(1.0)},
        RuntimeConfig.native("jax-jit", "jax"): {1: noise(1.0)},
    }
    configs = plan(["torch", "jax"], ["torch-eager", "jax-jit", "ort"], ["cpu"], ["disabled", "all"], [True])
    effects = {(e.kind, e.baseline, e.candidate): e for e in compute_effects(configs, samples)}
    optimizer = effects[("optimizer", ort_label("torch", "cpu", "disabled"), ort_label("torch", "cpu", "all"))]
    assert optimizer.ratio == pytest.approx(0.5, rel=0.01) and optimizer.verdict == "2.00x faster"
    runtime = effects[("runtime", "torch-eager", ort_label("torch", "cpu", "disabled"))]
    assert runtime.ratio == pytest.approx(0.5, rel=0.01)
    exporter = effects[("exporter", ort_label("torch", "cpu", "all"), ort_label("jax", "cpu", "all"))]
    assert exporter.verdict == "no significant difference"
    assert effects[("runtime", "jax-jit", ort_label("jax", "cpu", "all"))].verdict == "no significant difference"
    assert not any(kind == "exporter" and "disabled" in base for kind, base, _ in effects)  # jax has no disabled run


@pytest.mark.parametrize("argv, expected", [
    (["bench", "mlp", "--runtime", "torch-jit"], "valid:"),
    (["bench", "mlp", "--batch", "1,x"], "positive integers"),
    (["bench", "mlp", "--batch", "0"], "positive integers"),
    (["bench", "mlp", "--io-binding", "maybe"], "valid: on, off, both"),
    (["bench", "mlp", "--cuda-graph", "maybe"], "valid: off, on, both"),
    (["bench", "mlp", "--cuda-graph", "on"], "needs --ep cuda"),
    (["bench", "mlp", "--ep", "cuda", "--io-binding", "off", "--cuda-graph", "on"], "needs --ep cuda"),
    (["bench", "mlp", "--device", "tpu"], "valid: cpu, cuda"),
    (["bench", "decoder", "--new-tokens", "1"], "2 at least"),
])
def test_bad_bench_input_is_one_line_exit_2(argv, expected):
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.output
