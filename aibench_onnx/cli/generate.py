"""`aibench generate`: decoder LMs checked over a greedy generation with their key/value cache, natively and
on the exported graph."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from aibench_onnx.cli import options
from aibench_onnx.cli.app import app, user_errors_exit
from aibench_onnx.cli.common import (
    chosen_graphs,
    default_threads,
    make_console,
    output_dir,
    parse_eps,
    parse_levels,
    parse_one,
    parse_threads,
    progress_bar,
)
from aibench_onnx.errors import UserError
from aibench_onnx.status import exit_code

GENERATION_SCHEMA_VERSION = 1
FORMATS = ("terminal", "markdown", "html")


@app.command()
@user_errors_exit
def generate(
    targets: Optional[list[str]] = typer.Argument(
        None, metavar="[MODELS]...",
        help="Zoo decoders (default: decoder), or pkg.module:factory returning a Hugging Face causal LM "
             "(a *ForCausalLM or GPT2LMHeadModel; exported by torch.onnx)."),
    frameworks: options.Frameworks = None,
    exporter: options.Exporter = None,
    size: options.Size = None,
    ep: options.Ep = "cpu",
    opt_level: options.OptLevel = "disabled,all",
    threads: options.Threads = None,
    batch: options.Batch = "4",
    prompt: options.Prompt = "16",
    new_tokens: options.NewTokens = 32,
    seed: int = typer.Option(0, "--seed", rich_help_panel=options.DECODERS, help="Seed of the random prompts."),
    bench: options.Bench = False,
    bench_prompt: str = typer.Option("16,128", "--bench-prompt", rich_help_panel=options.TIMING,
                                     help="--bench: prompt lengths, comma-separated."),
    bench_batch: str = typer.Option("1,4", "--bench-batch", rich_help_panel=options.TIMING,
                                    help="--bench: batch sizes, comma-separated."),
    runtime: options.Runtime = None,
    repeats: options.Repeats = 3,
    min_time: options.MinTime = 1.0,
    out: options.Out = None,
    form: options.Format = "terminal",
    json_path: options.Json = None,
    repro: options.Repro = None,
) -> None:
    """Check decoders over a greedy generation: the export (past and present key/values as graph inputs and
    outputs) on ONNX Runtime against the native model — prefill and decode logits judged apart, the cache
    contents, token agreement with the first divergence (a near-tie flip is rounding, not a defect) — and each
    runtime against itself: cache on vs off, a padded batch vs its rows alone; the fault probes name a cache the
    graph ignores, ignored positions, a stale present. Exit 0 all passed, 1 a check failed, 2 bad input,
    3 a provider or framework unavailable."""
    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.generation.run import GenerationSettings
    from aibench_onnx.jsonio import STDOUT, check_writable, check_writable_dir, write_json
    from aibench_onnx.runs.phases import time_decoder_phases

    if form not in FORMATS:
        raise UserError(f"--format {form!r}: expected one of {', '.join(FORMATS)}")
    if json_path is not None:
        check_writable(json_path)
    if repro is not None:
        check_writable_dir(repro, "--repro")
    subjects = _subjects(targets or ["decoder"], size, frameworks, exporter)
    threads = parse_threads(threads) or default_threads()
    batch, prompt = parse_one(batch, "--batch"), parse_one(prompt, "--prompt")
    if batch > 64 or prompt > 4096:
        raise UserError(f"--batch {batch} --prompt {prompt}: at most 64 prompts a batch of at most 4096 tokens")
    settings = GenerationSettings(batch, prompt, new_tokens, seed, tuple(parse_eps(ep)), tuple(parse_levels(opt_level)),
                                  threads, DEFAULT_OPSET, str(Path(repro).resolve()) if repro else None)
    console = make_console(stderr=json_path == STDOUT or form != "terminal")
    out_dir = output_dir(out, "generate")
    timing_plan = _timing_plan(bench, bench_prompt, bench_batch, runtime, new_tokens)
    if bench:  # each decoder's timing is a run of its own (runs/phases.py): one an earlier call left is refused now
        from aibench_onnx.runs.bench import refuse_earlier_run
        from aibench_onnx.runs.phases import phases_run_dir

        for subject, _ in subjects:
            refuse_earlier_run(phases_run_dir(out_dir, subject.name))
    results: list = []
    error = None
    try:
        _run(subjects, settings, out_dir, console, results)
    except UserError as exc:  # the JSON says what failed and keeps the models checked before it
        error = exc
    documents = [r.to_dict() for r in results]
    timing = time_decoder_phases(subjects, results, timing_plan, settings, out_dir, repeats, min_time,
                                 lambda line: console.print(line, highlight=False)) \
        if bench and error is None else []
    if json_path is not None:
        from aibench_onnx.env.collect import collect_environment

        write_json({"schema_version": GENERATION_SCHEMA_VERSION, "command": "generate",
                    "status": "error" if error else "ok", "reason": str(error) if error else "",
                    "settings": {**settings.to_dict(), "out": str(out_dir),
                                 **({"bench": {**timing_plan, "repeats": repeats, "min_time_s": min_time}}
                                    if bench else {})},
                    "environment": collect_environment(), "results": documents,
                    **({"timing": [t.to_dict() for t in timing]} if bench else {})}, json_path)
    if error is not None:
        raise error
    from aibench_onnx.report.generation_view import render_generation

    if json_path != STDOUT:
        render_generation(documents, make_console() if form != "terminal" else console, form,
                          _timing_tables(timing, new_tokens))
    console.print(f"artifacts: {out_dir}")
    statuses = [s for r in results for s in r.statuses] + [c.status for t in timing for c in t.results]
    raise typer.Exit(int(exit_code(statuses)))


def _timing_plan(bench: bool, prompts: str, batches: str, runtime: str | None, new_tokens: int) -> dict:
    """--bench's options, checked before anything runs."""
    from aibench_onnx.cli.common import parse_batches, split_csv
    from aibench_onnx.runtimes import ALL_RUNTIMES

    if not bench:
        return {}
    if new_tokens < 2:
        raise UserError("--bench times a decode step at the start and the end of --new-tokens: give 2 or more")
    kinds = split_csv(runtime)
    unknown = [k for k in kinds or [] if k not in ALL_RUNTIMES]
    if unknown:
        raise UserError(f"unknown runtime {', '.join(map(repr, unknown))}; valid: {', '.join(ALL_RUNTIMES)}")
    return {"prompts": parse_batches(prompts, "--bench-prompt"), "batches": parse_batches(batches, "--bench-batch"),
            "runtimes": kinds, "new_tokens": new_tokens}


