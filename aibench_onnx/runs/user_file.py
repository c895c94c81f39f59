"""`aibench run --user-models FILE.toml`: users' own models in a run, one `[[model]]` table each.

    [[model]]
    name = "bert-tiny"                       # optional; default: the factory's name
    target = "my_models:bert"                # pkg.module:factory, resolved from the file's folder
    framework = "torch"
    inputs = ["input_ids:int64[batch,seq]@0..999", "attention_mask:int64[batch,seq]@1..1"]
    # or: inputs_from = "my_models:make_inputs"  (or a .npz file)
    call_args = { use_cache = false }        # optional: static keyword arguments of every call
    dims = { seq = 16 }                      # sizes of the symbolic dims
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from aibench_onnx.errors import UserError

_KEYS = {"name", "target", "framework", "inputs", "inputs_from", "call_args", "dims", "trust_artifact_code"}


def load_user_models(path: str, zoo_names: list[str]) -> list:
    """The UserModels the file lists, checked: every mistake is one line naming the table and the key."""
    from aibench_onnx.frameworks import resolve_frameworks
    from aibench_onnx.frameworks.saved import detect, read_signature
    from aibench_onnx.frameworks.user_inputs import parse_input
    from aibench_onnx.frameworks.user_model import UserModel

    file = Path(path)
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"--user-models {path}: cannot read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"--user-models {path}: not valid TOML ({exc})") from None
    tables = document.get("model")
    if not isinstance(tables, list) or not tables:
        raise UserError(f"--user-models {path}: no [[model]] tables")
    models, names = [], set(zoo_names)
    for index, table in enumerate(tables, 1):
        where = f"--user-models {path}, model {index}"
        unknown = sorted(set(table) - _KEYS)
        if unknown:
            raise UserError(f"{where}: unknown key {unknown[0]!r}; valid: {', '.join(sorted(_KEYS))}")
        if not isinstance(table.get("target"), str) or not table["target"]:
            raise UserError(f"{where}: target is required (a string)")
        try:
            artifact = detect(table["target"], str(file.parent.resolve()))  # a saved model's path, or None
        except UserError as exc:
            raise UserError(f"{where}: {exc}") from None
        table = {"framework": artifact.framework, **table} if artifact is not None else table
        if not isinstance(table.get("framework"), str) or not table["framework"]:
            raise UserError(f"{where}: framework is required (a string)")
        if table.get("inputs") and table.get("inputs_from") or not (
                table.get("inputs") or table.get("inputs_from") or artifact is not None):
            raise UserError(f"{where}: give inputs (a list of NAME:DTYPE[dims]) or inputs_from, one of the two")
        dims = table.get("dims", {})
        if not isinstance(dims, dict) or not all(isinstance(v, int) and v >= 1 for v in dims.values()):
            raise UserError(f"{where}: dims must be a table of positive sizes, e.g. dims = {{ seq = 16 }}")
        if not isinstance(table.get("call_args", {}), dict):
            raise UserError(f"{where}: call_args must be a table, e.g. call_args = {{ use_cache = false }}")
        (framework,) = resolve_frameworks([table["framework"]])
        decls, call_args = [parse_input(text) for text in table.get("inputs", [])], table.get("call_args", {})
        trust = bool(table.get("trust_artifact_code", False))
        if artifact is not None and not decls and not table.get("inputs_from"):
            found = read_signature(artifact, trust)
            if found is None:
                raise UserError(f"{where}: {artifact.description} records no input shapes; give inputs")
            decls, dims = list(found.decls), {**dict(found.dims), **dims}
            call_args = {**dict(found.call_args), **call_args}
        user = UserModel(table["target"], framework, decls, table.get("inputs_from"), call_args, dims,
                         str(file.parent.resolve()), table.get("name", ""), trust_code=trust)
        if not re.match(r"^[\w.-]+$", user.name):
            raise UserError(f"{where}: name {user.name!r} must be letters, digits, '.', '_' or '-'")
        if user.name in names:
            raise UserError(f"{where}: the name {user.name!r} is taken (another model or a zoo model)")
        names.add(user.name)
        models.append(user)
    return models
