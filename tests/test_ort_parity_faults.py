"""Planted faults through the parity engine's real worker (export_check: an export's check, as zoo models and
users' models get it) and the comparison engine (no ML framework needed)."""


import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_graphs import linear_graph, save

from aibench_onnx.graph.inspect import inspect_onnx
from aibench_onnx.launch import run_worker
from aibench_onnx.ort.session import EpUnavailable, create_session, feed_for
from aibench_onnx.parity.cell import BLAME_GRAPH, BLAME_OPTIMIZER, ExportParity, ParityCell, assign_blame
from aibench_onnx.parity.export_check import ExportCheckRequest, StoredSet

RNG = np.random.default_rng(0)
W = RNG.standard_normal((6, 4)).astype(np.float32)
B = RNG.standard_normal(4).astype(np.float32)
X = RNG.standard_normal((3, 6)).astype(np.float32)
REFERENCE = {"y": X @ W + B}  # what the "framework" computed


def check_in_worker(tmp_path, onnx_path, levels=("disabled", "all"), ep="cpu") -> dict[str, ParityCell]:
    """The graph checked as an export whose framework computed REFERENCE on X: its cells by level."""
    np.savez(tmp_path / "in.npz", x=X)
    np.savez(tmp_path / "expected.npz", **REFERENCE)
    record = {"status": "ok", "path": onnx_path, "exporter": "planted"}
    request = ExportCheckRequest("m", "", "torch", record, (ep,), tuple(levels), 1,
                                 sets=(StoredSet("seed0", str(tmp_path / "in.npz"), str(tmp_path / "expected.npz")),))
    document = run_worker("export_check", request, 120, tmp_path / "req.json").document
    assert document["status"] == "ok", document
    return {cell.opt_level: cell for cell in ExportParity.from_dict(document["result"]).cells}


def test_faithful_graph_passes_at_both_levels(tmp_path):
    cells = check_in_worker(tmp_path, save(linear_graph(W, B), tmp_path / "m.onnx"))
    for cell in cells.values():
        assert cell.status == "passed" and cell.providers[0] == "CPUExecutionProvider"
        assert cell.outputs[0].passed, cell.outputs[0]


def test_edited_weight_fails_with_numbers_that_match_the_edit(tmp_path):
    edited = W.copy()
    delta = 0.25
    edited[2, 1] += delta  # one weight changed: only output column 1 moves, by x[:, 2] * delta
    cells = check_in_worker(tmp_path, save(linear_graph(edited, B), tmp_path / "m.onnx"))
    row = cells["all"].outputs[0]
    assert not row.passed and cells["all"].status == "failed"
    expected_max = float(np.abs(X[:, 2]).max() * delta)
    assert row.max_abs == pytest.approx(expected_max, rel=1e-4)
    moved = np.abs(X[:, 2] * delta) > 1e-5 + 1e-4 * np.abs(REFERENCE["y"][:, 1])
    assert row.mismatch_fraction == pytest.approx(moved.sum() / REFERENCE["y"].size)


def test_renamed_output_fails_with_a_clear_message(tmp_path):
    cells = check_in_worker(tmp_path, save(linear_graph(W, B, output_name="logits"), tmp_path / "m.onnx"))
    reasons = {row.name: row.reason for row in cells["all"].outputs}
    assert reasons == {"y": "output missing", "logits": "unexpected output"}


def test_reshaped_output_fails_with_a_clear_message(tmp_path):
    model = linear_graph(W, B, output_name="flat")
    model.graph.node.append(helper.make_node("Reshape", ["flat", "shape"], ["y"]))
    model.graph.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), "shape"))
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", TensorProto.FLOAT, [None]))
    cells = check_in_worker(tmp_path, save(model, tmp_path / "m.onnx"))
    row = cells["all"].outputs[0]
    assert not row.passed and row.reason == "shape (12,) != expected (3, 4)"


