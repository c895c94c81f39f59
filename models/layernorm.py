"""Micro: LayerNorm over the hidden axis with learned scale and shift (eps 1e-5 in every framework)."""

from __future__ import annotations

from aibench_onnx.zoo.spec import BATCH, ModelSpec, TensorSpec, layernorm_init

EPS = 1e-5  # torch's default; Keras (1e-3) and Flax (1e-6) are set to it explicitly

SPEC = ModelSpec(
    name="layernorm",
    description="LayerNorm over the last axis with scale and shift, eps 1e-5",
    family="micro",
    sizes={"tiny": {"seq": 8, "hidden": 32}, "small": {"seq": 128, "hidden": 768},
           "base": {"seq": 512, "hidden": 1024}},
    inputs=(TensorSpec("x", (BATCH, "seq", "hidden"), scale=2.0),),
    outputs=(TensorSpec("y", (BATCH, "seq", "hidden")),),
    init_params=lambda dims, rng: layernorm_init(rng, "ln", dims["hidden"]),
    layout="(batch, seq, hidden) everywhere",
)


def build_torch(params, dims):
    import torch

    from aibench_onnx.frameworks import torch_fw

    layer = torch.nn.LayerNorm(dims["hidden"], eps=EPS)
    torch_fw.load_layernorm(layer, params, "ln")
    return layer.eval()


def build_tf(params, dims):
    import keras
    import numpy as np

    from aibench_onnx.frameworks import tf_fw

    model = keras.Sequential([keras.layers.LayerNormalization(epsilon=EPS)])
    tf_fw.build(model, [np.zeros((1, dims["seq"], dims["hidden"]), np.float32)])
    tf_fw.set_weights(model.layers[0], tf_fw.layernorm_weights(params, "ln"))
    return model


def build_jax(params, dims):
    from flax import nnx

    from aibench_onnx.frameworks import jax_fw

    layer = jax_fw.blank(nnx.LayerNorm, dims["hidden"], epsilon=EPS)
    jax_fw.load_layernorm(layer, params, "ln")
    return layer
