"""Users' own models through the whole comparator (issue 12, second part): static call arguments, inputs from
the user's factory or a .npz file, symbolic dims exported dynamic and checked at other sizes, and the model in
`bench` (with a dims sweep) and in `run` + `report` + `compare`. Third-party code where it matters: Hugging
Face GPT-2 from a small config, jax2onnx's own Flax NNX example MLP."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from aibench_onnx.cli import app

runner = CliRunner()
MODELS = '''
import numpy as np
import torch


def gpt2():
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(0)
    return GPT2Model(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=100, n_positions=64))


def make_text(batch, seq=8, seed=0):
    rng = np.random.default_rng(seed)
    return {"input_ids": rng.integers(0, 100, (batch, seq)).astype("int64"),
            "attention_mask": np.ones((batch, seq), "int64")}


class Pinned(torch.nn.Module):
    def forward(self, x):
        if x.shape[1] == 8:  # torch.export takes this branch for every size
            return x * 2
        return x * 3


class Positional(torch.nn.Module):
    def forward(self, x):
        return x + torch.arange(8.0)[None, :, None]  # a table of 8 positions: seq must be 8


class Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.proj = torch.nn.Linear(4, 4)

    def forward(self, x, scale=1.0):
        return {"y": torch.tanh(self.proj(x)) * scale}


class Masked(torch.nn.Module):
    """Causal attention over a left-padded batch: the first query rows of a padded sequence see no key."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.qkv = torch.nn.Linear(8, 24)

    def forward(self, x, attention_mask):
        q, k, v = self.qkv(x).unsqueeze(1).chunk(3, dim=-1)
        causal = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).tril()
        allowed = attention_mask[:, None, None, :].bool() & causal
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed).squeeze(1)


def masked():
    return Masked()


def make_masked(batch, seq=6, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, seq), "int64")
    mask[0, :2] = 0  # left padding: with the causal mask, rows 0-1 of sequence 0 attend to nothing
    return {"x": rng.standard_normal((batch, seq, 8)).astype("float32"), "attention_mask": mask}


def pinned():
    return Pinned()


def positional():
    return Positional()


def small():
    return Small()


def jax_mlp():
    from flax import nnx
    from jax2onnx.plugins.examples.nnx.mlp import MLP

    return MLP(din=12, dmid=16, dout=3, rngs=nnx.Rngs(0))


def not_a_dict(batch):
    return [np.zeros((batch, 4), "float32")]