def test_cuda_request_without_a_usable_cuda_provider_is_unavailable_not_cpu(tmp_path):
    from aibench_onnx.ort.probe import probe

    cuda_loads = any(p["provider"] == "CUDAExecutionProvider" and p["loads"] for p in probe().get("providers", []))
    cells = check_in_worker(tmp_path, save(linear_graph(W, B), tmp_path / "m.onnx"), levels=("all",), ep="cuda")
    if cuda_loads:
        assert cells["all"].status == "passed" and cells["all"].providers[0] == "CUDAExecutionProvider"
    else:
        assert cells["all"].status == "ep_unavailable"
        assert cells["all"].reason and cells["all"].outputs == []
        with pytest.raises(EpUnavailable):
            create_session(str(tmp_path / "m.onnx"), "cuda", "all", 1)


def test_integer_feeds_are_cast_only_when_lossless(tmp_path):
    graph = helper.make_graph([helper.make_node("Identity", ["ids"], ["out"])], "ids",
                              [helper.make_tensor_value_info("ids", TensorProto.INT32, ["batch", 3])],
                              [helper.make_tensor_value_info("out", TensorProto.INT32, ["batch", 3])])
    path = save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), tmp_path / "i.onnx")
    session, _ = create_session(path, "cpu", "all", 1)
    feed, casts = feed_for(session, {"ids": np.array([[1, 2, 3]], np.int64)})
    assert feed["ids"].dtype == np.int32 and casts == ["ids: int64 -> int32 (graph declares it)"]
    with pytest.raises(ValueError, match="do not fit"):
        feed_for(session, {"ids": np.array([[2**40, 0, 0]], np.int64)})


def test_blame_separates_optimizer_from_graph():
    def cells(disabled, full):
        return [ParityCell("m", "tiny", "torch", "x", "cpu", "disabled", disabled),
                ParityCell("m", "tiny", "torch", "x", "cpu", "all", full)]

    optimizer = cells("passed", "failed")
    assign_blame(optimizer)
    assert optimizer[1].blame == BLAME_OPTIMIZER and optimizer[0].blame == ""
    graph = cells("failed", "failed")
    assign_blame(graph)
    assert graph[0].blame == graph[1].blame == BLAME_GRAPH
    clean = cells("passed", "passed")
    assign_blame(clean)
    assert clean[1].blame == ""


def test_structural_scan_flags_training_nodes_int64_casts_and_a_fixed_batch(tmp_path):
    nodes = [
        helper.make_node("Dropout", ["x"], ["d"]),
        helper.make_node("Cast", ["d"], ["ints"], to=TensorProto.INT64),
        helper.make_node("Cast", ["ints"], ["floats"], to=TensorProto.FLOAT),
        helper.make_node("BatchNormalization", ["floats", "s", "bias", "m", "v"], ["y"], training_mode=1),
    ]
    c = 4
    inits = [numpy_helper.from_array(np.ones(c, np.float32), name) for name in ("s", "bias", "m", "v")]
    graph = helper.make_graph(nodes, "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, c])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, c])], initializer=inits)
    path = save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], ir_version=8), tmp_path / "b.onnx")
    findings = "\n".join(inspect_onnx(path)["suspicious"])
    assert "Dropout left in the inference graph" in findings
    assert "training mode" in findings
    assert "Cast of a float tensor to int64" in findings
    assert "batch dimension fixed to 2" in findings


def test_clean_graph_has_no_findings_and_a_full_record(tmp_path):
    record = inspect_onnx(save(linear_graph(W, B), tmp_path / "m.onnx"))
    assert record["suspicious"] == [] and record["checker"] == "ok" and record["shape_inference"] == "ok"
    assert record["op_histogram"] == {"MatMul": 1, "Add": 1}
    assert record["param_count"] == W.size + B.size and record["param_bytes"] == 4 * (W.size + B.size)
    assert record["inputs"] == [{"name": "x", "dtype": "float32", "shape": ["batch", 6]}]


def test_graph_with_unknown_op_is_reported_by_the_checker(tmp_path):
    graph = helper.make_graph([helper.make_node("Erfc", ["x"], ["y"])], "erfc",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])])
    path = save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8), tmp_path / "e.onnx")
    assert "No Op registered for Erfc" in inspect_onnx(path)["checker"]
    cells = check_in_worker(tmp_path, path, levels=("all",))
    assert cells["all"].status == "failed" and "cannot load the graph" in cells["all"].reason
