"""ONNX files as deployed packages ship them (graphs built with onnx.helper, not by aibench): unnamed and dotted
dims, 0-d inputs, an If on a scalar input, a declared-0 dim, recurrent state — given their shapes and values with
--input / --dim / --inputs, on ONNX Runtime and OpenVINO; bad input one line, exit 2, --json written."""

import json
import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.errors import UserError
from aibench_onnx.frameworks.file_inputs import declared_inputs, dim_names, file_feed
from aibench_onnx.graph.input_decl import parse_dim_sweeps, parse_input
from aibench_onnx.parity.check import check_onnx
from aibench_onnx.status import Status
from deployed_graphs import if_conv_graph, if_conv_reference, recurrent_graph

runner = CliRunner()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deployed")
    paths = {"if": folder / "if_conv.onnx", "unnamed": folder / "unnamed.onnx", "gru": folder / "stream.onnx"}
    onnx.save(if_conv_graph(), str(paths["if"]))
    onnx.save(if_conv_graph(("", 3, 0, -1)), str(paths["unnamed"]))
    onnx.save(recurrent_graph(), str(paths["gru"]))
    return {name: str(path) for name, path in paths.items()}


def test_unnamed_dims_are_named_by_input_and_axis_and_dotted_names_kept(deployed):
    declared = {g.name: g for g in declared_inputs(onnx.load(deployed["if"]))}
    assert declared["images"].dims == ("p2o.DynamicDimension.0", 3, None, None)  # -1 and '?' are unnamed
    assert declared["sr"].dims == () and declared["sr"].dtype == np.int64
    assert dim_names(list(declared.values())) == ["p2o.DynamicDimension.0", "images[0]", "images[2]", "images[3]"]
    unnamed = declared_inputs(onnx.load(deployed["unnamed"]))[0]
    assert unnamed.dims == (None, 3, None, None)  # a dim with no field, 0 and -1


def test_the_grammar_takes_fixed_values_colons_and_any_dim_name():
    decl = parse_input("sr:int64[]=16000")
    assert (decl.dims, decl.value) == ([], 16000.0)
    assert parse_input("serving_default_x:0:float32[p2o.Dim.0,3]").name == "serving_default_x:0"
    assert parse_dim_sweeps(["p2o.DynamicDimension.0=2", "images[2]=32,64"]) == {
        "p2o.DynamicDimension.0": [2], "images[2]": [32, 64]}
    for bad, said in (("sr:int64[]=1.5", "does not fit int64"), ("m:uint8[2]=300", "does not fit uint8"),
                      ("h:float16[2]=1e6", "overflows float16"), ("x:float32[2]@0..1=3", "not both")):
        with pytest.raises(UserError, match=said):
            parse_input(bad)


def test_a_feed_from_dims_inputs_and_fixed_values_says_where_each_came_from(deployed):
    model = onnx.load(deployed["if"])
    feed = file_feed(model, [parse_input("sr:int64[]=16000")],
                     {"p2o.DynamicDimension.0": 1, "images[2]": 8, "images[3]": 10})
    assert feed.arrays["images"].shape == (1, 3, 8, 10) and feed.arrays["sr"].shape == ()
    assert int(feed.arrays["sr"]) == 16000
    assert [(f.name, f.source) for f in feed.inputs] == [("images", "random normal (declared type)"),
                                                         ("sr", "fixed 16000 (--input)")]
    # --input overrides the declared shape
    override = file_feed(model, [parse_input("images:float32[1,3,16,16]")])
    assert override.arrays["images"].shape == (1, 3, 16, 16)
    assert override.dims == {"p2o.DynamicDimension.0": 1, "images[2]": 16, "images[3]": 16}


@pytest.mark.parametrize("decls, dims, said", [
    (["images:float32[1,4,16,16]"], {}, "images[1] is 4, but the graph declares it static 3"),
    (["images:float32[1,3,16]"], {}, "3 dims given, the graph declares 4"),
    (["images:float16[1,3,16,16]"], {}, "declares images as float32, not float16"),
    (["pixels:float32[1,3,16,16]"], {}, "the graph has no input 'pixels'; its inputs: images, sr"),
    ([], {"height": 3}, "--dim height: the graph has no dimension 'height'"),
    ([], {}, "set the graph's dimension(s) p2o.DynamicDimension.0, images[2], images[3]"),
])
def test_bad_shapes_and_names_are_one_line(deployed, decls, dims, said):
    with pytest.raises(UserError, match=re.escape(said)):
        file_feed(onnx.load(deployed["if"]), [parse_input(d) for d in decls], dims)


