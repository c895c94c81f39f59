"""Macro: a multilayer perceptron — dense layers with exact (erf) GELU, then a linear classifier head."""

from __future__ import annotations

import numpy as np

from aibench_onnx.zoo.spec import BATCH, ModelSpec, TensorSpec, dense_init


def layer_widths(dims) -> list[int]:
    return [dims["features"]] + [dims["hidden"]] * dims["layers"]


def init_params(dims, rng):
    params = {}
    widths = layer_widths(dims)
    for index, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        params[f"fc{index}.w"], params[f"fc{index}.b"] = dense_init(rng, fan_in, fan_out)
    params["head.w"], params["head.b"] = dense_init(rng, widths[-1], dims["classes"])
    return params


SPEC = ModelSpec(
    name="mlp",
    description="Dense layers with exact GELU and a linear classifier head",
    family="macro",
    sizes={"tiny": {"features": 16, "hidden": 32, "layers": 2, "classes": 4},
           "small": {"features": 256, "hidden": 512, "layers": 3, "classes": 10},
           "base": {"features": 1024, "hidden": 2048, "layers": 4, "classes": 100}},
    inputs=(TensorSpec("x", (BATCH, "features")),),
    outputs=(TensorSpec("logits", (BATCH, "classes")),),
    init_params=init_params,
    layout="canonical dense weights (in, out): Keras and Flax use them as is, torch Linear transposes",
    notes="TF computes exact GELU through erf (Keras' gelu lowers to Erfc, which tf2onnx cannot convert)",
)


def build_torch(params, dims):
    import torch

    from aibench_onnx.frameworks import torch_fw

    widths = layer_widths(dims)
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        linear = torch.nn.Linear(fan_in, fan_out)
        torch_fw.load_linear(linear, params, f"fc{index}")
        layers += [linear, torch.nn.GELU()]
    head = torch.nn.Linear(widths[-1], dims["classes"])
    torch_fw.load_linear(head, params, "head")
    return torch.nn.Sequential(*layers, head).eval()


def build_tf(params, dims):
    import keras

    from aibench_onnx.frameworks import tf_fw

    hidden = [keras.layers.Dense(dims["hidden"], activation=tf_fw.gelu_exact) for _ in range(dims["layers"])]
    head = keras.layers.Dense(dims["classes"])
    model = keras.Sequential(hidden + [head])
    tf_fw.build(model, [np.zeros((1, dims["features"]), np.float32)])
    for index, layer in enumerate(hidden):
        tf_fw.set_weights(layer, tf_fw.dense_weights(params, f"fc{index}"))
    tf_fw.set_weights(head, tf_fw.dense_weights(params, "head"))
    return model


def build_jax(params, dims):
    import jax
    from flax import nnx

    from aibench_onnx.frameworks import jax_fw

    class MLP(nnx.Module):
        def __init__(self):
            widths = layer_widths(dims)
            self.hidden = nnx.List([jax_fw.blank(nnx.Linear, i, o) for i, o in zip(widths, widths[1:])])
            self.head = jax_fw.blank(nnx.Linear, widths[-1], dims["classes"])

        def __call__(self, x):
            for layer in self.hidden:
                x = jax.nn.gelu(layer(x), approximate=False)
            return self.head(x)

    model = MLP()
    for index, layer in enumerate(model.hidden):
        jax_fw.load_linear(layer, params, f"fc{index}")
    jax_fw.load_linear(model.head, params, "head")
    return model
