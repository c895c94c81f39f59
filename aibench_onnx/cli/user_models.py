"""A user's framework model on the command line (`pkg.module:factory --framework F --input ... --inputs ...
--call-arg ... --dim ...`), shared by check, bench and run; and its export in the framework's own process."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from aibench_onnx.errors import ExitCode, UserError
from aibench_onnx.graph.input_decl import parse_dim_sweeps, single_dims  # noqa: F401 - shared by the commands
from aibench_onnx.status import Status



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


def user_model(target: str, framework: str, inputs: Optional[list[str]], inputs_from: Optional[str],
               call_args: Optional[list[str]], dims: dict[str, int], name: str = "", trust_code: bool = False):
    """The UserModel the options describe, checked as far as can be without importing the user's code: a
    pkg.module:factory, or a saved model's path (frameworks/saved.py: its framework and, where it records them,
    its inputs come from the artifact)."""
    from aibench_onnx.frameworks import missing_framework, resolve_frameworks
    from aibench_onnx.frameworks.saved import detect
    from aibench_onnx.frameworks.user_inputs import parse_input
    from aibench_onnx.frameworks.user_model import UserModel

    artifact = detect(target) if not target.endswith(".onnx") else None
    if artifact is not None:
        if framework and framework != artifact.framework:
            raise UserError(f"{target}: {artifact.description} is a {artifact.framework} model, not --framework "
                            f"{framework}")
        framework = artifact.framework
    if not framework or "," in framework:
        raise UserError(f"{target}: a model of your own needs its one framework: --framework torch, tf or jax")
    (framework,) = resolve_frameworks([framework])
    if artifact is None and (":" not in target or target.endswith(".onnx")):
        raise UserError(f"{target!r}: with --framework, MODEL is pkg.module:factory or a saved model's path")
    if inputs and inputs_from:
        raise UserError("give a model's inputs with --input or with --inputs, not both")
    if inputs_from and not inputs_from.endswith(".npz") and ":" not in inputs_from and not Path(inputs_from).is_dir():
        raise UserError(f"--inputs {inputs_from!r}: expected pkg.module:make_inputs, a .npz file or a "
                        "test_data_set directory")
    problem = missing_framework(framework)
    if problem:
        raise UserError(f"{framework}: {problem}", ExitCode.ENVIRONMENT)
    decls = [parse_input(text) for text in inputs or []]
    bound = parse_call_args(call_args)
    if artifact is not None and not decls and not inputs_from:
        decls, dims, bound = _signature_inputs(artifact, dims, bound, trust_code)
    elif not decls and not inputs_from:
        raise UserError("a framework model needs its inputs: --input NAME:DTYPE[dims] (repeat for each) or "
                        "--inputs pkg.module:make_inputs / FILE.npz, one of the two")
    return UserModel(target, framework, decls, inputs_from, bound, dims, os.getcwd(), name, trust_code=trust_code)


def _signature_inputs(artifact, dims: dict[str, int], call_args: dict, trust_code: bool):
    """A saved model's own inputs, with the sizes it was saved at as defaults for --dim and the call arguments it
    needs (a causal LM without its cache) unless the user set them."""
    from aibench_onnx.frameworks.saved import read_signature

    found = read_signature(artifact, trust_code)
    if found is None:
        raise UserError(f"{artifact.path}: {artifact.description} records no input shapes; give them with --input "
                        "NAME:DTYPE[dims] (repeat for each)")
    return list(found.decls), {**dict(found.dims), **dims}, {**dict(found.call_args), **call_args}


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
