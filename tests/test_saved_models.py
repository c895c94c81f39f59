"""Models as their frameworks save them, checked by path: each kind saved by its framework's own save call
(torch.export.save, torch.jit.save, Keras model.save / model.export, save_pretrained), detected by content,
loaded without running the artifact's code, inputs from the artifact's own signature; hostile or broken
artifacts one line, exit 2."""

import json
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.errors import UserError
from aibench_onnx.frameworks.saved import detect, is_saved_model

runner = CliRunner()


def check(tmp_path, *argv: str) -> tuple[int, str, dict]:
    result = runner.invoke(app, ["check", *argv, "--opt-level", "all", "-o", str(tmp_path / "out"),
                                 "--json", str(tmp_path / "c.json")])
    document = json.loads((tmp_path / "c.json").read_text()) if (tmp_path / "c.json").exists() else {}
    return result.exit_code, result.output, document


def one_line_exit_2(tmp_path, argv: list[str], said: str) -> None:
    code, output, document = check(tmp_path, *argv)
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and said in lines[0], output
    assert document["status"] == "error" and "\x1b" not in output


def test_artifacts_are_told_apart_by_content_not_by_name(tmp_path):
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    with zipfile.ZipFile(tmp_path / "model.bin", "w") as archive:  # a .keras archive under another name
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"")
    with zipfile.ZipFile(tmp_path / "weights.pt", "w") as archive:  # what torch.save writes: a pickle
        archive.writestr("weights/data.pkl", b"")
    (tmp_path / "cut.pt2").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    (tmp_path / "empty").mkdir()
    assert detect(str(tmp_path / "hf")).kind == "hf-folder"
    assert detect(str(tmp_path / "model.bin")).kind == "keras" and is_saved_model(str(tmp_path / "model.bin"))
    assert detect("pkg.module:build") is None and not is_saved_model("pkg.module:build")
    for name, said in (("weights.pt", "a pickled torch.save file"), ("cut.pt2", "truncated or corrupt archive"),
                       ("empty", "a folder without config.json")):
        with pytest.raises(UserError, match=said):
            detect(str(tmp_path / name))


@pytest.mark.torch
def test_a_pt2_and_a_torchscript_file_are_checked_by_path(tmp_path):
    import torch

    class Gate(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.proj = torch.nn.Linear(16, 4)

        def forward(self, x, mask):
            return torch.tanh(self.proj(x)) * mask

    model = Gate().eval()
    example = (torch.randn(2, 16), torch.ones(2, 4))
    batch = torch.export.Dim("batch")
    torch.export.save(torch.export.export(model, example, dynamic_shapes=({0: batch}, {0: batch})),
                      str(tmp_path / "gate.pt2"))
    torch.jit.save(torch.jit.script(model), str(tmp_path / "gate.pt"))
    code, output, document = check(tmp_path, str(tmp_path / "gate.pt2"))  # inputs from the program itself
    assert code == 0 and document["passed"], output
    assert [i["name"] for i in document["inputs"][0]] == ["x", "mask"] and document["input_sets"] == 2
    one_line_exit_2(tmp_path, [str(tmp_path / "gate.pt")], "records no input shapes")
    code, output, document = check(tmp_path, str(tmp_path / "gate.pt"), "--input", "x:float32[batch,16]",
                                   "--input", "mask:float32[batch,4]")
    assert code == 0 and document["passed"], output
    assert document["export"]["exporter"] == "torch.onnx (TorchScript)"  # chosen first for a ScriptModule


@pytest.mark.tf
def test_a_keras_file_and_a_savedmodel_are_checked_by_path_and_a_lambda_needs_consent(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    features, extra = keras.Input((16,), name="features"), keras.Input((3,), name="extra")
    score = keras.layers.Dense(4)(features) + keras.layers.Dense(4)(extra)
    model = keras.Model([features, extra], {"score": score})
    model.save(str(tmp_path / "two_inputs.keras"))
    model.export(str(tmp_path / "served"))
    keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2)]).save(str(tmp_path / "lambda.keras"))
    for path in ("two_inputs.keras", "served"):
        code, output, document = check(tmp_path, str(tmp_path / path))
        assert code == 0 and document["passed"], (path, output)
        assert sorted(i["name"] for i in document["inputs"][0]) == ["extra", "features"]
    one_line_exit_2(tmp_path, [str(tmp_path / "lambda.keras")], "--trust-artifact-code")
    code, output, _ = check(tmp_path, str(tmp_path / "lambda.keras"), "--trust-artifact-code")
    assert code == 0, output


@pytest.mark.torch
def test_hugging_face_folders_use_their_saved_weights_and_refuse_remote_code(tmp_path):
    import torch
    from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=100, n_positions=64)).save_pretrained(
        tmp_path / "gpt2")
    bert = BertModel(BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                                vocab_size=100, max_position_embeddings=64)).eval()
    bert.save_pretrained(tmp_path / "bert")
    code, output, document = check(tmp_path, str(tmp_path / "gpt2"))  # a causal LM: called without its cache
    assert code == 0 and document["passed"], output
    assert document["export"]["user"]["call_args"] == {"use_cache": False}
    code, output, document = check(tmp_path, str(tmp_path / "bert"))
    assert code == 0 and document["passed"], output
    # the saved weights, not random ones: the reference outputs are what the saved model computes
    from onnx import TensorProto, numpy_helper

    def tensor(name: str) -> np.ndarray:
        proto = TensorProto()
        proto.ParseFromString((tmp_path / "out" / "test_data_set_0" / name).read_bytes())
        return numpy_helper.to_array(proto)

    with torch.no_grad():
        hidden = bert(input_ids=torch.from_numpy(tensor("input_0.pb")),
                      attention_mask=torch.from_numpy(tensor("input_1.pb"))).last_hidden_state.numpy()
    np.testing.assert_allclose(tensor("output_0.pb"), hidden, atol=1e-5)
    config = json.loads((tmp_path / "bert" / "config.json").read_text())
    (tmp_path / "bert" / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModel": "evil.Model"}}))
    one_line_exit_2(tmp_path, [str(tmp_path / "bert")], "names remote code")
    (tmp_path / "bert" / "model.safetensors").unlink()
    (tmp_path / "bert" / "config.json").write_text(json.dumps(config))
    one_line_exit_2(tmp_path, [str(tmp_path / "bert")], "never invents random weights")
