"""Decoders over a greedy generation (issue 22): the zoo decoder in three frameworks through `aibench generate`
and a run; planted cache faults in an exported graph caught and named; near-tie flips told apart from
divergence. (Hugging Face causal LMs: test_generation_hf.py, a file of its own so the two run side by side.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from aibench_onnx.cli import app
from aibench_onnx.generation import faults as fault_names
from aibench_onnx.generation.decoding import bucketed, greedy, make_prompts, positions_of, without_cache
from aibench_onnx.generation.judge import AGREE, DIVERGED, NEAR_TIE, agreement

runner = CliRunner()


# --- the decoding loop and the judge, without any framework ---------------------------------------------------

def test_prompts_are_left_padded_and_positions_count_real_tokens():
    prompts = make_prompts(vocab=50, batch=4, length=8, seed=1)
    assert prompts.mask[0].all() and all(prompts.mask[r].sum() < 8 for r in range(1, 4))
    assert all((np.diff(prompts.mask[r]) >= 0).all() for r in range(4))  # padding only on the left
    positions = positions_of(prompts.mask)
    assert positions[0].tolist() == list(range(8))
    assert positions[3][prompts.mask[3] == 1].tolist() == list(range(int(prompts.mask[3].sum())))
    alone = prompts.row(3)
    assert alone.ids.shape == (1, int(prompts.mask[3].sum())) and alone.mask.all()


def _logits_with_margin(margin: float, steps: int = 5, vocab: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, steps, vocab)).astype(np.float32)
    logits[0, 2, :] = 0.0
    logits[0, 2, 3], logits[0, 2, 7] = 4.0, 4.0 - margin  # token 3 wins by `margin` over token 7
    return logits, logits.argmax(axis=-1)


def test_a_flip_at_a_near_tie_is_rounding_and_a_flip_with_a_clear_margin_is_a_divergence():
    logits, tokens = _logits_with_margin(1e-6)
    flipped = tokens.copy()
    flipped[0, 2:] = 7  # the runtime chose the runner-up at step 2 (and went its own way after)
    computed = logits + np.float32(3e-7)  # its logits: the same within float32 rounding
    found = agreement(tokens, logits, flipped, computed, rtol=1e-4, atol=1e-5)
    assert found.kind == NEAR_TIE and (found.first_step, found.row) == (2, 0)
    assert found.reference_token == 3 and found.chosen_token == 7 and found.margin <= found.bound
    assert "near-tie flip at step 2" in found.describe()

    logits, tokens = _logits_with_margin(0.5)
    flipped = tokens.copy()
    flipped[0, 2] = 7
    computed = logits.copy()
    computed[0, 2, 7] += 1.0  # the graph computed something else
    found = agreement(tokens, logits, flipped, computed, rtol=1e-4, atol=1e-5)
    assert found.kind == DIVERGED and found.first_step == 2 and found.logit_error == pytest.approx(1.0)
    # a tie, but the step's logits off beyond tolerance elsewhere: the graph computed another function
    logits, tokens = _logits_with_margin(1e-6)
    flipped = tokens.copy()
    flipped[0, 2] = 7
    computed = logits.copy()
    computed[0, 2, 0] += 0.1
    assert agreement(tokens, logits, flipped, computed, 1e-4, 1e-5).kind == DIVERGED
    assert agreement(tokens, logits, tokens, logits, 1e-4, 1e-5).kind == AGREE


# --- the zoo decoder (torch in this process) and planted faults in its exported graph ------------------------

@pytest.fixture(scope="module")
def torch_decoder():
    from aibench_onnx.generation.native import native_step
    from aibench_onnx.zoo.decoder import zoo_io
    from aibench_onnx.zoo.registry import builder, get_spec

    spec = get_spec("decoder")
    params, dims = spec.make_params("tiny"), spec.sizes["tiny"]

    def build():
        return builder("decoder", "torch")(params, dims)

    io = zoo_io(spec, "tiny")
    return build, io, native_step("torch", build(), io), spec


@pytest.mark.torch
def test_bucketed_lengths_compute_the_same_generation(torch_decoder):
    _, io, step, _ = torch_decoder
    prompts = make_prompts(io.vocab, 3, 7, seed=2)
    plain = greedy(step, io, prompts, 12)
    padded = greedy(bucketed(step, io, bucket=8), io, prompts, 12)
    assert (padded.tokens == plain.tokens).all()
    assert np.abs(padded.logits - plain.logits).max() < 1e-5
    uncached, _ = without_cache(step, io, prompts, plain.tokens)
    assert np.abs(uncached - plain.logits).max() < 1e-5


def _exported_with(build, spec, tmp_path, plant) -> str:
    """The tiny torch decoder with `plant(model)` applied, exported by torch.onnx like any zoo decoder."""
    from aibench_onnx.artifacts.export import export_model

    model = build()
    plant(model)
    example = spec.make_inputs("tiny", 2, seed=0)
    record = export_model(model, spec, "tiny", "torch", list(example.values()), tmp_path / "model.onnx", 18,
                          dynamic=spec.dynamic_axes())
    assert record["status"] == "ok", record["reason"]
    return record["path"]


def _ignore_cache(model):
    """Attention over the new tokens only (present still returned): the cache silently unused."""
    import torch

    attention = type(model.blocks[0].attn)
    original = attention.forward

    def forward(self, x, cos, sin, allowed, past_key, past_value):
        empty_key, empty_value = past_key[:, :, :0], past_value[:, :, :0]
        out, key, value = original(self, x, cos, sin, allowed[..., past_key.shape[2]:], empty_key, empty_value)
        return out, torch.cat([past_key, key], dim=2), torch.cat([past_value, value], dim=2)

    for block in model.blocks:
        block.attn.forward = forward.__get__(block.attn)


def _positions_from_length(model):
    """Positions counted from 0 in every call: the decode step's rotary at the wrong place."""
    import torch

    model.positions = lambda position_ids, past_length: torch.zeros_like(position_ids) + torch.arange(
        position_ids.shape[1])


