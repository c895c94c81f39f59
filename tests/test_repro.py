"""Reproductions (parity/repro/): planted defects reduced to their smallest subgraph, written as a bundle whose
repro.py runs without aibench in a fresh process — exit 1 while it reproduces, 0 against a corrected subgraph."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.ort.session import ort_runner
from aibench_onnx.parity.check import check_onnx
from aibench_onnx.parity.localize import first_divergence
from aibench_onnx.parity.repro.bundle import Target, bundle, tracker
from aibench_onnx.parity.repro.reduce import ddmin, reduce_divergence, reduce_refusal
from aibench_onnx.parity.repro.subgraph import extract
from aibench_onnx.runtimes import REFERENCE
from aibench_onnx.status import Status
from aibench_onnx.zoo.tolerance import Tolerance

runner = CliRunner()
FLOAT32 = Tolerance(1e-4, 1e-5)
LONG = 240  # nodes in the long planted graph
WRONG_AT = 229  # near the end: Tanh contracts a perturbation over many layers, and bisection assumes it persists


def run_fresh(directory: Path) -> subprocess.CompletedProcess:
    """repro.py as a maintainer runs it: a fresh interpreter, isolated, where aibench cannot be imported."""
    guard = ("import runpy, sys; sys.modules['aibench_onnx'] = None; sys.argv = ['repro.py']; "
             "runpy.run_path('repro.py', run_name='__main__')")
    return subprocess.run([sys.executable, "-I", "-c", guard], cwd=directory, capture_output=True, text=True,
                          timeout=120)


def long_chain(wrong: bool) -> onnx.ModelProto:
    """x [2, 16] through LONG nodes (Mul, Add, Tanh repeating); `wrong` edits one weight of node WRONG_AT."""
    rng = np.random.default_rng(0)
    nodes, inits, previous = [], [], "x"
    for i in range(LONG):
        kind = ("Mul", "Add", "Tanh")[i % 3]
        if kind == "Tanh":
            nodes.append(helper.make_node("Tanh", [previous], [f"t{i}"], name=f"n{i}"))
        else:
            value = rng.uniform(0.5, 1.5, 16).astype(np.float32)
            if wrong and i == WRONG_AT:
                value[5] += 0.25
            inits.append(numpy_helper.from_array(value, f"c{i}"))
            nodes.append(helper.make_node(kind, [previous, f"c{i}"], [f"t{i}"], name=f"n{i}"))
        previous = f"t{i}"
    nodes.append(helper.make_node("Identity", [previous], ["y"], name="out"))
    graph = helper.make_graph(nodes, "long", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 16])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


FEED = {"x": np.random.default_rng(1).standard_normal((2, 16)).astype(np.float32)}


def test_ddmin_finds_a_one_minimal_subset():
    needed = {3, 11}
    found = ddmin(list(range(20)), lambda subset: needed <= set(subset))
    assert set(found) == needed
    assert ddmin([1, 2, 3], lambda subset: True) == []


def test_a_long_graph_with_one_wrong_node_reduces_to_that_node_and_its_repro_runs_without_aibench(tmp_path):
    clean, wrong = long_chain(False), long_chain(True)
    reference, target = ort_runner("cpu", "disabled"), ort_runner("cpu", "disabled")
    found = first_divergence(clean, wrong, FEED, reference, target)
    assert found.found and found.node == f"n{WRONG_AT}"
    reduction = reduce_divergence(clean, wrong, FEED, reference, target, WRONG_AT, found.tensor, FLOAT32)
    assert reduction.reproduces and reduction.node_names == [f"n{WRONG_AT}"] and reduction.full_nodes == LONG + 1
    assert set(reduction.inputs) == {f"t{WRONG_AT - 1}"}  # fed with the reference's own value of its input
    made = bundle(tmp_path / "b", reduction, Target(level="disabled"), FLOAT32,
                  tracker("onnxruntime", "planted"), "a planted weight", ["a test"])
    assert made.reproduced and made.exit_code == 1 and made.bundle_nodes == 1 and made.full_nodes == LONG + 1
    assert made.bytes < 20_000 and "REPRODUCES" in made.said
    script = (tmp_path / "b" / "repro.py").read_text()
    assert "aibench" not in script and str(tmp_path) not in (tmp_path / "b" / "README.md").read_text()
    # the same node from the clean graph: the "fixed" runtime computes the expected value
    onnx.save(extract(clean, reduction.nodes, [found.tensor], reduction.inputs), str(tmp_path / "b" / "model.onnx"))
    fixed = run_fresh(tmp_path / "b")
    assert fixed.returncode == 0 and "FIXED" in fixed.stdout, fixed.stdout + fixed.stderr


def matmul_divided(length: int = 12) -> onnx.ModelProto:
    """x -> (Relu, Add) ... -> MatMul(W) -> Div(3) -> (Relu, Add) ...: ORT at level all folds the Div by a
    constant into the MatMul (MatMulScaleFusion), which rounds differently from dividing afterwards; neither
    node alone differs."""
    rng = np.random.default_rng(3)
    nodes, inits, previous = [], [numpy_helper.from_array(rng.standard_normal((64, 64)).astype(np.float32), "W"),
                                  numpy_helper.from_array(np.array(3.0, np.float32), "three")], "x"
    for i in range(length):
        if i == length // 2:
            nodes += [helper.make_node("MatMul", [previous, "W"], ["mm"], name="matmul"),
                      helper.make_node("Div", ["mm", "three"], ["scaled"], name="divide")]
            previous = "scaled"
        inits.append(numpy_helper.from_array(rng.uniform(-0.1, 0.1, 64).astype(np.float32), f"b{i}"))
        nodes += [helper.make_node("Relu", [previous], [f"r{i}"], name=f"relu{i}"),
                  helper.make_node("Add", [f"r{i}", f"b{i}"], [f"a{i}"], name=f"add{i}")]
        previous = f"a{i}"
    graph = helper.make_graph(nodes, "scaled", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 64])],
                              [helper.make_tensor_value_info(previous, TensorProto.FLOAT, [8, 64])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_an_optimizer_effect_that_needs_its_neighbour_grows_to_both_nodes(tmp_path):
    model = matmul_divided()
    feed = {"x": np.random.default_rng(4).standard_normal((8, 64)).astype(np.float32)}
    exact = Tolerance(0.0, 0.0, "bit for bit: the fusion's rounding is the planted effect")
    divide = [n.name for n in model.graph.node].index("divide")
    reduction = reduce_divergence(model, model, feed, ort_runner("cpu", "disabled"), ort_runner("cpu", "all"),
                                  divide, "scaled", exact)
    assert reduction.reproduces, reduction.note
    assert reduction.node_names == ["matmul", "divide"]  # the Div alone computes the same bits
    assert reduction.tries >= 2
    made = bundle(tmp_path / "b", reduction, Target(level="all"), exact, tracker("onnxruntime", "fusion"),
                  "MatMul + Div folded", ["a test"])
    assert made.reproduced, made.said
    script = tmp_path / "b" / "repro.py"
    script.write_text(script.read_text().replace("LEVEL = 'all'", "LEVEL = 'disabled'"))  # no fusion: fixed
    fixed = run_fresh(tmp_path / "b")
    assert fixed.returncode == 0 and "FIXED" in fixed.stdout, fixed.stdout + fixed.stderr


def softmax_opset9(tmp_path: Path) -> Path:
    """An opset-9 Softmax over a 4-D tensor between Relus: ONNX Runtime follows the spec (the input coerced to
    2-D at the axis), onnx's reference evaluator normalizes over the axis alone — a runtime/reference
    disagreement, 1 of 7 nodes."""
    nodes = [helper.make_node("Relu", ["x"], ["r0"], name="relu0"),
             helper.make_node("Relu", ["r0"], ["r1"], name="relu1"),
             helper.make_node("Relu", ["r1"], ["r2"], name="relu2"),
             helper.make_node("Softmax", ["r2"], ["s"], name="softmax", axis=1),
             helper.make_node("Relu", ["s"], ["r3"], name="relu3"),
             helper.make_node("Relu", ["r3"], ["r4"], name="relu4"),
             helper.make_node("Identity", ["r4"], ["y"], name="out")]
    graph = helper.make_graph(nodes, "sm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4, 5])])
    path = tmp_path / "softmax9.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], ir_version=7), str(path))
    return path


def test_a_runtime_reference_disagreement_through_check_and_its_cli(tmp_path):
    path = softmax_opset9(tmp_path)
    result = check_onnx(str(path), opt_levels=["disabled", "all"], repro_dir=str(tmp_path / "repros"))
    by_level = {cell.opt_level: cell for cell in result.cells}
    assert result.reference == "onnx.reference" and not result.passed
    repro = by_level["all"].repro
    assert repro["reproduced"] and repro["bundle_nodes"] == 1 and repro["nodes"] == ["softmax"]
    assert repro["tracker"]["project"].startswith("onnx")  # ORT unoptimized backs ORT: the evaluator is the odd one
    directory = Path(repro["directory"])
    assert directory.parent == tmp_path / "repros" and run_fresh(directory).returncode == 1
    readme = (directory / "README.md").read_text()
    assert "onnx/onnx/issues" in readme and "`softmax` (Softmax)" in readme and str(tmp_path) not in readme
    # corrected: the subgraph at opset 13, where Softmax normalizes over the axis alone, as the evaluator did
    fixed = onnx.load(str(directory / "model.onnx"))
    fixed.opset_import[0].version = 13
    onnx.save(fixed, str(directory / "model.onnx"))
    assert run_fresh(directory).returncode == 0
    # the command: the bundle in the table and in the JSON
    cli = runner.invoke(app, ["check", str(path), "--repro", str(tmp_path / "cli"), "--json", str(tmp_path / "c.json")])
    assert cli.exit_code == 1, cli.output
    cells = json.loads((tmp_path / "c.json").read_text())["cells"]
    assert all(cell["repro"]["reproduced"] for cell in cells) and "reproduces in a fresh process" in cli.output


def contradicted_value_info(tmp_path: Path) -> Path:
    """A 30-node chain whose value_info declares one intermediate int64 where its node makes float: ORT refuses
    the whole graph (jax2onnx wrote such files)."""
    nodes = [helper.make_node("Relu" if i % 2 else "Neg", [f"t{i - 1}" if i else "x"], [f"t{i}"], name=f"n{i}")
             for i in range(30)]
    graph = helper.make_graph(nodes, "vi", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("t29", TensorProto.FLOAT, [4])],
                              value_info=[helper.make_tensor_value_info("t17", TensorProto.INT64, [4])])
    path = tmp_path / "refused.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    model.producer_name = "jax2onnx"
    onnx.save(model, str(path))
    return path


def test_a_graph_ort_refuses_reduces_to_the_node_it_refuses(tmp_path):
    path = contradicted_value_info(tmp_path)
    result = check_onnx(str(path), opt_levels=["all"], repro_dir=str(tmp_path / "repros"))
    (cell,) = [c for c in result.cells if c.runtime == REFERENCE]
    assert cell.status == Status.CANNOT_RUN
    repro = cell.repro
    assert repro["reproduced"] and repro["kind"] == "refusal" and repro["bundle_nodes"] <= 2, repro
    assert "n17" in repro["nodes"] and repro["tracker"]["project"] == "jax2onnx"  # the checker rejects it too
    directory = Path(repro["directory"])
    assert run_fresh(directory).returncode == 1
    fixed = onnx.load(str(directory / "model.onnx"))
    for value in [*fixed.graph.value_info, *fixed.graph.output]:
        if value.name == "t17":
            value.type.tensor_type.elem_type = TensorProto.FLOAT
    onnx.save(fixed, str(directory / "model.onnx"))
    assert run_fresh(directory).returncode == 0


@pytest.mark.torch
def test_a_zoo_exports_failing_cells_are_localized_and_a_refused_graph_is_reproduced(tmp_path):
    """`parity --repro`'s path for a zoo model (parity/zoo_localize.py), through the real workers: the torch
    mlp's export given a value_info that contradicts its graph (what jax2onnx wrote) is refused by ORT and reduced
    to the node it refuses; with one weight edited instead, ORT agrees with itself node by node — an export
    difference, said, with no subgraph to bundle."""
    from aibench_onnx.artifacts.native import NativeBatch
    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.launch import run_worker
    from aibench_onnx.parity.zoo import finish_parity, prepare_parity
    from aibench_onnx.zoo.registry import get_spec

    job = prepare_parity(get_spec("mlp"), "tiny", "torch", ["cpu"], ["disabled", "all"], 1, 1, tmp_path / "out",
                         DEFAULT_OPSET, repro_dir=tmp_path / "repros")
    native = run_worker("native", NativeBatch([job.native_request]), 300).document["documents"][0]
    exported = onnx.load(native["export"]["path"])

    def checked_with(model: onnx.ModelProto, name: str) -> dict:
        path = Path(native["export"]["path"]).with_name(name)
        onnx.save(model, str(path))
        result = finish_parity(job, {**native, "export": {**native["export"], "path": str(path)}})
        return {cell.opt_level: cell for cell in result.cells}

    refused = onnx.ModelProto.FromString(exported.SerializeToString())
    middle = refused.graph.node[len(refused.graph.node) // 2]
    kept = [v for v in refused.graph.value_info if v.name != middle.output[0]]
    del refused.graph.value_info[:]
    refused.graph.value_info.extend([*kept, helper.make_tensor_value_info(middle.output[0], TensorProto.INT64, None)])
    cells = checked_with(refused, "refused.onnx")
    assert {cell.status for cell in cells.values()} == {Status.FAILED}
    repro = cells["all"].repro
    assert repro["reproduced"] and repro["kind"] == "refusal" and repro["bundle_nodes"] <= 2, repro
    assert middle.name in repro["nodes"] and repro["full_nodes"] == len(exported.graph.node)
    directory = Path(repro["directory"])
    assert directory.parent == tmp_path / "repros" / "mlp" / "torch" and run_fresh(directory).returncode == 1

    edited = onnx.ModelProto.FromString(exported.SerializeToString())
    weight = next(i for i in edited.graph.initializer if len(i.dims) == 2)
    values = numpy_helper.to_array(weight).copy()
    values[0, 0] += 2.0
    weight.CopyFrom(numpy_helper.from_array(values, weight.name))
    cells = checked_with(edited, "edited.onnx")
    for cell in cells.values():
        assert cell.status == Status.FAILED and not cell.divergence["found"], cell.divergence
        assert "export difference" in cell.divergence["note"] and not cell.repro["reproduced"]
        assert "no node was localized" in cell.repro["note"]


@pytest.mark.torch
def test_generate_repro_reproduces_a_refused_decoder_and_says_a_cache_fault_is_the_exports(tmp_path):
    """`generate --repro`'s path (generation/run.py): the tiny torch decoder's export with a contradicting value_info
    is refused by ORT — reduced on the prefill step to the node it refuses; with its cache ignored (a planted
    export fault), the first decode step fails and ORT agrees with itself node by node: said, not bundled."""
    import torch

    from aibench_onnx.artifacts.export import export_model
    from aibench_onnx.generation.run import GenerationSettings, check_generation
    from aibench_onnx.subjects import Subject
    from aibench_onnx.zoo.registry import builder, get_spec

    spec = get_spec("decoder")

    def exported(name: str, plant=None) -> dict:
        model = builder("decoder", "torch")(spec.make_params("tiny"), spec.sizes["tiny"])
        if plant is not None:
            plant(model)
        example = spec.make_inputs("tiny", 2, seed=0)
        return export_model(model, spec, "tiny", "torch", list(example.values()), tmp_path / name / "model.onnx", 18,
                            dynamic=spec.dynamic_axes())

    def ignore_cache(model):  # attention over the new tokens only: the cache silently unused
        attention = type(model.blocks[0].attn)
        original = attention.forward

        def forward(self, x, cos, sin, allowed, past_key, past_value):
            out, key, value = original(self, x, cos, sin, allowed[..., past_key.shape[2]:], past_key[:, :, :0],
                                       past_value[:, :, :0])
            return out, torch.cat([past_key, key], dim=2), torch.cat([past_value, value], dim=2)

        for block in model.blocks:
            block.attn.forward = forward.__get__(block.attn)

    settings = GenerationSettings(2, 6, 4, 0, ("cpu",), ("all",), 1, 18, str(tmp_path / "repros"))
    refused = exported("refused")
    graph = onnx.load(refused["path"])
    middle = graph.graph.node[len(graph.graph.node) // 2]
    del graph.graph.value_info[:]
    graph.graph.value_info.append(helper.make_tensor_value_info(middle.output[0], TensorProto.INT64, None))
    onnx.save(graph, refused["path"])
    result = check_generation(Subject.of_zoo("decoder", "tiny"), "torch", settings, tmp_path / "out", refused)
    (check,) = result.checks
    assert check.status == Status.FAILED and "cannot load" in check.reason
    assert check.repro["reproduced"] and check.repro["kind"] == "refusal" and check.repro["bundle_nodes"] <= 2
    assert middle.name in check.repro["nodes"]
    directory = Path(check.repro["directory"])
    assert directory.parent == tmp_path / "repros" / "decoder" / "torch" / "prefill"
    assert run_fresh(directory).returncode == 1

    settings = GenerationSettings(2, 6, 4, 0, ("cpu",), ("all",), 1, 18, str(tmp_path / "repros2"))
    result = check_generation(Subject.of_zoo("decoder", "tiny"), "torch", settings, tmp_path / "out2",
                              exported("cache", ignore_cache))
    (check,) = result.checks
    assert not check.passed and check.prefill.passed and not check.decode.passed
    assert not check.divergence["found"] and "export difference" in check.divergence["note"]
    assert not check.repro["reproduced"] and "no node was localized" in check.repro["note"]


def test_reduce_refusal_says_when_the_graph_loads():
    model = long_chain(False)

    def never(path):
        return None

    found = reduce_refusal(model, never)
    assert not found.reproduces and "loads" in found.note


@pytest.mark.parametrize("level", ["all"])
def test_a_divergence_that_no_small_subgraph_shows_is_said_not_bundled(level):
    """The wrong node's difference is under tolerance alone: nothing reproduces, and the reduction says so."""
    model = long_chain(False)
    reduction = reduce_divergence(model, model, FEED, ort_runner("cpu", "disabled"), ort_runner("cpu", level),
                                  WRONG_AT, f"t{WRONG_AT}", FLOAT32, max_nodes=8)
    assert not reduction.reproduces and "no subgraph of up to 8 nodes" in reduction.note