def test_an_if_on_a_scalar_input_takes_the_branch_its_fixed_value_selects(deployed):
    result = check_onnx(deployed["if"], decls=[parse_input("images:float32[1,3,12,12]"),
                                               parse_input("sr:int64[]=16000")], runtimes=("ort", "openvino"))
    assert result.passed, [c.to_dict() for c in result.cells]
    openvino = next(c for c in result.cells if c.runtime == "openvino")
    # OpenVINO cannot convert the graph with its dynamic dims (the Conv's input rank is known only after the If):
    # it is converted at the given sizes, and the cell says so
    assert "compiled at the given sizes (images [1,3,12,12], sr [])" in openvino.reason
    assert "rank has to be known" in openvino.reason


def test_openvino_that_cannot_run_a_graph_is_its_own_status_and_exit_code(deployed, tmp_path):
    """Batch 2 takes the else branch, where Squeeze keeps the batch: the Conv gets a 5-D input. OpenVINO cannot
    convert the graph at all — "cannot run" with its reason, never FAIL; ONNX Runtime loads it and raises in the
    run, which stays a failure of the graph at these sizes (exit 1 outranks 4)."""
    path = tmp_path / "r.json"
    result = runner.invoke(app, ["check", deployed["if"], "--input", "images:float32[2,3,8,8]", "--input",
                                 "sr:int64[]=8000", "--runtime", "ort,openvino", "--opt-level", "disabled",
                                 "--json", str(path)])
    document = json.loads(path.read_text())
    statuses = {c["runtime"]: c["status"] for c in document["cells"]}
    assert statuses == {"ort": Status.FAILED, "openvino": Status.CANNOT_RUN}, result.output
    assert result.exit_code == 1 and "cannot run" in result.output
    from aibench_onnx.errors import ExitCode
    from aibench_onnx.status import exit_code

    assert exit_code([Status.PASSED, Status.CANNOT_RUN]) == ExitCode.CANNOT_RUN == 4  # alone, it is exit 4
    assert exit_code([Status.FAILED, Status.CANNOT_RUN]) == ExitCode.CHECK_FAILED
    assert all(c["reason"] for c in document["cells"])


def test_a_declared_zero_dim_runs_as_symbolic_at_the_size_given(deployed):
    result = check_onnx(deployed["gru"], dims={"x[1]": 20}, runtimes=("ort", "openvino"))
    assert result.passed, [c.to_dict() for c in result.cells]
    assert result.graph["dims_made_symbolic"] == ["x[1] (declared 0)"]
    assert [tuple(f.shape) for f in result.inputs[0]] == [(1, 20, 8), (2, 1, 16)]


def test_inputs_from_npz_test_data_and_a_factory_for_a_file(deployed, tmp_path, monkeypatch):
    images = np.random.default_rng(5).standard_normal((1, 3, 6, 6)).astype(np.float32)
    np.savez(tmp_path / "data.npz", images=images, sr=np.array(16000))
    (tmp_path / "my_inputs.py").write_text(
        "import numpy as np\n"
        "def make(batch, seed):\n"
        "    return {'images': np.random.default_rng(seed).standard_normal((batch, 3, 5, 5)).astype('float32'),\n"
        "            'sr': np.array(8000)}\n")
    monkeypatch.chdir(tmp_path)
    result = check_onnx(deployed["if"], inputs_from="data.npz", cwd=str(tmp_path))
    assert result.passed and result.inputs[0][0].source == "--inputs data.npz"
    factory = check_onnx(deployed["if"], inputs_from="my_inputs:make", cwd=str(tmp_path),
                         dims={"p2o.DynamicDimension.0": 1})
    assert factory.passed and factory.inputs[0][0].shape == (1, 3, 5, 5)
    # a test_data_set directory: its outputs become the reference
    from aibench_onnx.graph.testdata import write_test_data_set

    expected = if_conv_reference(images, 16000)
    write_test_data_set(tmp_path / "test_data_set_0", {"images": images, "sr": np.array(16000)}, {"score": expected})
    stored = check_onnx(deployed["if"], inputs_from="test_data_set_0", cwd=str(tmp_path))
    assert stored.reference == "stored" and stored.passed


