"""`aibench check` on users' ONNX files: localization of planted faults, test-data round trip, reference
choice, provider audit, the Python API, and bad input. Mostly framework-free (graphs built here)."""

import json
import math
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

import aibench_onnx
from aibench_onnx.graph.testdata import read_test_data_set, write_test_data_set
from aibench_onnx.ort.session import ort_runner
from aibench_onnx.parity.check import check_onnx, write_reference_test_data
from aibench_onnx.parity.localize import first_divergence
from aibench_onnx.testing import assert_onnx_parity

runner = CliRunner()
CHAIN = 24  # nodes
FAULT_AT = 13


def chain_model(fault: str | None = None) -> onnx.ModelProto:
    """x -> Mul(w0) -> Add(b1) -> Tanh ... 24 nodes; `fault` plants an edited weight or a swapped op."""
    rng = np.random.default_rng(0)
    nodes, inits, previous = [], [], "x"
    for i in range(CHAIN):
        out = f"t{i}"
        kind = ("Mul", "Add", "Tanh")[i % 3]
        if kind == "Tanh":
            nodes.append(helper.make_node("Tanh", [previous], [out], name=f"n{i}"))
        else:
            value = rng.uniform(0.5, 1.5, 8).astype(np.float32)
            if fault == "weight" and i == FAULT_AT:
                value = value.copy()
                value[3] += 0.5
            inits.append(numpy_helper.from_array(value, f"c{i}"))
            op = kind
            if fault == "op" and i == FAULT_AT:
                op = "Sub" if kind == "Add" else "Add"
            nodes.append(helper.make_node(op, [previous, f"c{i}"], [out], name=f"n{i}"))
        previous = out
    nodes.append(helper.make_node("Identity", [previous], ["y"], name="out"))
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


FEED = {"x": np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)}


@pytest.mark.parametrize("fault", ["weight", "op"])
def test_localization_finds_the_planted_node_with_bounded_outputs(fault):
    clean, faulty = chain_model(), chain_model(fault)
    assert FAULT_AT % 3 != 2  # the planted node has a constant to edit / an op to swap
    found = first_divergence(clean, faulty, FEED, ort_runner("cpu", "disabled"), ort_runner("cpu", "all"), per_step=4)
    assert found.found and found.node == f"n{FAULT_AT}" and found.tensor == f"t{FAULT_AT}"
    assert found.max_extra_outputs <= 4  # never every tensor at once
    assert found.steps <= math.ceil(math.log(CHAIN, 5)) + 1
    assert found.ort_runs == 2 * found.steps
    assert found.path[0] == "n0" and found.path[-1] == f"n{FAULT_AT}" and len(found.path) == FAULT_AT + 1


def test_no_divergence_is_said_plainly():
    model = chain_model()
    found = first_divergence(model, model, FEED, ort_runner("cpu", "disabled"), ort_runner("cpu", "all"))
    assert not found.found and "no exposed intermediate tensor diverges" in found.note


def test_test_data_round_trip_and_stored_reference(tmp_path):
    path = tmp_path / "chain.onnx"
    onnx.save(chain_model(), str(path))
    directory = write_reference_test_data(str(path), str(tmp_path / "test_data_set_0"), dims={"batch": 3})
    inputs, outputs = read_test_data_set(directory, ["x"], ["y"])
    assert inputs["x"].shape == (3, 8) and outputs["y"].shape == (3, 8)
    result = check_onnx(str(path), [str(directory)])
    assert result.reference == "stored" and result.passed
    assert {c.opt_level for c in result.cells} == {"disabled", "all"}
    for cell in result.cells:
        assert cell.audit["per_provider"] == {"CPUExecutionProvider": cell.audit["nodes"]} and cell.audit["nodes"] > 0


def test_stored_outputs_that_differ_fail_with_numbers(tmp_path):
    path = tmp_path / "chain.onnx"
    onnx.save(chain_model(), str(path))
    write_test_data_set(tmp_path / "set", FEED, {"y": np.zeros((3, 8), np.float32)})
    result = check_onnx(str(path), [str(tmp_path / "set")])
    assert not result.passed and all(c.status == "failed" and c.max_abs > 0 for c in result.cells)


def test_generated_inputs_use_onnx_reference_evaluator(tmp_path):
    path = tmp_path / "chain.onnx"
    onnx.save(chain_model(), str(path))
    result = aibench_onnx.check(str(path), dims={"batch": 2})
    assert result.reference == "onnx.reference" and result.passed


