"""Macro: a pre-LayerNorm transformer encoder classifier.

int64 token ids -> token + learned position embeddings -> N x [LayerNorm, multi-head self-attention with a
padding mask, residual; LayerNorm, GELU MLP, residual] -> final LayerNorm -> mean over real (unpadded)
tokens -> linear head. The mask is int64 1/0 as Hugging Face tokenizers produce it.
"""

from __future__ import annotations

import numpy as np

from aibench_onnx.zoo.spec import (
    BATCH,
    ModelSpec,
    TensorSpec,
    dense_init,
    layernorm_init,
    pre_ln_block_init,
)

LN_EPS = 1e-5  # torch's default; Keras (1e-3) and Flax (1e-6) are set to it explicitly


def init_params(dims, rng):
    d = dims["d_model"]
    params = {"tok_emb": rng.standard_normal((dims["vocab"], d)),
              "pos_emb": 0.5 * rng.standard_normal((dims["seq"], d))}
    for layer in range(dims["layers"]):
        params.update(pre_ln_block_init(rng, f"l{layer}", d))
    params.update(layernorm_init(rng, "ln_f", d))
    params["head.w"], params["head.b"] = dense_init(rng, d, dims["classes"])
    return params


SPEC = ModelSpec(
    name="transformer",
    description="Pre-LN transformer encoder: token+position embeddings, masked multi-head self-attention, "
    "GELU MLP, masked mean pooling, classifier head",
    family="macro",
    sizes={"tiny": {"vocab": 50, "seq": 8, "d_model": 16, "heads": 2, "layers": 1, "classes": 3},
           "small": {"vocab": 1000, "seq": 64, "d_model": 128, "heads": 4, "layers": 2, "classes": 4},
           "base": {"vocab": 30522, "seq": 128, "d_model": 768, "heads": 12, "layers": 12, "classes": 2}},
    inputs=(TensorSpec("input_ids", (BATCH, "seq"), dtype="int64", generator="token_ids"),
            TensorSpec("attention_mask", (BATCH, "seq"), dtype="int64", generator="padding_mask")),
    outputs=(TensorSpec("logits", (BATCH, "classes")),),
    init_params=init_params,
    layout="(batch, seq, d_model) everywhere. Canonical q/k/v/o weights are (d, d) in->out: torch packs "
    "q,k,v into in_proj_weight (3d, d) transposed; Keras and Flax reshape to (d, heads, head_dim) and "
    "the output projection to (heads, head_dim, d)",
    notes="TF computes exact GELU through erf (Keras' gelu lowers to Erfc, which tf2onnx cannot convert)",
    # Measured at size small (benchmarks/precision_table.py); JAX's graph passes int8-static.
    known_precision_failures={
        "int8-static/torch": "static QDQ quantizes torch's additive attention mask, which holds -inf at padded "
                             "keys: its calibrated range is infinite and the mask Add turns NaN (SQNR ~0 dB); keep "
                             "attention (mask Add, Softmax) in float (onnxruntime.quantization: nodes_to_exclude)",
        "int8-static/tf": "static QDQ quantizes the attention Softmax's probabilities: the signal drops below "
                          "the floor there (SQNR ~11 dB at the output); keep Softmax in float "
                          "(onnxruntime.quantization: nodes_to_exclude)",
    },
)


