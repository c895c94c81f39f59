"""Macro: a GPT-style decoder language model with a key/value cache — the zoo's generation subject.

int64 token ids, positions and a 1/0 attention mask over the whole context, and each layer's cached keys and
values -> token embeddings -> N x [LayerNorm, causal multi-head self-attention with rotary positions (keys
and values of the new tokens appended to the cache), residual; LayerNorm, GELU MLP, residual] -> final
LayerNorm -> LM head: logits for every new position and each layer's *present* keys and values.

One graph serves both paths of generation: the prefill feeds the prompt with an empty cache (past length 0);
a decode step feeds one token per row with the cache the previous call returned. Its interface is Hugging
Face's: `attention_mask` covers past and new tokens (0 = left padding), `position_ids` are the new tokens'
positions (the count of real tokens before each), keys are stored rotated. The cache layout is
(batch, heads, past, head_dim) per layer.

Every size has two layers, so the graph's inputs and outputs are the same list at every size.
"""

from __future__ import annotations

import numpy as np

from aibench_onnx.zoo.spec import (
    BATCH,
    DecoderInterface,
    ModelSpec,
    TensorSpec,
    dense_init,
    layernorm_init,
    pre_ln_block_init,
)

LN_EPS = 1e-5
LAYERS = 2
ROPE_BASE = 10000.0
MASKED = -1e9  # added to the scores of keys a query may not see: finite, so a row with none stays finite


def init_params(dims, rng):
    d = dims["d_model"]
    params = {"tok_emb": rng.standard_normal((dims["vocab"], d))}
    for layer in range(LAYERS):
        params.update(pre_ln_block_init(rng, f"l{layer}", d))
    params.update(layernorm_init(rng, "ln_f", d))
    params["head.w"] = dense_init(rng, d, dims["vocab"])[0] * 2.0  # peaked logits: greedy choices are clear
    return params


def _cache_specs(kind: str) -> tuple[TensorSpec, ...]:
    length = "past" if kind == "past" else "total"
    return tuple(TensorSpec(f"{kind}.{layer}.{part}", (BATCH, "heads", length, "head_dim"))
                 for layer in range(LAYERS) for part in ("key", "value"))


SPEC = ModelSpec(
    name="decoder",
    description="GPT-style decoder LM with a KV cache: rotary positions, causal multi-head attention over "
    "cached + new keys, GELU MLP, LM head; one graph for prefill (empty cache) and decode steps",
    family="macro",
    sizes={"tiny": {"vocab": 64, "d_model": 16, "heads": 2, "head_dim": 8, "seq": 4, "past": 3, "total": 7},
           "small": {"vocab": 512, "d_model": 128, "heads": 4, "head_dim": 32, "seq": 16, "past": 16, "total": 32},
           "base": {"vocab": 32000, "d_model": 768, "heads": 12, "head_dim": 64, "seq": 128, "past": 128,
                    "total": 256}},
    inputs=(TensorSpec("input_ids", (BATCH, "seq"), dtype="int64", generator="token_ids"),
            TensorSpec("attention_mask", (BATCH, "total"), dtype="int64", generator="ones"),
            TensorSpec("position_ids", (BATCH, "seq"), dtype="int64", generator="positions"),
            *_cache_specs("past")),
    outputs=(TensorSpec("logits", (BATCH, "seq", "vocab")), *_cache_specs("present")),
    init_params=init_params,
    layout="(batch, seq, d_model) activations; the cache (batch, heads, length, head_dim) per layer, keys "
    "stored after rotation; canonical q/k/v/o weights (d, d) in->out; rotary: Llama's rotate-half pairing "
    "(dims i and i + head_dim/2)",
    notes="TF computes exact GELU through erf (Keras' gelu lowers to Erfc, which tf2onnx cannot convert)",
    dynamic_dims={BATCH: BATCH, "seq": "seq", "past": "past", "total": "past + seq"},
    decoder=DecoderInterface(layers=LAYERS, kv_heads="heads", head_dim="head_dim", vocab="vocab"),
)


def rotary_frequencies(head_dim: int) -> np.ndarray:
    """The rotary angle per position of each of the head_dim/2 dimension pairs (Llama's)."""
    return (1.0 / ROPE_BASE ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)).astype(np.float32)