@pytest.mark.parametrize("argv, said", [
    (["--input", "images:float32[1,4,8,8]"], "declares it static 3"),
    (["--input", "sr:int64[]=1.5"], "does not fit int64"),
    (["--dim", "nope=3"], "no dimension 'nope'"),
    (["--inputs", "missing.npz"], "no such file"),
])
def test_bad_file_input_on_the_command_line_is_one_line_exit_2_with_json(deployed, tmp_path, monkeypatch, argv, said):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", deployed["if"], *argv, "--json", "out.json"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and said in lines[0], result.output
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["status"] == "error" and said in document["reason"] and document["command"] == "check"


def test_size_of_a_variant_counts_external_data(tmp_path):
    from aibench_onnx.graph.load import model_bytes

    weight = np.ones((256, 256), np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 256])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 256])],
                              initializer=[onnx.numpy_helper.from_array(weight, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(tmp_path / "m.onnx"), save_as_external_data=True, location="m.onnx.data",
              size_threshold=0)
    assert (tmp_path / "m.onnx").stat().st_size < 1000
    assert model_bytes(tmp_path / "m.onnx") >= weight.nbytes


def planted_softmax_chain(length: int = 241, softmax_at: int = 153) -> onnx.ModelProto:
    """An opset-9 chain of `length` nodes with a 4-D Softmax(axis=1) at `softmax_at`: opset 9 flattens axes 1..
    into one, onnx's reference evaluator normalises over axis 1 alone — the two executors part there."""
    rng = np.random.default_rng(11)
    nodes, inits, previous = [], [], "x"
    for index in range(length):
        out = f"t{index}"
        if index == softmax_at:
            nodes.append(helper.make_node("Softmax", [previous], [out], axis=1, name=f"Softmax#{index}"))
        elif index % 2:
            nodes.append(helper.make_node("Tanh", [previous], [out], name=f"Tanh#{index}"))
        else:
            inits.append(onnx.numpy_helper.from_array(rng.uniform(0.9, 1.1, (5,)).astype(np.float32), f"c{index}"))
            nodes.append(helper.make_node("Mul", [previous, f"c{index}"], [out], name=f"Mul#{index}"))
        previous = out
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 5])],
                              [helper.make_tensor_value_info(previous, TensorProto.FLOAT, [2, 3, 4, 5])],
                              initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], ir_version=7)


def test_localization_at_a_level_with_fusions_names_the_node_and_shortens_the_path(tmp_path):
    from aibench_onnx.report.check_view import short_path

    path = tmp_path / "chain.onnx"
    onnx.save(planted_softmax_chain(), str(path))
    result = check_onnx(str(path), opt_levels=["disabled", "all"])
    cells = {cell.opt_level: cell for cell in result.cells}
    for level in ("disabled", "all"):  # not "the difference lies inside a fusion" at level all
        assert cells[level].divergence["found"] and cells[level].divergence["node"] == "Softmax#153", level
    nodes = cells["all"].divergence["path"]
    assert len(nodes) > 100
    shown = short_path(nodes)
    assert shown.startswith(" -> ".join(nodes[:3])) and shown.endswith(f"Softmax#153 ({len(nodes)} nodes)")
    assert f"… {len(nodes) - 6} more …" in shown and short_path(nodes[:5]) == " -> ".join(nodes[:5])


def matmul_chain(extra: bool) -> onnx.ModelProto:
    """x [batch, 512] -> MatMul -> Tanh -> MatMul (-> one extra MatMul): the extra op is the planted effect."""
    rng = np.random.default_rng(0)
    weights = [onnx.numpy_helper.from_array((rng.standard_normal((512, 512)) * 0.04).astype(np.float32), f"w{i}")
               for i in range(3)]
    nodes = [helper.make_node("MatMul", ["x", "w0"], ["h0"]), helper.make_node("Tanh", ["h0"], ["t0"]),
             helper.make_node("MatMul", ["t0", "w1"], ["h1" if extra else "y"])]
    nodes += [helper.make_node("MatMul", ["h1", "w2"], ["y"])] if extra else []
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 512])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 512])],
                              initializer=weights[:3 if extra else 2])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.mark.timing
