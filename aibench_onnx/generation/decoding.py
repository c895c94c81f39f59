"""Greedy generation over any decoder step — native or ONNX alike — with numpy arrays at the boundary.

A *step* is one call of a decoder LM with Hugging Face's interface (zoo.decoder.DecoderIO): the new
tokens, the attention mask over past + new tokens, the new tokens' positions and each layer's past keys and
values in; logits for the new positions and each layer's present keys and values out. The prefill is a step
with the prompt and an empty cache; each decode step feeds the one token the previous step chose.

Prompts are left-padded (a batch's shorter rows start with padding, masked out), positions count the real
tokens before each (padding gets 0), as Hugging Face's generate() does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from aibench_onnx.zoo.decoder import ATTENTION_MASK, INPUT_IDS, POSITION_IDS, DecoderIO

Step = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


@dataclass
class Prompts:
    """A batch of prompts, left-padded: ids (batch, length) and the 1/0 mask of real tokens."""

    ids: np.ndarray
    mask: np.ndarray

    @property
    def batch(self) -> int:
        return int(self.ids.shape[0])

    def row(self, index: int) -> Prompts:
        """Row `index` alone, without its padding."""
        keep = self.mask[index] != 0
        return Prompts(self.ids[index][keep][None, :], self.mask[index][keep][None, :])


def make_prompts(vocab: int, batch: int, length: int, seed: int = 0, ragged: bool = True) -> Prompts:
    """Random token ids; with `ragged`, row i of a batch is shorter by i * length / (2 * batch) tokens (at
    least one token), so a batch holds padding that must not change any row's result."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, (batch, length)).astype(np.int64)
    mask = np.ones((batch, length), np.int64)
    if ragged:
        for row in range(1, batch):
            pad = min(length - 1, row * length // (2 * batch))
            mask[row, :pad] = 0
            ids[row, :pad] = 0
    return Prompts(ids, mask)


def positions_of(mask: np.ndarray) -> np.ndarray:
    """Each token's position: the count of real tokens before it (padding: 0)."""
    return np.maximum(np.cumsum(mask, axis=1) - 1, 0).astype(np.int64)


@dataclass
class Trace:
    """One generation: the chosen tokens (batch, steps), the logits each was chosen from (batch, steps,
    vocab), the cache after the last step and what each step fed."""

    tokens: np.ndarray
    logits: np.ndarray
    presents: list[np.ndarray]
    mask: np.ndarray  # the attention mask of the whole sequence (prompt + generated tokens)


def greedy(step: Step, io: DecoderIO, prompts: Prompts, new_tokens: int, forced: np.ndarray | None = None,
           edit: Callable[[int, dict], dict] | None = None) -> Trace:
    """Generate `new_tokens` per row with the cache: a prefill, then one decode step per token. `forced`
    (batch, new_tokens): feed these tokens instead of the argmax (teacher forcing: two runtimes' logits are
    then compared on the same sequence however their choices differ). `edit(step_index, feed)`: change a
    feed before it runs (the fault probes)."""
    batch = prompts.batch
    past = io.empty_cache(batch)
    ids, mask = prompts.ids, prompts.mask
    positions = positions_of(mask)
    tokens, logits = [], []
    for index in range(new_tokens):
        feed = io.feed(ids, mask, positions, past)
        if edit is not None:
            feed = edit(index, feed)
        out = step(feed)
        last = np.asarray(out[io.logits_name])[:, -1, :].astype(np.float32)
        chosen = forced[:, index] if forced is not None else last.argmax(axis=-1)
        tokens.append(chosen.astype(np.int64))
        logits.append(last)
        past = [np.asarray(out[name]) for name in io.present_names]
        ids = tokens[-1][:, None]
        positions = positions[:, -1:] + 1
        mask = np.concatenate([mask, np.ones((batch, 1), np.int64)], axis=1)
    return Trace(np.stack(tokens, axis=1), np.stack(logits, axis=1), past, mask)


def without_cache(step: Step, io: DecoderIO, prompts: Prompts, tokens: np.ndarray) -> tuple[np.ndarray, list]:
    """The same generation recomputed from scratch at every step (empty cache, the whole sequence fed): the
    logits of each step's last position (batch, steps, vocab), and the cache the last call returned."""
    batch, steps = tokens.shape
    empty = io.empty_cache(batch)
    logits, presents = [], []
    for index in range(steps):
        ids = np.concatenate([prompts.ids, tokens[:, :index]], axis=1)
        mask = np.concatenate([prompts.mask, np.ones((batch, index), np.int64)], axis=1)
        out = step(io.feed(ids, mask, positions_of(mask), empty))
        logits.append(np.asarray(out[io.logits_name])[:, -1, :].astype(np.float32))
        presents = [np.asarray(out[name]) for name in io.present_names]
    return np.stack(logits, axis=1), presents


def top2_margin(logits: np.ndarray) -> np.ndarray:
    """The best logit minus the second best, along the last axis."""
    ordered = np.sort(logits, axis=-1)
    return ordered[..., -1] - ordered[..., -2]


def bucketed(step: Step, io: DecoderIO, bucket: int = 16) -> Step:
    """`step` fed at lengths rounded up to a multiple of `bucket` — new tokens padded on the right (causality
    hides them from the real ones), the past padded after its real entries (masked out) — and its outputs cut
    back to the real lengths. The same function at few shapes, so a compiled runtime (jax.jit) compiles a
    handful of times instead of once per step, as JAX generation loops use fixed-size caches for."""

    def padded_step(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ids, mask, positions = feed[INPUT_IDS], feed[ATTENTION_MASK], feed[POSITION_IDS]
        past_length, length = feed[io.past_names[0]].shape[2], ids.shape[1]
        past_pad, new_pad = -past_length % bucket, -length % bucket
        grow = [(0, 0), (0, new_pad)]
        padded = {INPUT_IDS: np.pad(ids, grow), POSITION_IDS: np.pad(positions, grow, mode="edge"),
                  ATTENTION_MASK: np.concatenate([mask[:, :past_length], np.zeros((ids.shape[0], past_pad), mask.dtype),
                                                  mask[:, past_length:], np.ones((ids.shape[0], new_pad), mask.dtype)],
                                                 axis=1)}
        for name in io.past_names:
            padded[name] = np.pad(feed[name], [(0, 0), (0, 0), (0, past_pad), (0, 0)])
        out = step(padded)
        result = {io.logits_name: np.asarray(out[io.logits_name])[:, :length]}
        for name in io.present_names:
            present = np.asarray(out[name])
            start = past_length + past_pad
            result[name] = np.concatenate([present[:, :, :past_length], present[:, :, start:start + length]], axis=2)
        return result

    return padded_step
