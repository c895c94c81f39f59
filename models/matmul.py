"""Micro: one batched matrix product, x @ W. Tells whether a runtime's GEMM is the bottleneck."""

from __future__ import annotations

import numpy as np

from aibench_onnx.zoo.spec import BATCH, ModelSpec, TensorSpec


def init_params(dims, rng):
    return {"w": rng.standard_normal((dims["k"], dims["n"])) / np.sqrt(dims["k"])}


SPEC = ModelSpec(
    name="matmul",
    description="Batched matrix product x @ W (k -> n), no bias",
    family="micro",
    sizes={"tiny": {"m": 8, "k": 16, "n": 16}, "small": {"m": 128, "k": 256, "n": 256},
           "base": {"m": 512, "k": 1024, "n": 1024}},
    inputs=(TensorSpec("x", (BATCH, "m", "k")),),
    outputs=(TensorSpec("y", (BATCH, "m", "n")),),
    init_params=init_params,
    layout="canonical W is (k, n); torch keeps it as a plain parameter for torch.matmul, Keras Dense and "
    "Flax Linear use it as is",
)


def build_torch(params, dims):
    import torch

    class MatMul(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.from_numpy(params["w"]))

        def forward(self, x):
            return torch.matmul(x, self.w)

    return MatMul().eval()


def build_tf(params, dims):
    import keras

    from aibench_onnx.frameworks import tf_fw

    model = keras.Sequential([keras.layers.Dense(dims["n"], use_bias=False)])
    tf_fw.build(model, [np.zeros((1, dims["m"], dims["k"]), np.float32)])
    tf_fw.set_weights(model.layers[0], [params["w"]])
    return model


def build_jax(params, dims):
    from flax import nnx

    from aibench_onnx.frameworks import jax_fw

    layer = jax_fw.blank(nnx.Linear, dims["k"], dims["n"], use_bias=False)
    jax_fw.load(layer.kernel, params["w"])
    return layer
