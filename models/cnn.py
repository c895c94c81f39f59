"""Macro: a small ResNet — conv/BatchNorm/ReLU stem, basic residual blocks (two 3x3 convs, identity or
1x1-conv shortcut), global average pooling and a linear head. BatchNorm uses running statistics."""

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

BN_EPS = 1e-5  # torch's default; Keras (1e-3) is set to it explicitly


def stage_widths(dims) -> list[int]:
    return [dims["width"] * 2**i for i in range(dims["stages"])]


def blocks(dims):
    """(prefix, c_in, c_out, stride) of every basic block, in order."""
    c_in = dims["width"]
    for stage, c_out in enumerate(stage_widths(dims)):
        for block in range(dims["blocks"]):
            stride = 2 if stage > 0 and block == 0 else 1
            yield f"s{stage}.b{block}", c_in, c_out, stride
            c_in = c_out


def init_params(dims, rng):
    params = {"stem.conv.w": conv_init(rng, 3, 3, dims["channels"], dims["width"])}
    params.update(batchnorm_init(rng, "stem.bn", dims["width"]))
    for prefix, c_in, c_out, stride in blocks(dims):
        params[f"{prefix}.conv1.w"] = conv_init(rng, 3, 3, c_in, c_out)
        params.update(batchnorm_init(rng, f"{prefix}.bn1", c_out))
        params[f"{prefix}.conv2.w"] = conv_init(rng, 3, 3, c_out, c_out)
        params.update(batchnorm_init(rng, f"{prefix}.bn2", c_out))
        if stride != 1 or c_in != c_out:
            params[f"{prefix}.down.w"] = conv_init(rng, 1, 1, c_in, c_out)
            params.update(batchnorm_init(rng, f"{prefix}.down_bn", c_out))
    params["head.w"], params["head.b"] = dense_init(rng, stage_widths(dims)[-1], dims["classes"])
    return params


SPEC = ModelSpec(
    name="cnn",
    description="ResNet-style CNN: basic blocks (conv, BatchNorm, ReLU, residual add), avg pool, linear head",
    family="macro",
    sizes={"tiny": {"channels": 3, "image": 16, "width": 8, "stages": 2, "blocks": 1, "classes": 10},
           "small": {"channels": 3, "image": 64, "width": 16, "stages": 3, "blocks": 2, "classes": 10},
           "base": {"channels": 3, "image": 224, "width": 64, "stages": 4, "blocks": 2, "classes": 1000}},
    inputs=(TensorSpec("image", (BATCH, "channels", "image", "image")),),
    outputs=(TensorSpec("logits", (BATCH, "classes")),),
    init_params=init_params,
    layout="canonical input NCHW; torch runs NCHW, TF and Flax transpose once to NHWC at the input. "
    "Kernels canonical HWIO (torch transposes to OIHW). Stride-2 convs pad 1 on every side in all three "
    "(TF's 'same' would pad only bottom/right)",
)


def build_torch(params, dims):
    import torch
    from torch import nn

    from aibench_onnx.frameworks import torch_fw

    def conv_bn(prefix_conv, prefix_bn, c_in, c_out, kernel, stride):
        conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)
        bn = nn.BatchNorm2d(c_out, eps=BN_EPS)
        torch_fw.load_conv(conv, params, prefix_conv)
        torch_fw.load_batchnorm(bn, params, prefix_bn)
        return nn.Sequential(conv, bn)

    class BasicBlock(nn.Module):
        def __init__(self, prefix, c_in, c_out, stride):
            super().__init__()
            self.branch1 = conv_bn(f"{prefix}.conv1", f"{prefix}.bn1", c_in, c_out, 3, stride)
            self.branch2 = conv_bn(f"{prefix}.conv2", f"{prefix}.bn2", c_out, c_out, 3, 1)
            needs_down = stride != 1 or c_in != c_out
            self.shortcut = conv_bn(f"{prefix}.down", f"{prefix}.down_bn", c_in, c_out, 1, stride) if needs_down else nn.Identity()

        def forward(self, x):
            y = self.branch2(torch.relu(self.branch1(x)))
            return torch.relu(y + self.shortcut(x))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = conv_bn("stem.conv", "stem.bn", dims["channels"], dims["width"], 3, 1)
            self.blocks = nn.Sequential(*[BasicBlock(*block) for block in blocks(dims)])
            self.head = nn.Linear(stage_widths(dims)[-1], dims["classes"])
            torch_fw.load_linear(self.head, params, "head")

        def forward(self, image):
            x = self.blocks(torch.relu(self.stem(image)))
            return self.head(x.mean(dim=(2, 3)))

    return ResNet().eval()