def build_torch(params, dims):
    import torch
    from torch import nn

    from aibench_onnx.frameworks import torch_fw

    d, heads, head_dim = dims["d_model"], dims["heads"], dims["head_dim"]
    inv_freq = rotary_frequencies(head_dim)

    class Attention(nn.Module):
        def __init__(self, p):
            super().__init__()
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
            for proj in "qkvo":
                torch_fw.load_linear(getattr(self, proj), params, f"{p}.attn.{proj}")

        def split(self, x):
            batch, length, _ = x.shape
            return x.view(batch, length, heads, head_dim).transpose(1, 2)

        def rotate(self, x, cos, sin):
            half = head_dim // 2
            x1, x2 = x[..., :half], x[..., half:]
            return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)

        def forward(self, x, cos, sin, allowed, past_key, past_value):
            q = self.rotate(self.split(self.q(x)), cos, sin)
            key = torch.cat([past_key, self.rotate(self.split(self.k(x)), cos, sin)], dim=2)
            value = torch.cat([past_value, self.split(self.v(x))], dim=2)
            scores = q @ key.transpose(-1, -2) / float(np.sqrt(head_dim))
            scores = torch.where(allowed, scores, torch.tensor(MASKED, dtype=scores.dtype))
            attended = torch.softmax(scores, dim=-1) @ value
            batch, _, length, _ = attended.shape
            return self.o(attended.transpose(1, 2).reshape(batch, length, d)), key, value

    class Block(nn.Module):
        def __init__(self, p):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d, eps=LN_EPS), nn.LayerNorm(d, eps=LN_EPS)
            self.attn = Attention(p)
            self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
            torch_fw.load_layernorm(self.ln1, params, f"{p}.ln1")
            torch_fw.load_layernorm(self.ln2, params, f"{p}.ln2")
            torch_fw.load_linear(self.fc1, params, f"{p}.fc1")
            torch_fw.load_linear(self.fc2, params, f"{p}.fc2")

        def forward(self, x, cos, sin, allowed, past_key, past_value):
            attended, key, value = self.attn(self.ln1(x), cos, sin, allowed, past_key, past_value)
            x = x + attended
            return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x)))), key, value

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok_emb = nn.Embedding(dims["vocab"], d)
            self.blocks = nn.ModuleList([Block(f"l{i}") for i in range(LAYERS)])
            self.ln_f = nn.LayerNorm(d, eps=LN_EPS)
            self.head = nn.Linear(d, dims["vocab"], bias=False)
            self.inv_freq = torch.from_numpy(inv_freq)  # a constant, not a buffer: not a parameter of the function
            torch_fw.load(self.tok_emb.weight, params["tok_emb"])
            torch_fw.load_layernorm(self.ln_f, params, "ln_f")
            torch_fw.load(self.head.weight, params["head.w"].T)

        def positions(self, position_ids, past_length):
            """The new tokens' positions, as the rotary tables use them (a hook for planted faults)."""
            return position_ids

        def forward(self, input_ids, attention_mask, position_ids, *past):
            past_length, length = past[0].shape[2], input_ids.shape[1]
            angles = self.positions(position_ids, past_length).to(torch.float32)[:, None, :, None] * self.inv_freq
            cos, sin = torch.cos(angles), torch.sin(angles)
            query_index = torch.arange(length)[:, None] + past_length
            causal = torch.arange(past_length + length)[None, :] <= query_index
            allowed = causal[None, None] & (attention_mask[:, None, None, :] != 0)
            x = self.tok_emb(input_ids)
            presents = []
            for index, block in enumerate(self.blocks):
                x, key, value = block(x, cos, sin, allowed, past[2 * index], past[2 * index + 1])
                presents += [key, value]
            return (self.head(self.ln_f(x)), *presents)

    return Decoder().eval()


