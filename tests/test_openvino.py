"""OpenVINO as a second runtime for the same exported graphs: configurations and effects planned through the
runtime registry, zoo parity beside ORT's, a timing record with its settings, and a missing package stated as
unavailable with the line that installs it."""

import json

import pytest
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.runtimes import GRAPH_RUNTIMES, missing_runtime, runtimes_of
from aibench_onnx.timing.configs import plan
from aibench_onnx.timing.effects import compute_effects

runner = CliRunner()
QUICK = ["--min-time", "0.05", "--threads", "1"]


def test_openvino_is_a_registry_entry_timed_only_when_asked():
    assert "openvino" in GRAPH_RUNTIMES and not GRAPH_RUNTIMES["openvino"].by_default
    assert "openvino" not in runtimes_of(["torch"]) and "ort" in runtimes_of(["torch"])
    assert runtimes_of(["torch"], ["openvino"]) == ["openvino"]


def test_one_openvino_configuration_per_graph_and_device_in_a_process_of_its_runtime():
    configs = plan(["torch", "tf"], ["torch-compile", "ort", "openvino"], ["cpu", "cuda"], ["disabled", "all"], [True])
    openvino = [c for c in configs if c.kind == "openvino"]
    assert [c.label for c in openvino] == ["openvino:torch-graph:cpu", "openvino:tf-graph:cpu"]  # no cuda device
    assert {c.process_group for c in openvino} == {"openvino-cpu-graphs"}
    assert all(c.runs_graph and c.opt_level is None for c in openvino)


def test_effects_compare_ort_with_openvino_on_the_same_graph_and_the_compiled_runtime_with_openvino():
    configs = [RuntimeConfig.native("torch-compile", "torch"), RuntimeConfig.graph_runtime("ort", "torch", "cpu", "disabled"),
               RuntimeConfig.graph_runtime("ort", "torch", "cpu", "all"), RuntimeConfig.graph_runtime("openvino", "torch", "cpu")]
    samples = {config: {1: {r: [1e-3] * 20 for r in range(3)}} for config in configs}
    pairs = {(e.baseline, e.candidate) for e in compute_effects(configs, samples)}
    assert (RuntimeConfig.graph_runtime("ort", "torch", "cpu", "all").label, "openvino:torch-graph:cpu") in pairs
    assert ("torch-compile", "openvino:torch-graph:cpu") in pairs


def test_a_missing_openvino_is_unavailable_with_the_install_line(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    assert missing_runtime("openvino") == "OpenVINO is not installed: pip install 'aibench-onnx[openvino]'"
    assert missing_runtime("ort") is None and missing_runtime("torch-eager") is None


@pytest.mark.torch
def test_bench_without_openvino_records_unavailable_and_exits_3(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    target = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", "matmul", "-f", "torch", "--runtime", "openvino", "--size", "tiny",
                                 "--batch", "1", *QUICK, "-o", str(tmp_path / "out"), "--json", str(target)])
    assert result.exit_code == 3, result.output
    (entry,) = json.loads(target.read_text())["results"][0]["results"]
    assert entry["status"] == "unavailable"
    assert entry["reason"] == "OpenVINO is not installed: pip install 'aibench-onnx[openvino]'"


@pytest.mark.openvino
@pytest.mark.torch
@pytest.mark.jax
@pytest.mark.slow
def test_zoo_parity_on_openvino_passes_where_ort_passes(tmp_path):
    target = tmp_path / "parity.json"
    result = runner.invoke(app, ["parity", "mlp", "transformer", "-f", "torch,jax", "--runtime",
                                 "ort,openvino", "--size", "tiny", "--seeds", "1", "--opt-level", "all",
                                 "--threads", "1", "-o", str(tmp_path / "out"), "--json", str(target)])
    results = json.loads(target.read_text())["results"]
    checked = 0
    for entry in results:
        cells = {cell.get("runtime", "ort"): cell for cell in entry["cells"]}
        assert set(cells) == {"ort", "openvino"}, entry["cells"]
        ort, openvino = cells["ort"], cells["openvino"]
        assert (openvino["ep"], openvino["opt_level"]) == ("cpu", "default")
        if ort["status"] == "passed":
            assert openvino["status"] == "passed", (entry["model"], entry["framework"], openvino["reason"])
            assert openvino["providers"] == ["CPU"] and openvino["max_abs"] is not None
            checked += 1
    assert checked == 4, result.output  # jax's transformer: int32 ids, and tensors OpenVINO names twice
    assert result.exit_code == 0, result.output