def build_tf(params, dims):
    import keras
    import tensorflow as tf

    from aibench_onnx.frameworks import tf_fw

    def conv(c_out, kernel, stride):
        return keras.layers.Conv2D(c_out, kernel, strides=stride, padding="valid", use_bias=False)

    class ConvBN(keras.layers.Layer):
        def __init__(self, c_out, kernel, stride):
            super().__init__()
            self.pad = kernel // 2
            self.conv = conv(c_out, kernel, stride)
            self.bn = keras.layers.BatchNormalization(epsilon=BN_EPS)

        def call(self, x, training=False):
            if self.pad:
                x = tf.pad(x, [[0, 0], [self.pad, self.pad], [self.pad, self.pad], [0, 0]])
            return self.bn(self.conv(x), training=training)

    class BasicBlock(keras.layers.Layer):
        def __init__(self, prefix, c_in, c_out, stride):
            super().__init__()
            self.prefix = prefix
            self.branch1 = ConvBN(c_out, 3, stride)
            self.branch2 = ConvBN(c_out, 3, 1)
            self.shortcut = ConvBN(c_out, 1, stride) if (stride != 1 or c_in != c_out) else None

        def call(self, x, training=False):
            y = self.branch2(tf.nn.relu(self.branch1(x, training=training)), training=training)
            skip = self.shortcut(x, training=training) if self.shortcut is not None else x
            return tf.nn.relu(y + skip)

    class ResNet(keras.Model):
        def __init__(self):
            super().__init__()
            self.stem = ConvBN(dims["width"], 3, 1)
            self.blocks = [BasicBlock(*block) for block in blocks(dims)]
            self.head = keras.layers.Dense(dims["classes"])

        def call(self, image, training=False):
            x = tf.nn.relu(self.stem(tf_fw.nchw_to_nhwc(image), training=training))
            for block in self.blocks:
                x = block(x, training=training)
            return self.head(tf.reduce_mean(x, axis=(1, 2)))

    model = ResNet()
    tf_fw.build(model, [np.zeros((1, dims["channels"], dims["image"], dims["image"]), np.float32)])

    def load_conv_bn(layer, prefix_conv, prefix_bn):
        tf_fw.set_weights(layer.conv, tf_fw.conv_weights(params, prefix_conv, bias=False))
        tf_fw.set_weights(layer.bn, tf_fw.batchnorm_weights(params, prefix_bn))

    load_conv_bn(model.stem, "stem.conv", "stem.bn")
    for block in model.blocks:
        load_conv_bn(block.branch1, f"{block.prefix}.conv1", f"{block.prefix}.bn1")
        load_conv_bn(block.branch2, f"{block.prefix}.conv2", f"{block.prefix}.bn2")
        if block.shortcut is not None:
            load_conv_bn(block.shortcut, f"{block.prefix}.down", f"{block.prefix}.down_bn")
    tf_fw.set_weights(model.head, tf_fw.dense_weights(params, "head"))
    return model


def build_jax(params, dims):
    import jax
    from flax import nnx

    from aibench_onnx.frameworks import jax_fw

    class ConvBN(nnx.Module):
        def __init__(self, prefix_conv, prefix_bn, c_in, c_out, kernel, stride):
            pad = kernel // 2
            self.conv = jax_fw.blank(nnx.Conv, c_in, c_out, (kernel, kernel), strides=stride, padding=((pad, pad), (pad, pad)),
                                 use_bias=False)
            self.bn = jax_fw.blank(nnx.BatchNorm, c_out, use_running_average=True, epsilon=BN_EPS)
            jax_fw.load_conv(self.conv, params, prefix_conv)
            jax_fw.load_batchnorm(self.bn, params, prefix_bn)

        def __call__(self, x):
            return self.bn(self.conv(x))

    class BasicBlock(nnx.Module):
        def __init__(self, prefix, c_in, c_out, stride):
            self.branch1 = ConvBN(f"{prefix}.conv1", f"{prefix}.bn1", c_in, c_out, 3, stride)
            self.branch2 = ConvBN(f"{prefix}.conv2", f"{prefix}.bn2", c_out, c_out, 3, 1)
            needs_down = stride != 1 or c_in != c_out
            self.shortcut = ConvBN(f"{prefix}.down", f"{prefix}.down_bn", c_in, c_out, 1, stride) if needs_down else None

        def __call__(self, x):
            y = self.branch2(jax.nn.relu(self.branch1(x)))
            return jax.nn.relu(y + (self.shortcut(x) if self.shortcut is not None else x))

    class ResNet(nnx.Module):
        def __init__(self):
            self.stem = ConvBN("stem.conv", "stem.bn", dims["channels"], dims["width"], 3, 1)
            self.blocks = nnx.List([BasicBlock(*block) for block in blocks(dims)])
            self.head = jax_fw.blank(nnx.Linear, stage_widths(dims)[-1], dims["classes"])
            jax_fw.load_linear(self.head, params, "head")

        def __call__(self, image):
            x = jax.nn.relu(self.stem(jax_fw.nchw_to_nhwc(image)))
            for block in self.blocks:
                x = block(x)
            return self.head(x.mean(axis=(1, 2)))

    return ResNet()
