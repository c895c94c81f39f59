"""Hugging Face causal LMs of many families from small configs (random weights, nothing downloaded), one factory
each, for benchmarks/decoder_families.py: `aibench generate third_party.lms:NAME`. Among them sliding-window
attention (window shorter than prompt + new tokens), mixtures of experts and a state-space LM without a
key/value cache."""

from __future__ import annotations

import torch
import transformers

SMALL = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=128,
             max_position_embeddings=128)
WINDOW = 8  # shorter than the benchmark's 16-token prompt + 32 new tokens


def _build(model_class, config_class, **config):
    torch.manual_seed(0)
    return getattr(transformers, model_class)(getattr(transformers, config_class)(**config))


FAMILIES = {
    "gemma": ("GemmaForCausalLM", "GemmaConfig", dict(SMALL, num_key_value_heads=1, head_dim=8)),
    "gemma2_sliding": ("Gemma2ForCausalLM", "Gemma2Config", dict(SMALL, num_key_value_heads=2, head_dim=8,
                                                                 sliding_window=WINDOW)),
    "mistral_sliding": ("MistralForCausalLM", "MistralConfig", dict(SMALL, num_key_value_heads=2,
                                                                    sliding_window=WINDOW)),
    "starcoder2_sliding": ("Starcoder2ForCausalLM", "Starcoder2Config", dict(SMALL, num_key_value_heads=2,
                                                                             sliding_window=WINDOW)),
    "phi": ("PhiForCausalLM", "PhiConfig", dict(SMALL)),
    "phi3": ("Phi3ForCausalLM", "Phi3Config", dict(SMALL, num_key_value_heads=2, pad_token_id=0)),
    "qwen3": ("Qwen3ForCausalLM", "Qwen3Config", dict(SMALL, num_key_value_heads=2, head_dim=8)),
    "olmo": ("OlmoForCausalLM", "OlmoConfig", dict(SMALL, pad_token_id=0)),
    "stablelm": ("StableLmForCausalLM", "StableLmConfig", dict(SMALL, num_key_value_heads=2)),
    "gpt_neox": ("GPTNeoXForCausalLM", "GPTNeoXConfig", dict(SMALL)),
    "falcon": ("FalconForCausalLM", "FalconConfig", dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                                         vocab_size=128)),
    "opt": ("OPTForCausalLM", "OPTConfig", dict(hidden_size=32, ffn_dim=64, num_hidden_layers=2,
                                                num_attention_heads=4, vocab_size=128, word_embed_proj_dim=32,
                                                max_position_embeddings=128)),
    "bloom": ("BloomForCausalLM", "BloomConfig", dict(hidden_size=32, n_layer=2, n_head=4, vocab_size=128)),
    "gptj": ("GPTJForCausalLM", "GPTJConfig", dict(n_embd=32, n_layer=2, n_head=4, vocab_size=128, rotary_dim=4,
                                                   n_positions=128)),
    "cohere": ("CohereForCausalLM", "CohereConfig", dict(SMALL, num_key_value_heads=2)),
    "mixtral_moe": ("MixtralForCausalLM", "MixtralConfig", dict(SMALL, num_key_value_heads=2, num_local_experts=4,
                                                                num_experts_per_tok=2)),
    "qwen3_moe": ("Qwen3MoeForCausalLM", "Qwen3MoeConfig", dict(SMALL, num_key_value_heads=2, head_dim=8,
                                                                num_experts=4, num_experts_per_tok=2,
                                                                moe_intermediate_size=32)),
    "mamba_no_kv_cache": ("MambaForCausalLM", "MambaConfig", dict(hidden_size=32, num_hidden_layers=2,
                                                                  vocab_size=128, state_size=4)),
}


def __getattr__(name: str):
    """`third_party.lms:gemma` and the like: a factory per family."""
    if name in FAMILIES:
        model_class, config_class, config = FAMILIES[name]
        return lambda: _build(model_class, config_class, **config)
    raise AttributeError(name)
