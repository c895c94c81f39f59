"""A decoder LM's generation interface (numpy only): input and output names, cache geometry — the zoo
decoder's from its spec, a Hugging Face causal LM's from its config —, the feed of one step, and the ModelSpec
that describes it to exporters and input generators (a user's decoder has none of its own)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from aibench_onnx.zoo.spec import BATCH, ModelSpec, TensorSpec

INPUT_IDS, ATTENTION_MASK, POSITION_IDS, LOGITS = "input_ids", "attention_mask", "position_ids", "logits"


@dataclass(frozen=True)
class DecoderIO:
    layers: int
    kv_heads: int
    head_dim: int
    vocab: int
    cache_dtype: str = "float32"

    @property
    def past_names(self) -> list[str]:
        return [f"past.{layer}.{part}" for layer in range(self.layers) for part in ("key", "value")]

    @property
    def present_names(self) -> list[str]:
        return [f"present.{layer}.{part}" for layer in range(self.layers) for part in ("key", "value")]

    @property
    def input_names(self) -> list[str]:
        return [INPUT_IDS, ATTENTION_MASK, POSITION_IDS, *self.past_names]

    @property
    def output_names(self) -> list[str]:
        return [LOGITS, *self.present_names]

    logits_name = LOGITS

    def empty_cache(self, batch: int) -> list[np.ndarray]:
        """The past of a prefill: every layer's keys and values of length 0."""
        return [np.zeros((batch, self.kv_heads, 0, self.head_dim), self.cache_dtype) for _ in self.past_names]

    def feed(self, ids: np.ndarray, mask: np.ndarray, positions: np.ndarray, past: list[np.ndarray]) -> dict:
        return {INPUT_IDS: ids, ATTENTION_MASK: mask, POSITION_IDS: positions, **dict(zip(self.past_names, past))}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DecoderIO:
        return cls(**data)


def zoo_io(spec, size: str) -> DecoderIO:
    """The zoo decoder's interface at one size (its spec names the dims)."""
    dims, decoder = spec.sizes[size], spec.decoder

    def value(dim):
        return dim if isinstance(dim, int) else int(dims[dim])

    return DecoderIO(decoder.layers, value(decoder.kv_heads), value(decoder.head_dim), value(decoder.vocab))


def hf_io(config) -> DecoderIO:
    """A Hugging Face causal LM's interface from its config (GPT-2's n_layer/n_head map to these names). A model
    without attention heads keeps no key/value cache (a state-space LM: Mamba's conv and SSM states): one line."""
    from aibench_onnx.errors import UserError

    missing = [name for name in ("num_attention_heads", "num_hidden_layers", "vocab_size")
               if getattr(config, name, None) is None]
    if missing:
        raise UserError(f"{type(config).__name__}: a causal LM without a key/value cache (its config has no "
                        f"{', '.join(missing)}); generate checks decoders whose cache is per-layer keys and values "
                        "(past_key_values: GPT-2, Llama, Qwen2, Mistral and the like) — check one forward pass "
                        "with `aibench check` instead")
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or getattr(config, "num_kv_heads", None) or heads)
    if getattr(config, "multi_query", False) and not getattr(config, "new_decoder_architecture", True):
        kv_heads = 1  # Falcon's original multi-query attention: one key/value head, whatever num_kv_heads says
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    return DecoderIO(int(config.num_hidden_layers), kv_heads, head_dim, int(config.vocab_size))


def decoder_spec(name: str, io: DecoderIO) -> ModelSpec:
    """A ModelSpec for the decoder interface: its inputs and outputs named and shaped as exporters declare them
    (batch, sequence and cache lengths dynamic) and generated as a phase needs them (dims seq, past, total)."""
    cache = (BATCH, "heads", "past", "head_dim")
    dims = {"vocab": io.vocab, "heads": io.kv_heads, "head_dim": io.head_dim, "seq": 3, "past": 4, "total": 7}
    return ModelSpec(
        name=name, description="decoder LM", family="macro", sizes={"tiny": dims, "small": dims},
        inputs=(TensorSpec(INPUT_IDS, (BATCH, "seq"), "int64", generator="token_ids"),
                TensorSpec(ATTENTION_MASK, (BATCH, "total"), "int64", generator="ones"),
                TensorSpec(POSITION_IDS, (BATCH, "seq"), "int64", generator="positions"),
                *(TensorSpec(n, cache) for n in io.past_names)),
        outputs=(TensorSpec(LOGITS, (BATCH, "seq", "vocab")),
                 *(TensorSpec(n, (BATCH, "heads", "total", "head_dim")) for n in io.present_names)),
        init_params=lambda dims, rng: {}, layout="Hugging Face's decoder interface",
        dynamic_dims={BATCH: BATCH, "seq": "seq", "past": "past", "total": "past + seq"})