def test_unset_symbolic_dim_is_a_clear_error(tmp_path):
    path = tmp_path / "chain.onnx"
    onnx.save(chain_model(), str(path))
    result = runner.invoke(app_cli(), ["check", str(path)])
    assert result.exit_code == 2 and "--dim NAME=SIZE" in result.output and "batch" in result.output
    ok = runner.invoke(app_cli(), ["check", str(path), "--dim", "batch=2", "--json", str(tmp_path / "c.json")])
    assert ok.exit_code == 0, ok.output
    assert json.loads((tmp_path / "c.json").read_text())["passed"] is True


def app_cli():
    from aibench_onnx.cli import app

    return app


def test_bad_files_are_one_line_errors(tmp_path):
    (tmp_path / "text.onnx").write_text("definitely not a protobuf")
    model = chain_model()
    onnx.save(model, str(tmp_path / "ext.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="weights.bin", size_threshold=0)
    (tmp_path / "weights.bin").unlink()
    outside = onnx.load(str(tmp_path / "ext.onnx"), load_external_data=False)
    for tensor in outside.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../escape.bin"  # onnx.save refuses this; a hand-edited file may still carry it
    (tmp_path / "out.onnx").write_bytes(outside.SerializeToString())
    cases = {str(tmp_path / "missing.onnx"): "no such file", str(tmp_path / "text.onnx"): "not an ONNX model",
             str(tmp_path / "ext.onnx"): "external data file 'weights.bin'", str(tmp_path / "out.onnx"): "outside"}
    for path, expected in cases.items():
        result = runner.invoke(app_cli(), ["check", path, "--dim", "batch=2"])
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1 and expected in lines[0], (path, result.output)


@pytest.mark.parametrize("argv, expected", [
    (["check", "nope_module_xyz:make", "--framework", "torch", "--input", "x:float32[batch,4]"], "cannot import"),
    (["check", "json:dumps", "--framework", "torch", "--input", "x:float32[batch,4]"], "raised"),
    (["check", "m:f", "--framework", "torch", "--input", "x:float99[2]"], "unknown dtype"),
    (["check", "m:f", "--framework", "torch", "--input", "x[2,3]"], "expected NAME:DTYPE"),
    (["check", "m.onnx", "--call-arg", "use_cache=false"], "use it with --framework"),
    (["check", "m.onnx", "--dim", "batch"], "NAME=SIZE"),
])
def test_bad_framework_model_input_is_one_line_exit_2(argv, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app_cli(), argv)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and expected in lines[0], result.output


def test_assert_onnx_parity_passes_and_fails(tmp_path):
    path = tmp_path / "chain.onnx"
    onnx.save(chain_model(), str(path))
    assert_onnx_parity(str(path), FEED).passed
    from aibench_onnx.parity.cell import ParityCell
    from aibench_onnx.parity.check import CheckResult
    from aibench_onnx.testing import failure_message

    cell = ParityCell.of_file("cpu", "all", "failed", "y: 3 of 24 elements outside atol",
                              divergence={"found": True, "node": "n13", "op_type": "Mul", "tensor": "t13", "max_abs": 0.5,
                                          "path": ["n0", "n13"]})
    message = failure_message(CheckResult(str(path), {}, "stored", 1, [cell]))
    assert "first diverging node: n13 (Mul)" in message and "n0 -> n13" in message


@pytest.mark.torch
def test_assert_onnx_parity_on_a_torch_model():
    import torch

    class Good(torch.nn.Module):
        def forward(self, x):
            return torch.tanh(x) * 2

    class ExportsDifferently(torch.nn.Module):
        def forward(self, x):  # a planted export-only difference
            return x * (3.0 if torch.compiler.is_exporting() else 2.0)

    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    assert_onnx_parity(Good(), {"x": x}, framework="torch")
    with pytest.raises(AssertionError, match="max abs err"):
        assert_onnx_parity(ExportsDifferently(), {"x": x}, framework="torch")


@pytest.mark.torch
def test_check_a_framework_model_through_its_factory(tmp_path, monkeypatch):
    (tmp_path / "my_models.py").write_text(
        "import torch\n\ndef make():\n    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval()\n"
        "\ndef not_a_model():\n    return 42\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app_cli(), ["check", "my_models:make", "--framework", "torch", "--input",
                                       "x:float32[batch,4]", "-o", str(tmp_path / "out"), "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["reference"] == "stored" and document["passed"]
    bad = runner.invoke(app_cli(), ["check", "my_models:not_a_model", "--framework", "torch", "--input", "x:float32[2,4]"])
    assert bad.exit_code == 2 and "not a torch model" in bad.output


def test_real_models_from_the_onnx_package_pass():
    """Models no one in this project wrote: PyTorch-converted operator tests shipped with onnx, in the
    model-zoo layout with stored outputs."""
    root = Path(onnx.__file__).parent / "backend/test/data/pytorch-converted"
    for name in ("test_Conv2d", "test_Conv2d_depthwise_strided", "test_ConvTranspose2d", "test_MaxPool2d",
                 "test_PixelShuffle", "test_Embedding", "test_LogSoftmax"):
        directory = root / name
        sets = sorted(str(p) for p in directory.glob("test_data_set_*"))
        result = check_onnx(str(directory / "model.onnx"), sets)
        assert result.reference == "stored" and result.passed, (name, [c.to_dict() for c in result.cells])


def softmax_opset9_model() -> onnx.ModelProto:
    """Opset-9 Softmax over a 4-D tensor flattens axes 1.. into one (the spec then); onnx's reference evaluator
    normalises over axis 1 alone — here the evaluator is the executor that is wrong, ONNX Runtime is right."""
    graph = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], axis=1, name="softmax")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4, 5])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], ir_version=7)