def build_torch(params, dims):
    import torch
    from torch import nn

    from aibench_onnx.frameworks import torch_fw

    d, heads = dims["d_model"], dims["heads"]

    class EncoderLayer(nn.Module):
        def __init__(self, p):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d, eps=LN_EPS), nn.LayerNorm(d, eps=LN_EPS)
            self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
            self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
            torch_fw.load_layernorm(self.ln1, params, f"{p}.ln1")
            torch_fw.load_layernorm(self.ln2, params, f"{p}.ln2")
            torch_fw.load(self.attn.in_proj_weight,
                          np.concatenate([params[f"{p}.attn.{x}.w"].T for x in "qkv"], axis=0))
            torch_fw.load(self.attn.in_proj_bias, np.concatenate([params[f"{p}.attn.{x}.b"] for x in "qkv"]))
            torch_fw.load_linear(self.attn.out_proj, params, f"{p}.attn.o")
            torch_fw.load_linear(self.fc1, params, f"{p}.fc1")
            torch_fw.load_linear(self.fc2, params, f"{p}.fc2")

        def forward(self, x, padding):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, key_padding_mask=padding, need_weights=False)[0]
            return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))

    class Transformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok_emb = nn.Embedding(dims["vocab"], d)
            self.pos_emb = nn.Parameter(torch.zeros(dims["seq"], d))
            self.layers = nn.ModuleList([EncoderLayer(f"l{i}") for i in range(dims["layers"])])
            self.ln_f = nn.LayerNorm(d, eps=LN_EPS)
            self.head = nn.Linear(d, dims["classes"])
            torch_fw.load(self.tok_emb.weight, params["tok_emb"])
            torch_fw.load(self.pos_emb, params["pos_emb"])
            torch_fw.load_layernorm(self.ln_f, params, "ln_f")
            torch_fw.load_linear(self.head, params, "head")

        def forward(self, input_ids, attention_mask):
            x = self.tok_emb(input_ids) + self.pos_emb[: input_ids.shape[1]]
            padding = attention_mask == 0  # torch: True marks keys to ignore
            for layer in self.layers:
                x = layer(x, padding)
            x = self.ln_f(x)
            weights = attention_mask.unsqueeze(-1).to(x.dtype)
            return self.head((x * weights).sum(dim=1) / weights.sum(dim=1))

    return Transformer().eval()


def build_tf(params, dims):
    import keras
    import tensorflow as tf

    from aibench_onnx.frameworks import tf_fw

    d, heads = dims["d_model"], dims["heads"]
    head_dim = d // heads

    class EncoderLayer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.ln1 = keras.layers.LayerNormalization(epsilon=LN_EPS)
            self.ln2 = keras.layers.LayerNormalization(epsilon=LN_EPS)
            self.attn = keras.layers.MultiHeadAttention(heads, key_dim=head_dim)
            self.fc1 = keras.layers.Dense(4 * d, activation=tf_fw.gelu_exact)
            self.fc2 = keras.layers.Dense(d)

        def call(self, x, attend):
            h = self.ln1(x)
            x = x + self.attn(h, h, attention_mask=attend, training=False)
            return x + self.fc2(self.fc1(self.ln2(x)))

    class Transformer(keras.Model):
        def __init__(self):
            super().__init__()
            self.tok_emb = keras.layers.Embedding(dims["vocab"], d)
            self.pos_emb = self.add_weight(shape=(dims["seq"], d), name="pos_emb")
            self.encoder = [EncoderLayer() for _ in range(dims["layers"])]
            self.ln_f = keras.layers.LayerNormalization(epsilon=LN_EPS)
            self.head = keras.layers.Dense(dims["classes"])

        def call(self, inputs):
            input_ids, attention_mask = inputs
            length = tf.shape(input_ids)[1]
            x = self.tok_emb(input_ids) + self.pos_emb[:length]
            keep = tf.cast(attention_mask, tf.bool)
            # Keras: (batch, query, key) booleans, True = may attend; every query sees the real keys.
            attend = tf.broadcast_to(keep[:, None, :], (tf.shape(keep)[0], length, length))
            for layer in self.encoder:
                x = layer(x, attend)
            x = self.ln_f(x)
            weights = tf.cast(attention_mask, x.dtype)[:, :, None]
            return self.head(tf.reduce_sum(x * weights, axis=1) / tf.reduce_sum(weights, axis=1))

    model = Transformer()
    example = np.zeros((1, dims["seq"]), np.int64)
    tf_fw.build(model, [example, np.ones_like(example)])
    tf_fw.set_weights(model.tok_emb, [params["tok_emb"]])
    model.pos_emb.assign(params["pos_emb"])
    for index, layer in enumerate(model.encoder):
        p = f"l{index}"
        tf_fw.set_weights(layer.ln1, tf_fw.layernorm_weights(params, f"{p}.ln1"))
        tf_fw.set_weights(layer.ln2, tf_fw.layernorm_weights(params, f"{p}.ln2"))
        attention = []
        for proj in "qkv":
            attention += [params[f"{p}.attn.{proj}.w"].reshape(d, heads, head_dim),
                          params[f"{p}.attn.{proj}.b"].reshape(heads, head_dim)]
        attention += [params[f"{p}.attn.o.w"].reshape(heads, head_dim, d), params[f"{p}.attn.o.b"]]
        tf_fw.set_weights(layer.attn, attention)
        tf_fw.set_weights(layer.fc1, tf_fw.dense_weights(params, f"{p}.fc1"))
        tf_fw.set_weights(layer.fc2, tf_fw.dense_weights(params, f"{p}.fc2"))
    tf_fw.set_weights(model.ln_f, tf_fw.layernorm_weights(params, "ln_f"))
    tf_fw.set_weights(model.head, tf_fw.dense_weights(params, "head"))
    return model


