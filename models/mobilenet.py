"""Macro: a MobileNetV3-style network — hard-swish stem, depthwise-separable blocks (3x3 depthwise conv,
BatchNorm, hard-swish, squeeze-excite with hard-sigmoid gating, 1x1 pointwise conv, BatchNorm, residual
when shapes allow), global average pooling and a linear head."""

from __future__ import annotations

import numpy as np

from aibench_onnx.zoo.spec import (
    BATCH,
    ModelSpec,
    TensorSpec,
    batchnorm_init,
    conv_init,
    dense_init,
)

BN_EPS = 1e-5
STAGE_MULTIPLIERS = (1.0, 1.5, 2.5, 5.0, 7.0, 10.0)


def _round8(value: float) -> int:
    return max(8, int(round(value / 8)) * 8)


def blocks(dims):
    """(prefix, c_in, c_out, stride) of every depthwise-separable block."""
    c_in = dims["width"]
    for stage in range(dims["stages"]):
        c_out = _round8(dims["width"] * STAGE_MULTIPLIERS[stage])
        for block in range(dims["blocks"]):
            yield f"s{stage}.b{block}", c_in, c_out, 2 if (stage > 0 and block == 0) else 1
            c_in = c_out


def se_width(channels: int) -> int:
    return _round8(channels / 4)


def last_width(dims) -> int:
    return _round8(dims["width"] * STAGE_MULTIPLIERS[dims["stages"] - 1])


def init_params(dims, rng):
    params = {"stem.w": conv_init(rng, 3, 3, dims["channels"], dims["width"])}
    params.update(batchnorm_init(rng, "stem.bn", dims["width"]))
    for p, c_in, c_out, _ in blocks(dims):
        params[f"{p}.dw.w"] = conv_init(rng, 3, 3, 1, c_in)  # depthwise: canonical (kh, kw, 1, channels)
        params.update(batchnorm_init(rng, f"{p}.dw_bn", c_in))
        params[f"{p}.se1.w"], params[f"{p}.se1.b"] = dense_init(rng, c_in, se_width(c_in))
        params[f"{p}.se2.w"], params[f"{p}.se2.b"] = dense_init(rng, se_width(c_in), c_in)
        params[f"{p}.pw.w"] = conv_init(rng, 1, 1, c_in, c_out)
        params.update(batchnorm_init(rng, f"{p}.pw_bn", c_out))
    params["head.w"], params["head.b"] = dense_init(rng, last_width(dims), dims["classes"])
    return params


SPEC = ModelSpec(
    name="mobilenet",
    description="MobileNetV3-style: depthwise-separable convs, hard-swish, squeeze-excite, linear head",
    family="macro",
    sizes={"tiny": {"channels": 3, "image": 16, "width": 8, "stages": 2, "blocks": 1, "classes": 10},
           "small": {"channels": 3, "image": 64, "width": 16, "stages": 4, "blocks": 2, "classes": 10},
           "base": {"channels": 3, "image": 224, "width": 16, "stages": 6, "blocks": 2, "classes": 1000}},
    inputs=(TensorSpec("image", (BATCH, "channels", "image", "image")),),
    outputs=(TensorSpec("logits", (BATCH, "classes")),),
    init_params=init_params,
    layout="canonical input NCHW; torch runs NCHW, TF and Flax transpose once to NHWC. Kernels canonical "
    "HWIO, depthwise (kh, kw, 1, C): torch transposes to (C, 1, kh, kw), Keras to (kh, kw, C, 1), Flax "
    "uses it as is (feature_group_count=C). Stride-2 convs pad 1 on every side in all three",
)


def build_torch(params, dims):
    import torch
    from torch import nn

    from aibench_onnx.frameworks import torch_fw

    def bn(prefix, channels):
        layer = nn.BatchNorm2d(channels, eps=BN_EPS)
        torch_fw.load_batchnorm(layer, params, prefix)
        return layer

    class Block(nn.Module):
        def __init__(self, p, c_in, c_out, stride):
            super().__init__()
            self.residual = stride == 1 and c_in == c_out
            self.dw = nn.Conv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in, bias=False)
            self.dw_bn = bn(f"{p}.dw_bn", c_in)
            self.se1, self.se2 = nn.Linear(c_in, se_width(c_in)), nn.Linear(se_width(c_in), c_in)
            self.pw = nn.Conv2d(c_in, c_out, 1, bias=False)
            self.pw_bn = bn(f"{p}.pw_bn", c_out)
            torch_fw.load_conv(self.dw, params, f"{p}.dw")
            torch_fw.load_linear(self.se1, params, f"{p}.se1")
            torch_fw.load_linear(self.se2, params, f"{p}.se2")
            torch_fw.load_conv(self.pw, params, f"{p}.pw")

        def forward(self, x):
            y = nn.functional.hardswish(self.dw_bn(self.dw(x)))
            gate = nn.functional.hardsigmoid(self.se2(torch.relu(self.se1(y.mean(dim=(2, 3))))))
            y = self.pw_bn(self.pw(y * gate[:, :, None, None]))
            return x + y if self.residual else y

    class MobileNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(dims["channels"], dims["width"], 3, stride=2, padding=1, bias=False)
            self.stem_bn = bn("stem.bn", dims["width"])
            self.blocks = nn.Sequential(*[Block(*b) for b in blocks(dims)])
            self.head = nn.Linear(last_width(dims), dims["classes"])
            torch_fw.load_conv(self.stem, params, "stem")
            torch_fw.load_linear(self.head, params, "head")

        def forward(self, image):
            x = self.blocks(nn.functional.hardswish(self.stem_bn(self.stem(image))))
            return self.head(x.mean(dim=(2, 3)))

    return MobileNet().eval()


