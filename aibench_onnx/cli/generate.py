"""`aibench generate`: decoder LMs checked over a greedy generation with their key/value cache, natively and
on the exported graph."""

from __future__ import annotations

import os
from typing import Optional

import typer

from aibench_onnx.cli.app import app, user_errors_exit
from aibench_onnx.cli.common import (
    chosen_graphs,
    default_threads,
    ep_option,
    exporter_option,
    json_option,
    make_console,
    opt_level_option,
    output_dir,
    parse_eps,
    parse_levels,
    progress_bar,
    threads_option,
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
    frameworks: Optional[str] = typer.Option(None, "-f", "--frameworks",
                                             help="Zoo decoders: comma-separated torch,tf,jax (default: all)."),
    exporter: Optional[str] = exporter_option(),
    ep: str = ep_option(),
    opt_level: str = opt_level_option(),
    size: Optional[str] = typer.Option(None, "--size", help="Zoo decoders' size variant (default: small)."),
    batch: int = typer.Option(4, "--batch", min=1, max=64, help="Prompts per batch (rows after the first are "
                              "left-padded to different lengths)."),
    prompt: int = typer.Option(16, "--prompt", min=1, max=4096, help="Prompt length in tokens."),
    new_tokens: int = typer.Option(32, "--new-tokens", min=1, max=4096, help="Tokens to generate greedily."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random prompts."),
    threads: Optional[int] = threads_option(),
    out: Optional[str] = typer.Option(None, "-o", "--out", help="Artifact directory (default aibench-runs/generate-<time>)."),
    form: str = typer.Option("terminal", "--format", help="terminal, markdown or html (tables to stdout)."),
    bench: bool = typer.Option(False, "--bench", help="Also time each decoder by phase: TTFT (prefill) and TPOT (a "
                               "decode step, cache bound on the device) natively and on ONNX Runtime, with effects."),
    bench_prompt: str = typer.Option("16,128", "--bench-prompt", help="--bench: prompt lengths, comma-separated."),
    bench_batch: str = typer.Option("1,4", "--bench-batch", help="--bench: batch sizes, comma-separated."),
    runtime: Optional[str] = typer.Option(None, "--runtime", help="--bench: runtime kinds, comma-separated (default: "
                                          "each exporter's framework's eager and compiled kinds, and ort)."),
    repeats: int = typer.Option(3, "--repeats", min=1, max=50, help="--bench: processes per configuration."),
    min_time: float = typer.Option(1.0, "--min-time", min=0.01, help="--bench: sampling seconds per batch and process."),
    json_path: Optional[str] = json_option(),
) -> None:
    """Check decoders over a greedy generation: the export (past and present key/values as graph inputs and
    outputs) on ONNX Runtime against the native model — prefill and decode logits judged apart, the cache
    contents, token agreement with the first divergence (a near-tie flip is rounding, not a defect) — and each
    runtime against itself: cache on vs off, a padded batch vs its rows alone; the fault probes name a cache the
    graph ignores, ignored positions, a stale present. Exit 0 all passed, 1 a check failed, 2 bad input,
    3 a provider or framework unavailable."""
    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.generation.run import GenerationSettings
    from aibench_onnx.jsonio import STDOUT, check_writable, write_json

    if form not in FORMATS:
        raise UserError(f"--format {form!r}: expected one of {', '.join(FORMATS)}")
    if json_path is not None:
        check_writable(json_path)
    subjects = _subjects(targets or ["decoder"], size, frameworks, exporter)
    threads = threads or default_threads()
    settings = GenerationSettings(batch, prompt, new_tokens, seed, tuple(parse_eps(ep)), tuple(parse_levels(opt_level)),
                                  threads, DEFAULT_OPSET)
    console = make_console(stderr=json_path == STDOUT or form != "terminal")
    out_dir = output_dir(out, "generate")
    timing_plan = _timing_plan(bench, bench_prompt, bench_batch, runtime, new_tokens)
    results: list = []
    error = None
    try:
        _run(subjects, settings, out_dir, console, results)
    except UserError as exc:  # the JSON says what failed and keeps the models checked before it
        error = exc
    documents = [r.to_dict() for r in results]
    timing = _time_phases(subjects, results, timing_plan, settings, out_dir, repeats, min_time, console) \
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


def _time_phases(subjects: list[tuple], results: list, plan: dict, settings, out_dir, repeats: int, min_time: float,
                 console) -> list:
    """Each checked decoder timed by phase (timing.bench over its phases), every exporter's graph of it in one
    bench, so its exporter effects come out beside the runtime effects. The graphs are the ones just checked."""
    from aibench_onnx.runtimes import runtimes_of
    from aibench_onnx.status import Status
    from aibench_onnx.subjects import Subject
    from aibench_onnx.timing.bench import bench_models
    from aibench_onnx.timing.configs import plan as plan_configs

    benches = []
    for name in dict.fromkeys(subject.name for subject, _ in subjects):
        checked = [(subject, result) for (subject, _), result in zip(subjects, results) if subject.name == name]
        exports = {result.graph: result.export for _, result in checked if result.export}
        if not any(record["status"] == Status.OK for record in exports.values()):
            continue
        subject, result = checked[0]
        if subject.user:
            io = next(r.io for _, r in checked if r.io)
            phases = Subject.user_decoder_phases({**subject.user, "decoder": io}, plan["prompts"], plan["new_tokens"])
        else:
            phases = Subject.decoder_phases(subject.name, subject.size, plan["prompts"], plan["new_tokens"])
        graphs = list(exports)
        configs = plan_configs(graphs, runtimes_of(graphs, plan["runtimes"] or None), list(settings.eps),
                               list(settings.levels), [True])
        console.print(f"timing {name} by phase: {len(phases)} phases × {len(configs)} configurations × "
                      f"{repeats} processes", highlight=False)
        benches += bench_models(phases, configs, plan["batches"], settings.threads, {"min_time_s": min_time},
                                out_dir / "timing", "cpu", 900.0, settings.opset, repeats,
                                exported={p.name: exports for p in phases})
    return benches


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