def build_jax(params, dims):
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from aibench_onnx.frameworks import jax_fw

    d, heads = dims["d_model"], dims["heads"]
    head_dim = d // heads

    class EncoderLayer(nnx.Module):
        def __init__(self, p):
            self.ln1 = jax_fw.blank(nnx.LayerNorm, d, epsilon=LN_EPS)
            self.ln2 = jax_fw.blank(nnx.LayerNorm, d, epsilon=LN_EPS)
            self.attn = jax_fw.blank(nnx.MultiHeadAttention, heads, d, d, d, decode=False, deterministic=True)
            self.fc1 = jax_fw.blank(nnx.Linear, d, 4 * d)
            self.fc2 = jax_fw.blank(nnx.Linear, 4 * d, d)
            jax_fw.load_layernorm(self.ln1, params, f"{p}.ln1")
            jax_fw.load_layernorm(self.ln2, params, f"{p}.ln2")
            for proj, layer in (("q", self.attn.query), ("k", self.attn.key), ("v", self.attn.value)):
                jax_fw.load(layer.kernel, params[f"{p}.attn.{proj}.w"].reshape(d, heads, head_dim))
                jax_fw.load(layer.bias, params[f"{p}.attn.{proj}.b"].reshape(heads, head_dim))
            jax_fw.load(self.attn.out.kernel, params[f"{p}.attn.o.w"].reshape(heads, head_dim, d))
            jax_fw.load(self.attn.out.bias, params[f"{p}.attn.o.b"])
            jax_fw.load_linear(self.fc1, params, f"{p}.fc1")
            jax_fw.load_linear(self.fc2, params, f"{p}.fc2")

        def __call__(self, x, attend):
            h = self.ln1(x)
            x = x + self.attn(h, mask=attend)
            return x + self.fc2(jax.nn.gelu(self.fc1(self.ln2(x)), approximate=False))

    class Transformer(nnx.Module):
        def __init__(self):
            self.tok_emb = jax_fw.blank(nnx.Embed, dims["vocab"], d)
            self.pos_emb = nnx.Param(jnp.zeros((dims["seq"], d)))
            self.layers = nnx.List([EncoderLayer(f"l{i}") for i in range(dims["layers"])])
            self.ln_f = jax_fw.blank(nnx.LayerNorm, d, epsilon=LN_EPS)
            self.head = jax_fw.blank(nnx.Linear, d, dims["classes"])
            jax_fw.load(self.tok_emb.embedding, params["tok_emb"])
            jax_fw.load(self.pos_emb, params["pos_emb"])
            jax_fw.load_layernorm(self.ln_f, params, "ln_f")
            jax_fw.load_linear(self.head, params, "head")

        def __call__(self, input_ids, attention_mask):
            x = self.tok_emb(input_ids) + self.pos_emb[: input_ids.shape[1]]
            attend = (attention_mask != 0)[:, None, None, :]  # (batch, heads, query, key), True = attend
            for layer in self.layers:
                x = layer(x, attend)
            x = self.ln_f(x)
            weights = attention_mask.astype(x.dtype)[:, :, None]
            return self.head((x * weights).sum(axis=1) / weights.sum(axis=1))

    return Transformer()
