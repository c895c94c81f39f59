"""Where the time goes, and why (explain/): planted graph effects — one function written two ways in ONNX — are
attributed to the planted nodes; the fusion ledger and the source mapping on the zoo transformer's torch
export; explaining a run leaves its measurements untouched and gives the report its "Why" section."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers import run_aibench
from onnx import TensorProto, helper, numpy_helper
from run_fixtures import bench_record, make_run, parity_record
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.explain.explain import Profiler, explain_pair
from aibench_onnx.explain.graph_map import fusion_ledger, node_sources
from aibench_onnx.keys import RuntimeConfig

# `timing`: the tests that attribute a measured difference run alone, after the parallel part of the suite
# (README); the fusion ledger, source names, trace parsing and bad input measure nothing and run in parallel
TIMING = pytest.mark.timing
runner = CliRunner()
RNG = np.random.default_rng(0)
PLANTED_SHARE = 0.8  # the property: at least 80 % of the measured difference on the planted nodes


def save(tmp_path: Path, name: str, nodes, inputs, outputs, initializers=()) -> str:
    graph = helper.make_graph(nodes, name, inputs, outputs, [numpy_helper.from_array(a, n) for n, a in initializers])
    path = tmp_path / f"{name}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return str(path)


def value(name: str, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


SHARED = [256, 1024]  # a second input both graphs pass through one Relu: time the planted nodes must not take


def shared(nodes: list, inputs: list, outputs: list) -> tuple[list, list, list]:
    """`nodes`, `inputs`, `outputs` plus the unplanted node both sides of a planted effect have."""
    return (nodes + [helper.make_node("Relu", ["shared_in"], ["shared_out"])], inputs + [value("shared_in", SHARED)],
            outputs + [value("shared_out", None)])


def planted_share(found, planted: set[str], dispatch: bool = False) -> float:
    """The share of the measured difference the planted operator types account for; `dispatch`: with the time
    outside the nodes, when the planted change is many more nodes (dispatching them is their cost)."""
    moved = sum(row.difference_us for row in found.attribution.by_op_type if row.group in planted)
    moved += found.attribution.outside.difference_us if dispatch else 0.0
    return moved / found.attribution.measured_difference_us


def explain_two(tmp_path, baseline: str, candidate: str, feed: dict, level: str = "disabled"):
    profiler = Profiler(1, tmp_path / "work")
    return explain_pair("planted", "graphs", ("baseline", baseline, "cpu", level),
                        ("candidate", candidate, "cpu", level), feed, profiler)


@TIMING
def test_redundant_transpose_pairs_are_what_the_difference_is_made_of(tmp_path):
    weight = RNG.standard_normal((256, 256)).astype(np.float32)
    base = save(tmp_path, "plain", [helper.make_node("MatMul", ["x", "w"], ["y"])], [value("x", [1, 512, 256])],
                [value("y", None)], [("w", weight)])
    chain = []
    for i in range(4):  # four Transpose pairs that change nothing but move every element twice each
        chain += [helper.make_node("Transpose", [f"t{2 * i}" if i else "x"], [f"t{2 * i + 1}"], perm=[0, 2, 1]),
                  helper.make_node("Transpose", [f"t{2 * i + 1}"], [f"t{2 * i + 2}"], perm=[0, 2, 1])]
    candidate = save(tmp_path, "transposed", chain + [helper.make_node("MatMul", ["t8", "w"], ["y"])],
                     [value("x", [1, 512, 256])], [value("y", None)], [("w", weight)])
    found = explain_two(tmp_path, base, candidate, {"x": RNG.standard_normal((1, 512, 256)).astype(np.float32)})
    assert found.attribution.measured_difference_us > 0
    # eight more nodes: dispatching them is part of their cost (in CI the time outside the nodes went from 9
    # to 69 µs, 10 % of the difference, leaving Transpose alone at 77 %)
    assert planted_share(found, {"Transpose"}, dispatch=True) >= PLANTED_SHARE, found.line()
    assert found.attribution.top()[0].group == "Transpose"
    assert "Transpose" in found.line() and "0 → 8 nodes" in found.line()


@TIMING
def test_an_unrolled_recurrence_against_one_rnn_node(tmp_path):
    steps, hidden = 48, 64
    w = RNG.standard_normal((1, hidden, hidden)).astype(np.float32) * 0.1
    r = RNG.standard_normal((1, hidden, hidden)).astype(np.float32) * 0.1
    base = save(tmp_path, "rnn", *shared([helper.make_node("RNN", ["x", "w", "r"], ["", "y"], hidden_size=hidden)],
                                         [value("x", [steps, 1, hidden])], [value("y", None)]), [("w", w), ("r", r)])
    nodes, state = [], "h0"
    for t in range(steps):  # h_t = tanh(x_t W^T + h_{t-1} R^T), one step at a time
        nodes += [helper.make_node("Gather", ["x", f"i{t}"], [f"x{t}"], axis=0),
                  helper.make_node("MatMul", [f"x{t}", "wt"], [f"a{t}"]),
                  helper.make_node("MatMul", [state, "rt"], [f"b{t}"]),
                  helper.make_node("Add", [f"a{t}", f"b{t}"], [f"c{t}"]),
                  helper.make_node("Tanh", [f"c{t}"], [f"h{t + 1}"])]
        state = f"h{t + 1}"
    nodes.append(helper.make_node("Unsqueeze", [state, "axes"], ["y"]))
    constants = [("wt", w[0].T.copy()), ("rt", r[0].T.copy()), ("h0", np.zeros((1, hidden), np.float32)),
                 ("axes", np.array([0], np.int64))] + [(f"i{t}", np.array(t, np.int64)) for t in range(steps)]
    candidate = save(tmp_path, "unrolled", *shared(nodes, [value("x", [steps, 1, hidden])], [value("y", None)]),
                     constants)
    feed = {"x": RNG.standard_normal((steps, 1, hidden)).astype(np.float32),
            "shared_in": RNG.standard_normal(SHARED).astype(np.float32)}
    found = explain_two(tmp_path, base, candidate, feed)
    assert found.attribution.measured_difference_us > 0
    planted = {"Gather", "MatMul", "Add", "Tanh", "Unsqueeze", "RNN"}
    assert planted_share(found, planted, dispatch=True) >= PLANTED_SHARE, found.line()
    assert found.attribution.outside.candidate_nodes == 5 * steps + 2 and found.attribution.outside.baseline_nodes == 2
    assert any(row.group == "RNN" and row.baseline_nodes == 1 and row.candidate_nodes == 0
               for row in found.attribution.by_op_type)


@TIMING
def test_matmul_and_add_against_one_gemm(tmp_path):
    # a thin product with a wide output: the separate Add's extra pass over the output is most of the time
    weight, bias = RNG.standard_normal((8, 256)).astype(np.float32), RNG.standard_normal(256).astype(np.float32)
    inputs, outputs, constants = [value("x", [8192, 8])], [value("y", None)], [("w", weight), ("b", bias)]
    base = save(tmp_path, "gemm", [helper.make_node("Gemm", ["x", "w", "b"], ["y"])], inputs, outputs, constants)
    candidate = save(tmp_path, "matmul_add", [helper.make_node("MatMul", ["x", "w"], ["m"]),
                                              helper.make_node("Add", ["m", "b"], ["y"])], inputs, outputs, constants)
    # level disabled: ORT would fuse MatMul+Add into Gemm otherwise — the planted difference is the graph's
    found = explain_two(tmp_path, base, candidate, {"x": RNG.standard_normal((8192, 8)).astype(np.float32)})
    difference = found.attribution.measured_difference_us
    moved = sum(r.difference_us for r in found.attribution.by_op_type if r.group in {"MatMul", "Add", "Gemm"})
    assert abs(moved - difference) <= (1 - PLANTED_SHARE) * abs(difference) + 1.0, found.line()


@TIMING
def test_an_unfused_layer_norm_against_the_fused_operator(tmp_path):
    shape = [256, 1024]
    scale, shift = np.ones(1024, np.float32), np.zeros(1024, np.float32)
    base = save(tmp_path, "fused", *shared([helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1)],
                                           [value("x", shape)], [value("y", None)]), [("g", scale), ("b", shift)])
    nodes = [helper.make_node("ReduceMean", ["x"], ["mean"], axes=[-1]), helper.make_node("Sub", ["x", "mean"], ["d"]),
             helper.make_node("Mul", ["d", "d"], ["sq"]), helper.make_node("ReduceMean", ["sq"], ["var"], axes=[-1]),
             helper.make_node("Add", ["var", "eps"], ["ve"]), helper.make_node("Sqrt", ["ve"], ["std"]),
             helper.make_node("Div", ["d", "std"], ["n"]), helper.make_node("Mul", ["n", "g"], ["s"]),
             helper.make_node("Add", ["s", "b"], ["y"])]
    candidate = save(tmp_path, "unfused", *shared(nodes, [value("x", shape)], [value("y", None)]),
                     [("g", scale), ("b", shift), ("eps", np.array(1e-5, np.float32))])
    found = explain_two(tmp_path, base, candidate, {"x": RNG.standard_normal(shape).astype(np.float32),
                                                    "shared_in": RNG.standard_normal(SHARED).astype(np.float32)})
    assert found.attribution.measured_difference_us > 0
    planted = {"ReduceMean", "Sub", "Mul", "Add", "Sqrt", "Div", "LayerNormalization"}
    # nine nodes for one: dispatching the eight more is theirs too (about a fifth of the difference here)
    assert planted_share(found, planted, dispatch=True) >= PLANTED_SHARE, found.line()
    assert found.attribution.outside.candidate_nodes == 10 and found.attribution.outside.baseline_nodes == 2


@pytest.fixture(scope="module")
def transformer_export(tmp_path_factory):
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("transformer")
    result = run_aibench("export", "transformer", "-f", "torch", "--size", "tiny", "-o", str(out), timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return out / "model.onnx"


def optimized(path: Path, level: str, target: Path) -> onnx.ModelProto:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = {"disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                                        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[level]
    options.optimized_model_filepath = str(target)
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return onnx.load(str(target))


@pytest.mark.torch
def test_the_fusion_ledger_names_the_fusions_ort_makes_on_the_transformer_and_none_when_disabled(
        transformer_export, tmp_path):
    exported = onnx.load(str(transformer_export))
    full = fusion_ledger(exported, optimized(transformer_export, "all", tmp_path / "all.onnx"), "all")
    patterns = [f.pattern for f in full.fusions]
    # ORT fuses the residual Add into the following LayerNormalization, and folds scaling into MatMul
    assert any(p.endswith("-> SkipLayerNormalization (com.microsoft)") for p in patterns), patterns
    assert any("Add+Add+LayerNormalization" in p for p in patterns), patterns
    disabled = fusion_ledger(exported, optimized(transformer_export, "disabled", tmp_path / "off.onnx"), "disabled")
    assert disabled.fusions == [] and disabled.added == {} and disabled.removed == {}
    assert disabled.lines() == ["no change"]


@pytest.mark.torch
def test_torch_module_names_are_the_sources_of_the_torch_export(transformer_export):
    sources = set(node_sources(onnx.load(str(transformer_export))).values())
    assert "layers.0.attn (MultiheadAttention)" in sources, sorted(sources)
    assert {"layers.0.fc1 (Linear)", "layers.0.ln1 (LayerNorm)", "tok_emb (Embedding)"} <= sources


def planted_run(tmp_path: Path) -> Path:
    """A run of the zoo's matmul (size small) whose torch and jax graphs are planted files: the jax one does
    the same product behind four Transpose pairs (level disabled keeps them), and the timing records say it is
    slower."""
    weight = RNG.standard_normal((256, 256)).astype(np.float32)
    graphs = tmp_path / "graphs"
    graphs.mkdir()
    shape = ["batch", 128, 256]
    torch_graph = save(graphs, "torch", [helper.make_node("MatMul", ["x", "w"], ["y"])], [value("x", shape)],
                       [value("y", None)], [("w", weight)])
    chain = []
    for i in range(4):
        chain += [helper.make_node("Transpose", [f"t{2 * i}" if i else "x"], [f"t{2 * i + 1}"], perm=[0, 2, 1]),
                  helper.make_node("Transpose", [f"t{2 * i + 1}"], [f"t{2 * i + 2}"], perm=[0, 2, 1])]
    jax_graph = save(graphs, "jax", chain + [helper.make_node("MatMul", ["t8", "w"], ["y"])], [value("x", shape)],
                     [value("y", None)], [("w", weight)])
    records = []
    for framework, path in (("torch", torch_graph), ("jax", jax_graph)):
        record = parity_record("matmul", framework, "passed", 0.0)
        record["result"]["export"] = {"status": "ok", "path": path}
        records.append(record)
    for round_index in range(3):
        for framework, median in (("torch", 1e-4), ("jax", 3e-4)):
            records.append(bench_record("matmul", f"ort:{framework}-graph:cpu:disabled",
                                        {1: RNG.normal(median, median * 0.01, 200)}, round_index))
    run_dir = make_run(tmp_path / "run", records)
    settings_path = run_dir / "run.json"
    run = json.loads(settings_path.read_text())
    run["settings"].update(size="small", threads=1)
    settings_path.write_text(json.dumps(run))
    return run_dir


@TIMING
def test_explaining_a_run_keeps_its_measurements_and_gives_the_report_its_why(tmp_path):
    from aibench_onnx.runs.report import build_report

    run_dir = planted_run(tmp_path)
    records_before = (run_dir / "results.jsonl").read_bytes()
    before = build_report(run_dir)
    result = runner.invoke(app, ["explain", str(run_dir), "--json", str(tmp_path / "why.json")])
    assert result.exit_code == 0, result.output
    assert (run_dir / "results.jsonl").read_bytes() == records_before  # profiling never touches the numbers
    after = build_report(run_dir)
    assert replace(after, why=[]) == replace(before, why=[])
    (explained,) = after.why
    assert explained["kind"] == "exporter" and explained["subject"] == "matmul b1"
    assert explained["effect"]["verdict"].endswith("slower")
    assert explained["attribution"]["by_op_type"][0]["group"] == "Transpose"
    assert json.loads((tmp_path / "why.json").read_text())["explanations"] == after.why
    report = runner.invoke(app, ["report", str(run_dir), "--format", "markdown", "-o", str(tmp_path / "r.md")])
    assert report.exit_code == 0, report.output
    text = (tmp_path / "r.md").read_text()
    assert "Why — matmul b1: ort:jax-graph:cpu:disabled vs ort:torch-graph:cpu:disabled, by operator type" in text
    assert "Why: matmul b1, ort:jax-graph:cpu:disabled vs ort:torch-graph:cpu:disabled" in text


def test_a_graph_no_longer_on_disk_is_not_explained_and_says_why(tmp_path):
    run_dir = planted_run(tmp_path)
    shutil.rmtree(tmp_path / "graphs")
    result = runner.invoke(app, ["explain", str(run_dir), "--json", "-"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.output)["explanations"]
    assert "not on disk any more" in entry["not_explained"]


def test_node_data_puts_an_effects_time_on_the_exported_graphs_nodes(tmp_path, monkeypatch):
    """`explain --node-data`: one graph at two levels (ORT fuses MatMul+Add into one node at level all) gives one
    file of the difference per exported node, the fused node's time shared by both nodes it computes; two graphs
    give one file per side. Only nodes of each graph are named; the top-nodes table and the commands are shown.
    The profiles of files are taken in a temporary folder that is gone afterwards.
    (Structure only: what the numbers are is the timing tests' concern.)"""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    weight, bias = RNG.standard_normal((64, 256)).astype(np.float32), RNG.standard_normal(256).astype(np.float32)
    inputs, outputs, constants = [value("x", [512, 64])], [value("y", None)], [("w", weight), ("b", bias)]
    unfused = save(tmp_path, "matmul_add", [helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
                                            helper.make_node("Add", ["m", "b"], ["y"], name="add")],
                   inputs, outputs, constants)
    fused = save(tmp_path, "gemm", [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="gemm")], inputs, outputs,
                 constants)
    one = runner.invoke(app, ["explain", unfused, "--node-data", str(tmp_path / "nd1"), "--json",
                              str(tmp_path / "one.json")])
    assert one.exit_code == 0, one.output
    (explanation,) = json.loads((tmp_path / "one.json").read_text())["explanations"]
    (path,) = explanation["node_data"]["files"]
    document = json.loads(Path(path).read_text())
    assert set(document["results"]) == {"m", "y"} and document["thresholds"]  # a difference: colours around zero
    level_all = explanation["node_times"][explanation["attribution"]["candidate"]]["us"]
    assert level_all["m"] == level_all["y"] > 0  # the fused node's time, shared by the two nodes it computes
    assert explanation["node_data"]["open"] == [f"model-explorer {unfused} --extensions=model_explorer_onnx "
                                                f"--node_data_paths={path}"]
    assert "top nodes" in one.output and "█" in one.output and "node data for Model Explorer" in one.output

    two = runner.invoke(app, ["explain", fused, unfused, "--opt-level", "disabled", "--node-data",
                              str(tmp_path / "nd2"), "--json", str(tmp_path / "two.json")])
    assert two.exit_code == 0, two.output
    (explanation,) = json.loads((tmp_path / "two.json").read_text())["explanations"]
    baseline, candidate = (json.loads(Path(p).read_text()) for p in explanation["node_data"]["files"])
    assert set(baseline["results"]) == {"y"} and set(candidate["results"]) == {"m", "y"}
    assert "costliest nodes of" in two.output
    assert not list((tmp_path / "tmp").glob("aibench-explain-*"))  # no profile folder left behind


