"""Micro: one 3x3 convolution with bias, stride 1, padding 1, on NCHW input."""

from __future__ import annotations

import numpy as np

from aibench_onnx.zoo.spec import BATCH, ModelSpec, TensorSpec, conv_init


def init_params(dims, rng):
    return {"conv.w": conv_init(rng, 3, 3, dims["c_in"], dims["c_out"]), "conv.b": 0.1 * rng.standard_normal(dims["c_out"])}


SPEC = ModelSpec(
    name="conv2d",
    description="3x3 convolution with bias, stride 1, padding 1",
    family="micro",
    sizes={"tiny": {"c_in": 3, "c_out": 8, "h": 8, "w": 8}, "small": {"c_in": 64, "c_out": 64, "h": 56, "w": 56},
           "base": {"c_in": 128, "c_out": 128, "h": 112, "w": 112}},
    inputs=(TensorSpec("x", (BATCH, "c_in", "h", "w")),),
    outputs=(TensorSpec("y", (BATCH, "c_out", "h", "w")),),
    init_params=init_params,
    layout="canonical activations NCHW (as ONNX); torch convolves NCHW, TF and Flax transpose to NHWC at "
    "input and back at output (TF's CPU Conv2D has no NCHW kernel). Kernel canonical HWIO; torch "
    "transposes to OIHW",
)


def build_torch(params, dims):
    import torch

    from aibench_onnx.frameworks import torch_fw

    layer = torch.nn.Conv2d(dims["c_in"], dims["c_out"], 3, padding=1)
    torch_fw.load_conv(layer, params, "conv")
    return layer.eval()


def build_tf(params, dims):
    import keras

    from aibench_onnx.frameworks import tf_fw

    class Conv(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(dims["c_out"], 3, padding="same")

        def call(self, x):
            return tf_fw.nhwc_to_nchw(self.conv(tf_fw.nchw_to_nhwc(x)))

    model = Conv()
    tf_fw.build(model, [np.zeros((1, dims["c_in"], dims["h"], dims["w"]), np.float32)])
    tf_fw.set_weights(model.conv, tf_fw.conv_weights(params, "conv"))
    return model


def build_jax(params, dims):
    from flax import nnx

    from aibench_onnx.frameworks import jax_fw

    class Conv(nnx.Module):
        def __init__(self):
            self.conv = jax_fw.blank(nnx.Conv, dims["c_in"], dims["c_out"], (3, 3), padding=((1, 1), (1, 1)))

        def __call__(self, x):
            return jax_fw.nhwc_to_nchw(self.conv(jax_fw.nchw_to_nhwc(x)))

    model = Conv()
    jax_fw.load_conv(model.conv, params, "conv")
    return model