def _timing_tables(benches: list, new_tokens: int) -> list:
    from aibench_onnx.report.generation_view import decoder_timing_tables, phase_rows
    from aibench_onnx.report.tables import effects_table

    tables = decoder_timing_tables(phase_rows(benches), new_tokens)
    return tables + [effects_table(f"Where the time goes: {b.model}", [e.to_dict() for e in b.effects])
                     for b in benches if b.effects]


def _subjects(targets: list[str], size: str | None, frameworks: str | None, exporter: str | None) -> list[tuple]:
    """(Subject, graph) pairs: a zoo decoder once per chosen graph, a user's causal LM with torch.onnx."""
    from aibench_onnx.frameworks.user_model import UserModel
    from aibench_onnx.subjects import Subject
    from aibench_onnx.zoo.registry import MODELS, check_size, get_spec

    from aibench_onnx.frameworks.saved import causal_lm, detect, is_saved_model

    pairs = []
    for target in targets:
        saved = is_saved_model(target) and detect(target)
        if saved and not causal_lm(saved):
            raise UserError(f"{target}: {saved.description} that is no Hugging Face causal LM; generate checks "
                            "causal LMs (a folder whose config names a *ForCausalLM or *LMHeadModel class)")
        if ":" in target or saved:
            if frameworks not in (None, "torch"):
                raise UserError(f"{target}: a causal LM of yours is a PyTorch (Hugging Face) model; -f {frameworks} "
                                "applies to zoo decoders")
            user = UserModel(target, "torch", cwd=os.getcwd())
            pairs += [(Subject.of_user(user), graph) for graph in chosen_graphs("torch", exporter)]
            continue
        if target not in MODELS:
            raise UserError(f"unknown model {target!r}; give a zoo decoder (decoder) or pkg.module:factory")
        spec = get_spec(target)
        if spec.decoder is None:
            decoders = [name for name in MODELS if get_spec(name).decoder is not None]
            raise UserError(f"{target} is not a decoder LM; zoo decoders: {', '.join(decoders)}")
        check_size(spec, size or spec.default_size)
        pairs += [(Subject.of_zoo(target, size), graph) for graph in chosen_graphs(frameworks, exporter)]
    return pairs


def _run(subjects: list[tuple], settings, out_dir, console, results: list) -> None:
    from aibench_onnx.generation.run import check_generation
    from aibench_onnx.report.styles import status_markup

    with progress_bar(console) as progress:
        task = progress.add_task("generation", total=len(subjects))
        for subject, graph in subjects:
            progress.update(task, description=f"{subject.name} / {graph}")
            result = check_generation(subject, graph, settings, out_dir)
            results.append(result)
            shown = ", ".join(f"{c.ep}/{c.level} {status_markup(s)}" for c, s in zip(result.checks, result.statuses))
            progress.console.print(f"{subject.name} / {graph}: {shown or status_markup(result.statuses[0])}")
            progress.advance(task)
            progress.refresh()
