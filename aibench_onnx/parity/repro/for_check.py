"""`check --repro DIR`: a reproduction bundle for each failing cell of a checked ONNX file — a localized
divergence reduced to its smallest subgraph, or a graph ONNX Runtime refuses reduced to the smallest subgraph
it still refuses — each verified in a fresh process before it is called one."""

from __future__ import annotations

import re
from pathlib import Path

from aibench_onnx.parity.cell import ParityCell
from aibench_onnx.parity.localize import Runner, node_labels
from aibench_onnx.parity.repro.bundle import Target, Tracker, bundle, tracker
from aibench_onnx.parity.repro.reduce import Feed, reduce_divergence, reduce_refusal
from aibench_onnx.zoo.spec import DEFAULT_TOLERANCES
from aibench_onnx.zoo.tolerance import Tolerance

PRODUCERS = {"pytorch": "torch", "tf2onnx": "tf", "jax2onnx": "jax"}  # producer_name -> TRACKERS key


def bundle_name(file: str, cell: ParityCell) -> str:
    """A folder name per cell: the file's stem, the runtime, provider, level and precision."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(file).stem)
    return f"{stem}-{cell.runtime}-{cell.ep}-{cell.opt_level}-{cell.precision}"


def divergence_tracker(cell: ParityCell, reference: str) -> Tracker:
    """Whose defect a localized divergence is, from the evidence the check gathered. `reference`: what the
    intermediates were compared with (onnx.reference, or ort-cpu-disabled)."""
    divergence, adjudication = cell.divergence or {}, cell.adjudication or {}
    op = divergence.get("op_type", "?")
    if adjudication.get("points_at") == "reference":
        return tracker("onnx", adjudication["verdict"])
    if divergence.get("only_at_higher_level"):
        return tracker("onnxruntime", f"the same graph at level 'disabled' computes {op} within tolerance; at "
                                      f"level '{cell.opt_level}' it does not: a graph optimization (a fusion or "
                                      "rewrite) changes the value")
    against = "onnx's reference evaluator" if reference == "onnx.reference" else "ONNX Runtime CPU unoptimized"
    why = f"ONNX Runtime {cell.ep}/{cell.opt_level} computes {op} differently from {against} from the same inputs"
    if adjudication.get("verdict"):
        why += f" ({adjudication['verdict']})"
    return tracker("onnxruntime", why)


def reproduce_divergence(file: str, model, feed: Feed, cell: ParityCell, run_reference: Runner, run_target: Runner,
                         reference: str, directory: Path) -> dict:
    """Reduce the cell's localized divergence to its smallest subgraph, write and verify its bundle. `reference`:
    the name of `run_reference` (onnx.reference, or ort-cpu-disabled)."""
    divergence = cell.divergence or {}
    names = node_labels(model)
    index = names.index(divergence["node"])
    tensor = divergence["tensor"]
    dtype = _dtype_of(model, tensor)
    tolerance = DEFAULT_TOLERANCES.get(dtype, Tolerance(0.0, 0.0))
    reduction = reduce_divergence(model, model, feed, run_reference, run_target, index, tensor, tolerance)
    if not reduction.reproduces:
        return {"reproduced": False, "note": reduction.note, "full_nodes": reduction.full_nodes,
                "reduction_s": round(reduction.seconds, 3)}
    title = (f"ONNX Runtime {cell.ep}/{cell.opt_level}: {divergence.get('op_type')} `{divergence['node']}` differs "
             f"from {'onnx.reference' if reference == 'onnx.reference' else 'ORT CPU unoptimized'}")
    context = [f"found by `aibench check` on `{Path(file).name}` ({len(names)} nodes); intermediates compared with "
               f"{reference}",
               f"first diverging node in the full graph: `{divergence['node']}` ({divergence.get('op_type')}), "
               f"tensor `{tensor}`",
               "path from a graph input: " + " → ".join(f"`{n}`" for n in divergence.get("path", [])[-12:])]
    if divergence.get("level_note"):
        context.append(divergence["level_note"])
    target = Target(_provider(cell.ep), cell.opt_level)
    made = bundle(directory / bundle_name(file, cell), reduction, target, tolerance,
                  divergence_tracker(cell, reference), title, context)
    return made.to_dict()


def reproduce_refusal(file: str, model, cell: ParityCell, directory: Path, threads: int = 1) -> dict:
    """Reduce a graph ONNX Runtime refuses to load to the smallest subgraph it still refuses."""
    import onnx

    def refuses(path: str) -> str | None:
        from aibench_onnx.ort.session import create_session

        try:
            create_session(path, cell.ep, cell.opt_level, threads)
        except Exception as error:  # noqa: BLE001 - the refusal is what is reduced
            return str(error)
        return None

    reduction = reduce_refusal(model, refuses)
    if not reduction.reproduces:
        return {"reproduced": False, "note": reduction.note, "full_nodes": reduction.full_nodes}
    try:
        onnx.checker.check_model(reduction.model, full_check=True)
        who = tracker("onnxruntime", "onnx's checker (full check, with shape inference) accepts the subgraph; ONNX "
                                     "Runtime refuses it")
    except Exception as error:  # noqa: BLE001 - the checker's reason is the evidence
        producer = PRODUCERS.get(model.producer_name.lower())
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        who = tracker(producer or "onnx", f"onnx's checker rejects the subgraph too ({reason}): the file is not valid "
                                          "ONNX, so whoever wrote it" + (f" ({model.producer_name})" if producer else
                                                                        " — the producer is unknown; onnx's tracker "
                                                                        "if the checker is wrong"))
    title = f"ONNX Runtime {cell.ep}/{cell.opt_level} refuses to load a graph"
    context = [f"found by `aibench check` on `{Path(file).name}` ({reduction.full_nodes} nodes; written by "
               f"{(model.producer_name + ' ' + model.producer_version).strip() or 'an unknown producer'})"]
    made = bundle(directory / bundle_name(file, cell), reduction, Target(_provider(cell.ep), cell.opt_level),
                  Tolerance(0, 0), who, title, context, kind="refusal")
    return made.to_dict()


def _provider(ep: str) -> str:
    from aibench_onnx.ort.session import EXECUTION_PROVIDERS

    return EXECUTION_PROVIDERS[ep]


def _dtype_of(model, tensor: str) -> str:
    import onnx

    from aibench_onnx.parity.repro.subgraph import known_values

    value = known_values(model).get(tensor)
    elem = value.type.tensor_type.elem_type if value is not None else onnx.TensorProto.FLOAT
    return str(onnx.helper.tensor_dtype_to_np_dtype(elem))
