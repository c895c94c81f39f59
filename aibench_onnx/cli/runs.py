"""`aibench run` (the whole matrix as resumable jobs), `aibench report` and `aibench compare`."""

from __future__ import annotations

from typing import Optional

import typer

from aibench_onnx.cli import options
from aibench_onnx.cli.app import app, user_errors_exit
from aibench_onnx.cli.common import (
    choose,
    chosen_graphs,
    default_threads,
    make_console,
    parse_batches,
    parse_eps,
    parse_error_stats,
    parse_percent,
    parse_precisions,
    parse_threads,
    progress_bar,
    split_csv,
    warn_if_busy,
)
from aibench_onnx.errors import ExitCode, UserError
from aibench_onnx.report.model import RunReport
from aibench_onnx.status import exit_code


@app.command()
@user_errors_exit
def run(
    quick: bool = typer.Option(False, "--quick", help="Whole zoo x 3 frameworks x CPU at tiny size, short timing "
                               "in 3 processes per configuration, interleaved (about 5 minutes on 2 cores)."),
    models: Optional[str] = typer.Option(None, "--models", help="Comma-separated zoo models (default: all; none "
                                         "with --user-models)."),
    user_models: Optional[str] = typer.Option(None, "--user-models", metavar="FILE.toml", help="Your own models, "
                                              "one [[model]] table each (target, framework, inputs or inputs_from, "
                                              "call_args, dims): see the README."),
    frameworks: options.Frameworks = None,
    exporter: options.Exporter = None,
    runtime: options.Runtime = None,
    ep: options.Ep = "cpu",
    precision: options.Precision = "fp32",
    error_stat: options.ErrorStat = None,
    threads: options.Threads = None,
    batch: options.Batch = None,
    resume: Optional[str] = typer.Option(None, "--resume", metavar="RUN_DIR", help="Run only the jobs RUN_DIR lacks."),
    repeats: options.Repeats = None,
    target_mde: Optional[str] = typer.Option(None, "--target-mde", metavar="PCT", help="Add rounds for effects whose "
                                             "detectable effect is still above PCT (default 5%; quick 10%; none "
                                             "with an explicit --repeats; 0 adds none), within --budget."),
    budget: Optional[float] = typer.Option(None, "--budget", min=0, metavar="SECONDS", help="Time for the added "
                                           "rounds (default 1200; quick 30)."),
    max_repeats: Optional[int] = typer.Option(None, "--max-repeats", min=1, max=50, help="At most this many "
                                              "rounds in all, added ones included (default 10; quick 5)."),
    timeout: options.Timeout = 900.0,
    executor: str = typer.Option("local", "--executor", help="Where jobs run: local (this machine) or ray (a Ray "
                                 "cluster: every job on every target; needs aibench-onnx[ray])."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster to join (auto: the one `ray start` "
                                          "began here; default: start a one-node cluster here)."),
    targets: Optional[str] = typer.Option(None, "--targets", help="Ray targets, comma-separated: custom resources "
                                          "their nodes declare (default: each live node is a target)."),
    out: options.Out = None,
    html: Optional[str] = typer.Option(None, "--html", metavar="FILE", rich_help_panel=options.OUTPUT,
                                       help="Also write the HTML report to FILE."),
    markdown_path: Optional[str] = typer.Option(None, "--markdown", metavar="FILE", rich_help_panel=options.OUTPUT,
                                                help="Also write the Markdown report to FILE."),
    repro: options.Repro = None,
) -> None:
    """Run the whole comparison — parity and timing for models x frameworks x providers — as jobs in fresh
    processes, appending each result to RUN_DIR/results.jsonl as it finishes; then print the report."""
    import datetime as dt
    from pathlib import Path

    from aibench_onnx.exporters import DEFAULT_OPSET
    from aibench_onnx.report.styles import status_colour
    from aibench_onnx.runs.driver import execute_run
    from aibench_onnx.runs.run import FULL, QUICK
    from aibench_onnx.runs.settings import RunSettings
    from aibench_onnx.runs.store import load_run
    from aibench_onnx.timing.schedule import VARIANCE_CONTROLS
    from aibench_onnx.zoo.registry import resolve_models

    thread_count = parse_threads(threads)  # options first: a bad one is said before anything is written
    console = make_console()
    for target in (html, markdown_path):
        if target is not None:
            from aibench_onnx.jsonio import check_writable

            check_writable(target)
    if repro is not None:
        from aibench_onnx.jsonio import check_writable_dir

        check_writable_dir(repro, "--repro")
    from aibench_onnx.runs.executors import EXECUTORS

    choose([executor], list(EXECUTORS), ["local"], "executor")
    if executor != "ray" and (address or targets):
        raise UserError("--address and --targets choose where a Ray run goes: use them with --executor ray")
    target_envs = None
    if resume:
        run_dir = Path(resume)
        document = load_run(run_dir)
        if document.get("command"):  # a bench's run (runs/bench.py): its plan is not one run's settings replan
            raise UserError(f"{resume}: the run of an `aibench {document['command']}`; run that command again")
        settings = RunSettings.from_dict(document["settings"])
        specs = resolve_models(list(settings.models)) if settings.models else []
        if settings.executor == "ray":
            settings = settings.with_changes(address=address or settings.address)
    else:
        mode = QUICK if quick else FULL
        users = []
        if user_models:
            from aibench_onnx.runs.user_file import load_user_models
            from aibench_onnx.zoo.registry import MODELS

            users = load_user_models(user_models, list(MODELS))
        specs = resolve_models(split_csv(models)) if models or not users else []
        chosen = chosen_graphs(frameworks, exporter)
        eps = parse_eps(ep)

        precisions = parse_precisions(precision)
        error_stats = parse_error_stats(error_stat)
        batches = parse_batches(batch) if batch else mode["batches"]
        ray_settings = {}
        if executor == "ray":  # join the cluster and find the targets before anything is written
            from aibench_onnx.runs.targets import connect, resolve_targets, target_environments

            connect(address)
            found = resolve_targets(split_csv(targets))
            with console.status(f"collecting the environment of {len(found)} targets..."):
                target_envs = target_environments(found)
            ray_settings = {"executor": "ray", "address": address, "targets": tuple(t.name for t in found),
                            "target_specs": tuple(t.to_dict() for t in found)}
        runtimes = timed_runtimes(runtime, mode, sorted(set(chosen) | {u.framework for u in users}))
        parent = Path(out or "aibench-runs")
        run_dir = parent / f"run-{dt.datetime.now():%Y%m%d-%H%M%S}{'-quick' if quick else ''}"
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
        except OSError as exc:
            raise UserError(f"run directory {run_dir}: cannot create ({exc.strerror or exc})") from None
        settings = RunSettings(
            quick=quick, models=tuple(s.name for s in specs), user_models=tuple(u.to_dict() for u in users),
            frameworks=tuple(chosen), eps=tuple(eps), precisions=precisions, error_stats=error_stats,
            size=mode["size"], seeds=mode["seeds"], opt_levels=tuple(mode["opt_levels"]),
            generation=mode["generation"], phases=mode["phases"], batches=tuple(batches), runtimes=tuple(runtimes),
            timing=mode["timing"], timeout_s=timeout, repeats=repeats or mode["repeats"],
            variance_controls=tuple(VARIANCE_CONTROLS),
            # an explicit --repeats fixes the design: rounds are added only when --target-mde asks too
            target_mde=(parse_percent(target_mde, "--target-mde") if target_mde is not None
                        else 0.0 if repeats else mode["target_mde"]),
            budget_s=mode["budget_s"] if budget is None else budget,
            max_repeats=max(max_repeats or mode["max_repeats"], repeats or mode["repeats"]),
            threads=thread_count or mode["threads"] or default_threads(), opset=DEFAULT_OPSET, **ray_settings)
    # also on --resume: the run may have been moved, and this call's --timeout holds for what it runs
    settings = settings.with_changes(run_dir=str(run_dir.resolve()), timeout_s=timeout)
    if repro is not None:  # also on --resume: for the parity jobs still to run
        settings = settings.with_changes(repro_dir=str(Path(repro).resolve()))
    with progress_bar(console) as progress:
        task = progress.add_task("aibench run", total=0)

        def on_planned(todo: int, planned: int, problems: list[str]) -> None:
            for problem in problems:
                progress.console.print(f"[yellow]warning[/yellow] {problem}")
            progress.console.print(f"run directory: {run_dir} — {todo} of {planned} jobs to run")
            warn_if_busy(progress.console, settings.threads)
            progress.update(task, total=todo)
            progress.refresh()

        def on_record(record) -> None:  # runs.store.JobRecord
            progress.advance(task)
            progress.refresh()
            colour = status_colour(record.status)
            progress.console.print(f"[{colour}]{record.status:>11}[/{colour}] {record.job_id} "
                                   f"({record.duration_s:.1f} s)", highlight=False)

        def on_added(jobs: int) -> None:
            progress.update(task, total=progress.tasks[task].total + jobs)

        try:
            execute_run(run_dir, settings, specs, target_envs, on_planned, on_record, on_added)
        except KeyboardInterrupt:
            raise UserError(f"interrupted; finished jobs are kept — resume with: aibench run --resume {run_dir}",
                            ExitCode.INTERRUPTED) from None
    _print_report(str(run_dir), "terminal", None, console)
    if html:
        _print_report(str(run_dir), "html", html, console)
    if markdown_path:
        _print_report(str(run_dir), "markdown", markdown_path, console)
    from aibench_onnx.runs.store import latest_records, load_records

    statuses = {record.status for record in latest_records(load_records(run_dir)[0]).values()}
    raise typer.Exit(int(exit_code(statuses)))


def _print_report(run_dir: str, fmt: str, output: Optional[str], console) -> RunReport:
    from aibench_onnx.runs.report import build_report

    report = build_report(run_dir)
    if fmt == "terminal":
        from aibench_onnx.report.run_views import terminal

        terminal(report, console)
        return report
    if fmt == "markdown":
        from aibench_onnx.report.run_views import markdown

        text = markdown(report)
    else:
        from aibench_onnx.report.html_report import render_html

        text = render_html(report)
    if output:
        from pathlib import Path

        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"-o {output}: cannot write ({exc.strerror or exc})") from None
        console.print(f"wrote {output}")
    else:
        console.file.write(text)
    return report


