"""Every zoo model x framework at `tiny`: exports and passes ONNX Runtime CPU parity at both optimization
levels — the export itself and its fp16 and int8-dynamic variants, each judged against the fp32 native
outputs with its precision's verdict — or fails exactly as the tables below say, with the upstream issue.
Nothing is skipped."""

import json
import re

import pytest
from aibench_onnx.exporters import DEFAULT_OPSET
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.frameworks import FRAMEWORKS
from aibench_onnx.parity.zoo import export_and_check_models
from aibench_onnx.zoo.registry import MODELS, get_spec

runner = CliRunner()

# Every export known to fail, by name, with the upstream issue. A new failure, or a fixed one, fails a test.
EXPECTED_EXPORT_FAILURES = {
    ("gelu", "tf"): "tensorflow-onnx #2347",
}
# Every reduced-precision variant known to fail, by (model, framework, precision), with what its reason names.
# (int8-static is not in this test's precisions; tests/test_precision.py covers the transformer's entries.)
EXPECTED_PRECISION_FAILURES: dict[tuple[str, str, str], str] = {
    ("transformer", "torch", "int8-static"): "-inf",
    ("transformer", "tf", "int8-static"): "Softmax",
}
PRECISIONS = ("fp32", "fp16", "int8-dynamic")
EDGE_CASES = {"batch1", "batch5", "zeros", "large"}


def test_known_failures_in_specs_are_exactly_the_expected_ones():
    declared = {(name, fw): reason for name in MODELS for fw, reason in get_spec(name).known_export_failures.items()}
    assert set(declared) == set(EXPECTED_EXPORT_FAILURES)
    for key, issue in EXPECTED_EXPORT_FAILURES.items():
        assert issue in declared[key] and re.search(r"#\d+", declared[key])


def test_known_precision_failures_in_specs_are_exactly_the_expected_ones():
    declared = {(name, key): reason for name in MODELS for key, reason in get_spec(name).known_precision_failures.items()}
    assert set(declared) == {(name, f"{precision}/{fw}") for name, fw, precision in EXPECTED_PRECISION_FAILURES}
    for (name, fw, precision), named in EXPECTED_PRECISION_FAILURES.items():
        assert named in declared[(name, f"{precision}/{fw}")]


def _framework_param(fw):
    return pytest.param(fw, marks=getattr(pytest.mark, fw))


@pytest.fixture(scope="module")
def zoo_parity(tmp_path_factory):
    """framework -> (model -> its ExportParity, the directory): every zoo model of one framework exported in one
    process of it, as `aibench parity` and `aibench run` do — computed once, when a test first asks for it."""
    out, found = tmp_path_factory.mktemp("zoo-parity"), {}

    def of(framework: str) -> tuple[dict, object]:
        if framework not in found:
            results = export_and_check_models([get_spec(name) for name in MODELS], "tiny", [framework], ["cpu"],
                                              ["disabled", "all"], seeds=2, threads=1, out_dir=out,
                                              opset=DEFAULT_OPSET, precisions=PRECISIONS)
            found[framework] = {result.model: result for result in results}
        return found[framework], out

    return of