# --- precision repair (parity/repair.py) ---------------------------------------------------------------------

def sensitive_mlp(tmp_path: Path, outlier: float) -> Path:
    """x [16, 64] -> MatMul(w1) -> Relu -> MatMul(w2) -> Relu -> MatMul(w3) -> y. w2 holds one weight `outlier`
    among weights of about 0.15 (on a row no signal reaches): int8's one scale per tensor rounds the rest to a few
    levels — w2 is the one sensitive layer; w1 and w3 quantize well."""
    rng = np.random.default_rng(7)
    weights = {name: rng.normal(0, 0.15, (64, 64)).astype(np.float32) for name in ("w1", "w2", "w3")}
    weights["w1"][:, 3] = 0.0  # unit 3 is dead (Relu of 0): the outlier it feeds sets w2's scale, adds no signal
    weights["w2"][3, 5] = outlier
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h1"], name="fc1"),
             helper.make_node("Relu", ["h1"], ["a1"], name="act1"),
             helper.make_node("MatMul", ["a1", "w2"], ["h2"], name="fc2"),
             helper.make_node("Relu", ["h2"], ["a2"], name="act2"),
             helper.make_node("MatMul", ["a2", "w3"], ["y"], name="fc3")]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [16, 64])],
                              initializer=[numpy_helper.from_array(w, n) for n, w in weights.items()])
    path = tmp_path / f"mlp-{outlier:g}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


