"""A user's framework model on the command line (`pkg.module:factory --framework F --input ... --inputs ...
--call-arg ... --dim ...`), shared by check, bench and run; and its export in the framework's own process."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from aibench_onnx.errors import ExitCode, UserError
from aibench_onnx.status import Status

INPUT_HELP = ("NAME:DTYPE[dims][@LOW..HIGH] of a framework model's input, e.g. x:float32[batch,16] or "
              "input_ids:int64[batch,seq]@0..30521; repeatable. The first axis is the batch; named axes are "
              "exported dynamic.")
INPUTS_HELP = ("A framework model's inputs from pkg.module:make_inputs (called as make_inputs(batch=, seed=, "
               "**dims), returning {name: numpy array}), a .npz file or a test_data_set directory (input_N.pb), "
               "instead of --input.")
CALL_ARG_HELP = "NAME=VALUE passed to every call of the model, e.g. deterministic=true or use_cache=false; repeatable."


def parse_call_args(values: Optional[list[str]]) -> dict:
    """NAME=VALUE, VALUE read as JSON (true, 3, 0.5, "text", null; Python's True/False/None too), else text."""
    found = {}
    for text in values or []:
        name, sep, raw = text.partition("=")
        if not sep or not name.strip().isidentifier():
            raise UserError(f"--call-arg {text!r}: expected NAME=VALUE, e.g. deterministic=true")
        raw = {"True": "true", "False": "false", "None": "null"}.get(raw.strip(), raw.strip())
        try:
            found[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            found[name.strip()] = raw
    return found


def parse_dim_sweeps(values: Optional[list[str]]) -> dict[str, list[int]]:
    """NAME=SIZE or NAME=S1,S2,... (a sweep: bench times every size)."""
    dims = {}
    for text in values or []:
        name, _, sizes = text.partition("=")
        parts = [p.strip() for p in sizes.split(",") if p.strip()]
        if not name.strip().isidentifier() or not parts or not all(p.isdigit() and int(p) >= 1 for p in parts):
            raise UserError(f"--dim {text!r}: expected NAME=SIZE or NAME=SIZE1,SIZE2,... with positive sizes")
        dims[name.strip()] = [int(p) for p in parts]
    return dims


def single_dims(sweeps: dict[str, list[int]], command: str) -> dict[str, int]:
    for name, sizes in sweeps.items():
        if len(sizes) > 1:
            raise UserError(f"--dim {name}: {command} takes one size per dimension (bench sweeps several)")
    return {name: sizes[0] for name, sizes in sweeps.items()}


def user_model(target: str, framework: str, inputs: Optional[list[str]], inputs_from: Optional[str],
               call_args: Optional[list[str]], dims: dict[str, int], name: str = ""):
    """The UserModel the options describe, checked as far as can be without importing the user's code."""
    from aibench_onnx.frameworks import missing_framework, resolve_frameworks
    from aibench_onnx.frameworks.user_inputs import parse_input
    from aibench_onnx.frameworks.user_model import UserModel

    if not framework or "," in framework:
        raise UserError(f"{target}: a model of your own needs its one framework: --framework torch, tf or jax")
    (framework,) = resolve_frameworks([framework])
    if ":" not in target or target.endswith(".onnx"):
        raise UserError(f"{target!r}: with --framework, MODEL is pkg.module:factory")
    if bool(inputs) == bool(inputs_from):
        raise UserError("a framework model needs its inputs: --input NAME:DTYPE[dims] (repeat for each) or "
                        "--inputs pkg.module:make_inputs / FILE.npz, one of the two")
    if inputs_from and not inputs_from.endswith(".npz") and ":" not in inputs_from and not Path(inputs_from).is_dir():
        raise UserError(f"--inputs {inputs_from!r}: expected pkg.module:make_inputs, a .npz file or a "
                        "test_data_set directory")
    decls = [parse_input(text) for text in inputs or []]
    problem = missing_framework(framework)
    if problem:
        raise UserError(f"{framework}: {problem}", ExitCode.ENVIRONMENT)
    return UserModel(target, framework, decls, inputs_from, parse_call_args(call_args), dims, os.getcwd(), name)


def describe_export(record: dict, console) -> None:
    """What the user should know about the export beyond pass/fail: the exporter it fell back to, dimensions it
    fixed, sizes not checked."""
    from rich.markup import escape

    if record.get("fallback"):
        console.print(f"[yellow]exporter fallback:[/] {escape(record['fallback'])}", highlight=False)
    console.print(f"exported with {record['exporter']} {record['exporter_version']} to {record['path']}")
    for fixed in record.get("fixed_dims", []):
        console.print(f"[yellow]declared dynamic, exported fixed:[/] {fixed}", highlight=False)
    if record.get("other_sizes_skipped"):
        console.print(f"[yellow]not checked at other sizes:[/] {record['other_sizes_skipped']}", highlight=False)


def exported_or_exit(record: dict, target: str) -> dict:
    if record["status"] != Status.OK:
        exporter = record.get("exporter")
        raise UserError(f"{target}: " + (f"export with {exporter} failed: " if exporter else "") + record["reason"],
                        ExitCode.CHECK_FAILED)
    return record
