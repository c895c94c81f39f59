"""Hugging Face causal LMs through `aibench generate` (issue 22): generation parity through the user path, the
long tail (a sliding window, a mixture of experts, no key/value cache) and timing by phase."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aibench_onnx.cli import app

runner = CliRunner()
HF_MODELS = '''
import torch


def llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256))


def gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=128, n_embd=32, n_layer=2, n_head=4, n_positions=256))


def mistral_sliding():
    from transformers import MistralConfig, MistralForCausalLM
    torch.manual_seed(0)
    return MistralForCausalLM(MistralConfig(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                            num_attention_heads=4, num_key_value_heads=2, sliding_window=4,
                                            max_position_embeddings=256))
def mixtral():
    from transformers import MixtralConfig, MixtralForCausalLM
    torch.manual_seed(0)
    return MixtralForCausalLM(MixtralConfig(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                            num_attention_heads=4, num_key_value_heads=2, num_local_experts=4,
                                            num_experts_per_tok=2, max_position_embeddings=256))
def mamba():
    from transformers import MambaConfig, MambaForCausalLM
    torch.manual_seed(0)
    return MambaForCausalLM(MambaConfig(vocab_size=128, hidden_size=32, num_hidden_layers=2, state_size=4))
def encoder():
    from transformers import BertConfig, BertModel

    return BertModel(BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=32))
'''


def assert_generation_passed(document: dict) -> None:
    """Every decoder of a `generate --json` document agreed natively and through ONNX Runtime, its graph's
    inputs and outputs named as the user path names them."""
    for found in document["results"]:
        native = found["native"]
        assert native["passed"] and native["generate_agreement"]["kind"] == "agree", native["verdict"]
        (check,) = found["checks"]
        assert check["passed"] and check["tokens"]["kind"] == "agree", check["verdict"]
        graph = found["export"]["graph"]
        assert [i["name"] for i in graph["inputs"]][:4] == ["input_ids", "attention_mask", "position_ids", "past.0.key"]
        assert [o["name"] for o in graph["outputs"]][:2] == ["logits", "present.0.key"]


@pytest.mark.slow
@pytest.mark.torch
def test_hugging_face_decoders_pass_generation_parity_through_the_user_path(tmp_path, monkeypatch):
    (tmp_path / "lms.py").write_text(HF_MODELS)
    monkeypatch.chdir(tmp_path)
    """Llama here; GPT-2 passes the same assertions in test_a_hugging_face_decoder_is_checked_then_timed_by_phase
    (one generation of each model in the file: their exports are most of its time)."""
    result = runner.invoke(app, ["generate", "lms:llama", "--batch", "2", "--prompt", "6",
                                 "--new-tokens", "16", "--opt-level", "all", "--format", "markdown",
                                 "--json", "gen.json", "-o", "out"])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "gen.json").read_text())
    assert [found["model"] for found in document["results"]] == ["llama"]
    assert_generation_passed(document)
    assert "| llama | torch | ort cpu/all |" in result.output

    # not a causal LM: one line, exit 2, and the JSON still says what ran before
    result = runner.invoke(app, ["generate", "lms:encoder", "--json", "bad.json", "-o", "out2"])
    assert result.exit_code == 2 and "not a causal language model" in result.output
    failed = json.loads((tmp_path / "bad.json").read_text())
    assert failed["results"] == [] and failed["status"] == "error" and "not a causal language model" in failed["reason"]


@pytest.mark.slow
@pytest.mark.torch
def test_the_long_tail_a_sliding_window_a_mixture_of_experts_and_no_key_value_cache(tmp_path, monkeypatch):
    """Mistral with a window of 4 (shorter than 6 prompt + 8 new tokens): the cache is kept whole and the
    window lives in the mask; Mixtral: its grouped_mm experts do not export, batched_mm does (the route is
    recorded); Mamba keeps no key/value cache: one line, exit 2."""
    (tmp_path / "lms.py").write_text(HF_MODELS)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["generate", "lms:mistral_sliding", "lms:mixtral", "--batch", "2", "--prompt", "6",
                                 "--new-tokens", "8", "--opt-level", "all", "--json", "gen.json", "-o", "out"])
    assert result.exit_code == 0, result.output
    found = {r["model"]: r for r in json.loads((tmp_path / "gen.json").read_text())["results"]}
    for model in ("mistral_sliding", "mixtral"):
        (check,) = found[model]["checks"]
        assert check["passed"] and check["tokens"]["kind"] == "agree", (model, check["verdict"])
        assert found[model]["native"]["generate_agreement"]["kind"] == "agree"
    assert found["mixtral"]["export"]["route"] == "experts_implementation=batched_mm"
    assert [a["status"] for a in found["mixtral"]["export"]["attempts"]] == ["failed", "ok"]
    assert "grouped_mm" in found["mixtral"]["export"]["attempts"][0]["reason"]
    refused = runner.invoke(app, ["generate", "lms:mamba", "-o", "out2"])
    lines = [line for line in refused.output.splitlines() if line.strip()]
    assert refused.exit_code == 2 and len(lines) == 1 and "without a key/value cache" in lines[0], refused.output


@pytest.mark.slow
@pytest.mark.torch
def test_a_hugging_face_decoder_is_checked_then_timed_by_phase(tmp_path, monkeypatch):
    (tmp_path / "lms.py").write_text(HF_MODELS)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["generate", "lms:gpt2", "--batch", "2", "--prompt", "4", "--new-tokens", "8",
                                 "--opt-level", "all", "--bench", "--bench-prompt", "8", "--bench-batch", "1",
                                 "--runtime", "torch-eager,ort", "--repeats", "1", "--min-time", "0.05",
                                 "--json", "gen.json", "-o", "out"])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "gen.json").read_text())
    assert [found["model"] for found in document["results"]] == ["gpt2"]
    assert_generation_passed(document)
    assert document["settings"]["bench"]["prompts"] == [8]
    phases = {bench["model"]: bench for bench in document["timing"]}
    assert set(phases) == {"gpt2@prefill=8", "gpt2@decode=8", "gpt2@decode=15"}
    decode = phases["gpt2@decode=8"]
    assert decode["phase"] == {"decoder": "gpt2", "kind": "decode", "tokens": 8}
    labels = {r["config"]["label"]: r for r in decode["results"]}
    assert set(labels) == {"torch-eager", "ort:torch-graph:cpu:all"} and all(r["status"] == "ok" for r in labels.values())
    # the ORT configuration timed the graph the generation check judged, with the cache bound on the device
    (replicate, *_) = labels["ort:torch-graph:cpu:all"]["replicates"]
    assert replicate["batches"]["1"]["info"]["io_binding"] is True
    assert [e["kind"] for e in decode["effects"]] == ["runtime"]
    assert "gpt2: time to first token" in result.output and "Where the time goes: gpt2@decode=15" in result.output
    # the timing is a run (runs/bench.py): its directory reports the three phases as a run's report does
    from aibench_onnx.runs.report import build_report

    report = build_report(tmp_path / "out" / "timing" / "gpt2")
    assert report.written_by == "generate" and set(report.phases) == set(phases)
    assert report.phases["gpt2@decode=8"] == decode["phase"]
