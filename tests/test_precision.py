"""Reduced precision (issue 13, first part): fp16 / int8 variants of exported graphs, judged against fp32 with
metrics that fit the precision, and where their error enters — on planted faults whose place we know."""

import json

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.parity.engine import compare_output, sqnr_db, top_k_agreement
from aibench_onnx.parity.precision import judge
from aibench_onnx.zoo.precision import JUDGEMENTS
from aibench_onnx.zoo.spec import Tolerance

runner = CliRunner()


def save_graph(path, nodes, inputs, outputs, initializers):
    import onnx

    graph = helper.make_graph(nodes, "g", inputs, outputs, [numpy_helper.from_array(v, k) for k, v in initializers.items()])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8), str(path))
    return str(path)


def two_matmuls(path, scale: float):
    """x (batch, 4) -> MatMul(W1) -> Relu -> MatMul(W2) -> y: with `scale` 300 the second product passes fp16's
    largest value (65504) although every weight fits."""
    rng = np.random.default_rng(0)
    weights = {"w1": (np.abs(rng.standard_normal((4, 8))) * scale).astype(np.float32),
               "w2": (np.abs(rng.standard_normal((8, 3))) * scale).astype(np.float32)}
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="first_matmul"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "w2"], ["y"], name="second_matmul")]
    return save_graph(path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])], weights)


def judged(expected, actual, precision, statistic=None):
    judgement = JUDGEMENTS[precision] if statistic is None else JUDGEMENTS[precision].using(statistic)
    return judge(compare_output("y", expected, actual, Tolerance(judgement.rtol, judgement.atol, "")), judgement)


def test_precision_metrics():
    reference = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    assert sqnr_db(reference, reference) is None  # identical: infinite, which JSON cannot say
    assert sqnr_db(reference, reference * 1.1) == pytest.approx(20.0)  # noise 10 % of the signal
    assert top_k_agreement(reference, reference[:, ::-1]) == (0.0, None)  # 3 classes: no top-5
    wide = np.arange(20.0).reshape(2, 10)
    shuffled = wide.copy()
    shuffled[0, [9, 8]] = shuffled[0, [8, 9]]  # row 0's top class drops to second place
    assert top_k_agreement(wide, shuffled) == (0.5, 1.0)


def test_each_precision_judges_with_its_own_statistic():
    rng = np.random.default_rng(0)
    reference = rng.standard_normal((4, 64))
    fp16_noise = reference + rng.normal(0, 2e-3, reference.shape)
    fp16_noise[0, 0] += 0.05  # one element beyond the band: fp16's p99 statistic forgives it, fp32's max would not
    assert judged(reference, fp16_noise, "fp16").passed
    overflowed = fp16_noise.copy()
    overflowed[1, 3] = np.inf
    row = judged(reference, overflowed, "fp16")
    assert not row.passed and "NaN/Inf in different places" in row.reason
    int8_noise = reference + rng.normal(0, 0.05, reference.shape)  # ~26 dB
    assert judged(reference, int8_noise, "int8-static").passed
    row = judged(reference, reference * 0.3, "int8-static")  # a wrong scale: direction kept, magnitude lost
    assert not row.passed and "SQNR" in row.reason and JUDGEMENTS["int8-static"].statistic == "signal"


