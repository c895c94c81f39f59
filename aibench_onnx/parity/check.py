"""The parity engine: an ONNX graph against a reference on every requested graph runtime x provider x level x
precision — `aibench check` on a user's file, and every export aibench checks (a user's model's, a zoo model's;
parity/export_check.py) — with the comparison's numbers (parity/judging.py), a provider audit, first-divergence
localization on failure, reproduction and repair when asked, and optional timing.

Reference, in order of preference: stored outputs (an export's native outputs, model-zoo test data), onnx's
reference evaluator (where it supports the ops), ONNX Runtime CPU with optimizations disabled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from aibench_onnx.artifacts.variants import build_variant
from aibench_onnx.frameworks.file_inputs import FedInput, file_feed, sizes_of
from aibench_onnx.graph.input_decl import InputDecl
from aibench_onnx.graph.load import load_user_model, runnable_copy
from aibench_onnx.ort.execute import without_contradicting_shapes
from aibench_onnx.ort.session import missing_kernel
from aibench_onnx.parity.cell import ParityCell, assign_blame
from aibench_onnx.parity.judging import InputSet, JudgementFor, TolerancePolicy, judge_sets
from aibench_onnx.parity.precision import inherent_error
from aibench_onnx.runtimes import GRAPH_RUNTIMES, REFERENCE, is_reference, other_graph_runtimes
from aibench_onnx.status import Status
from aibench_onnx.zoo.precision import FP32

# (path, ep, level, threads, feed, provider audit) -> the timing summary of that cell
OnnxTimer = Callable[[str, str, str, int, dict, "dict | None"], dict]
NO_REFERENCE = "none"  # neither onnx's evaluator nor ORT CPU unoptimized could compute the outputs


@dataclass
class CheckResult:
    path: str
    graph: dict
    reference: str  # stored | onnx.reference | ort-cpu-disabled
    input_sets: int
    cells: list[ParityCell]  # named after the subject: the file (its name), or the framework model exported
    variants: dict = field(default_factory=dict)  # precision -> the variant's record (what converted, size)
    inputs: list[list[FedInput]] = field(default_factory=list)  # per input set: each input as fed

    @property
    def passed(self) -> bool:
        return all(cell.status == Status.PASSED for cell in self.cells)

    def to_dict(self) -> dict:
        return {"path": self.path, "graph": self.graph, "reference": self.reference, "input_sets": self.input_sets,
                "passed": self.passed, "cells": [c.to_dict() for c in self.cells], "variants": self.variants,
                "inputs": [[fed.to_dict() for fed in one_set] for one_set in self.inputs]}


def _reference_outputs(path: str, model, feeds: list[dict]) -> tuple[str, list[dict]]:
    names = [o.name for o in model.graph.output]
    try:
        from onnx.reference import ReferenceEvaluator

        evaluator = ReferenceEvaluator(path)
        return "onnx.reference", [{n: np.asarray(v) for n, v in zip(names, evaluator.run(None, feed))} for feed in feeds]
    except Exception:  # noqa: BLE001 - unsupported op or type: fall back to ORT without optimizations
        from aibench_onnx.ort.session import create_session, feed_for, quiet_run_options

        try:
            session, _ = create_session(path, "cpu", "disabled", 1)
            return "ort-cpu-disabled", [dict(zip(names, session.run(None, feed_for(session, feed)[0],
                                                                    quiet_run_options()))) for feed in feeds]
        except Exception:  # noqa: BLE001 - neither can compute it: each runtime's cell says why
            return NO_REFERENCE, [None] * len(feeds)


def check_onnx(path: str, test_data: list[str] | None = None, eps: list[str] | None = None,
               opt_levels: list[str] | None = None, dims: dict[str, int] | None = None, timer: OnnxTimer | None = None,
               threads: int = 1, localize: bool = True, input_sets: list[InputSet] | tuple = (),
               precisions: tuple[str, ...] = (FP32,),
               variants_dir: str | None = None, calibration_files: list[str] | None = None,
               calibration_note: str = "", native_reduced: dict | None = None,
               error_stats: dict[str, str] | None = None, reference_is_model: bool = False,
               runtimes: tuple[str, ...] = (REFERENCE,), subject: tuple[str, str, str, str] | None = None,
               decls: list[InputDecl] | tuple = (), inputs_from: str | None = None, cwd: str = ".",
               repro_dir: str | None = None, repair: bool = False, node_data_dir: str | None = None,
               tolerances: TolerancePolicy | None = None, tf32: bool = False) -> CheckResult:
    """Check the ONNX file at `path` — the one parity engine: a user's file, a user's model's export and a zoo
    model's export all come here, with their input sets and tolerances. Inputs: `test_data` directories
    (model-zoo layout), `input_sets` (named sets, their reference outputs when they have them — a zoo model's
    cases, with their scaled atol), or made from the graph and the user's `decls` (`--input`), `dims` (`--dim`)
    and `inputs_from` (`--inputs`; frameworks/file_inputs.py); unnamed sets are numbered. Stored outputs, when
    every set has them, are the reference. Reduced `precisions`: variants of the file (written to
    `variants_dir`; int8-static calibrated on `calibration_files`, else on inputs generated from the graph)
    judged against the same reference with each precision's verdict; `native_reduced`: the framework's own
    reduced-precision runs on the same input sets (the precision's inherent error); `tolerances`: a model's own
    tolerance policy (a zoo spec's; default the dtypes' defaults), to which `error_stats` adds the verdict
    statistic of reduced-precision cells per output name ("" for every output); `tf32`: CUDA computes float32
    in TF32 and is judged with TF32's tolerance (else TF32 is off). `timer`: times each fp32 cell
    (timing.onnx_file.onnx_timer; the caller chooses, so parity never imports timing). `reference_is_model`:
    the stored outputs are the framework model's own (a model exported here), so a graph that ORT computes
    consistently but that differs from them is an export difference, and a graph a runtime refuses to load
    fails the export. `runtimes`: ORT and the other graph runtimes to run the file on (OpenVINO: fp32, on the
    eps it offers; no localization, no adjudication).
    `subject`: (model, size, graph, exporter) the cells are named after — a framework model exported here;
    by default the file's name, with no framework nor exporter. `repro_dir`: a reproduction bundle per failing
    ORT cell there (parity/repro/): a localized divergence or a refused graph, reduced to its smallest subgraph.
    `repair`: for each failing reduced-precision variant, the nodes to leave in fp32 so it passes (parity/repair.py),
    its repaired graph written beside it. `node_data_dir`: Model Explorer node-data files there (graph/node_data.py):
    each failing fp32 ORT cell's error per node, each repair's kept nodes."""
    from aibench_onnx.frameworks.file_inputs import declared_inputs
    from aibench_onnx.graph.inspect import inspect_onnx
    from aibench_onnx.graph.testdata import read_test_data_set

    original = str(path)
    model = load_user_model(path)
    graph = inspect_onnx(path, batch_dynamic_expected=False)
    path, graph["dims_made_symbolic"] = runnable_copy(path, model, variants_dir and Path(variants_dir) / "symbolic")
    if graph["dims_made_symbolic"]:
        model = load_user_model(path)
    sets, described = [], []
    input_names, output_names = [g.name for g in declared_inputs(model)], [o.name for o in model.graph.output]
    for directory in test_data or []:
        # not held to the declared shapes: a set at other sizes is how a size the export pinned is found
        arrays, outputs = read_test_data_set(Path(cwd) / directory, input_names, output_names)
        sets.append(InputSet("", arrays, outputs))
        described.append([FedInput(n, a.shape, a.dtype.name, f"test data {Path(directory).name}")
                          for n, a in arrays.items()])
    for given in input_sets:
        sets.append(given)
        described.append([FedInput(n, a.shape, a.dtype.name, "given") for n, a in given.feed.items()])
    if decls or inputs_from or not sets:
        fed = file_feed(model, decls, dims, inputs_from, cwd=cwd)
        sets.append(InputSet("", fed.arrays, fed.expected))
        described.append(fed.inputs)
    sets = [one if one.name else replace(one, name=str(index)) for index, one in enumerate(sets)]  # numbered
    feeds = [input_set.feed for input_set in sets]
    if all(input_set.expected is not None for input_set in sets):
        reference, expected = "stored", [input_set.expected for input_set in sets]
    else:
        reference, expected = _reference_outputs(str(path), model, feeds)
    policy = (tolerances or TolerancePolicy()).with_error_stats(error_stats)
    engine = _Engine(sets, expected, policy, threads, tf32, reference_is_model, timer)

    natural = [outputs if input_set.natural else None for input_set, outputs in zip(sets, expected)]
    configs = [(ep, level) for ep in eps or ["cpu"] for level in opt_levels or ["disabled", "all"]]
    cells, actual, variants = [], {}, {}
    if any(p != FP32 for p in precisions) and variants_dir is None:
        import tempfile

        variants_dir = tempfile.mkdtemp(prefix="aibench-variants-")  # kept: the records name the files
    for precision in precisions:
        graph_path = str(path)
        if precision != FP32:
            if precision == "int8-static" and calibration_files is None:
                calibration_files = _generated_calibration(model, feeds[0], decls, Path(variants_dir))
                calibration_note = (f"calibrated on {len(calibration_files)} input sets generated from the graph's "
                                    "declared types (standard-normal floats, small non-negative integers) and "
                                    "the inputs declared with --input")
            variants[precision] = variant = build_variant(str(path), precision, calibration_files or [], variants_dir)
            if precision == "int8-static" and calibration_note:
                variant["calibration"] = calibration_note
            if variant["status"] != Status.OK:
                cells += [ParityCell.of_file(ep, level, Status.EXPORT_FAILED, variant["reason"], precision=precision)
                          for ep, level in configs]
                continue
            graph_path = variant["path"]
        # the framework's own run in this precision: the same for every provider x level, so judged once, over the
        # natural-scale sets (as the headline numbers)
        reduced = (native_reduced or {}).get(precision)
        inherent = (inherent_error(reduced, policy.judgements(precision), natural)
                    if reduced is not None and precision != FP32 else None)
        for ep, level in configs:
            cell, outputs = engine.ort_cell(graph_path, ep, level, precision)
            cell.inherent = inherent
            if precision == FP32:
                actual[(ep, level)] = outputs
            else:
                _locate_reduced(cell, str(path), variant, policy.judgements(precision), sets, threads)
                if repair and cell.status == Status.FAILED:
                    cell.repair = _repair(cell, str(path), variant["path"], calibration_files or [], variants_dir,
                                          engine)
            cells.append(cell)
    for kind in other_graph_runtimes(runtimes):
        found = engine.other_runtime_cells(str(path), kind, [ep for ep, _ in configs])
        cells += [cell for cell, _ in found]
        actual.update({(kind, cell.ep, cell.opt_level): outputs for cell, outputs in found if outputs})
    if reference == "onnx.reference":
        _adjudicate_failures(str(path), cells, actual, feeds, expected, threads)
    if localize:
        for cell in cells:
            if (cell.status == Status.FAILED and cell.outputs and cell.precision == FP32 and is_reference(cell.runtime)
                    and not cell.refusal):
                first = cell.failing_sets[0] if cell.failing_sets else 0
                cell.divergence = _localize(str(path), feeds[first], cell, threads, cells)
                if not cell.divergence["found"] and reference == "stored" and first > 0:
                    cell.divergence["note"] = ("ONNX Runtime agrees with its unoptimized CPU run node by node, and the "
                                               f"graph matches the model at input set {sets[0].name} but not at set "
                                               f"{sets[first].name}: the export took a size-dependent branch or size "
                                               "as a constant (the graph computes the model only at the sizes it was "
                                               "exported with)")
                elif not cell.divergence["found"] and reference == "stored" and reference_is_model:
                    cell.divergence["export_difference"] = True
                    cell.divergence["note"] = ("ONNX Runtime agrees with its unoptimized CPU run node by node: the "
                                               "exported graph itself computes something other than the framework "
                                               "model — an export difference, not a runtime one")
                elif not cell.divergence["found"] and reference == "stored":
                    cell.divergence["note"] = ("ONNX Runtime agrees with its unoptimized CPU run node by node; the "
                                               "stored outputs differ from what this graph computes (test data from "
                                               "another model version, or a looser-precision reference)")
    if repro_dir is not None or node_data_dir is not None:
        import onnx

        full = onnx.load(str(path))  # with its external data, once for both
        if repro_dir is not None:
            _reproduce(original, full, feeds, cells, threads, Path(repro_dir))
        if node_data_dir is not None:
            _node_data(original, str(path), full, feeds, cells, reference, threads, Path(node_data_dir))
    for cell in cells:
        cell.model, cell.size, cell.framework, cell.exporter = subject or (Path(original).name, "", "", "")
    assign_blame(cells)
    return CheckResult(original, graph, reference, len(sets), cells, variants, described)


def _generated_calibration(model, feed: dict[str, np.ndarray], decls, directory: Path) -> list[str]:
    """int8-static calibration sets for a bare ONNX file: inputs generated from the graph's declared types and
    the user's declarations (a fixed value stays fixed) at the calibration seeds, with the sizes of the first
    judged input set."""
    from aibench_onnx.artifacts.variants import calibration_sets, write_calibration

    from aibench_onnx.frameworks.file_inputs import declared_inputs

    sizes = sizes_of(model, feed)
    given = {d.name for d in decls}
    shapeless = {g.name for g in declared_inputs(model) if g.dims is None}  # no dim sizes rebuild their shape
    decls = list(decls) + [InputDecl(name, a.dtype.name, list(a.shape)) for name, a in feed.items()
                           if name not in given and name in shapeless]
    return write_calibration(calibration_sets(lambda seed: file_feed(model, decls, sizes, seed=seed).arrays),
                             directory)


def _locate_reduced(cell: ParityCell, fp32_path: str, variant: dict, judgement_for: JudgementFor,
                    sets: list[InputSet], threads: int) -> None:
    """A failing variant's cell: where its error enters, on the first input set it failed."""
    from aibench_onnx.parity.precision import locate_precision_error

    if cell.status == Status.FAILED and cell.outputs:
        failing = cell.failing_sets[0] if cell.failing_sets else 0
        cell.localization = locate_precision_error(fp32_path, variant, cell.ep, cell.opt_level, sets[failing].feed,
                                                   judgement_for("").min_sqnr_db, threads)
        if cell.localization is not None:
            cell.localization["input_set"] = sets[failing].name


def _repair(cell: ParityCell, fp32_path: str, variant_path: str, calibration_files: list[str], variants_dir: str,
            engine: _Engine) -> dict:
    """The nodes to leave in fp32 for the failing variant of `cell` to pass, each try judged as the cell was."""
    from aibench_onnx.parity.repair import repair_variant

    def judge_variant(variant_path: str) -> ParityCell:
        return engine.ort_cell(variant_path, cell.ep, cell.opt_level, cell.precision, timed=False)[0]

    failing = cell.failing_sets[0] if cell.failing_sets else 0
    return repair_variant(fp32_path, variant_path, cell.precision, calibration_files, variants_dir,
                          engine.sets[failing].feed, cell, judge_variant, cell.ep, cell.opt_level,
                          engine.threads).to_dict()


def _adjudicate_failures(path: str, cells: list[ParityCell], actual: dict, feeds: list[dict], expected: list[dict],
                         threads: int) -> None:
    from aibench_onnx.ort.execute import run_on_provider
    from aibench_onnx.parity.adjudicate import adjudicate

    third = None
    # ORT CPU unoptimized's own cell is adjudicated by another runtime that ran the graph (OpenVINO), if any
    other = next(((key, outputs) for key, outputs in actual.items() if len(key) == 3 and outputs), None)
    for cell in cells:
        key = (cell.ep, cell.opt_level) if is_reference(cell.runtime) else (cell.runtime, cell.ep, cell.opt_level)
        if cell.status != Status.FAILED or not actual.get(key):
            continue
        own = key == ("cpu", "disabled")
        if third is None and not own:
            third = actual.get(("cpu", "disabled")) or run_on_provider(path, "cpu", "disabled", threads, feeds).outputs
        if own and other is not None:
            (kind, ep, _), outputs = other
            cell.adjudication = adjudicate(cell.ep, cell.opt_level, expected, actual[key], outputs,
                                           GRAPH_RUNTIMES[REFERENCE].title,
                                           f"{GRAPH_RUNTIMES[kind].title} {ep}")
        else:
            cell.adjudication = adjudicate(cell.ep, cell.opt_level, expected, actual[key], None if own else third,
                                           GRAPH_RUNTIMES[cell.runtime].title)
        cell.reason += f" — {cell.adjudication['verdict']}"


@dataclass
class _Engine:
    """What every cell of one check is run and judged with: the input sets, their reference outputs, the
    tolerance policy, and how the graph runs."""

    sets: list[InputSet]
    expected: list[dict | None]
    policy: TolerancePolicy
    threads: int
    tf32: bool
    export: bool  # the graph is a framework model's export: a runtime refusing it fails it (not "cannot run")
    timer: OnnxTimer | None

    def ort_cell(self, path: str, ep: str, level: str, precision: str = FP32,
                 timed: bool = True) -> tuple[ParityCell, list[dict]]:
        """ORT on one provider x level over every input set, judged against the reference (a reduced-precision
        variant: with its precision's judgement per output); timed when the check was asked to. A graph ORT
        refuses for its shape annotations (value_info) is run once more without them, so the verdict can say
        whether only the annotations are wrong or the computation too. Returns the cell and ORT's outputs."""
        from aibench_onnx.ort.execute import LOAD_FAILED, run_on_provider
        from aibench_onnx.ort.session import cuda_options

        tf32, feeds = self.tf32 and ep == "cuda", [input_set.feed for input_set in self.sets]

        def cell_of(status: str, reason: str = "", **fields) -> ParityCell:
            return ParityCell.of_file(ep, level, status, reason, tf32=tf32, precision=precision, **fields)

        options = cuda_options(tf32) if ep == "cuda" else None
        run = run_on_provider(path, ep, level, self.threads, feeds, options)
        unsupported = missing_kernel(precision, ep, run.reason) if run.status == LOAD_FAILED else None
        if unsupported:
            return cell_of(Status.UNAVAILABLE, unsupported), []
        refusal = ""
        if run.status == LOAD_FAILED:
            stripped = without_contradicting_shapes(path, run.reason)
            retried = run_on_provider(stripped, ep, level, self.threads, feeds, options) if stripped else None
            if retried is None or retried.status == LOAD_FAILED:
                # ORT refusing a file is a runtime's limit (a kernel it lacks), not a wrong answer; refusing an
                # export, it fails the export
                return cell_of(Status.FAILED if self.export else Status.CANNOT_RUN, run.reason, refusal=run.reason), []
            refusal, run = run.reason, retried
        if run.status != Status.OK:  # a run that raises at these inputs: the graph cannot take sizes its model takes
            return cell_of(run.status, run.reason), []
        cell = cell_of(Status.PASSED, providers=run.providers, input_casts=run.casts, audit=run.audit, refusal=refusal)
        self._judge(cell, run.outputs)
        if refusal and cell.status in (Status.PASSED, Status.FAILED):
            # the graph as given still does not load: right values without its annotations make it a refusal
            # (a failed export), wrong ones a failure
            verdict = "match the reference" if cell.status == Status.PASSED else "still differ from the reference"
            cell.status = Status.CANNOT_RUN if cell.status == Status.PASSED and not self.export else Status.FAILED
            cell.reason = (f"{refusal.splitlines()[0][:300]} — the graph's shape annotations (value_info) "
                           f"contradict it; with them removed it loads and its outputs {verdict}")
        if self.timer is not None and timed:
            cell.timing = self.timer(path, ep, level, self.threads, feeds[0], run.audit)
        return cell, run.outputs

    def other_runtime_cells(self, path: str, kind: str, eps: list[str]) -> list[tuple[ParityCell, list[dict]]]:
        """The graph on another graph runtime (OpenVINO), on each of `eps` it offers, judged as ORT's fp32 cells
        are, with its outputs; missing, unavailable with the line that installs it."""
        from aibench_onnx.runtimes import DEFAULT_LEVEL, missing_runtime, sets_runner

        devices, missing = GRAPH_RUNTIMES[kind].offered(eps), missing_runtime(kind)
        if missing:
            return [(ParityCell.of_file(ep, DEFAULT_LEVEL, Status.UNAVAILABLE, missing, runtime=kind), [])
                    for ep in devices]
        cells = []
        for ep in devices:
            run = sets_runner(kind)(path, ep, self.threads, [input_set.feed for input_set in self.sets])
            status = Status.PASSED if run.status == Status.OK else run.status
            if status == Status.CANNOT_RUN and self.export:
                status = Status.FAILED
            cell = ParityCell.of_file(ep, DEFAULT_LEVEL, status, run.reason or run.info.get("reshape_note", ""),
                                      providers=[run.info.get("device", ep)], input_casts=run.casts, runtime=kind)
            if run.status == Status.OK:
                self._judge(cell, run.outputs)
            cells.append((cell, run.outputs))
        return cells

    def _judge(self, cell: ParityCell, outputs: list[dict]) -> None:
        if any(reference is None for reference in self.expected):
            cell.status = Status.ERROR
            cell.reason = ("ran, but there is nothing to compare with: neither onnx's reference evaluator nor ONNX "
                           "Runtime CPU unoptimized computes this graph on these inputs")
            return
        judge_sets(cell, self.sets, self.expected, outputs, self.policy)


def _node_reference(cell: ParityCell, threads: int, cells: list[ParityCell]):
    """The runner intermediates are compared with: ORT CPU at level disabled, or, when that is the failing cell
    itself (or fails too), onnx's reference evaluator. Returns (runner, its name)."""
    from aibench_onnx.ort.session import ort_runner
    from aibench_onnx.parity.localize import reference_evaluator_runner

    cpu_disabled = next((c for c in cells if is_reference(c.runtime) and c.precision == FP32 and c.ep == "cpu"
                         and c.opt_level == "disabled"), None)
    if cell is cpu_disabled or (cpu_disabled is not None and cpu_disabled.status == Status.FAILED):
        # ORT's unoptimized CPU run is wrong too: node by node it would agree with the failing cell
        return reference_evaluator_runner(), "onnx.reference"
    return ort_runner("cpu", "disabled", threads), "ort-cpu-disabled"


def _reproduce(original: str, model, feeds: list[dict], cells: list[ParityCell], threads: int,
               directory: Path) -> None:
    """A reproduction bundle for each localized fp32 ORT divergence and each graph ORT refused to load (`model`:
    the checked graph, loaded)."""
    from aibench_onnx.ort.session import ort_runner
    from aibench_onnx.parity.repro.for_check import reproduce_divergence, reproduce_refusal

    for cell in cells:
        if not is_reference(cell.runtime) or cell.precision != FP32:
            continue
        if cell.refusal:
            cell.repro = reproduce_refusal(original, model, cell, directory, threads)
        elif cell.divergence and cell.divergence.get("found"):
            runner, name = _node_reference(cell, threads, cells)
            feed = feeds[cell.failing_sets[0] if cell.failing_sets else 0]
            cell.repro = reproduce_divergence(original, model, feed, cell, runner,
                                              ort_runner(cell.ep, cell.opt_level, threads), name, directory)
        elif cell.divergence is not None:
            cell.repro = {"reproduced": False, "note": "no node was localized, so there is no subgraph to reduce: "
                                                       + (cell.divergence.get("note") or "")}


def _node_data(original: str, path: str, model, feeds: list[dict], cells: list[ParityCell], reference: str,
               threads: int, directory: Path) -> None:
    """Model Explorer node-data files: the error each node's output carries in each failing fp32 ORT cell, and the
    nodes each precision repair kept in fp32. Intermediates are compared with what the verdict was judged
    against where that has them (onnx's reference evaluator), else with the runner localization uses. `model`:
    the checked graph, loaded."""
    from aibench_onnx.graph import node_data
    from aibench_onnx.ort.session import ort_runner
    from aibench_onnx.parity.node_data import error_per_node
    from aibench_onnx.parity.repro.for_check import bundle_name

    for cell in cells:
        written = []
        if is_reference(cell.runtime) and cell.precision == FP32 and cell.status == Status.FAILED and cell.outputs:
            reference_runner, reference_name = _node_reference(cell, threads, cells)
            if reference == "onnx.reference":
                from aibench_onnx.parity.localize import reference_evaluator_runner

                reference_runner, reference_name = reference_evaluator_runner(), reference
            feed = feeds[cell.failing_sets[0] if cell.failing_sets else 0]
            errors = error_per_node(model, feed, reference_runner,
                                              ort_runner(cell.ep, cell.opt_level, threads))
            document = node_data.graph_node_data(f"max |Δ| {cell.ep}/{cell.opt_level} vs {reference_name}", errors,
                                                 node_data.HEAT_GRADIENT)
            written.append(node_data.write(directory / f"{bundle_name(original, cell)}-error.json", document))
        if cell.repair and cell.repair.get("kept"):
            from aibench_onnx.artifacts.variants import variant_graph

            kept = node_data.kept_nodes(variant_graph(path, cell.precision), [k["node"] for k in cell.repair["kept"]])
            written.append(node_data.write(directory / f"{bundle_name(original, cell)}-repair.json",
                                           node_data.graph_node_data(f"kept fp32 by the {cell.precision} repair", kept,
                                                                     thresholds=[{"value": 1, "bgColor": "#2b83ba"}])))
        if written:
            cell.node_data = {"files": written, "open": node_data.open_command(original, written)}


def _localize(path: str, feed: dict[str, np.ndarray], cell: ParityCell, threads: int, cells: list[ParityCell]) -> dict:
    """Where does this cell first diverge? Intermediates are compared with ORT CPU at level disabled (or,
    when that is the failing cell itself, with onnx's reference evaluator)."""
    from aibench_onnx.ort.session import ort_runner
    from aibench_onnx.parity.localize import first_divergence

    reference_runner, _ = _node_reference(cell, threads, cells)
    import onnx

    full = onnx.load(path)  # with its external data: the bisection saves modified copies in a temporary folder
    found = first_divergence(full, full, feed, reference_runner, ort_runner(cell.ep, cell.opt_level, threads))
    result = found.to_dict()
    disabled = next((c for c in cells if c.ep == cell.ep and c.opt_level == "disabled"), None)
    if cell.opt_level != "disabled" and disabled is not None:
        result["only_at_higher_level"] = disabled.status == Status.PASSED
        result["level_note"] = ("the divergence appears only with graph optimizations (a fusion)"
                                if disabled.status == Status.PASSED else "the divergence is there already at level disabled")
    return result


def write_reference_test_data(path: str, directory: str, dims: dict[str, int] | None = None, seed: int = 0) -> Path:
    """Generate inputs for `path`, compute reference outputs, and store them in the model-zoo layout."""
    from aibench_onnx.graph.testdata import write_test_data_set

    model = load_user_model(path)
    feed = file_feed(model, (), dims or {}, seed=seed).arrays
    _, outputs = _reference_outputs(path, model, [feed])
    return write_test_data_set(directory, feed, outputs[0])