def _stale_present_after_layer_0(model):
    """Layer 1's present carries zeros where the new tokens' keys and values belong (onnxruntime-genai #776)."""
    import torch

    block = model.blocks[1]
    original = block.attn.forward

    def forward(x, cos, sin, allowed, past_key, past_value):
        out, key, value = original(x, cos, sin, allowed, past_key, past_value)
        fresh = key.shape[2] - past_key.shape[2]
        zeros = torch.zeros_like(key[:, :, :fresh])
        return out, torch.cat([past_key, zeros], dim=2), torch.cat([past_value, zeros], dim=2)

    block.attn.forward = forward


@pytest.mark.torch
@pytest.mark.parametrize("plant, named", [(_ignore_cache, {fault_names.CACHE_IGNORED}),
                                          (_positions_from_length, {fault_names.POSITIONS_IGNORED,
                                                                    fault_names.WRONG_POSITION_KEYS}),
                                          (_stale_present_after_layer_0, {fault_names.STALE_PRESENT})])
def test_a_planted_cache_fault_fails_generation_and_is_named(torch_decoder, tmp_path, plant, named):
    import onnxruntime as ort

    from aibench_onnx.generation.check import GenerationCheck, Reference, check_runtime
    from aibench_onnx.generation.onnx_side import ort_step

    build, io, native, spec = torch_decoder
    prompts = make_prompts(io.vocab, 2, 6, seed=3)
    reference = Reference.of(prompts, greedy(native, io, prompts, 32))
    session = ort.InferenceSession(_exported_with(build, spec, tmp_path, plant), providers=["CPUExecutionProvider"])
    result = check_runtime(ort_step(session, set()), io, reference, 1e-4, 1e-5, GenerationCheck("ort", "cpu", "all"))
    assert not result.passed
    assert {f.name for f in result.faults} == named, [f.to_dict() for f in result.faults]
    assert not result.decode.passed and result.decode.worst_step >= 1
    if plant is not _positions_from_length:  # counting positions from 0 also moves padded rows' prefill
        assert result.prefill.passed  # the fault lives in the decode path only
    if plant is _stale_present_after_layer_0:
        assert "present.1.key" in result.faults[0].evidence and "zeros" in result.faults[0].evidence


# --- the command: the zoo decoder in three frameworks, Hugging Face decoders through the user path -----------