def timed_runtimes(text: Optional[str], mode: dict, graphs: list[str]) -> list[str]:
    """The runtime kinds a run times: --runtime's, else the mode's (quick: a first look), else (a full run)
    every kind the chosen frameworks' graphs can time."""
    from aibench_onnx.runtimes import ALL_RUNTIMES, runtimes_of

    return runtimes_of(graphs, choose(split_csv(text), ALL_RUNTIMES, mode["runtimes"] or runtimes_of(graphs),
                                      "runtime"))


@app.command()
@user_errors_exit
def report(
    run_dir: str = typer.Argument(..., metavar="RUN_DIR"),
    fmt: options.Format = "terminal",
    output: Optional[str] = typer.Option(None, "-o", "--output", help="Write to FILE (markdown, html)."),
    json_path: options.Json = None,
) -> None:
    """Report a run: environment, parity matrix, latency and effects, export statistics, warnings. With --json,
    the report's data too: every row and flag the tables summarize."""
    from aibench_onnx.jsonio import STDOUT, check_writable, write_json

    (fmt,) = choose([fmt], ["terminal", "markdown", "html"], ["terminal"], "format")
    if json_path is not None:
        check_writable(json_path)
    report = _print_report(run_dir, fmt, output, make_console(stderr=json_path == STDOUT))
    if json_path is not None:
        write_json({"schema_version": 1, "command": "report", **report.to_dict()}, json_path)