def build_tf(params, dims):
    import keras
    import tensorflow as tf

    from aibench_onnx.frameworks import tf_fw

    def pad1(x):
        return tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])

    class Block(keras.layers.Layer):
        def __init__(self, p, c_in, c_out, stride):
            super().__init__()
            self.prefix, self.residual = p, stride == 1 and c_in == c_out
            self.dw = keras.layers.DepthwiseConv2D(3, strides=stride, padding="valid", use_bias=False)
            self.dw_bn = keras.layers.BatchNormalization(epsilon=BN_EPS)
            self.se1 = keras.layers.Dense(se_width(c_in), activation="relu")
            self.se2 = keras.layers.Dense(c_in, activation=keras.activations.hard_sigmoid)
            self.pw = keras.layers.Conv2D(c_out, 1, use_bias=False)
            self.pw_bn = keras.layers.BatchNormalization(epsilon=BN_EPS)

        def call(self, x, training=False):
            y = keras.activations.hard_swish(self.dw_bn(self.dw(pad1(x)), training=training))
            gate = self.se2(self.se1(tf.reduce_mean(y, axis=(1, 2))))
            y = self.pw_bn(self.pw(y * gate[:, None, None, :]), training=training)
            return x + y if self.residual else y

    class MobileNet(keras.Model):
        def __init__(self):
            super().__init__()
            self.stem = keras.layers.Conv2D(dims["width"], 3, strides=2, padding="valid", use_bias=False)
            self.stem_bn = keras.layers.BatchNormalization(epsilon=BN_EPS)
            self.blocks = [Block(*b) for b in blocks(dims)]
            self.head = keras.layers.Dense(dims["classes"])

        def call(self, image, training=False):
            x = self.stem_bn(self.stem(pad1(tf_fw.nchw_to_nhwc(image))), training=training)
            x = keras.activations.hard_swish(x)
            for block in self.blocks:
                x = block(x, training=training)
            return self.head(tf.reduce_mean(x, axis=(1, 2)))

    model = MobileNet()
    tf_fw.build(model, [np.zeros((1, dims["channels"], dims["image"], dims["image"]), np.float32)])
    tf_fw.set_weights(model.stem, [params["stem.w"]])
    tf_fw.set_weights(model.stem_bn, tf_fw.batchnorm_weights(params, "stem.bn"))
    for block in model.blocks:
        p = block.prefix
        tf_fw.set_weights(block.dw, [params[f"{p}.dw.w"].transpose(0, 1, 3, 2)])
        tf_fw.set_weights(block.dw_bn, tf_fw.batchnorm_weights(params, f"{p}.dw_bn"))
        tf_fw.set_weights(block.se1, tf_fw.dense_weights(params, f"{p}.se1"))
        tf_fw.set_weights(block.se2, tf_fw.dense_weights(params, f"{p}.se2"))
        tf_fw.set_weights(block.pw, [params[f"{p}.pw.w"]])
        tf_fw.set_weights(block.pw_bn, tf_fw.batchnorm_weights(params, f"{p}.pw_bn"))
    tf_fw.set_weights(model.head, tf_fw.dense_weights(params, "head"))
    return model


def build_jax(params, dims):
    import jax
    from flax import nnx

    from aibench_onnx.frameworks import jax_fw

    def bn(prefix, channels):
        layer = jax_fw.blank(nnx.BatchNorm, channels, use_running_average=True, epsilon=BN_EPS)
        jax_fw.load_batchnorm(layer, params, prefix)
        return layer

    class Block(nnx.Module):
        def __init__(self, p, c_in, c_out, stride):
            self.residual = stride == 1 and c_in == c_out
            self.dw = jax_fw.blank(nnx.Conv, c_in, c_in, (3, 3), strides=stride, padding=((1, 1), (1, 1)),
                               feature_group_count=c_in, use_bias=False)
            self.dw_bn = bn(f"{p}.dw_bn", c_in)
            self.se1 = jax_fw.blank(nnx.Linear, c_in, se_width(c_in))
            self.se2 = jax_fw.blank(nnx.Linear, se_width(c_in), c_in)
            self.pw = jax_fw.blank(nnx.Conv, c_in, c_out, (1, 1), use_bias=False)
            self.pw_bn = bn(f"{p}.pw_bn", c_out)
            jax_fw.load_conv(self.dw, params, f"{p}.dw")
            jax_fw.load_linear(self.se1, params, f"{p}.se1")
            jax_fw.load_linear(self.se2, params, f"{p}.se2")
            jax_fw.load_conv(self.pw, params, f"{p}.pw")

        def __call__(self, x):
            y = jax.nn.hard_swish(self.dw_bn(self.dw(x)))
            gate = jax.nn.hard_sigmoid(self.se2(jax.nn.relu(self.se1(y.mean(axis=(1, 2))))))
            y = self.pw_bn(self.pw(y * gate[:, None, None, :]))
            return x + y if self.residual else y

    class MobileNet(nnx.Module):
        def __init__(self):
            self.stem = jax_fw.blank(nnx.Conv, dims["channels"], dims["width"], (3, 3), strides=2, padding=((1, 1), (1, 1)),
                                 use_bias=False)
            self.stem_bn = bn("stem.bn", dims["width"])
            self.blocks = nnx.List([Block(*b) for b in blocks(dims)])
            self.head = jax_fw.blank(nnx.Linear, last_width(dims), dims["classes"])
            jax_fw.load_conv(self.stem, params, "stem")
            jax_fw.load_linear(self.head, params, "head")

        def __call__(self, image):
            x = jax.nn.hard_swish(self.stem_bn(self.stem(jax_fw.nchw_to_nhwc(image))))
            for block in self.blocks:
                x = block(x)
            return self.head(x.mean(axis=(1, 2)))

    return MobileNet()