def test_a_verdict_statistic_can_be_chosen_per_output():
    """Polygraphy's --check-error-stat: the fp16 outlier p99 forgives fails under max; a mean statistic forgives
    it too but not an error spread over every element; any other word is refused."""
    from aibench_onnx.zoo.precision import judgements_per_output

    rng = np.random.default_rng(0)
    reference = rng.standard_normal((4, 64))
    outlier = reference + rng.normal(0, 2e-3, reference.shape)
    outlier[0, 0] += 0.5
    assert judged(reference, outlier, "fp16").passed
    row = judged(reference, outlier, "fp16", "max")
    assert not row.passed and "outside" in row.reason and row.tolerance_reason.startswith("max:")
    assert judged(reference, outlier, "fp16", "mean").passed
    spread = reference * 1.03  # every element 3 % off: mean error ~2.4e-2 > 1e-2 + 1e-2·mean|ref|
    row = judged(reference, spread, "fp16", "mean")
    assert not row.passed and "mean abs error" in row.reason
    assert not judged(reference, spread, "fp16", "p50").passed and judged(reference, spread, "fp16", "signal").passed
    judgement_for = judgements_per_output("fp16", {"logits": "max", "": "median"})
    assert (judgement_for("logits").statistic, judgement_for("hidden").statistic) == ("max", "p50")
    with pytest.raises(ValueError, match="unknown error statistic"):
        JUDGEMENTS["fp16"].using("p0")


def test_bf16_variant_computes_the_model_where_kernels_exist_and_says_where_they_do_not(tmp_path):
    """bf16 keeps fp32's range: weights of 300 that fp16 would carry to Inf products stay finite. ONNX Runtime's
    CPU provider has no bf16 MatMul, so the cell is 'unavailable' with that reason (exit 3), while onnx's
    reference evaluator (bf16 arithmetic) shows the graph computes the model; Conv has no bf16 schema before
    opset 22 and stays fp32."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    from aibench_onnx.artifacts.variants import build_variant

    path = two_matmuls(tmp_path / "model.onnx", scale=300.0)
    record = build_variant(path, "bf16", [], str(tmp_path / "variants"))
    assert record["status"] == "ok" and record["bf16_initializers"] == 2 and not record["weights_clamped"]
    x = {"x": np.abs(np.random.default_rng(1).standard_normal((2, 4))).astype(np.float32)}
    (expected,), (actual,) = ReferenceEvaluator(path).run(None, x), ReferenceEvaluator(record["path"]).run(None, x)
    assert np.isfinite(actual).all() and judged(expected, actual, "bf16").passed
    result = runner.invoke(app, ["check", path, "--dim", "batch=2", "--precision", "bf16", "--opt-level", "all",
                                 "-o", str(tmp_path / "out"), "--json", str(tmp_path / "c.json")])
    assert result.exit_code == 3, result.output
    (cell,) = json.loads((tmp_path / "c.json").read_text())["cells"]
    assert cell["status"] == "unavailable" and "cpu provider has no bf16 kernel for MatMul" in cell["reason"]

    conv = save_graph(tmp_path / "conv.onnx", [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 3, 3])],
                      {"w": np.ones((3, 2, 3, 3), np.float32)})
    record = build_variant(conv, "bf16", [], str(tmp_path / "variants"))
    assert record["nodes_kept_fp32"] == {"Conv": 1}
    # the converter left the output, made by the fp32 Conv, declared bf16 behind a Cast: restored to float
    assert record["output_types_restored"] == ["y"]
    converted = onnx.load(record["path"])
    assert converted.graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT
    onnx.checker.check_model(converted, full_check=True)


def function_graph(path) -> str:
    """A jax2onnx-shaped graph: the whole computation inside a local function (one per Flax module), its weight
    a Constant node there, the function's domain declared version 1 in the model and 18 inside it."""
    import onnx

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), "w")
    body = [helper.make_node("Constant", [], ["w"], value=weight), helper.make_node("MatMul", ["x", "w"], ["h"]),
            helper.make_node("Tanh", ["h"], ["y"])]
    function = helper.make_function("custom.Dense.1", "Dense", ["x"], ["y"], body,
                                    [helper.make_opsetid("", 18), helper.make_opsetid("custom.Dense.1", 18)])
    graph = helper.make_graph([helper.make_node("Dense", ["x"], ["y"], domain="custom.Dense.1", name="Dense_1")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])])
    model = helper.make_model(graph, functions=[function], ir_version=8,
                              opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("custom.Dense.1", 1)])
    onnx.save(model, str(path))
    return str(path)