@app.command()
@user_errors_exit
def compare(
    base: str = typer.Argument(..., metavar="BASE", help="A run directory (RUN_DIR@TARGET: one target of a Ray "
                               "run), or a `bench --json` file; several joined by commas are one side (their "
                               "processes pooled: the CI then counts how runs differ)."),
    new: str = typer.Argument(..., metavar="NEW", help="A run directory (RUN_DIR@TARGET), or a `bench --json` file; "
                              "several joined by commas are one side."),
    fail_on: Optional[str] = typer.Option(None, "--fail-on", help="Gate, e.g. median:5% — exit 1 when a "
                                          "configuration is significantly more than 5 % slower."),
    json_path: options.Json = None,
) -> None:
    """Compare two runs: per configuration faster / slower / no significant change, parity regressions,
    environment differences; exit 1 when the gate (or parity) fails."""
    from rich.markup import escape

    from aibench_onnx.jsonio import STDOUT, check_writable, write_json
    from aibench_onnx.report.render import to_rich
    from aibench_onnx.report.tables import compare_table
    from aibench_onnx.runs.compare import compare_runs, parse_gate

    gate = parse_gate(fail_on)
    if json_path is not None:
        check_writable(json_path)
    result = compare_runs(base, new, gate)
    console = make_console(stderr=json_path == STDOUT)
    console.print(to_rich(compare_table(result.to_dict())))
    for line in result.environment_differences:
        console.print(f"[yellow]environment differs[/yellow] {escape(line)}")
    for line in result.hardware_differences:
        console.print(f"[bold red]DIFFERENT HARDWARE[/bold red] {escape(line)} — these ratios include the machine, "
                      "not only your change")
    for line in result.gate_failures:
        console.print(f"[bold red]gate failed[/bold red] {escape(line)}")
    if json_path is not None:
        write_json({"schema_version": 1, "command": "compare", **result.to_dict()}, json_path)
    if result.gate_failures:
        raise typer.Exit(int(ExitCode.CHECK_FAILED))
