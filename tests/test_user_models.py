"""Users' models as they come (issue 12, first part): third-party architectures built from small configs, no
weights downloaded — Hugging Face transformers returning a ModelOutput with inputs by name, Keras 3
applications (Functional models, not tf.Modules), dict and nested outputs — through `aibench check`."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.frameworks.outputs import flatten_outputs

runner = CliRunner()
MODELS = '''
import torch


def bert():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    return BertModel(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                vocab_size=100)).eval()


class DictAndNested(torch.nn.Module):
    def forward(self, x):
        return {"logits": x * 2, "extras": (torch.tanh(x), None, {"norm": x.abs().sum(-1)})}


def dict_and_nested():
    return DictAndNested()


def mobilenet_v3():
    import keras

    keras.utils.set_random_seed(0)
    return keras.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3), classes=10,
                                                classifier_activation=None, include_preprocessing=False)


def a_string():
    return "not a model"
'''


@pytest.fixture()
def user_dir(tmp_path, monkeypatch):
    (tmp_path / "user_models.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(user_dir, target, framework, *inputs):
    argv = ["check", f"user_models:{target}", "--framework", framework, "-o", str(user_dir / target),
            "--json", str(user_dir / f"{target}.json")]
    for declaration in inputs:
        argv += ["--input", declaration]
    result = runner.invoke(app, argv)
    return result, (json.loads((user_dir / f"{target}.json").read_text()) if result.exit_code == 0 else None)


def graph_outputs(path) -> list[str]:
    import onnx

    return [o.name for o in onnx.load(str(path)).graph.output]


def test_outputs_get_stable_names_from_any_structure():
    leaf = lambda node: isinstance(node, np.ndarray)  # noqa: E731
    a, b = np.zeros(1), np.ones(1)
    assert list(flatten_outputs(a, leaf)) == ["output_0"]
    assert list(flatten_outputs((a, b), leaf)) == ["output_0", "output_1"]
    nested = flatten_outputs({"logits": a, "extras": (b, None, {"norm": a})}, leaf)
    assert list(nested) == ["logits", "extras.0", "extras.2.norm"]  # None dropped, order kept
    with pytest.raises(TypeError, match="returned a str at extras.0; accepted: tensors"):
        flatten_outputs({"extras": ("text",)}, leaf)


def test_inputs_can_carry_a_value_range():
    from aibench_onnx.frameworks.user_inputs import concrete_inputs, parse_input

    declared = [parse_input("input_ids:int64[batch,8]@0..99"), parse_input("attention_mask:int64[batch,8]@0..1"),
                parse_input("pixels:float32[batch,3]@0..1")]
    arrays = concrete_inputs(declared, {})
    assert arrays["input_ids"].shape == (2, 8) and 0 <= arrays["input_ids"].min() and arrays["input_ids"].max() <= 99
    assert set(np.unique(arrays["attention_mask"])) <= {0, 1} and arrays["attention_mask"].dtype == np.int64
    assert 0.0 <= arrays["pixels"].min() and arrays["pixels"].max() <= 1.0


@pytest.mark.parametrize("text, expected", [("x:int64[2]@5..1", "is empty"), ("x:int64[2]@a..b", "value range")])
def test_a_bad_value_range_is_one_line_exit_2(text, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", "m:f", "--framework", "torch", "--input", text])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and expected in lines[0], result.output


@pytest.mark.slow
@pytest.mark.torch
def test_a_hugging_face_model_with_named_inputs_and_a_model_output(user_dir):
    result, document = check(user_dir, "bert", "torch", "input_ids:int64[batch,8]@0..99",
                             "attention_mask:int64[batch,8]@0..1")
    assert result.exit_code == 0, result.output
    assert document["passed"] and document["reference"] == "stored"
    assert graph_outputs(user_dir / "bert" / "model.onnx") == ["last_hidden_state", "pooler_output"]
    assert {o["name"] for o in document["cells"][0]["outputs"]} == {"last_hidden_state", "pooler_output"}


@pytest.mark.torch
def test_dict_and_nested_outputs_keep_their_names_in_the_graph(user_dir):
    result, document = check(user_dir, "dict_and_nested", "torch", "x:float32[batch,4]")
    assert result.exit_code == 0, result.output
    assert graph_outputs(user_dir / "dict_and_nested" / "model.onnx") == ["logits", "extras.0", "extras.2.norm"]
    assert document["passed"]


@pytest.mark.slow
@pytest.mark.tf
def test_a_keras_applications_model_is_accepted_exported_and_checked(user_dir):
    result, document = check(user_dir, "mobilenet_v3", "tf", "x:float32[batch,32,32,3]")
    assert result.exit_code == 0, result.output
    assert document["passed"] and document["cells"][0]["outputs"][0]["expected_shape"] == [2, 10]


@pytest.mark.torch
def test_bad_user_models_are_one_line_errors_that_say_what_is_accepted(user_dir):
    result, _ = check(user_dir, "bert", "torch", "input_ids:int64[batch,8]", "attention_maks:int64[batch,8]")
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "'attention_maks' matches no parameter of BertModel.forward(input_ids, attention_mask" in lines[0]
    result, _ = check(user_dir, "a_string", "torch", "x:float32[batch,4]")
    assert result.exit_code == 2 and "returned str, not a torch model (accepted: a torch.nn.Module" in result.output


@pytest.mark.torch
def test_the_python_api_checks_a_model_as_it_comes():
    import torch

    import aibench_onnx

    class TwoHeads(torch.nn.Module):
        def forward(self, input_ids, attention_mask):
            hidden = input_ids.float() * attention_mask.float()
            return {"sum": hidden.sum(-1), "max": hidden.max(-1).values}

    ids = np.random.default_rng(0).integers(0, 50, (2, 6)).astype(np.int64)
    mask = np.ones((2, 6), np.int64)
    result = aibench_onnx.check(TwoHeads(), {"input_ids": ids, "attention_mask": mask}, framework="torch")
    assert result.passed and result.reference == "stored"
    assert {o.name for o in result.cells[0].outputs} == {"sum", "max"}
    with pytest.raises(ValueError, match="framework="):
        aibench_onnx.check(TwoHeads(), {"input_ids": ids})


@pytest.mark.torch
def test_the_python_api_binds_static_call_arguments():
    import torch

    from aibench_onnx.testing import assert_onnx_parity

    class Scaled(torch.nn.Module):
        def forward(self, x, scale=1.0, offset=None):
            return x * scale + (0 if offset is None else offset)

    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    from aibench_onnx.frameworks.user_model import bind_model

    bound = bind_model(Scaled(), "torch", ["x"], {"scale": 3.0, "offset": 1.0})
    np.testing.assert_allclose(bound(torch.from_numpy(x)).numpy(), x * 3 + 1, rtol=1e-6)
    result = assert_onnx_parity(Scaled(), {"x": x}, framework="torch", call_args={"scale": 3.0, "offset": 1.0})
    assert result.cells[0].outputs[0].max_abs < 1e-6
    with pytest.raises(Exception, match="call argument 'colour' matches no parameter of Scaled.forward"):
        assert_onnx_parity(Scaled(), {"x": x}, framework="torch", call_args={"colour": 1})


@pytest.mark.tf
def test_every_tensorflow_model_kind_with_tuple_and_dict_outputs():
    """Keras Sequential, a subclassed keras.Model returning a dict, and a plain tf.Module whose tf.function
    returns a tuple: each exported and checked as it comes, outputs under their flattened names."""
    import keras
    import tensorflow as tf

    import aibench_onnx

    keras.utils.set_random_seed(0)
    sequential = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])

    class TwoHeads(keras.Model):
        def __init__(self):
            super().__init__()
            self.body, self.head = keras.layers.Dense(4), keras.layers.Dense(3)

        def call(self, x, training=False):
            hidden = self.body(x)
            return {"scores": self.head(hidden), "hidden": hidden}

    class Scale(tf.Module):
        def __init__(self):
            self.w = tf.Variable(tf.fill((5,), 1.5))

        @tf.function
        def __call__(self, x):
            return x * self.w, tf.reduce_sum(x, axis=-1)

    x = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    expected = {"sequential": ["output_0"], "subclassed": ["scores", "hidden"], "module": ["output_0", "output_1"]}
    for name, model in {"sequential": sequential, "subclassed": TwoHeads(), "module": Scale()}.items():
        result = aibench_onnx.check(model, {"x": x}, framework="tf", eps=["cpu"], opt_levels=["all"])
        assert result.passed, (name, result.to_dict())
        assert sorted(o.name for o in result.cells[0].outputs) == sorted(expected[name]), name