def test_a_graph_made_of_local_functions_is_converted_and_quantized_inside_them(tmp_path):
    """Without inlining, the fp16 converter declared the function call's output fp16 while the call still
    produced float (ORT refused the graph: jax2onnx's GPT example), and the quantizer found no weight."""
    import onnxruntime as ort

    from aibench_onnx.artifacts.variants import build_variant

    path = function_graph(tmp_path / "model.onnx")
    x = {"x": np.random.default_rng(1).standard_normal((4, 16)).astype(np.float32)}
    (expected,) = ort.InferenceSession(path).run(None, x)
    fp16 = build_variant(path, "fp16", [], str(tmp_path / "variants"))
    assert fp16["functions_inlined"] == 1 and fp16["fp16_initializers"] + fp16["casts_inserted"] > 0
    (actual,) = ort.InferenceSession(fp16["path"]).run(None, x)
    assert judged(expected, actual, "fp16").passed
    int8 = build_variant(path, "int8-dynamic", [], str(tmp_path / "variants"))
    # as the quantizer saw it: inlined, the Constant an initializer (MatMul, Tanh)
    assert int8["quantization_nodes"].get("MatMulInteger") == 1 and int8["nodes"]["before"] == 2


def test_the_frameworks_own_bf16_run_is_the_inherent_error_of_a_zoo_model(tmp_path):
    result = runner.invoke(app, ["parity", "mlp", "-f", "torch", "--size", "tiny", "--seeds", "1", "--opt-level", "all",
                                 "--precision", "bf16", "-o", str(tmp_path / "out"), "--json", str(tmp_path / "p.json")])
    assert result.exit_code == 3, result.output
    (cell,) = json.loads((tmp_path / "p.json").read_text())["results"][0]["cells"]
    assert cell["status"] == "unavailable" and "no bf16 kernel" in cell["reason"]
    # torch's own .bfloat16() run: 8 significant bits, ~18 dB below what fp16 gives (~59 dB here)
    assert cell["inherent"]["status"] == "passed" and 25 < cell["inherent"]["sqnr_db"] < 55


def test_a_planted_fp16_overflow_is_localized_to_its_node(tmp_path):
    """The second MatMul's products pass 65504. ONNX Runtime's CPU provider computes fp16 MatMul in fp32 (no
    overflow there: the CPU hides it); fp16 arithmetic as a GPU does it (onnx's reference evaluator, numpy
    float16) overflows, and the localizer names the node."""
    import onnx

    from aibench_onnx.artifacts.fp16 import convert_to_fp16
    from aibench_onnx.ort.session import ort_runner
    from aibench_onnx.parity.localize import reference_evaluator_runner
    from aibench_onnx.parity.precision_profile import error_profile

    source = two_matmuls(tmp_path / "m.onnx", scale=300.0)
    record = convert_to_fp16(source, tmp_path / "m.fp16.onnx")
    assert record["fp16_initializers"] == 2 and not record["weights_clamped"]
    feed = {"x": np.full((2, 4), 3.0, np.float32)}
    on_cpu = ort_runner("cpu", "disabled")(record["path"], feed, ["y"])["y"]
    assert np.isfinite(on_cpu).all() and on_cpu.max() > 65504  # fp32 arithmetic inside ORT's CPU provider
    profile = error_profile(onnx.load(source), onnx.load(record["path"]), feed, ort_runner("cpu", "disabled"),
                            reference_evaluator_runner(), JUDGEMENTS["fp16"].min_sqnr_db)
    found = profile["first_nonfinite"]
    assert found["node"] == "second_matmul" and found["new_nonfinite"] > 0
    assert found["carried_by"] == "second_matmul_cast_to_y"  # the converter's Cast back to the fp32 output
    assert found["path"] == ["x_cast_to_first_matmul", "first_matmul", "relu", "second_matmul"]
    assert profile["max_extra_outputs"] <= 32


