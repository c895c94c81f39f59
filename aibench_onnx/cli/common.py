"""What the CLI commands share: option parsing, help texts, output directories, consoles, progress bars."""

from __future__ import annotations

from typing import Optional

from aibench_onnx.errors import UserError


def default_threads() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or 1


def split_csv(value: Optional[str]) -> Optional[list[str]]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def parse_batches(text: str, option: str = "--batch") -> list[int]:
    """--batch 1,8 -> [1, 8] (sorted, unique); anything but positive integers is a one-line error."""
    try:
        batches = sorted({int(b) for b in split_csv(text) or []})
    except ValueError:
        raise UserError(f"{option} {text!r}: expected comma-separated positive integers") from None
    if not batches or batches[0] < 1:
        raise UserError(f"{option} {text!r}: expected comma-separated positive integers")
    return batches


def parse_percent(text: str, option: str) -> float:
    """"5%" or "5" -> 0.05; "0" -> 0.0; anything else (negative, 100 % or more, not a number) is a one-line error."""
    try:
        value = float(text.strip().rstrip("%")) / 100
    except ValueError:
        raise UserError(f"{option} {text!r}: expected a percentage such as 5%") from None
    if not 0 <= value < 1:
        raise UserError(f"{option} {text!r}: expected a percentage from 0% to below 100%")
    return value


def choose(values: Optional[list[str]], valid, default: list[str], what: str) -> list[str]:
    chosen = values or default
    unknown = [v for v in chosen if v not in valid]
    if unknown:
        raise UserError(f"unknown {what} {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")
    return list(dict.fromkeys(chosen))


def output_dir(out: Optional[str], default_name: str):
    """Create (or reuse) the artifact directory; an unwritable one is a one-line error, before any work."""
    import datetime as dt
    from pathlib import Path

    path = Path(out) if out else Path("aibench-runs") / f"{default_name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".aibench-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"output directory {path}: not writable ({exc.strerror or exc})") from None
    return path


PARITY_SCHEMA_VERSION = 1
PIPED_WIDTH = 160


def make_console(stderr: bool = False):
    """A rich console. Written to a pipe or a CI log with COLUMNS unset, rich would wrap tables at 80 columns
    and squeeze a failure's reason into a 5-character column; 160 keeps them readable."""
    import os
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    piped = not (hasattr(stream, "isatty") and stream.isatty())
    return Console(stderr=stderr, width=PIPED_WIDTH if piped and "COLUMNS" not in os.environ else None)


def progress_bar(console):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # Redrawn only when something happens (callers refresh()): a display redrawing ten times a second competes
    # with the measurement on a 2-core machine.
    return Progress(*columns, console=console, transient=True, auto_refresh=False)


def parse_error_stats(values: list[str] | None) -> dict[str, str]:
    """--error-stat values -> output name ("" for every output) -> statistic, each checked (one line, exit 2)."""
    from aibench_onnx.zoo.precision import JUDGEMENTS

    statistics = {}
    for value in values or []:
        output, _, statistic = value.rpartition(":")
        try:
            JUDGEMENTS["fp16"].using(statistic)
        except ValueError as exc:
            raise UserError(f"--error-stat {value!r}: {exc}") from None
        statistics[output] = statistic
    return statistics


def parse_one(text: str, option: str, what: str = "value") -> int:
    """--batch 4 / --prompt 16 of a command that takes one positive integer."""
    values = parse_batches(text, option)
    if len(values) > 1:
        raise UserError(f"{option} {text!r}: this command takes one {what}")
    return values[0]


def parse_threads(text: Optional[str]) -> Optional[int]:
    """--threads N of a command that takes one count; None when not given (the command's default)."""
    return None if text is None else parse_one(text, "--threads", "count (bench sweeps several)")


def parse_thread_counts(text: Optional[str]) -> list[int]:
    """--threads 1,2 -> [1, 2]; none given -> [physical cores]."""
    return parse_batches(text, "--threads") if text else [default_threads()]


def parse_eps(text: Optional[str]) -> list[str]:
    from aibench_onnx.ort.session import EXECUTION_PROVIDERS

    return choose(split_csv(text), list(EXECUTION_PROVIDERS), ["cpu"], "execution provider")


def parse_levels(text: Optional[str]) -> list[str]:
    from aibench_onnx.ort.session import OPT_LEVELS

    return choose(split_csv(text), list(OPT_LEVELS), ["disabled", "all"], "optimization level")


def parse_precisions(text: Optional[str]) -> tuple[str, ...]:
    from aibench_onnx.zoo.precision import PRECISIONS

    return tuple(choose(split_csv(text), list(PRECISIONS), ["fp32"], "precision"))


def parse_graph_runtimes(text: Optional[str]) -> tuple[str, ...]:
    """`--runtime` of the commands that check graphs (parity, check): the reference runtime always, others added."""
    from aibench_onnx.runtimes import GRAPH_RUNTIMES, REFERENCE

    runtimes = tuple(choose(split_csv(text), list(GRAPH_RUNTIMES), [REFERENCE], "runtime"))
    if REFERENCE not in runtimes:
        raise UserError(f"{GRAPH_RUNTIMES[REFERENCE].title} is always checked: --runtime adds others "
                        f"({','.join(GRAPH_RUNTIMES)})")
    return runtimes


def chosen_graphs(frameworks: Optional[str], exporters: Optional[str]) -> list[str]:
    """The graphs to export and run (framework names, and `torch-script` for a second torch exporter)."""
    from aibench_onnx.frameworks import resolve_frameworks, resolve_graphs

    return resolve_graphs(resolve_frameworks(split_csv(frameworks)), split_csv(exporters))


def render_and_write(document: dict, json_path: str | None, render) -> None:
    """The table, unless JSON alone goes to stdout; then the JSON, when asked for."""
    from aibench_onnx.jsonio import STDOUT, write_json

    if json_path != STDOUT:
        render(document, make_console())
    if json_path is not None:
        write_json(document, json_path)


def warn_if_busy(console, threads: int) -> None:
    """Before timing: when the timing threads fill every CPU and other processes are using them now, say so
    and what to do (a descheduled timing thread stalls every call for a time slice)."""
    from aibench_onnx.measuring.contention import machine_load, threads_advice

    advice = threads_advice(threads, machine_load(0.3))
    if advice:
        console.print(f"[yellow]warning[/yellow] {advice}", highlight=False)