def test_an_int8_variant_failing_on_one_sensitive_layer_passes_with_that_layer_kept(tmp_path):
    path = sensitive_mlp(tmp_path, outlier=60.0)
    result = check_onnx(str(path), opt_levels=["all"], precisions=("fp32", "int8-dynamic"),
                        variants_dir=str(tmp_path / "variants"), repair=True)
    (cell,) = [c for c in result.cells if c.precision == "int8-dynamic"]
    assert cell.status == Status.FAILED, cell.reason
    repair = cell.repair
    assert repair["status"] == "repaired", repair
    assert [k["node"] for k in repair["kept"]] == ["fc2"] and repair["candidates"] == 3
    assert repair["after"]["status"] == Status.PASSED and repair["after"]["sqnr_db"] > repair["before"]["sqnr_db"]
    repaired = onnx.load(repair["path"])
    assert Path(repair["path"]).name == "model.int8-dynamic-repaired.onnx"
    float_matmuls = [n.name for n in repaired.graph.node if n.op_type == "MatMul"]
    assert float_matmuls == ["fc2"]  # the other two stay quantized (MatMulInteger)
    assert sum(n.op_type == "MatMulInteger" for n in repaired.graph.node) == 2
    # the command: one line under the precision table, the record in the JSON; the variant itself still fails
    cli = runner.invoke(app, ["check", str(path), "--precision", "fp32,int8-dynamic", "--repair", "--opt-level", "all",
                              "-o", str(tmp_path / "cli"), "--json", str(tmp_path / "r.json")])
    assert cli.exit_code == 1, cli.output
    assert "repair of int8-dynamic cpu/all: keep fc2 (MatMul) in fp32 — failed" in cli.output
    (found,) = [c for c in json.loads((tmp_path / "r.json").read_text())["cells"] if c["precision"] == "int8-dynamic"]
    assert found["repair"]["status"] == "repaired" and found["repair"]["kept"][0]["node"] == "fc2"


