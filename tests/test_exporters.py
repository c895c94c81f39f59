"""Several exporters for one framework: torch.onnx's dynamo exporter and its TorchScript exporter side by side,
the graphs named apart in every key and label, parity per graph, and the exporter effect between them."""

import json

import pytest
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.errors import UserError
from aibench_onnx.frameworks import EXPORTERS, FRAMEWORKS, framework_of, graph_name, resolve_graphs
from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.runtimes import runtimes_of
from aibench_onnx.timing.configs import plan
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
    dynamo, script = RuntimeConfig.graph_runtime("ort", "torch", "cpu", "all").label, RuntimeConfig.graph_runtime("ort", "torch-script", "cpu", "all").label
    assert [c.label for c in configs] == ["torch-eager", "torch-compile", dynamo, script]
    samples = {c: {1: {r: [1e-3 * (1 + 0.01 * r)] * 20 for r in range(3)}} for c in configs}
    effects = compute_effects(configs, samples)
    exporter = [(e.baseline, e.candidate) for e in effects if e.kind == "exporter"]
    assert exporter == [(dynamo, script)]
    runtime = {(e.baseline, e.candidate) for e in effects if e.kind == "runtime"}
    assert ("torch-compile", script) in runtime


def test_bad_exporter_on_the_command_line_is_one_line_exit_2():
    result = runner.invoke(app, ["parity", "mlp", "-f", "tf", "--exporter", "torch-script"])
    assert result.exit_code == 2
    assert "exporter torch-script needs its framework in --frameworks (torch)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.torch
@pytest.mark.slow
def test_torchscript_exports_pass_parity_beside_dynamo_and_the_record_says_it_is_deprecated(tmp_path):
    target = tmp_path / "parity.json"
    models = ["transformer", "lstm", "mobilenet"]  # attention, a recurrent op, depthwise convolutions
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


def test_an_export_failure_is_one_line_with_its_cause_and_the_models_source_line():
    from aibench_onnx.artifacts.export import exporter_failure

    cause = ValueError("Cannot view a tensor with shape [s0, 8, 4, 8] as (s0, 8, 32)!\n\nOriginal traceback:\n"
                       'File "/x/modeling_t5.py", line 1131, in forward\n    out = self.encoder(\n'
                       '  File "/x/modeling_t5.py", line 368, in forward\n'
                       "    attn_output = attn_output.reshape(*input_shape, -1).contiguous()\n")
    try:
        try:
            raise cause
        except ValueError as inner:
            raise RuntimeError("Failed to decompose the FX graph. \x1b[96mThis is step 2/3\x1b[0m of exporting. "
                               "Next steps:\n- Create an issue ...") from inner
    except RuntimeError as exc:
        found = exporter_failure("torch.onnx", exc)
    assert "\x1b" not in found["reason"] and "\n" not in found["reason"] and "Next steps" not in found["reason"]
    assert found["cause"] == "ValueError: Cannot view a tensor with shape [s0, 8, 4, 8] as (s0, 8, 32)!"
    assert found["source"] == ("modeling_t5.py:368 in forward: "
                               "attn_output = attn_output.reshape(*input_shape, -1).contiguous()")
    assert found["reason"] == ("torch.onnx raised RuntimeError: Failed to decompose the FX graph. This is step 2/3 of "
                               f"exporting. — {found['cause']} (at {found['source']})")


class DataDependent:
    """A branch on a tensor's value: torch.export refuses it, TorchScript tracing takes the branch it sees."""

    @staticmethod
    def build():
        import torch

        class Model(torch.nn.Module):
            def forward(self, x):
                if x.sum() > 0:  # data-dependent control flow
                    return x * 2
                return x - 1

        return Model().eval()


@pytest.mark.torch
def test_a_users_torch_model_falls_back_to_torchscript_and_the_record_keeps_both_attempts(tmp_path):
    import numpy as np

    from aibench_onnx.artifacts.user_export import export_user_model

    x = np.abs(np.random.default_rng(0).standard_normal((2, 4))).astype(np.float32)
    record = export_user_model(DataDependent.build(), "torch", {"x": x}, tmp_path, 18)
    assert record["status"] == "ok" and record["exporter"] == "torch.onnx (TorchScript)"
    first, second = record["attempts"]
    assert (first["exporter"], first["status"]) == ("torch.onnx (dynamo)", "failed")
    assert "\x1b" not in first["reason"] and first.get("source", "").startswith("test_exporters.py:")
    assert "if x.sum() > 0" in first["source"]
    assert second["status"] == "ok" and "exported with torch.onnx (TorchScript) instead" in record["fallback"]


def test_check_writes_json_saying_the_export_failed(tmp_path, monkeypatch):
    from aibench_onnx.artifacts import user_export

    failed = {"status": "failed", "exporter": "torch.onnx (dynamo)", "reason": "torch.onnx raised X: y",
              "attempts": [{"exporter": "torch.onnx (dynamo)", "status": "failed", "reason": "torch.onnx raised X: y"}]}
    monkeypatch.setattr(user_export, "export_in_worker", lambda *args, **kwargs: failed)
    target = tmp_path / "check.json"
    result = runner.invoke(app, ["check", "pkg.mod:build", "--framework", "torch", "--input", "x:float32[batch,4]",
                                 "-o", str(tmp_path / "out"), "--json", str(target)])
    assert result.exit_code == 1
    assert "pkg.mod:build: export with torch.onnx (dynamo) failed: torch.onnx raised X: y" in result.output
    document = json.loads(target.read_text())
    assert document["status"] == "export_failed" and document["export"]["attempts"][0]["reason"]
