"""The joints of the package, counted (issue 29's before/after figures), read with `ast`:

- string-key reads on bare dicts named settings/job/request/record/report/result/document
  (`x["key"]` and `x.get("key")` where x is one of those names);
- parameters annotated a bare `dict` (or `dict[...]`, as the issue counted them), and of those the untyped ones: a
  plain `dict` (or one whose values are plain dicts) — a record travelling as a dict — leaving out typed
  mappings (`dict[str, np.ndarray]` feeds) and `from_dict(data)`, where JSON must arrive as a dict;
- flags declared inline (a `typer.Option(..., "--flag")` literal inside a command's signature) by more than
  one command, and flags declared at all in more than one place;
- lines of `cli/`;
- lines outside `ort/` and `runtimes/` that name ONNX Runtime's kind (`"ort"`, `ORT_RUNTIME`);
- worker entry modules.

`python benchmarks/code_metrics.py [--json]`
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "aibench_onnx"
DICT_NAMES = {"settings", "job", "request", "record", "report", "result", "document"}
RUNTIME_NAME = re.compile(r"""(["']ort["']|\bORT_RUNTIME\b)""")


def python_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def string_key_reads(tree: ast.AST) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in DICT_NAMES \
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str) \
                and isinstance(node.ctx, ast.Load):
            count += 1
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and isinstance(node.func.value, ast.Name) and node.func.value.id in DICT_NAMES \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            count += 1
    return count


def is_bare_dict(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return annotation.value == "dict" or annotation.value.startswith("dict[")
    if isinstance(annotation, ast.Name):
        return annotation.id == "dict"
    return isinstance(annotation, ast.Subscript) and isinstance(annotation.value, ast.Name) \
        and annotation.value.id == "dict"


def bare_dict_parameters(tree: ast.AST) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            count += sum(is_bare_dict(a.annotation) for a in arguments)
    return count


def is_untyped_dict(annotation: ast.expr | None) -> bool:
    """A plain `dict`, `dict | None`, or a mapping whose values are plain dicts (`dict[str, dict]`)."""
    if annotation is None:
        return False
    text = ast.unparse(annotation).strip("'\"").replace(" ", "")
    text = text.removesuffix("|None")
    return text == "dict" or (text.startswith("dict[") and text.endswith((",dict]", ",list[dict]]", ",Any]")))


def untyped_dict_parameters(tree: ast.AST) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name != "from_dict":
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            count += sum(is_untyped_dict(a.annotation) for a in arguments)
    return count


def option_flags(call: ast.Call) -> list[str]:
    return [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
            and a.value.startswith("--")]


def is_typer_option(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Attribute) and node.func.attr == "Option")
        or (isinstance(node.func, ast.Name) and node.func.id == "Option"))


def inline_flags(tree: ast.AST, where: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(flag -> commands declaring it in their signature, flag -> every place declaring it)."""
    in_commands: dict[str, set[str]] = defaultdict(set)
    anywhere: dict[str, set[str]] = defaultdict(set)
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        defaults = function.args.defaults + [d for d in function.args.kw_defaults if d is not None]
        annotations = [a.annotation for a in function.args.args + function.args.kwonlyargs if a.annotation]
        for node in defaults + annotations:
            for call in (n for n in ast.walk(node) if is_typer_option(n)):
                for flag in option_flags(call):
                    in_commands[flag].add(f"{where}:{function.name}")
        for call in (n for n in ast.walk(function) if is_typer_option(n)):
            for flag in option_flags(call):
                anywhere[flag].add(f"{where}:{function.name}")
    return in_commands, anywhere


def measure() -> dict:
    reads = parameters = untyped = 0
    in_commands: dict[str, set[str]] = defaultdict(set)
    anywhere: dict[str, set[str]] = defaultdict(set)
    runtime_lines: list[str] = []
    for path in python_files():
        text = path.read_text()
        tree = ast.parse(text)
        relative = path.relative_to(PACKAGE).as_posix()
        reads += string_key_reads(tree)
        parameters += bare_dict_parameters(tree)
        untyped += untyped_dict_parameters(tree)
        if relative.startswith("cli/"):
            commands, places = inline_flags(tree, relative)
            for flag, names in commands.items():
                in_commands[flag] |= names
            for flag, names in places.items():
                anywhere[flag] |= names
        if not relative.startswith(("ort/", "runtimes/")):
            runtime_lines += [f"{relative}:{n}" for n, line in enumerate(text.splitlines(), 1)
                              if RUNTIME_NAME.search(line) and not line.lstrip().startswith("#")]
    cli_lines = sum(len(p.read_text().splitlines()) for p in (PACKAGE / "cli").glob("*.py"))
    workers = [p.name for p in (PACKAGE / "workers").glob("*.py") if p.name not in {"__init__.py", "__main__.py"}]
    return {
        "string_key_reads_on_bare_dicts": reads,
        "bare_dict_parameters": parameters,
        "untyped_dict_parameters": untyped,
        "flags_inline_in_more_than_one_command": sorted(f for f, c in in_commands.items() if len(c) > 1),
        "flags_declared_in_more_than_one_place": sorted(f for f, c in anywhere.items() if len(c) > 1),
        "cli_lines": cli_lines,
        "runtime_named_lines_outside_ort": runtime_lines,
        "worker_modules": len(workers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the whole document, lines included")
    figures = measure()
    if parser.parse_args().json:
        print(json.dumps(figures, indent=1))
        return
    for name, value in figures.items():
        shown = f"{len(value)}: {', '.join(value[:30])}" if isinstance(value, list) else value
        print(f"{name}: {shown}")


if __name__ == "__main__":
    main()