@pytest.mark.slow
@pytest.mark.parametrize("framework", [_framework_param(fw) for fw in FRAMEWORKS])
@pytest.mark.parametrize("name", list(MODELS))
def test_zoo_export_matches_onnxruntime_cpu(name, framework, zoo_parity):
    spec = get_spec(name)
    results, tmp_path = zoo_parity(framework)
    result = results[name]
    record = result.export
    assert record is not None and record["opset"] == DEFAULT_OPSET and record["export_s"] > 0
    if (name, framework) in EXPECTED_EXPORT_FAILURES:
        assert record["status"] == "failed" and record["reason"]
        assert all(cell.status == "known_failure" for cell in result.cells)
        assert all(EXPECTED_EXPORT_FAILURES[(name, framework)] in cell.reason for cell in result.cells)
        return
    assert record["status"] == "ok", record["reason"]
    graph = record["graph"]
    assert graph["node_count"] > 0 and graph["op_histogram"]
    assert [i["name"] for i in graph["inputs"]] == [t.name for t in spec.inputs]
    assert [o["name"] for o in graph["outputs"]] == [t.name for t in spec.outputs]
    assert not any("batch dimension fixed" in finding for finding in graph["suspicious"]), graph["suspicious"]
    assert (tmp_path / name / framework / "model.onnx").is_file()
    assert json.loads((tmp_path / name / framework / "export.json").read_text())["status"] == "ok"
    assert [(c.precision, c.opt_level) for c in result.cells] == [(p, level) for p in PRECISIONS
                                                                   for level in ("disabled", "all")]
    assert set(result.variants) == {"fp16", "int8-dynamic"}
    for cell in result.cells:
        if (name, framework, cell.precision) in EXPECTED_PRECISION_FAILURES:
            assert cell.status == "known_failure", cell.reason
            continue
        assert cell.status == "passed", (cell.precision, cell.opt_level, cell.reason,
                                         [o.to_dict() for o in cell.outputs])
        assert cell.providers[0] == "CPUExecutionProvider"
        assert cell.audit["nodes"] > 0 and cell.audit["per_provider"] == {"CPUExecutionProvider": cell.audit["nodes"]}
        assert EDGE_CASES <= set(cell.cases), cell.cases
        assert cell.max_abs is not None and cell.min_passing_atol is not None


@pytest.mark.torch
def test_parity_command_writes_self_describing_json(tmp_path):
    target = tmp_path / "parity.json"
    result = runner.invoke(app, ["parity", "matmul", "-f", "torch", "--size", "tiny", "--seeds", "1",
                                 "-o", str(tmp_path / "run"), "--json", str(target)])
    assert result.exit_code == 0, result.output
    document = json.loads(target.read_text())
    assert document["schema_version"] == 1 and document["settings"]["opt_levels"] == ["disabled", "all"]
    assert document["environment"]["packages"]["onnx"]["version"]
    cells = document["results"][0]["cells"]
    assert {c["opt_level"] for c in cells} == {"disabled", "all"}
    assert all(c["status"] == "passed" and c["max_abs"] is not None for c in cells)
    assert (tmp_path / "run" / "matmul" / "torch" / "model.onnx").is_file()


@pytest.mark.torch
def test_requesting_an_unusable_cuda_provider_exits_3_not_pass(tmp_path):
    from aibench_onnx.ort.probe import probe

    cuda_loads = any(p["provider"] == "CUDAExecutionProvider" and p["loads"] for p in probe().get("providers", []))
    target = tmp_path / "parity.json"
    result = runner.invoke(app, ["parity", "matmul", "-f", "torch", "--size", "tiny", "--seeds", "1",
                                 "--ep", "cpu,cuda", "--tf32", "-o", str(tmp_path), "--json", str(target)])
    if cuda_loads:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 3, result.output
        assert "EP unavailable" in result.output and "pass" in result.output  # CPU cells still shown
    # --tf32 concerns the CUDA cells only: they carry it (and the table says "cuda +tf32"), CPU cells do not
    document = json.loads(target.read_text())
    assert document["settings"]["tf32"] is True
    assert {(c["ep"], c["tf32"]) for c in document["results"][0]["cells"]} == {("cpu", False), ("cuda", True)}
    assert "cuda +tf32" in result.output


@pytest.mark.tf
def test_export_command_reports_the_keras_gelu_failure(tmp_path):
    result = runner.invoke(app, ["export", "gelu", "-f", "tf", "--size", "tiny", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "Erfc" in result.output and "failed" in result.output
    assert json.loads((tmp_path / "export.json").read_text())["status"] == "failed"


@pytest.mark.parametrize("argv, expected", [
    (["parity", "mlp", "--ep", "rocm"], "valid: cpu, cuda, tensorrt"),
    (["parity", "mlp", "--opt-level", "fast"], "valid: disabled, basic, extended, all"),
    (["parity", "mlp", "-f", "mxnet"], "valid: torch, tf, jax"),
    (["parity", "mlp", "-o", "/proc/aibench-out"], "not writable"),
    (["export", "nope", "-f", "torch"], "valid models"),
    (["export", "mlp", "-f", "caffe"], "valid: torch, tf, jax"),
])
def test_bad_parity_and_export_input_is_one_line_exit_2(argv, expected):
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.output