def test_a_planted_bad_quantization_scale_is_caught_and_localized(tmp_path):
    import onnx

    from aibench_onnx.ort.quantize import quantize_int8_static
    from aibench_onnx.ort.session import ort_runner
    from aibench_onnx.parity.precision_profile import error_profile

    source = two_matmuls(tmp_path / "m.onnx", scale=0.5)
    calibration = [{"x": np.random.default_rng(100 + i).standard_normal((2, 4)).astype(np.float32)} for i in range(4)]
    record = quantize_int8_static(source, tmp_path / "m.int8.onnx", calibration)
    assert record["status"] == "ok" and record["quantization_nodes"].get("DequantizeLinear")
    model = onnx.load(record["path"])
    # Plant: the scale that dequantizes the first MatMul's weights, 8x too large.
    dequantize = next(n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[0].startswith("w1"))
    scale = next(t for t in model.graph.initializer if t.name == dequantize.input[1])
    scale.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(scale) * 8, scale.name))
    onnx.save(model, str(tmp_path / "planted.onnx"))

    feed = {"x": np.random.default_rng(7).standard_normal((2, 4)).astype(np.float32)}
    expected = ort_runner("cpu", "disabled")(source, feed, ["y"])["y"]
    good = ort_runner("cpu", "all")(record["path"], feed, ["y"])["y"]
    bad = ort_runner("cpu", "all")(str(tmp_path / "planted.onnx"), feed, ["y"])["y"]
    assert judged(expected, good, "int8-static").passed
    row = judged(expected, bad, "int8-static")
    assert not row.passed and "SQNR" in row.reason
    profile = error_profile(onnx.load(source), onnx.load(str(tmp_path / "planted.onnx")), feed,
                            ort_runner("cpu", "disabled"), ort_runner("cpu", "disabled"),
                            JUDGEMENTS["int8-static"].min_sqnr_db)
    assert profile["first_below"]["node"] == "first_matmul" and profile["first_nonfinite"] is None
    assert profile["worst"][0]["sqnr_db"] < JUDGEMENTS["int8-static"].min_sqnr_db


def test_int8_static_calibration_is_deterministic(tmp_path):
    from aibench_onnx.ort.quantize import quantize_int8_static

    source = two_matmuls(tmp_path / "m.onnx", scale=0.5)

    def calibration():
        return [{"x": np.random.default_rng(100 + i).standard_normal((2, 4)).astype(np.float32)} for i in range(4)]

    first = quantize_int8_static(source, tmp_path / "a.onnx", calibration())
    second = quantize_int8_static(source, tmp_path / "b.onnx", calibration())
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()
    assert first["calibration_sets"] == second["calibration_sets"] == 4


@pytest.mark.torch
def test_parity_judges_every_precision_variant_of_a_zoo_export(tmp_path):
    result = runner.invoke(app, ["parity", "cnn", "-f", "torch", "--size", "tiny", "--seeds", "1", "--opt-level", "all",
                                 "--precision", "fp32,fp16,int8-dynamic,int8-static", "-o", str(tmp_path / "out"),
                                 "--json", str(tmp_path / "p.json")])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "p.json").read_text())
    (model,) = document["results"]
    assert [c["precision"] for c in model["cells"]] == ["fp32", "fp16", "int8-dynamic", "int8-static"]
    assert all(c["status"] == "passed" for c in model["cells"])
    assert set(model["variants"]) == {"fp16", "int8-dynamic", "int8-static"}
    assert model["variants"]["int8-static"]["calibration_sets"] == 8
    assert model["variants"]["fp16"]["bytes"] < model["variants"]["fp16"]["fp32_bytes"]
    fp16 = model["cells"][1]["outputs"][0]
    assert fp16["sqnr_db"] > 30 and fp16["cosine"] > 0.999 and "p99" in fp16["tolerance_reason"]
    inherent = model["cells"][1]["inherent"]  # torch's own .half() run against its fp32 run
    assert inherent["status"] == "passed" and inherent["sqnr_db"] > 30 and inherent["mean_abs"] > 0
    assert model["cells"][2]["inherent"] is None  # int8: no framework counterpart
    assert "Reduced precision vs the fp32 native outputs" in result.output
    # ORT's CPU provider has no fp16 kernels for these: it computes them on fp32 inputs, and says so
    assert set(model["cells"][1]["audit"]["compute_types"]) == {"float"}
    assert "ORT computed all" in result.output
    bad = runner.invoke(app, ["parity", "cnn", "--precision", "fp8"])
    assert bad.exit_code == 2 and "precision" in bad.output


