"""Micro: softmax over the last axis and over a non-last axis (channels), a known exporter pitfall."""

from __future__ import annotations

from aibench_onnx.zoo.spec import BATCH, ModelSpec, TensorSpec

SPEC = ModelSpec(
    name="softmax",
    description="Softmax over the last axis and over axis 1 (channels) of an NCHW tensor",
    family="micro",
    sizes={"tiny": {"c": 4, "h": 4, "w": 8}, "small": {"c": 32, "h": 32, "w": 64},
           "base": {"c": 64, "h": 64, "w": 128}},
    inputs=(TensorSpec("x", (BATCH, "c", "h", "w"), scale=4.0),),
    outputs=(TensorSpec("last_axis", (BATCH, "c", "h", "w")), TensorSpec("channel_axis", (BATCH, "c", "h", "w"))),
    init_params=lambda dims, rng: {},
    layout="NCHW everywhere: no transposes, so the non-last-axis softmax really is over axis 1",
)


def build_torch(params, dims):
    import torch

    class Softmax(torch.nn.Module):
        def forward(self, x):
            return torch.softmax(x, dim=-1), torch.softmax(x, dim=1)

    return Softmax().eval()


def build_tf(params, dims):
    import keras
    import tensorflow as tf

    class Softmax(keras.Model):
        def call(self, x):
            return tf.nn.softmax(x, axis=-1), tf.nn.softmax(x, axis=1)

    return Softmax()


def build_jax(params, dims):
    import jax
    from flax import nnx

    class Softmax(nnx.Module):
        def __call__(self, x):
            return jax.nn.softmax(x, axis=-1), jax.nn.softmax(x, axis=1)

    return Softmax()
