"""The zoo, driven by the registry: a new model is covered here without writing a new test."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.frameworks import FRAMEWORKS
from aibench_onnx.parity import across
from aibench_onnx.parity.across import agree_across_frameworks, agree_across_frameworks_many
from aibench_onnx.zoo.registry import MODELS, get_spec
from aibench_onnx.zoo.spec import DEFAULT_TOLERANCES, ModelSpec, TensorSpec, Tolerance

runner = CliRunner()
REQUIRED_MODELS = {"mlp", "cnn", "mobilenet", "transformer", "lstm", "unet",
                   "matmul", "conv2d", "layernorm", "softmax", "attention", "gelu"}


def test_zoo_has_the_required_models_each_in_three_frameworks():
    result = runner.invoke(app, ["models", "--json", "-"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    names = {m["name"] for m in document["models"]}
    assert REQUIRED_MODELS <= names
    for model in document["models"]:
        assert set(model["frameworks"]) == set(FRAMEWORKS)
        assert all(status.startswith("defined") for status in model["frameworks"].values()), model
        assert {"tiny", "small"} <= set(model["sizes"])
        assert model["family"] in ("macro", "micro")


@pytest.mark.parametrize("name", list(MODELS))
def test_spec_inputs_are_deterministic_and_shaped(name):
    spec = get_spec(name)
    first = spec.make_inputs("tiny", batch=3, seed=5)
    again = spec.make_inputs("tiny", batch=3, seed=5)
    other = spec.make_inputs("tiny", batch=3, seed=6)
    dims = spec.dims("tiny", 3)
    for tensor in spec.inputs:
        assert first[tensor.name].tobytes() == again[tensor.name].tobytes()
        assert first[tensor.name].shape == tensor.concrete_shape(dims)
        assert str(first[tensor.name].dtype) == tensor.dtype
    assert any(first[t.name].tobytes() != other[t.name].tobytes() for t in spec.inputs)


@pytest.mark.parametrize("name", list(MODELS))
def test_shape_only_param_count_matches_the_real_weights(name):
    spec = get_spec(name)
    for size in ("tiny", "small"):
        params = spec.make_params(size, seed=0)
        assert spec.param_count(size) == sum(v.size for v in params.values())
        assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in params.values())
        again = spec.make_params(size, seed=0)
        assert all(params[k].tobytes() == again[k].tobytes() for k in params)


def test_padding_mask_keeps_a_token_in_every_row():
    mask = TensorSpec("m", ("batch", "seq"), dtype="int64", generator="padding_mask").generate(
        np.random.default_rng(0), {"batch": 64, "seq": 5})
    assert mask.sum(axis=1).min() >= 1 and set(np.unique(mask)) <= {0, 1}
    # right padding: once a row has a 0, it stays 0
    assert (np.diff(mask, axis=1) <= 0).all()


def test_tolerance_override_without_a_reason_is_rejected():
    with pytest.raises(ValueError, match="reason"):
        ModelSpec(name="x", description="x", family="micro", sizes={"tiny": {}, "small": {}}, inputs=(), outputs=(),
                  init_params=lambda d, r: {}, layout="", tolerances={"float32": DEFAULT_TOLERANCES["float32"]})
    ModelSpec(name="x", description="x", family="micro", sizes={"tiny": {}, "small": {}}, inputs=(), outputs=(),
              init_params=lambda d, r: {}, layout="", tolerances={"float32": Tolerance(1e-3, 1e-4, "long LSTM")})


@pytest.mark.parametrize("argv", [["parity", "--across-frameworks", "nope"],
                                  ["parity", "--across-frameworks", "mlp", "--size", "huge"],
                                  ["parity", "--across-frameworks", "mlp", "-f", "torch,mxnet"]])
def test_bad_model_size_or_framework_is_one_line_exit_2(argv):
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "valid" in lines[0], result.output


def test_missing_framework_is_reported_and_the_others_still_run(monkeypatch):
    """TF 'not installed': its pair says so with the pip extra; JAX vs torch is still compared."""
    monkeypatch.setattr(across, "missing_framework",
                        lambda fw: "not installed: pip install 'aibench-onnx[tf]'" if fw == "tf" else None)
    real_run = across._run_framework

    def run_without_workers(specs, sizes, fw, files, workdir, threads):
        if across.missing_framework(fw):
            return real_run(specs, sizes, fw, files, workdir, threads)  # the real 'unavailable' path
        return {spec.name: (across.FrameworkRun(fw, "ok", param_count=256, expected_param_count=256),
                            [{"y": np.ones((2, 8, 16), np.float32)}]) for spec in specs}

    monkeypatch.setattr(across, "_run_framework", run_without_workers)
    agreement = agree_across_frameworks(get_spec("matmul"), "tiny", 1, ["torch", "tf", "jax"], threads=1)
    status = {pair.framework: (pair.status, pair.reason) for pair in agreement.pairs}
    assert status["jax"] == ("passed", "")
    assert status["tf"][0] == "unavailable" and "pip install 'aibench-onnx[tf]'" in status["tf"][1]


def test_a_disagreeing_pair_makes_the_command_exit_1(monkeypatch):
    def fake_run(specs, sizes, fw, files, workdir, threads):
        value = 1.0 if fw == "torch" else 1.01  # a planted 1% disagreement
        return {spec.name: (across.FrameworkRun(fw, "ok", param_count=256, expected_param_count=256),
                            [{"y": np.full((2, 8, 16), value, np.float32)}]) for spec in specs}

    monkeypatch.setattr(across, "_run_framework", fake_run)
    result = runner.invoke(app, ["parity", "--across-frameworks", "matmul", "--size", "tiny", "--seeds", "1"])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output


@pytest.fixture(scope="module")
def agreements() -> dict:
    """model -> its ModelAgreement at tiny: every model in each framework's one process, computed once."""
    found = agree_across_frameworks_many([get_spec(name) for name in MODELS], "tiny", seeds=2,
                                         frameworks=list(FRAMEWORKS), threads=1)
    return {agreement.model: agreement for agreement in found}


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.tf
@pytest.mark.jax
@pytest.mark.parametrize("name", list(MODELS))
def test_model_agrees_across_frameworks_at_tiny(name, agreements):
    """Every model x framework builds, runs, has the spec's output shapes/dtypes and parameter count, and
    agrees with PyTorch on several seeds (each framework in its own process)."""
    spec = get_spec(name)
    agreement = agreements[name]
    for framework, run in agreement.runs.items():
        assert run.status == "ok" and run.reason == "", (framework, run)
        assert run.param_count == spec.expected_native_param_count("tiny", framework)
    for pair in agreement.pairs:
        assert pair.status == "passed", (pair.framework, pair.reason, [o.to_dict() for o in pair.outputs])
        assert [o.name for o in pair.outputs] == [t.name for t in spec.outputs]
        assert all(o.samples == 2 for o in pair.outputs)