@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.tf
@pytest.mark.jax
def test_the_zoo_decoder_passes_generation_parity_in_three_frameworks(tmp_path):
    target = tmp_path / "generate.json"
    result = runner.invoke(app, ["generate", "decoder", "--size", "tiny", "--batch", "2", "--prompt", "6",
                                 "--new-tokens", "32", "--opt-level", "all", "-o", str(tmp_path / "out"),
                                 "--json", str(target)])
    assert result.exit_code == 0, result.output
    document = json.loads(target.read_text())
    assert document["settings"]["new_tokens"] == 32
    assert [r["graph"] for r in document["results"]] == ["torch", "tf", "jax"]
    references = []
    for found in document["results"]:
        assert found["status"] == "ok" and found["export"]["status"] == "ok", found["reason"]
        assert found["native"]["passed"] and found["native"]["as_native"] == []  # no probe fires on a sound model
        (check,) = found["checks"]
        assert check["passed"], check["verdict"]
        assert check["tokens"] == {**check["tokens"], "kind": "agree", "agreed": 64, "total": 64}
        assert check["decode"]["per_step"] and len(check["decode"]["per_step"]) == 31
        references.append(np.load(tmp_path / "out" / "decoder" / found["graph"] / "reference.npz"))
    # the three frameworks generate the same tokens from the same weights, with logits within float32 noise
    for other in references[1:]:
        assert (other["tokens"] == references[0]["tokens"]).all()
        assert np.abs(other["logits"] - references[0]["logits"]).max() < 1e-4
    assert "Generation parity" in result.output and "Decoder exports" in result.output


def test_generate_rejects_a_model_that_is_not_a_decoder():
    result = runner.invoke(app, ["generate", "mlp"])
    assert result.exit_code == 2 and "not a decoder LM" in result.output and "decoder" in result.output


# --- timing by phase -------------------------------------------------------------------------------------------

def _row(label: str, median_s: float, batch: int = 1) -> dict:
    return {"label": label, "batch": batch, "status": "ok", "median_s": median_s,
            "ci95_s": [median_s * 0.98, median_s * 1.02], "notes": ""}


def test_a_decode_step_that_grows_like_a_prefill_is_flagged_as_an_unused_cache():
    from aibench_onnx.report.generation_view import decoder_timing_tables

    def phases(decode_per_token: float) -> list:
        prefill = {16: 1e-3 + 16 * 1e-5, 128: 1e-3 + 128 * 1e-5}  # 10 µs per prompt token
        found = [({"decoder": "decoder", "kind": "prefill", "tokens": p}, [_row("ort", t)]) for p, t in prefill.items()]
        found += [({"decoder": "decoder", "kind": "decode", "tokens": c}, [_row("ort", 2e-4 + c * decode_per_token)])
                  for c in (16, 47, 128, 159)]
        return found

    (healthy,) = decoder_timing_tables(phases(2e-7), new_tokens=32)  # attention over the cache: 0.2 µs per token
    assert [row[2] for row in healthy.rows] == ["16", "128"] and set(healthy.statuses) == {"ok"}
    assert healthy.rows[0][4].startswith("0.2032") and "→" in healthy.rows[0][4]  # TPOT at contexts 16 → 47
    assert float(healthy.rows[0][5]) == pytest.approx(1 / ((2e-4 + 16 * 2e-7 + 2e-4 + 47 * 2e-7) / 2), rel=1e-3)
    assert healthy.rows[0][6].startswith("+20 µs per 100 tokens of context (prefill: +1e+03 µs per 100 prompt")
    (recomputing,) = decoder_timing_tables(phases(1e-5), new_tokens=32)  # as much per token as a prefill
    assert set(recomputing.statuses) == {"failed"} and "cache not used" in recomputing.rows[0][7]


