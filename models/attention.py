"""Micro: scaled dot-product attention, softmax(q k^T / sqrt(d)) v, no mask, no projections."""

from __future__ import annotations

from aibench_onnx.zoo.spec import BATCH, ModelSpec, TensorSpec

SPEC = ModelSpec(
    name="attention",
    description="Scaled dot-product attention over (batch, heads, seq, head_dim) q, k, v",
    family="micro",
    sizes={"tiny": {"heads": 2, "seq": 8, "head_dim": 8}, "small": {"heads": 8, "seq": 128, "head_dim": 64},
           "base": {"heads": 12, "seq": 512, "head_dim": 64}},
    # Logits grow with |q|·|k|: at x50 each they would be in the thousands and softmax a near-argmax whose
    # ties flip on rounding. x4 on q and k (logits x16) still saturates softmax; v carries the x50.
    inputs=(TensorSpec("q", (BATCH, "heads", "seq", "head_dim"), large_scale=4.0),
            TensorSpec("k", (BATCH, "heads", "seq", "head_dim"), large_scale=4.0),
            TensorSpec("v", (BATCH, "heads", "seq", "head_dim"))),
    outputs=(TensorSpec("y", (BATCH, "heads", "seq", "head_dim")),),
    init_params=lambda dims, rng: {},
    layout="canonical (batch, heads, seq, head_dim) as torch's scaled_dot_product_attention; "
    "jax.nn.dot_product_attention wants (batch, seq, heads, head_dim), so JAX transposes in and out",
)


def build_torch(params, dims):
    import torch

    class Attention(torch.nn.Module):
        def forward(self, q, k, v):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v)

    return Attention().eval()


def build_tf(params, dims):
    import keras
    import numpy as np
    import tensorflow as tf

    scale = np.float32(1.0 / np.sqrt(dims["head_dim"]))

    class Attention(keras.Model):
        def call(self, inputs):
            q, k, v = inputs
            weights = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) * scale, axis=-1)
            return tf.matmul(weights, v)

    return Attention()


def build_jax(params, dims):
    import jax
    import jax.numpy as jnp
    from flax import nnx

    class Attention(nnx.Module):
        def __call__(self, q, k, v):
            to_bthd = lambda t: jnp.transpose(t, (0, 2, 1, 3))  # noqa: E731 - (B,N,T,H) <-> (B,T,N,H)
            return to_bthd(jax.nn.dot_product_attention(to_bthd(q), to_bthd(k), to_bthd(v)))

    return Attention()
