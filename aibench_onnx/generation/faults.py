"""Probes that name what is wrong with a decoder's cache path — run on any step (the ONNX graph, the native
model), each a small experiment on the first decode step after the prefill:

- *cache ignored*: zero the past keys and values; a step that uses its cache changes its logits.
- *position ids ignored*: shift the new token's position; rotary or learned positions change the logits.
- *present length*: present must hold past + new tokens.
- *stale present*: the new token's slot in present against the same slot computed without a cache (the
  whole sequence in one call): zeros, or a copy of an older slot, mean the step does not write its keys
  and values; keys wrong while values are right mean the keys were rotated at the wrong position.
- *past not carried*: present's first `past` slots must be the past that was fed.

Known real-world forms: the cache silently unused (optimum #753), present zeros after some layer
(onnxruntime-genai #776), wrong positions in the decode path.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from aibench_onnx.generation.decoding import Prompts, Step, positions_of
from aibench_onnx.zoo.decoder import POSITION_IDS, DecoderIO

CACHE_IGNORED = "cache ignored"
POSITIONS_IGNORED = "position ids ignored"
PRESENT_LENGTH = "present length"
STALE_PRESENT = "stale present"
WRONG_POSITION_KEYS = "keys at the wrong position"
PAST_NOT_CARRIED = "past not carried"
NEW_ENTRIES_DIFFER = "present differs from the no-cache path"


@dataclass
class Fault:
    name: str
    evidence: str

    def to_dict(self) -> dict:
        return asdict(self)


def _same(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(np.all(np.abs(a.astype(np.float64) - b) <= atol + rtol * np.abs(b)))


def probe(step: Step, io: DecoderIO, prompts: Prompts, rtol: float, atol: float) -> list[Fault]:
    """The faults the first decode step shows (none for a sound decoder)."""
    batch = prompts.batch
    empty = io.empty_cache(batch)
    positions = positions_of(prompts.mask)
    prefill = step(io.feed(prompts.ids, prompts.mask, positions, empty))
    token = np.asarray(prefill[io.logits_name])[:, -1, :].argmax(axis=-1)[:, None].astype(np.int64)
    past = [np.asarray(prefill[name]) for name in io.present_names]
    past_length = prompts.ids.shape[1]
    mask = np.concatenate([prompts.mask, np.ones((batch, 1), np.int64)], axis=1)
    feed = io.feed(token, mask, positions[:, -1:] + 1, past)
    decoded = step(feed)
    logits = np.asarray(decoded[io.logits_name], np.float64)
    faults = []

    zeroed = step({**feed, **{name: np.zeros_like(feed[name]) for name in io.past_names}})
    if _same(np.asarray(zeroed[io.logits_name]), logits, rtol, atol):
        faults.append(Fault(CACHE_IGNORED, "a decode step's logits do not change when its past keys and values are "
                                           "zeroed: the step attends only to the new token"))
    shifted = step({**feed, POSITION_IDS: feed[POSITION_IDS] + 3})
    # (a step that sees only its own token cannot show positions: rotary depends on relative ones)
    if not faults and _same(np.asarray(shifted[io.logits_name]), logits, rtol, atol):
        faults.append(Fault(POSITIONS_IGNORED, "a decode step's logits do not change when position_ids move by 3: "
                                               "the step takes its positions from somewhere else"))

    presents = [np.asarray(decoded[name]) for name in io.present_names]
    lengths = sorted({p.shape[2] for p in presents})
    if lengths != [past_length + 1]:
        faults.append(Fault(PRESENT_LENGTH, f"present holds {lengths} positions after a decode step; expected "
                                            f"past + 1 = {past_length + 1}"))
        return faults
    carried = [name for name, p, fed in zip(io.present_names, presents, past)
               if not _same(p[:, :, :past_length], fed.astype(np.float64), rtol, atol)]
    if carried:
        faults.append(Fault(PAST_NOT_CARRIED, f"{carried[0]}'s first {past_length} positions are not the past that "
                                              f"was fed ({len(carried)} of {len(presents)} tensors)"))
    stale = _stale_layer(io, presents, past_length)
    if stale:
        faults.append(stale)
    if any(f.name in (CACHE_IGNORED, STALE_PRESENT) for f in faults):
        return faults  # the layers after the first then see other inputs: their new slots differ as a consequence
    whole = step(io.feed(np.concatenate([prompts.ids, token], axis=1), mask, positions_of(mask), empty))
    reference = [np.asarray(whole[name], np.float64)[:, :, past_length:] for name in io.present_names]
    new = [p[:, :, past_length:] for p in presents]
    wrong = [(name, n, r) for name, n, r in zip(io.present_names, new, reference) if not _same(n, r, rtol, atol)]
    if not wrong:
        return faults
    # Later layers compute from the earlier layers' outputs: the first wrong layer is where the fault is.
    layer = wrong[0][0].split(".")[1]
    wrong = [w for w in wrong if w[0].split(".")[1] == layer]
    name, entry, expected = wrong[0]
    where = f"layer {layer}, the first of {len(new) // 2} layers whose new slot is wrong"
    if all(n.endswith(".key") for n, _, _ in wrong):
        faults.append(Fault(WRONG_POSITION_KEYS, f"the new token's keys differ from the no-cache path while its "
                                                 f"values agree ({where}; max |Δ| "
                                                 f"{float(np.abs(entry - expected).max()):.3g}): keys rotated at the "
                                                 f"wrong position"))
    else:
        faults.append(Fault(NEW_ENTRIES_DIFFER, f"{name}'s new slot differs from the no-cache path by "
                                                f"{float(np.abs(entry - expected).max()):.3g} ({where})"))
    return faults


def _stale_layer(io: DecoderIO, presents: list[np.ndarray], past_length: int) -> Fault | None:
    """The first layer whose new slot holds exactly zeros or a copy of the slot before it — values a real key or
    value (a projection plus its bias) never takes. Judged on the present alone: the same graph's no-cache path
    writes the same stale values, so it cannot be the reference here."""
    for name, present in zip(io.present_names, presents):
        new, before = present[:, :, past_length:], present[:, :, past_length - 1:past_length]
        layer = name.split(".")[1]
        if not np.any(new):
            return Fault(STALE_PRESENT, f"the new token's slot in {name} is all zeros (layer {layer}): the step does "
                                        f"not write its keys and values into the cache")
        if past_length and np.array_equal(new, before):
            return Fault(STALE_PRESENT, f"the new token's slot in {name} repeats the slot before it (layer {layer}): "
                                        f"the step does not write its keys and values into the cache")
    return None