def test_a_variant_that_passes_is_left_alone(tmp_path):
    path = sensitive_mlp(tmp_path, outlier=0.2)
    result = check_onnx(str(path), opt_levels=["all"], precisions=("fp32", "int8-dynamic"),
                        variants_dir=str(tmp_path / "variants"), repair=True)
    (cell,) = [c for c in result.cells if c.precision == "int8-dynamic"]
    assert cell.status == Status.PASSED and cell.repair is None
    assert not (tmp_path / "variants" / "model.int8-dynamic-repaired.onnx").exists()


# --- the per-node picture (parity/node_data.py) ---------------------------------------------------------------

def _valid_graph_node_data(document: dict, model: onnx.ModelProto) -> None:
    """Model Explorer's GraphNodeData as its node_data_builder writes it: results by a node's output tensor name,
    numeric values, a gradient from stop 0 to stop 1 or thresholds with values and colours."""
    outputs = {name for node in model.graph.node for name in node.output}
    assert set(document) <= {"name", "results", "gradient", "thresholds"} and document["results"]
    assert set(document["results"]) <= outputs  # only nodes that exist in the graph
    assert all(set(r) == {"value"} and isinstance(r["value"], float) for r in document["results"].values())
    if "gradient" in document:
        assert [g["stop"] for g in document["gradient"]][::len(document["gradient"]) - 1] == [0, 1]
    for item in document.get("thresholds", []):
        assert isinstance(item["value"], (int, float)) and item["bgColor"].startswith("#")