@pytest.mark.openvino
@pytest.mark.torch
def test_openvino_timing_record_and_its_effect_against_ort(tmp_path):
    target = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", "matmul", "-f", "torch", "--runtime", "ort,openvino", "--opt-level", "all",
                                 "--size", "tiny", "--batch", "1", "--repeats", "1", *QUICK,
                                 "-o", str(tmp_path / "out"), "--json", str(target)])
    assert result.exit_code == 0, result.output
    bench = json.loads(target.read_text())["results"][0]
    entries = {r["config"]["label"]: r for r in bench["results"]}
    openvino = entries["openvino:torch-graph:cpu"]
    assert openvino["status"] == "ok" and openvino["config"]["kind"] == "openvino"
    info = openvino["replicates"][0]["batches"]["1"]["info"]
    assert info["device"] == "CPU" and info["threads"] == 1 and info["inference_precision"] == "f32"
    assert openvino["replicates"][0]["process"]["group"] == "openvino-cpu-graphs"
    pairs = {(e["baseline"], e["candidate"]) for e in bench["effects"] if e["kind"] == "runtime"}
    assert (RuntimeConfig.graph_runtime("ort", "torch", "cpu", "all").label, "openvino:torch-graph:cpu") in pairs


@pytest.mark.openvino
@pytest.mark.torch
@pytest.mark.slow
def test_a_run_with_openvino_checks_every_export_on_it_and_reports_its_effect(tmp_path):
    from aibench_onnx.runs.report import build_report

    result = runner.invoke(app, ["run", "--quick", "--models", "matmul", "-f", "torch", "--runtime", "ort,openvino",
                                 "--repeats", "1", "--threads", "1", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.glob("run-*")
    report = build_report(run_dir)
    cells = [row for row in report.parity if row.get("runtime") == "openvino"]
    assert [(c["model"], c["ep"], c["opt_level"], c["status"]) for c in cells] == [
        ("matmul", "cpu", "default", "passed")]
    assert any(e["baseline"] == RuntimeConfig.graph_runtime("ort", "torch", "cpu", "all").label and e["candidate"] == "openvino:torch-graph:cpu"
               for e in report.effects["matmul"])


@pytest.mark.openvino
def test_check_runs_an_onnx_file_on_openvino_beside_ort(tmp_path):
    import numpy as np
    from onnx_graphs import linear_graph, save

    rng = np.random.default_rng(0)
    path = save(linear_graph(rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)),
                tmp_path / "linear.onnx")
    target = tmp_path / "check.json"
    result = runner.invoke(app, ["check", path, "--runtime", "ort,openvino", "--dim", "batch=2", "--json", str(target)])
    assert result.exit_code == 0, result.output
    cells = {(c["runtime"], c["opt_level"]): c for c in json.loads(target.read_text())["cells"]}
    assert set(cells) == {("ort", "disabled"), ("ort", "all"), ("openvino", "default")}
    openvino = cells[("openvino", "default")]
    assert openvino["status"] == "passed" and openvino["providers"] == ["CPU"]
    assert "openvino cpu" in result.output


def test_check_refuses_a_runtime_list_without_ort(tmp_path):
    result = runner.invoke(app, ["check", str(tmp_path / "m.onnx"), "--runtime", "openvino"])
    assert result.exit_code == 2
    assert "ONNX Runtime is always checked: --runtime adds others (ort,openvino)" in result.output