def test_bench_of_files_finds_a_planted_op_with_its_ci_and_an_a_a_pair_clean(tmp_path, monkeypatch):
    """`aibench bench a.onnx a_copy.onnx b.onnx`: the same bench machinery as the zoo's (processes, interleaved
    slots, effects with CIs); a vs its byte-identical copy is the A/A, a vs b (one more 512x512 MatMul) the
    planted exporter effect between files."""
    monkeypatch.chdir(tmp_path)
    for name, extra in (("a", False), ("a_copy", False), ("b", True)):
        onnx.save(matmul_chain(extra), str(tmp_path / f"{name}.onnx"))
    result = runner.invoke(app, ["bench", "a.onnx", "a_copy.onnx", "b.onnx", "--batch", "8", "--opt-level", "all",
                                 "--min-time", "0.2", "--repeats", "3", "--threads", "1", "-o", "out",
                                 "--json", "bench.json"])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "bench.json").read_text())
    (bench,) = document["results"]
    assert document["settings"]["files"]["batch_axes"] == ["batch"]
    effects = {e["candidate"]: e for e in bench["effects"] if e["kind"] == "exporter"}
    # the A/A: clean (a 5 % test may, rarely, call a tiny difference significant: then it must stay tiny)
    same = effects["ort:a_copy-graph:cpu:all"]
    assert same["verdict"] == "no significant difference" or abs(same["ratio"] - 1) < 0.03, same
    planted = effects["ort:b-graph:cpu:all"]  # ~1.5x: three matmuls for two
    assert planted["verdict"].endswith("slower") and planted["ci_low"] > 1.0 and 1.2 < planted["ratio"] < 2.2, planted
    assert {r["config"]["label"] for r in bench["results"]} == {
        "ort:a-graph:cpu:all", "ort:a_copy-graph:cpu:all", "ort:b-graph:cpu:all"}
    # explain on the bench's JSON: the planted effect lives in the MatMuls (2 -> 3 nodes)
    explained = runner.invoke(app, ["explain", "bench.json", "--json", "why.json"])
    assert explained.exit_code == 0, explained.output
    (why,) = [e["attribution"] for e in json.loads((tmp_path / "why.json").read_text())["explanations"]
              if e["effect"]["candidate"] == "ort:b-graph:cpu:all"]
    top = max(why["by_op_type"], key=lambda row: row["difference_us"])
    assert top["group"] == "MatMul" and (top["baseline_nodes"], top["candidate_nodes"]) == (2, 3), why["by_op_type"]


def test_bench_of_files_refuses_what_describes_a_framework_model(deployed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv, said in ((["--framework", "torch"], "ONNX files are timed as they are"),
                       (["--runtime", "torch-eager", "--input", "images:float32[1,3,8,8]"], "unknown runtime"),
                       (["--batch", "1,2", "--input", "images:float32[1,3,8,8]", "--input", "sr:int64[]=1"],
                        "no dynamic first axis is left to set"),
                       (["--threads", "1,0"], "--threads '1,0': expected comma-separated positive integers")):
        result = runner.invoke(app, ["bench", deployed["if"], *argv, "--json", "b.json"])
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1 and said in lines[0], result.output
        assert json.loads((tmp_path / "b.json").read_text())["status"] == "error"


def test_check_bench_times_the_file_on_the_bench_machinery_and_bench_sweeps_thread_counts(tmp_path, monkeypatch):
    """`check --bench`: the checked file timed as `bench FILE` times it (3 processes, a CI per configuration);
    `bench --threads 1,2`: one bench per count, each result saying its threads."""
    monkeypatch.chdir(tmp_path)
    onnx.save(matmul_chain(False), str(tmp_path / "a.onnx"))
    checked = runner.invoke(app, ["check", "a.onnx", "--input", "x:float32[4,512]", "--opt-level", "disabled,all",
                                  "--bench", "--threads", "1", "--min-time", "0.3", "-o", "out", "--json", "check.json"])
    assert checked.exit_code == 0, checked.output
    (bench,) = json.loads((tmp_path / "check.json").read_text())["bench"]
    assert [(r["config"]["label"], r["status"], len(r["replicates"])) for r in bench["results"]] == [
        ("ort:a-graph:cpu:disabled", "ok", 3), ("ort:a-graph:cpu:all", "ok", 3)]
    (optimizer,) = [e for e in bench["effects"] if e["kind"] == "optimizer"]
    assert optimizer["ci_low"] <= optimizer["ratio"] <= optimizer["ci_high"], optimizer
    assert "where the time goes" in checked.output

    swept = runner.invoke(app, ["bench", "a.onnx", "--opt-level", "all", "--threads", "1,2", "--min-time", "0.2",
                                "--repeats", "1", "-o", "swept", "--json", "swept.json"])
    assert swept.exit_code == 0, swept.output
    document = json.loads((tmp_path / "swept.json").read_text())
    assert document["settings"]["thread_counts"] == [1, 2]
    assert [(b["threads"], [r["status"] for r in b["results"]]) for b in document["results"]] == [
        (1, ["ok"]), (2, ["ok"])]
    assert "1 threads" in swept.output and "2 threads" in swept.output
