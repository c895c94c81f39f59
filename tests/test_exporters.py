"""Several exporters for one framework: torch.onnx's dynamo exporter and its TorchScript exporter side by side,
the graphs named apart in every key and label, parity per graph, and the exporter effect between them."""

import json

import pytest
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.errors import UserError
from aibench_onnx.frameworks import EXPORTERS, FRAMEWORKS, framework_of, graph_name, resolve_graphs
from aibench_onnx.runtimes import runtimes_of
from aibench_onnx.timing.configs import ort_label, plan
from aibench_onnx.timing.effects import compute_effects

runner = CliRunner()


def test_every_exporter_names_its_graph_and_its_framework_default_keeps_the_framework_name():
    assert [graph_name(name) for name in EXPORTERS] == ["torch", "torch-script", "tf", "jax"]
    assert all(EXPORTERS[f.exporters[0]].framework == f.name for f in FRAMEWORKS.values())
    assert framework_of("torch-script") == "torch" and framework_of("tf") == "tf"


def test_graphs_chosen_per_framework_with_one_line_errors():
    assert resolve_graphs(["torch", "tf"], None) == ["torch", "tf"]
    assert resolve_graphs(["torch", "tf"], ["torch-dynamo", "torch-script"]) == ["torch", "torch-script", "tf"]
    assert resolve_graphs(["torch"], ["torch-script"]) == ["torch-script"]
    with pytest.raises(UserError, match="unknown exporter 'torch-jit'; valid: torch-dynamo"):
        resolve_graphs(["torch"], ["torch-jit"])
    with pytest.raises(UserError, match="exporter tf2onnx needs its framework in --frameworks"):
        resolve_graphs(["torch"], ["tf2onnx"])


def test_a_second_torch_graph_gets_ort_configurations_and_an_exporter_effect_but_no_second_native_run():
    graphs = ["torch", "torch-script"]
    configs = plan(graphs, runtimes_of(graphs), ["cpu"], ["all"], [True])
    assert [c.label for c in configs] == ["torch-eager", "torch-compile", ort_label("torch", "cpu", "all"),
                                          ort_label("torch-script", "cpu", "all")]
    samples = {c.label: {1: {r: [1e-3 * (1 + 0.01 * r)] * 20 for r in range(3)}} for c in configs}
    effects = compute_effects(samples, graphs, ["cpu"], ["all"])
    exporter = [(e.baseline, e.candidate) for e in effects if e.kind == "exporter"]
    assert exporter == [(ort_label("torch", "cpu", "all"), ort_label("torch-script", "cpu", "all"))]
    runtime = {(e.baseline, e.candidate) for e in effects if e.kind == "runtime"}
    assert ("torch-compile", ort_label("torch-script", "cpu", "all")) in runtime


def test_bad_exporter_on_the_command_line_is_one_line_exit_2():
    result = runner.invoke(app, ["parity", "mlp", "-f", "tf", "--exporter", "torch-script"])
    assert result.exit_code == 2
    assert "exporter torch-script needs its framework in --frameworks (torch)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.torch
@pytest.mark.slow
def test_torchscript_exports_pass_parity_beside_dynamo_and_the_record_says_it_is_deprecated(tmp_path):
    target = tmp_path / "parity.json"
    models = ["mlp", "transformer", "lstm", "mobilenet"]
    result = runner.invoke(app, ["parity", *models, "-f", "torch", "--exporter", "torch-dynamo,torch-script",
                                 "--size", "tiny", "--seeds", "1", "--opt-level", "all", "--threads", "1",
                                 "-o", str(tmp_path / "out"), "--json", str(target)])
    assert result.exit_code == 0, result.output
    results = json.loads(target.read_text())["results"]
    assert [(r["model"], r["framework"]) for r in results] == [(m, g) for m in models
                                                               for g in ("torch", "torch-script")]
    for entry in results:
        export = entry["export"]
        assert export["status"] == "ok" and export["framework"] == "torch"
        assert export["graph_name"] == entry["framework"]
        assert all(cell["status"] == "passed" for cell in entry["cells"]), entry["cells"]
        if entry["framework"] == "torch-script":
            assert export["exporter"] == "torch.onnx (TorchScript)" and "deprecated" in export["exporter_note"]
            assert (tmp_path / "out" / entry["model"] / "torch-script" / "model.onnx").exists()
        else:
            assert export["exporter"] == "torch.onnx (dynamo)" and "exporter_note" not in export
