"""Micro: exact (erf) GELU, elementwise. The TF builder deliberately uses Keras' own gelu, which lowers to
Erfc: tf2onnx cannot convert it (tensorflow-onnx #2347), and the zoo should show that, not hide it.
(The macro models use an erf-based GELU in TF so that they export.)"""

from __future__ import annotations

from aibench_onnx.zoo.spec import BATCH, ModelSpec, TensorSpec

SPEC = ModelSpec(
    name="gelu",
    description="Exact GELU, x * Phi(x), elementwise (TF uses Keras' gelu, which lowers to Erfc)",
    family="micro",
    sizes={"tiny": {"n": 64}, "small": {"n": 16384}, "base": {"n": 262144}},
    inputs=(TensorSpec("x", (BATCH, "n"), scale=3.0),),
    outputs=(TensorSpec("y", (BATCH, "n")),),
    init_params=lambda dims, rng: {},
    layout="elementwise: no layout",
    known_export_failures={
        "tf": "tensorflow-onnx #2347: Keras' exact gelu lowers to Erfc, which tf2onnx cannot convert",
    },
)


def build_torch(params, dims):
    import torch

    return torch.nn.GELU(approximate="none").eval()


def build_tf(params, dims):
    import keras

    class Gelu(keras.Model):
        def call(self, x):
            return keras.activations.gelu(x, approximate=False)

    return Gelu()


def build_jax(params, dims):
    import jax
    from flax import nnx

    class Gelu(nnx.Module):
        def __call__(self, x):
            return jax.nn.gelu(x, approximate=False)

    return Gelu()