def build_tf(params, dims):
    import keras
    import tensorflow as tf

    from aibench_onnx.frameworks import tf_fw

    d, heads, head_dim = dims["d_model"], dims["heads"], dims["head_dim"]
    inv_freq = rotary_frequencies(head_dim)
    scale = np.float32(1.0 / np.sqrt(head_dim))

    def split(x):
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        return tf.transpose(tf.reshape(x, (batch, length, heads, head_dim)), (0, 2, 1, 3))

    def rotate(x, cos, sin):
        half = head_dim // 2
        x1, x2 = x[..., :half], x[..., half:]
        return tf.concat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)

    class Block(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.ln1 = keras.layers.LayerNormalization(epsilon=LN_EPS)
            self.ln2 = keras.layers.LayerNormalization(epsilon=LN_EPS)
            self.q, self.k, self.v, self.o = (keras.layers.Dense(d) for _ in range(4))
            self.fc1 = keras.layers.Dense(4 * d, activation=tf_fw.gelu_exact)
            self.fc2 = keras.layers.Dense(d)

        def call(self, x, cos, sin, allowed, past_key, past_value):
            h = self.ln1(x)
            q = rotate(split(self.q(h)), cos, sin)
            key = tf.concat([past_key, rotate(split(self.k(h)), cos, sin)], axis=2)
            value = tf.concat([past_value, split(self.v(h))], axis=2)
            scores = tf.matmul(q, key, transpose_b=True) * scale
            scores = tf.where(allowed, scores, tf.constant(MASKED, scores.dtype))
            attended = tf.transpose(tf.matmul(tf.nn.softmax(scores, axis=-1), value), (0, 2, 1, 3))
            x = x + self.o(tf.reshape(attended, (tf.shape(x)[0], tf.shape(x)[1], d)))
            return x + self.fc2(self.fc1(self.ln2(x))), key, value

    class Decoder(keras.Model):
        def __init__(self):
            super().__init__()
            self.tok_emb = keras.layers.Embedding(dims["vocab"], d)
            self.blocks = [Block() for _ in range(LAYERS)]
            self.ln_f = keras.layers.LayerNormalization(epsilon=LN_EPS)
            self.head = keras.layers.Dense(dims["vocab"], use_bias=False)

        def call(self, inputs):
            input_ids, attention_mask, position_ids, *past = inputs
            past_length, length = tf.shape(past[0])[2], tf.shape(input_ids)[1]
            angles = tf.cast(position_ids, tf.float32)[:, None, :, None] * tf.constant(inv_freq)
            cos, sin = tf.cos(angles), tf.sin(angles)
            query_index = tf.range(length)[:, None] + past_length
            causal = tf.range(past_length + length)[None, :] <= query_index
            allowed = causal[None, None] & (attention_mask[:, None, None, :] != 0)
            x = self.tok_emb(input_ids)
            presents = []
            for index, block in enumerate(self.blocks):
                x, key, value = block(x, cos, sin, allowed, past[2 * index], past[2 * index + 1])
                presents += [key, value]
            return (self.head(self.ln_f(x)), *presents)

    model = Decoder()
    tf_fw.build(model, [t.generate(np.random.default_rng(0), {**dims, BATCH: 1}) for t in SPEC.inputs])
    tf_fw.set_weights(model.tok_emb, [params["tok_emb"]])
    for index, block in enumerate(model.blocks):
        p = f"l{index}"
        tf_fw.set_weights(block.ln1, tf_fw.layernorm_weights(params, f"{p}.ln1"))
        tf_fw.set_weights(block.ln2, tf_fw.layernorm_weights(params, f"{p}.ln2"))
        for proj in "qkvo":
            tf_fw.set_weights(getattr(block, proj), tf_fw.dense_weights(params, f"{p}.attn.{proj}"))
        tf_fw.set_weights(block.fc1, tf_fw.dense_weights(params, f"{p}.fc1"))
        tf_fw.set_weights(block.fc2, tf_fw.dense_weights(params, f"{p}.fc2"))
    tf_fw.set_weights(model.ln_f, tf_fw.layernorm_weights(params, "ln_f"))
    tf_fw.set_weights(model.head, [params["head.w"]])
    return model


def build_jax(params, dims):
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from aibench_onnx.frameworks import jax_fw

    d, heads, head_dim = dims["d_model"], dims["heads"], dims["head_dim"]
    inv_freq = rotary_frequencies(head_dim)
    scale = np.float32(1.0 / np.sqrt(head_dim))

    def split(x):
        batch, length, _ = x.shape
        return x.reshape(batch, length, heads, head_dim).transpose(0, 2, 1, 3)

    def rotate(x, cos, sin):
        half = head_dim // 2
        x1, x2 = x[..., :half], x[..., half:]
        return jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)

    class Block(nnx.Module):
        def __init__(self, p):
            self.ln1 = jax_fw.blank(nnx.LayerNorm, d, epsilon=LN_EPS)
            self.ln2 = jax_fw.blank(nnx.LayerNorm, d, epsilon=LN_EPS)
            self.q, self.k, self.v, self.o = (jax_fw.blank(nnx.Linear, d, d) for _ in range(4))
            self.fc1 = jax_fw.blank(nnx.Linear, d, 4 * d)
            self.fc2 = jax_fw.blank(nnx.Linear, 4 * d, d)
            jax_fw.load_layernorm(self.ln1, params, f"{p}.ln1")
            jax_fw.load_layernorm(self.ln2, params, f"{p}.ln2")
            for proj in "qkvo":
                jax_fw.load_linear(getattr(self, proj), params, f"{p}.attn.{proj}")
            jax_fw.load_linear(self.fc1, params, f"{p}.fc1")
            jax_fw.load_linear(self.fc2, params, f"{p}.fc2")

        def __call__(self, x, cos, sin, allowed, past_key, past_value):
            h = self.ln1(x)
            q = rotate(split(self.q(h)), cos, sin)
            # lax.concatenate: under jax2onnx's tracer jnp.concatenate of symbolic lengths past and seq comes out
            # of length `past` (jax2onnx 0.17.1), and the export fails at the next broadcast
            key = jax.lax.concatenate([past_key, rotate(split(self.k(h)), cos, sin)], 2)
            value = jax.lax.concatenate([past_value, split(self.v(h))], 2)
            scores = jnp.matmul(q, key.transpose(0, 1, 3, 2)) * scale
            scores = jnp.where(allowed, scores, jnp.float32(MASKED))
            attended = jnp.matmul(jax.nn.softmax(scores, axis=-1), value).transpose(0, 2, 1, 3)
            batch, length = x.shape[0], x.shape[1]
            x = x + self.o(attended.reshape(batch, length, d))
            return x + self.fc2(jax.nn.gelu(self.fc1(self.ln2(x)), approximate=False)), key, value

    class Decoder(nnx.Module):
        def __init__(self):
            self.tok_emb = jax_fw.blank(nnx.Embed, dims["vocab"], d)
            self.blocks = nnx.List([Block(f"l{i}") for i in range(LAYERS)])
            self.ln_f = jax_fw.blank(nnx.LayerNorm, d, epsilon=LN_EPS)
            self.head = jax_fw.blank(nnx.Linear, d, dims["vocab"], use_bias=False)
            jax_fw.load(self.tok_emb.embedding, params["tok_emb"])
            jax_fw.load_layernorm(self.ln_f, params, "ln_f")
            jax_fw.load(self.head.kernel, params["head.w"])

        def __call__(self, input_ids, attention_mask, position_ids, *past):
            past_length = past[0].shape[2]
            # Indices by cumsum over ones shaped like the inputs, and expand_dims rather than [:, None]: jax2onnx's
            # tracer gives arange of a symbolic length, and indexing along such an axis, no usable shape.
            angles = jnp.expand_dims(position_ids.astype(jnp.float32), (1, 3)) * jnp.asarray(inv_freq)
            cos, sin = jnp.cos(angles), jnp.sin(angles)
            query_index = jnp.cumsum(jnp.ones_like(input_ids), axis=1) - 1 + past_length
            key_index = jnp.cumsum(jnp.ones_like(attention_mask), axis=1) - 1
            causal = jnp.expand_dims(key_index, (1, 2)) <= jnp.expand_dims(query_index, (1, 3))
            allowed = causal & jnp.expand_dims(attention_mask != 0, (1, 2))
            x = self.tok_emb(input_ids)
            presents = []
            for index, block in enumerate(self.blocks):
                x, key, value = block(x, cos, sin, allowed, past[2 * index], past[2 * index + 1])
                presents += [key, value]
            return (self.head(self.ln_f(x)), *presents)

    return Decoder()
