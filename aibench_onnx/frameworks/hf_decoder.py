"""A Hugging Face causal LM (`*ForCausalLM`, GPT-2's `GPT2LMHeadModel`) as one decoder step with a flat
cache: forward(input_ids, attention_mask, position_ids, past.0.key, past.0.value, ...) -> (logits,
present.0.key, present.0.value, ...), so the exported graph takes and returns the cache as plain tensors
(the interface optimum's merged decoders and onnxruntime-genai use) and a past of length 0 is the prefill.

Why a wrapper rather than exporting transformers' cache object: torch.onnx exports tensors, and a
DynamicCache built from flat tensors inside forward() traces to Concat nodes like any other code; the
graph then needs no knowledge of transformers' cache classes, whose pytree registration changes between
versions. Checked: GPT-2, Llama and Qwen2 from small configs export this way (torch 2.13, transformers 5).
"""

from __future__ import annotations

import torch


def is_causal_lm(model) -> bool:
    """A transformers PreTrainedModel with a language-model head that generates."""
    config = getattr(model, "config", None)
    return (isinstance(model, torch.nn.Module) and config is not None and hasattr(model, "generate")
            and hasattr(config, "num_hidden_layers") and hasattr(config, "vocab_size"))


class FlatCacheLM(torch.nn.Module):
    """The causal LM as a decoder step over flat cache tensors (module docstring)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        self.layers = int(model.config.num_hidden_layers)
        self.eval()  # the wrapper too: torch.onnx warns of an export "in training mode" otherwise

    def forward(self, input_ids, attention_mask, position_ids, *past):
        from transformers.cache_utils import DynamicCache

        # full layers, not the config's: a sliding-window layer (Mistral's, Gemma's) keeps only window - 1 tokens,
        # so a present would be shorter than past + new and the cache no longer a plain concatenation. The window
        # lives in the attention mask the model builds from its config, so every key kept outside it is masked:
        # the same logits as transformers' own sliding cache (Mistral, window 8, 22 tokens: within 6e-8)
        cache = DynamicCache()
        for layer in range(self.layers):
            cache.update(past[2 * layer], past[2 * layer + 1], layer)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                         past_key_values=cache, use_cache=True)
        presents = []
        for layer in out.past_key_values.layers[: self.layers]:
            presents += [layer.keys, layer.values]
        return (out.logits, *presents)


def generate_greedy(model: torch.nn.Module, ids, mask, new_tokens: int):
    """transformers' own greedy generate() on the same prompt: the tokens (batch, new_tokens) — what a user of
    the native model gets, against which aibench's own decoding loop is checked."""
    with torch.no_grad():
        out = model.generate(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                             max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, num_beams=1,
                             pad_token_id=0)
    return out[:, ids.shape[1]:].numpy()