@pytest.mark.slow
@pytest.mark.torch
def test_a_run_checks_a_decoders_generation_and_times_it_by_phase(tmp_path):
    result = runner.invoke(app, ["run", "--quick", "--models", "decoder", "-f", "torch", "--runtime",
                                 "torch-eager,ort", "--batch", "1", "--repeats", "1", "--target-mde", "0",
                                 "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    records = {json.loads(line)["job_id"]: json.loads(line)
               for line in (run_dir / "results.jsonl").read_text().splitlines()}
    generation = records["generation/decoder/torch"]
    assert generation["status"] == "ok" and generation["result"]["checks"][0]["passed"]
    # the graph the parity job exported is the one generation checks (not exported twice)
    assert generation["result"]["export"]["path"] == records["parity/decoder/torch"]["result"]["export"]["path"]
    phases = {"decoder@prefill=16", "decoder@decode=16", "decoder@decode=47"}  # quick: prompt 16, 32 new tokens
    assert {r["model"] for r in records.values() if r["kind"] == "bench"} == phases
    # one export for every phase: the parity job's graph is what each phase times
    assert not (run_dir / "bench").exists() or not any((run_dir / "bench").iterdir())
    report = runner.invoke(app, ["report", str(run_dir), "--format", "markdown"])
    assert report.exit_code == 0, report.output
    assert "Generation: 1 of 1 decoder graph checks generate what the native model generates" in report.output
    assert "## Generation parity" in report.output and "time to first token" in report.output
    assert "| torch-eager | 1 | 16 |" in report.output and "Latency: decoder@" not in report.output
    assert "Where the time goes: decoder@decode=47" in report.output
    html = runner.invoke(app, ["report", str(run_dir), "--format", "html"])
    assert html.exit_code == 0 and "time to first token" in html.output and "Generation parity" in html.output


def test_a_decoder_phase_is_a_subject_with_its_own_lengths():
    from aibench_onnx.cli.noise import _one_subject
    from aibench_onnx.subjects import Subject
    from aibench_onnx.zoo.registry import get_spec

    phase = _one_subject(get_spec("decoder"), "tiny")  # what `aibench noise decoder` measures
    assert phase.name == "decoder@decode=16" and phase.phase == {"decoder": "decoder", "kind": "decode", "tokens": 16}
    arrays = phase.arrays(3)
    assert arrays["input_ids"].shape == (3, 1) and arrays["past.1.value"].shape == (3, 2, 16, 8)
    assert arrays["attention_mask"].shape == (3, 17) and (arrays["position_ids"] == 16).all()
    assert Subject.from_dict(phase.to_dict()) == phase  # as a timing process receives it
    prefill = Subject.decoder_phases("decoder", "tiny", [8], 4)[0]
    assert prefill.name == "decoder@prefill=8" and prefill.arrays(1)["past.0.key"].shape == (1, 2, 0, 8)
    user = Subject.user_decoder_phases({"name": "lm", "target": "m:f", "framework": "torch",
                                        "decoder": {"layers": 1, "kv_heads": 2, "head_dim": 4, "vocab": 10}}, [5], 3)
    assert [u.name for u in user] == ["lm@prefill=5", "lm@decode=5", "lm@decode=7"]
    assert user[2].phase == {"decoder": "lm", "kind": "decode", "tokens": 7}
    assert user[2].arrays(2)["past.0.value"].shape == (2, 2, 7, 4)


def test_a_generation_check_reads_back_from_its_json_and_from_an_older_versions():
    """GenerationCheck.from_dict: what to_dict wrote comes back the same (derived fields dropped); a document from
    before a field existed (no `as_native`, `generate_agreement`, `divergence`, `repro`, `casts`) reads with that
    field's default instead of failing."""
    from aibench_onnx.generation.check import GenerationCheck
    from aibench_onnx.generation.faults import Fault
    from aibench_onnx.generation.judge import Agreement, PathError

    check = GenerationCheck("ort", "cpu", "all", providers=["CPUExecutionProvider"],
                            prefill=PathError("prefill", 1e-6, None, 0.0, 1e-4, 1e-5, True),
                            decode=PathError("decode", 0.5, 3, 0.49, 1e-4, 1e-5, False, [0.1, 0.5]),
                            tokens=Agreement(DIVERGED, 4, 12, first_step=2, row=0, reference_token=7, chosen_token=9,
                                             margin=0.8, logit_error=0.6, bound=0.01),
                            faults=[Fault("cache ignored", "step 1 differs")], casts=["ids: int64 -> int32"])
    again = GenerationCheck.from_dict(json.loads(json.dumps(check.to_dict())))
    assert again == check and not again.passed and again.verdict() == check.verdict()
    older = {k: v for k, v in check.to_dict().items()
             if k not in ("as_native", "generate_agreement", "divergence", "repro", "casts")}
    read = GenerationCheck.from_dict(older)
    assert read.as_native == [] and read.generate_agreement is None and read.casts == [] and read.decode == check.decode