@pytest.mark.parametrize("argv, expected", [
    (["explain", "missing.onnx"], "missing.onnx"),
    (["explain", "nothing-here"], "not a run directory"),
    (["explain", "a.onnx", "b.onnx", "--ep", "cpu,cuda"], "--ep: explain takes one value"),
])
def test_bad_explain_input_is_one_line_exit_2(tmp_path, monkeypatch, argv, expected):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.torch
def test_a_bench_json_is_explained_with_the_native_side_where_torch_gives_it(tmp_path):
    """torch eager against ONNX Runtime: torch.profiler's aten operators and ORT's nodes, grouped into operator
    families; the exporter-free effects of one graph (optimizer) from ORT's profiles alone. (What is asserted is
    the explanation's structure, not a measured difference: it runs in the parallel part.)"""
    bench = tmp_path / "bench.json"
    result = run_aibench("bench", "mlp", "-f", "torch", "--runtime", "torch-eager,ort", "--opt-level", "disabled,all",
                         "--size", "tiny", "--batch", "4", "--repeats", "1", "--min-time", "0.05",
                         "--threads", "1", "-o", str(tmp_path / "out"), "--json", str(bench), timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    explained = runner.invoke(app, ["explain", str(bench), "--all", "--json", str(tmp_path / "why.json")])
    assert explained.exit_code == 0, explained.output
    entries = {(e.get("baseline") or e["attribution"]["baseline"], e.get("candidate") or e["attribution"]["candidate"]): e
               for e in json.loads((tmp_path / "why.json").read_text())["explanations"]}
    native = entries[("torch-eager", "ort:torch-graph:cpu:disabled")]
    attribution = native["attribution"]
    assert attribution["grouping"] == "operator family"
    assert "matrix products" in {row["group"] for row in attribution["by_source"]}
    assert any(row["group"].startswith("aten::") and row["baseline_nodes"] for row in attribution["by_op_type"])
    assert any(row["group"] == "Gemm" and row["candidate_nodes"] for row in attribution["by_op_type"])
    optimizer = entries[("ort:torch-graph:cpu:disabled", "ort:torch-graph:cpu:all")]
    assert "attribution" in optimizer and optimizer["ledgers"]
    # the JSON is a view of the bench's run, which explain read; with the run gone (a document written before
    # benches were runs names none) the document's own effects are read, each saying what it lacks
    (tmp_path / "out").rename(tmp_path / "moved")
    legacy = runner.invoke(app, ["explain", str(bench), "--all", "--json", str(tmp_path / "why-legacy.json")])
    assert legacy.exit_code == 0, legacy.output
    found = json.loads((tmp_path / "why-legacy.json").read_text())["explanations"]
    assert {(e["baseline"], e["candidate"]) for e in found} == set(entries)
    assert all("not on disk" in e["not_explained"] for e in found)


def test_trace_parsing_skips_warm_up_runs_and_sums_a_nodes_calls_per_run():
    from aibench_onnx.ort.profile import parse_trace

    def run(ts):
        return {"cat": "Session", "name": "model_run", "ts": ts, "dur": 100}

    def node(name, ts, dur, op="MatMul"):
        return {"cat": "Node", "name": f"{name}_kernel_time", "ts": ts, "dur": dur,
                "args": {"op_name": op, "provider": "CPUExecutionProvider", "input_type_shape": [{"float": [2, 3]}]}}

    trace = [run(0), node("a", 10, 1000)]  # the warm-up run: excluded however slow
    for start in (200, 400, 600):
        trace += [run(start), node("a", start + 10, 20), node("body", start + 40, 5, "Add"),
                  node("body", start + 60, 7, "Add")]  # a loop body node runs twice a run
    nodes, run_us = parse_trace(trace, warmup=1, nested={"body"})
    found = {n.name: n for n in nodes}
    assert found["a"].median_us == 20 and found["a"].input_shapes == [[2, 3]] and not found["a"].nested
    assert found["body"].median_us == 12 and found["body"].nested and run_us == 100


def test_operator_families_speak_both_vocabularies_and_costs_count_products():
    from aibench_onnx.explain.cost import node_flops
    from aibench_onnx.explain.native import family
    from aibench_onnx.profiles import NodeTime

    assert family("aten::addmm") == family("Gemm") == family("FusedMatMul") == "matrix products"
    assert family("aten::native_layer_norm") == family("SkipLayerNormalization") == "normalization"
    assert family("aten::view") == family("Reshape") == "data movement"
    assert family("SomethingNew") == "other"
    matmul = NodeTime("m", "MatMul", "cpu", 1.0, [[8, 16], [16, 4]], [[8, 4]], ["float", "float"])
    conv = NodeTime("c", "Conv", "cpu", 1.0, [[1, 3, 8, 8], [6, 3, 3, 3]], [[1, 6, 6, 6]], ["float"] * 2)
    assert node_flops(matmul) == 2 * 8 * 4 * 16 and node_flops(conv) == 2 * 6 * 6 * 6 * 27
    assert node_flops(NodeTime("s", "Shape", "cpu", 1.0, [[2]], [[1]], ["int64"])) is None


@TIMING
@pytest.mark.openvino
def test_ort_against_openvino_on_one_graph_is_split_by_operator_family(tmp_path):
    """A runtime effect between ONNX Runtime and OpenVINO on the same graph: OpenVINO's own layers (its
    per-layer counters) against ORT's nodes, grouped into the families both share."""
    run_dir = planted_run(tmp_path)
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    kept = [r for r in records if r["kind"] == "parity" and r["framework"] == "jax"]
    kept[0]["framework"] = kept[0]["result"]["framework"] = "torch"  # the planted jax graph serves as torch's
    for round_index in range(3):
        for label, median in (("ort:torch-graph:cpu:disabled", 3e-4), ("openvino:torch-graph:cpu", 1e-4)):
            kept.append(bench_record("matmul", label, {1: RNG.normal(median, median * 0.01, 200)}, round_index))
            kept[-1]["result"]["config"] = RuntimeConfig.from_label(label, "torch").to_dict()
    (run_dir / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
    run = json.loads((run_dir / "run.json").read_text())
    run["jobs"] = [r["job_id"] for r in kept]
    (run_dir / "run.json").write_text(json.dumps(run))
    result = runner.invoke(app, ["explain", str(run_dir), "--json", "-"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.output)["explanations"]
    attribution = entry["attribution"]
    assert entry["kind"] == "runtime" and attribution["grouping"] == "operator family"
    assert attribution["baseline"] == "ort:torch-graph:cpu:disabled"
    assert attribution["candidate"] == "openvino:torch-graph:cpu"
    families = {row["group"] for row in attribution["by_source"]}
    assert "matrix products" in families  # ORT's MatMul and OpenVINO's MatMul / FullyConnected alike
    assert any(row["group"] == "Transpose" and row["baseline_nodes"] == 8 for row in attribution["by_op_type"])