'''


@pytest.fixture()
def user_dir(tmp_path, monkeypatch):
    (tmp_path / "user_models.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_line_error(result, expected: str) -> None:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and expected in lines[0], result.output


def graph_input_dims(path) -> dict[str, list]:
    import onnx

    return {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
            for i in onnx.load(str(path)).graph.input}


def test_call_args_parse_as_json_or_text():
    from aibench_onnx.cli.user_models import parse_call_args

    assert parse_call_args(["use_cache=false", "deterministic=True", "n=3", "mode=fast", "x=null"]) == \
        {"use_cache": False, "deterministic": True, "n": 3, "mode": "fast", "x": None}


def test_axes_are_inferred_from_an_input_factory():
    from aibench_onnx.frameworks.user_inputs import inferred_axes

    def make(batch, dims):
        return {"ids": np.zeros((batch, dims["seq"]), "int64"), "image": np.zeros((batch, 3, 8, 8), "float32"),
                "scale": np.ones((), "float32")}

    assert inferred_axes(make, {"seq": 16}) == {"ids": {0: "batch", 1: "seq"}, "image": {0: "batch"}, "scale": {}}


@pytest.mark.slow
@pytest.mark.torch
def test_gpt2_with_a_static_call_argument_and_an_input_factory(user_dir):
    """GPT-2 returns a DynamicCache unless use_cache=False; its inputs come from the user's factory, whose
    `seq` axis is found by calling it at another size, exported dynamic and checked at seq 7 and batch 3."""
    argv = ["check", "user_models:gpt2", "--framework", "torch", "--inputs", "user_models:make_text", "--dim", "seq=8",
            "-o", "gpt2", "--json", "gpt2.json"]
    refused = runner.invoke(app, argv[:-2])
    assert refused.exit_code == 2 and "DynamicCache" in refused.output
    result = runner.invoke(app, argv + ["--call-arg", "use_cache=false"])
    assert result.exit_code == 0, result.output
    document = json.loads((user_dir / "gpt2.json").read_text())
    assert document["passed"] and document["input_sets"] == 2
    assert graph_input_dims(user_dir / "gpt2" / "model.onnx") == {"input_ids": ["batch", "seq"],
                                                                  "attention_mask": ["batch", "seq"]}
    from aibench_onnx.graph.testdata import read_test_data_set

    # the second reference set is at sizes the export never saw

    inputs, _ = read_test_data_set(str(user_dir / "gpt2" / "test_data_set_1"), ["input_ids", "attention_mask"],
                                   ["last_hidden_state"])
    assert inputs["input_ids"].shape == (3, 7)


@pytest.mark.torch
def test_a_size_dependent_branch_pins_the_size_and_other_sizes_fail_the_check(user_dir):
    """torch.export takes the `seq == 8` branch and pins seq to 8: the graph says so, and the reference set at
    seq 7 (where the native model takes the other branch) fails with ONNX Runtime's reason."""
    result = runner.invoke(app, ["check", "user_models:pinned", "--framework", "torch", "--input",
                                 "x:float32[batch,seq,4]", "--dim", "seq=8", "-o", "pinned", "--json", "p.json"])
    assert result.exit_code == 1, result.output
    assert "declared dynamic, exported fixed: x[1] (seq) fixed to 8" in result.output
    cell = json.loads((user_dir / "p.json").read_text())["cells"][0]
    assert cell["reason"].startswith("run failed on input set 1 (x [3, 7, 4]): ")
    assert "index: 1 Got: 7 Expected: 8" in cell["reason"]


def test_outputs_wrong_only_at_another_input_set_are_named_with_their_shapes(tmp_path):
    """Set 0 passes and set 1 does not: the verdict names the set and its shapes, and says what that means."""
    import onnx
    from onnx import TensorProto, helper

    from aibench_onnx.graph.testdata import write_test_data_set
    from aibench_onnx.parity.check import check_onnx

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq"])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8), str(tmp_path / "m.onnx"))
    x0, x1 = np.ones((2, 8), np.float32), np.ones((3, 7), np.float32)
    write_test_data_set(tmp_path / "test_data_set_0", {"x": x0}, {"y": x0})
    write_test_data_set(tmp_path / "test_data_set_1", {"x": x1}, {"y": x1 * 2})  # what a size-dependent branch does
    result = check_onnx(str(tmp_path / "m.onnx"), [str(tmp_path / f"test_data_set_{i}") for i in (0, 1)],
                        ["cpu"], ["disabled"])
    (cell,) = result.cells
    assert cell.failing_sets == [1] and "(input set 1 only: x [3, 7]; set 0 passes)" in cell.reason
    assert "matches the model at input set 0 but not at set 1" in cell.divergence["note"]


@pytest.mark.torch
def test_an_export_difference_is_localized_in_the_exported_program(user_dir):
    """Fully masked query rows: the dynamo graph computes them otherwise than PyTorch while ONNX Runtime agrees
    with itself node by node — an export difference, said where it lies (the padded rows) and the first node
    of the exported program whose value differs, with the user's source line."""
    result = runner.invoke(app, ["check", "user_models:masked", "--framework", "torch", "--inputs",
                                 "user_models:make_masked", "--opt-level", "disabled", "--json", "m.json",
                                 "--repro", "repros"])
    assert result.exit_code == 1, result.output
    (cell,) = json.loads((user_dir / "m.json").read_text())["cells"]
    assert cell["model"] == "masked" and cell["framework"] == "torch" and cell["status"] == "failed"
    assert "where attention_mask is 0 (padding)" in cell["reason"]
    assert cell["divergence"]["export_difference"] and "an export difference" in cell["divergence"]["note"]
    found = cell["divergence"]["exported_program"]
    assert found["found"] and found["node"] == "scaled_dot_product_attention"
    assert found["source"].startswith("user_models.py:") and "scaled_dot_product_attention" in found["source"]
    assert "first node that differs from PyTorch: scaled_dot_product_attention" in cell["reason"]
    # the reproduction: the attention's ONNX translation alone, fed PyTorch's values, for torch.onnx's tracker
    repro = cell["repro"]
    assert repro["reproduced"] and repro["tracker"]["project"].startswith("torch.onnx"), repro
    assert repro["bundle_nodes"] < repro["full_nodes"] and "scaled_dot_product_attention" in repro["nodes"][-1:][0]
    readme = (Path(repro["directory"]) / "README.md").read_text()
    assert "user_models.py:" in readme and str(user_dir) not in readme
    assert str(user_dir).encode() not in (Path(repro["directory"]) / "model.onnx").read_bytes()  # stack traces cut


@pytest.mark.torch
def test_an_axis_the_exporter_fixed_is_reported(user_dir):
    """torch.export specialises seq to 8 but names it in the graph as if any size worked: the graph now says 8."""
    result = runner.invoke(app, ["check", "user_models:positional", "--framework", "torch", "--input",
                                 "x:float32[batch,seq,4]", "--dim", "seq=8", "-o", "flat"])
    assert result.exit_code == 0, result.output
    assert "declared dynamic, exported fixed: x[1] (seq) fixed to 8" in result.output
    assert "not checked at other sizes: the native model does not run at other sizes" in result.output
    assert graph_input_dims(user_dir / "flat" / "model.onnx") == {"x": ["batch", 8, 4]}


@pytest.mark.jax
def test_jax2onnx_example_mlp_with_deterministic_bound(user_dir):
    result = runner.invoke(app, ["check", "user_models:jax_mlp", "--framework", "jax", "--input", "x:float32[batch,12]",
                                 "--call-arg", "deterministic=true", "-o", "mlp", "--json", "mlp.json"])
    assert result.exit_code == 0, result.output
    assert json.loads((user_dir / "mlp.json").read_text())["passed"]


@pytest.mark.tf
def test_a_keras_model_with_inputs_from_an_npz_file(user_dir):
    (user_dir / "keras_models.py").write_text(
        "import keras\n\ndef dense():\n    keras.utils.set_random_seed(0)\n"
        "    inputs = keras.Input((6,))\n    return keras.Model(inputs, keras.layers.Dense(3)(inputs))\n")
    np.savez(user_dir / "inputs.npz", x=np.random.default_rng(0).standard_normal((4, 6)).astype("float32"))
    result = runner.invoke(app, ["check", "keras_models:dense", "--framework", "tf", "--inputs", "inputs.npz",
                                 "-o", "dense", "--json", "dense.json"])
    assert result.exit_code == 0, result.output
    document = json.loads((user_dir / "dense.json").read_text())
    assert document["passed"] and document["cells"][0]["outputs"][0]["expected_shape"] == [4, 3]


@pytest.mark.torch
def test_inputs_from_a_test_data_directory_at_every_batch(user_dir):
    from aibench_onnx.frameworks.user_model import UserModel
    from aibench_onnx.graph.testdata import write_test_data_set

    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32)
    write_test_data_set(user_dir / "stored", {"x": x}, None)
    user = UserModel("user_models:small", "torch", inputs_from="stored", cwd=str(user_dir))
    assert user.stored_inputs and user.axes() == {"x": {0: "batch"}}
    np.testing.assert_array_equal(user.arrays()["x"], x)
    assert user.arrays(batch=3)["x"].shape == (3, 5, 4)  # rows repeated to the batch timed
    result = runner.invoke(app, ["check", "user_models:small", "--framework", "torch", "--inputs", "stored",
                                 "-o", "from-dir"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("extra, expected", [
    (["--input", "x:float32[batch,4]", "--call-arg", "nope"], "expected NAME=VALUE"),
    (["--inputs", "user_models:not_a_dict"], "returned list; expected a dict of input name -> numpy array"),
    (["--inputs", "missing.npz"], "missing.npz: no such file"),
    (["--input", "x:float32[batch,4]", "--call-arg", "colour=1"], "call argument 'colour' matches no parameter"),
    ([], "needs its inputs: --input NAME:DTYPE[dims]"),
    (["--input", "x:float32[batch,4]", "--dim", "seq=4,8"], "check takes one size per dimension"),
])
@pytest.mark.torch
def test_bad_user_model_options_are_one_line_exit_2(user_dir, extra, expected):
    one_line_error(runner.invoke(app, ["check", "user_models:small", "--framework", "torch", *extra]), expected)


@pytest.mark.torch
def test_bench_times_a_user_model_native_and_ort_over_a_dims_sweep(user_dir):
    result = runner.invoke(app, [
        "bench", "user_models:small", "--framework", "torch", "--input", "x:float32[batch,seq,4]", "--dim", "seq=3,6",
        "--call-arg", "scale=2.0", "--runtime", "torch-eager,ort", "--opt-level", "all", "--batch", "1,2",
        "--repeats", "1", "--min-time", "0.02", "-o", "bench", "--json", "bench.json"])
    assert result.exit_code == 0, result.output
    document = json.loads((user_dir / "bench.json").read_text())
    assert document["settings"]["user_model"]["call_args"] == {"scale": 2.0}
    benches = {bench["model"]: bench for bench in document["results"]}
    assert set(benches) == {"small@seq=3", "small@seq=6"}
    for bench in benches.values():
        assert {r["config"]["label"] for r in bench["results"] if r["status"] == "ok"} == \
            {"torch-eager", "ort:torch-graph:cpu:all"}
        assert {e["batch"] for e in bench["effects"] if e["kind"] == "runtime"} == {1, 2}
    assert len(list((user_dir / "bench").glob("small/torch/model.onnx"))) == 1
    # the bench is a run: its directory reports each point of the sweep, every planned process recorded
    from aibench_onnx.runs.report import build_report

    report = build_report(user_dir / "bench")
    assert report.jobs_done == report.jobs_planned and set(report.latency) == set(benches)


@pytest.mark.slow
@pytest.mark.torch
def test_run_report_and_compare_take_user_models_from_a_toml_file(user_dir):
    (user_dir / "models.toml").write_text(
        '[[model]]\nname = "small-scaled"\ntarget = "user_models:small"\nframework = "torch"\n'
        'inputs = ["x:float32[batch,seq,4]"]\ncall_args = { scale = 2.0 }\ndims = { seq = 5 }\n')
    result = runner.invoke(app, ["run", "--quick", "--user-models", "models.toml", "--batch", "1", "--repeats", "2",
                                 "-o", "runs"])
    assert result.exit_code == 0, result.output
    (run_dir,) = (user_dir / "runs").iterdir()
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert {r["model"] for r in records} == {"small-scaled"}
    parity = next(r for r in records if r["kind"] == "parity")
    assert parity["status"] == "ok" and parity["result"]["cells"][0]["status"] == "passed" and parity["result"]["cells"][0]["outputs"][0]["name"] == "y"
    assert {r["result"]["config"]["label"] for r in records if r["kind"] == "bench" and r["status"] == "ok"} == \
        {"torch-eager", "ort:torch-graph:cpu:all"}
    report = runner.invoke(app, ["report", str(run_dir), "--format", "markdown"])
    assert report.exit_code == 0 and "small-scaled" in report.output and "scale=2.0" in report.output
    compared = runner.invoke(app, ["compare", str(run_dir), str(run_dir), "--fail-on", "median:5%"])
    assert compared.exit_code == 0, compared.output
    assert "small-scaled" in compared.output


@pytest.mark.parametrize("text, expected", [
    ("", "no [[model]] tables"),
    ('[[model]]\ntarget = "m:f"\nframework = "torch"\ninputs = ["x:float32[2]"]\ncolour = 1\n', "unknown key 'colour'"),
    ('[[model]]\nframework = "torch"\ninputs = ["x:float32[2]"]\n', "target is required"),
    ('[[model]]\ntarget = "m:f"\nframework = "torch"\n', "give inputs"),
    ('[[model]]\nname = "mlp"\ntarget = "m:f"\nframework = "torch"\ninputs = ["x:float32[2]"]\n', "is taken"),
    ("[[model]\n", "not valid TOML"),
])
def test_a_bad_user_models_file_is_one_line_exit_2(tmp_path, monkeypatch, text, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.toml").write_text(text)
    one_line_error(runner.invoke(app, ["run", "--user-models", "models.toml", "-o", "runs"]), expected)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