def test_a_wrong_reference_evaluator_is_named_by_a_third_executor_and_the_node_is_localized(tmp_path):
    path = tmp_path / "softmax9.onnx"
    onnx.save(softmax_opset9_model(), str(path))
    result = check_onnx(str(path), eps=["cpu"], opt_levels=["disabled", "all"])
    assert result.reference == "onnx.reference"
    cells = {cell.opt_level: cell for cell in result.cells}
    assert cells["all"].status == "failed" and cells["all"].adjudication["points_at"] == "reference"
    assert "the evidence points at the reference evaluator" in cells["all"].reason
    assert cells["disabled"].adjudication["third"] is None  # the third executor would be the failing cell itself
    # against the evaluator (the cell at level disabled), the diverging node is the one producing the output
    divergence = cells["disabled"].divergence
    assert divergence["found"] and divergence["node"] == "softmax" and divergence["tensor"] == "y"
    assert "produces graph output y" in divergence["note"]
    # ORT CPU unoptimized failed too, so the optimized cell is not compared with it (they would agree node by
    # node and hide the node): against the same reference it names the same node
    assert cells["all"].divergence["found"] and cells["all"].divergence["node"] == "softmax"
    assert cells["all"].divergence["level_note"] == "the divergence is there already at level disabled"


def test_a_divergence_in_the_node_that_produces_a_graph_output_is_named():
    clean, faulty = chain_model(), chain_model()
    faulty.graph.node[-1].op_type = "Neg"  # only the last node, whose output is the graph output, differs
    found = first_divergence(clean, faulty, FEED, ort_runner("cpu", "disabled"), ort_runner("cpu", "all"))
    assert found.found and found.node == "out" and found.op_type == "Neg" and found.tensor == "y"
    assert found.path[0] == "n0" and found.path[-1] == "out"


def annotated_against_itself(tmp_path, w2_offset: float = 0.0) -> str:
    """x -> MatMul -> Reshape(to its own Shape) -> MatMul, whose value_info declares the reshaped tensor [batch, 6]:
    the inferred shape is unknown there, so ORT takes the annotation and refuses MatMul's dimensions."""
    w1 = numpy_helper.from_array(np.eye(8, dtype=np.float32), "w1")
    w2 = numpy_helper.from_array(np.ones((8, 4), np.float32) + w2_offset, "w2")
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["t0"], name="m1"),
             helper.make_node("Shape", ["t0"], ["s"], name="shape"),
             helper.make_node("Reshape", ["t0", "s"], ["t1"], name="r"),
             helper.make_node("MatMul", ["t1", "w2"], ["y"], name="m2")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])], [w1, w2],
                              value_info=[helper.make_tensor_value_info("t1", TensorProto.FLOAT, ["batch", 6])])
    path = tmp_path / f"annotated{w2_offset}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return str(path)


def test_a_file_refused_for_its_shape_annotations_says_whether_its_values_are_right_without_them(tmp_path):
    """The engine's value_info diagnosis (zoo exports had it; files have it now): ORT refuses the file, runs it once
    more without its annotations and says what the values are then — right: the file cannot run as given (a
    refusal, reproduced as one); wrong too: a failure."""
    from aibench_onnx.status import Status

    x = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    write_test_data_set(tmp_path / "set", {"x": x}, {"y": x @ np.ones((8, 4), np.float32)})
    right = check_onnx(annotated_against_itself(tmp_path), [str(tmp_path / "set")], opt_levels=["all"])
    (cell,) = right.cells
    assert cell.status == Status.CANNOT_RUN and "Incompatible dimensions" in cell.refusal, cell.reason
    assert "with them removed it loads and its outputs match the reference" in cell.reason
    assert cell.outputs and cell.outputs[0].passed and cell.divergence is None  # nothing to localize in a refusal
    wrong = check_onnx(annotated_against_itself(tmp_path, w2_offset=0.5), [str(tmp_path / "set")],
                       opt_levels=["all"])
    (cell,) = wrong.cells
    assert cell.status == Status.FAILED and "its outputs still differ from the reference" in cell.reason