def test_node_data_names_the_error_per_node_and_a_repairs_kept_nodes(tmp_path):
    path = softmax_opset9(tmp_path)
    result = check_onnx(str(path), opt_levels=["all"], node_data_dir=str(tmp_path / "nd"))
    (cell,) = result.cells
    (error_file,) = cell.node_data["files"]
    document = json.loads(Path(error_file).read_text())
    _valid_graph_node_data(document, onnx.load(str(path)))
    results = document["results"]
    assert results["r2"]["value"] == 0.0 and results["s"]["value"] > 0.01  # the error enters at the Softmax
    assert "--node_data_paths=" in cell.node_data["open"] and cell.node_data["open"].startswith("model-explorer ")

    mlp = sensitive_mlp(tmp_path, outlier=60.0)
    repaired = check_onnx(str(mlp), opt_levels=["all"], precisions=("fp32", "int8-dynamic"),
                          variants_dir=str(tmp_path / "variants"), repair=True, node_data_dir=str(tmp_path / "nd2"))
    (cell,) = [c for c in repaired.cells if c.precision == "int8-dynamic"]
    (kept_file,) = cell.node_data["files"]
    document = json.loads(Path(kept_file).read_text())
    _valid_graph_node_data(document, onnx.load(str(mlp)))
    assert document["results"] == {"h2": {"value": 1.0}}  # fc2's output


def test_a_repro_or_node_data_folder_that_cannot_be_written_is_one_line_before_any_work(tmp_path):
    path = softmax_opset9(tmp_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    for option in ("--repro", "--node-data"):
        result = runner.invoke(app, ["check", str(path), option, str(blocker), "--json", str(tmp_path / "e.json")])
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1 and "exists and is not a directory" in lines[0], result.output
        document = json.loads((tmp_path / "e.json").read_text())
        assert document["status"] == "error" and option in document["reason"]
    # the other commands that take them: said before any model is built, nothing written
    for argv in (["parity", "mlp", "--repro", str(blocker)], ["run", "--models", "mlp", "--repro", str(blocker),
                                                               "-o", str(tmp_path / "runs")],
                 ["explain", str(path), "--node-data", str(blocker)],
                 ["parity", "mlp", "--across-frameworks", "--repro", str(tmp_path / "r")]):
        result = runner.invoke(app, argv)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1, (argv, result.output)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "r").exists()