def test_precision_variants_are_ort_configurations_with_their_own_labels():
    from aibench_onnx.timing.configs import plan

    labels = [c.label for c in plan(["torch"], ["torch-eager", "ort"], ["cpu"], ["all"], [True], (False,),
                                    ("fp32", "fp16", "int8-static"))]
    assert labels == ["torch-eager", "ort:torch-graph:cpu:all", "ort:torch-graph:cpu:all:fp16",
                      "ort:torch-graph:cpu:all:int8-static"]


@pytest.mark.torch
def test_bench_times_each_variant_and_reports_the_precision_effect(tmp_path):
    result = runner.invoke(app, ["bench", "mlp", "-f", "torch", "--size", "tiny", "--runtime", "ort", "--opt-level",
                                 "all", "--precision", "fp32,fp16,int8-dynamic,int8-static", "--batch", "1,4",
                                 "--repeats", "2", "--min-time", "0.02",
                                 "-o", str(tmp_path / "bench"), "--json", str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    (bench,) = json.loads((tmp_path / "b.json").read_text())["results"]
    assert {r["config"]["label"]: r["status"] for r in bench["results"]} == {
        "ort:torch-graph:cpu:all": "ok", "ort:torch-graph:cpu:all:fp16": "ok",
        "ort:torch-graph:cpu:all:int8-dynamic": "ok", "ort:torch-graph:cpu:all:int8-static": "ok"}
    precision = [(e["batch"], e["candidate"]) for e in bench["effects"] if e["kind"] == "precision"]
    assert sorted(precision) == sorted((b, f"ort:torch-graph:cpu:all:{p}") for b in (1, 4)
                                       for p in ("fp16", "int8-dynamic", "int8-static"))
    assert {"torch/fp16", "torch/int8-static"} <= set(bench["exports"])
    assert bench["exports"]["torch/int8-static"]["calibration_sets"] == 8
    assert "precision" in result.output
    refused = runner.invoke(app, ["bench", "mlp", "--runtime", "torch-eager", "--precision", "fp16"])
    assert refused.exit_code == 2 and "add ort to --runtime" in refused.output


@pytest.mark.torch
def test_a_run_judges_and_times_the_variants_and_reports_the_precision_effect(tmp_path):
    result = runner.invoke(app, ["run", "--quick", "--models", "mlp", "-f", "torch", "--precision", "fp32,int8-dynamic",
                                 "--batch", "1", "--repeats", "1", "-o", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    parity = next(r for r in records if r["kind"] == "parity")
    assert [c["precision"] for c in parity["result"]["cells"]] == ["fp32", "int8-dynamic"]
    timed = {r["result"]["config"]["label"] for r in records if r["kind"] == "bench" and r["status"] == "ok"}
    assert {"ort:torch-graph:cpu:all", "ort:torch-graph:cpu:all:int8-dynamic"} <= timed
    report = runner.invoke(app, ["report", str(run_dir), "--format", "markdown"])
    assert report.exit_code == 0 and "precision" in report.output and "int8-dynamic" in report.output
    # the variant's cell has its own table and its own key: it never passes for the export's
    assert "Reduced precision vs the fp32 native outputs" in report.output
    from aibench_onnx.report.html_report import render_html
    from aibench_onnx.runs.compare import load_side
    from aibench_onnx.runs.report import build_report

    assert {key[-1] for key in load_side(str(run_dir)).parity} == {"fp32", "int8-dynamic"}
    assert "Reduced precision vs the fp32 native outputs" in render_html(build_report(run_dir))
