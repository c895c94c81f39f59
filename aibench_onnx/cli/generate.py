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
    results: list = []
    error = None
    try:
        _run(subjects, settings, out_dir, console, results)
    except UserError as exc:  # the JSON says what failed and keeps the models checked before it
        error = exc
    documents = [r.to_dict() for r in results]
    if json_path is not None:
        from aibench_onnx.env.collect import collect_environment

        write_json({"schema_version": GENERATION_SCHEMA_VERSION, "command": "generate",
                    "status": "error" if error else "ok", "reason": str(error) if error else "",
                    "settings": {**settings.to_dict(), "out": str(out_dir)}, "environment": collect_environment(),
                    "results": documents}, json_path)
    if error is not None:
        raise error
    from aibench_onnx.report.generation_view import render_generation

    if json_path != STDOUT:
        render_generation(documents, make_console() if form != "terminal" else console, form)
    console.print(f"artifacts: {out_dir}")
    raise typer.Exit(int(exit_code(s for r in results for s in r.statuses)))


def _subjects(targets: list[str], size: str | None, frameworks: str | None, exporter: str | None) -> list[tuple]:
    """(Subject, graph) pairs: a zoo decoder once per chosen graph, a user's causal LM with torch.onnx."""
    from aibench_onnx.frameworks.user_model import UserModel
    from aibench_onnx.subjects import Subject
    from aibench_onnx.zoo.registry import MODELS, check_size, get_spec

    pairs = []
    for target in targets:
        if ":" in target:
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
