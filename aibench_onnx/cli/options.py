"""Every option more than one command takes, declared once: one flag, one help text, one help panel (its group).

A command names the option by its type and gives its own default in its signature, e.g.
`ep: options.Ep = "cpu"`; the parsers beside the options in cli/common.py turn the text into values, and a
command checks only what is its own (one value where it takes one). `aibench COMMAND --help` shows the
options under their group's panel, in the same order for every command.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape


# The groups, as `--help` shows them.
MODELS = "Models and exports"
INPUTS = "Inputs (a model of your own, an ONNX file)"
RUNTIMES = "Runtimes, providers and precision"
TIMING = "Timing"
DECODERS = "Decoders"
OUTPUT = "Output"

# --- models and exports
Frameworks = Annotated[Optional[str], typer.Option(
    "-f", "--frameworks", "--framework", rich_help_panel=MODELS,
    help="Frameworks, comma-separated: torch, tf, jax (default: every installed one; a model of your own, "
         "`export` and `noise`: its one framework).")]
Exporter = Annotated[Optional[str], typer.Option(
    "--exporter", rich_help_panel=MODELS,
    help="Exporters, comma-separated: torch-dynamo (torch's default), torch-script (torch.onnx's deprecated "
         "TorchScript exporter), tf2onnx, jax2onnx. A framework with none named uses its default; two for one "
         "framework give an exporter effect on the same weights.")]
Size = Annotated[Optional[str], typer.Option(
    "--size", rich_help_panel=MODELS, help="Zoo models' size variant (default: each model's own, small).")]
Opset = Annotated[Optional[int], typer.Option(
    "--opset", min=7, max=30, rich_help_panel=MODELS, help="ONNX opset of the exports (default 18).")]
TrustCode = Annotated[bool, typer.Option(
    "--trust-artifact-code", rich_help_panel=MODELS,
    help="Let a saved model run code of its own while it loads (Keras Lambda layers outside safe mode, Hugging "
         "Face remote code). Off: such an artifact is refused.")]

# --- inputs
Input = Annotated[Optional[list[str]], typer.Option(
    "--input", rich_help_panel=INPUTS,
    help=escape("NAME:DTYPE[dims][@LOW..HIGH | =V] of an input, e.g. x:float32[batch,16], "
                "input_ids:int64[batch,seq]@0..30521 or sr:int64[]=16000 (a fixed value); repeatable. A framework "
                "model: the first axis is the batch, named axes are exported dynamic. An ONNX file: the input's "
                "shape, overriding the declared one (a static dim must match)."))]
InputsFrom = Annotated[Optional[str], typer.Option(
    "--inputs", metavar="SOURCE", rich_help_panel=INPUTS,
    help="Input values from pkg.module:make_inputs (called as make_inputs(batch=, seed=, **dims), returning "
         "{name: numpy array}), a .npz file or a test_data_set directory (input_N.pb; an ONNX file's output_N.pb "
         "become the reference).")]
CallArg = Annotated[Optional[list[str]], typer.Option(
    "--call-arg", rich_help_panel=INPUTS,
    help="NAME=VALUE passed to every call of the model, e.g. deterministic=true or use_cache=false; repeatable.")]
Dim = Annotated[Optional[list[str]], typer.Option(
    "--dim", rich_help_panel=INPUTS,
    help="NAME=SIZE for a symbolic dimension, e.g. seq=128; `bench` also takes a sweep NAME=S1,S2,...; "
         "repeatable.")]

# --- runtimes, providers and precision
Runtime = Annotated[Optional[str], typer.Option(
    "--runtime", rich_help_panel=RUNTIMES,
    help="Runtimes, comma-separated: native kinds (torch-eager, torch-compile, tf-eager, tf-function, tf-xla, "
         "jax-jit) and graph runtimes (ort, openvino: needs aibench-onnx\\[openvino]). Commands that check "
         "graphs take graph runtimes, ort always among them; `noise` takes one kind.")]
Ep = Annotated[str, typer.Option(
    "--ep", rich_help_panel=RUNTIMES,
    help="ONNX Runtime execution providers, comma-separated: cpu, cuda, tensorrt.")]
OptLevel = Annotated[str, typer.Option(
    "--opt-level", rich_help_panel=RUNTIMES,
    help="ONNX Runtime graph optimization levels, comma-separated: disabled, basic, extended, all.")]
Tf32 = Annotated[bool, typer.Option(
    "--tf32", rich_help_panel=RUNTIMES,
    help="Let ORT's CUDA provider compute float32 matmul/conv in TF32 (ORT's own default); off unless given, since "
         "TF32 rounding (~1e-3 relative) would hide or fake graph differences. `parity` then judges with TF32 "
         "tolerances (rtol 1e-3, atol 1e-4).")]
Device = Annotated[str, typer.Option(
    "--device", rich_help_panel=RUNTIMES, help="Device for native runtimes: cpu or cuda.")]
Precision = Annotated[str, typer.Option(
    "--precision", rich_help_panel=RUNTIMES,
    help="Graphs to judge or time: fp32 (the export itself) and variants of it — fp16, bf16 (converted after "
         "export), int8-dynamic, int8-static (ONNX Runtime's quantizer, calibrated on inputs no judged set uses) — "
         "each judged against the fp32 reference with its precision's verdict; comma-separated.")]
Repair = Annotated[bool, typer.Option(
    "--repair", rich_help_panel=RUNTIMES,
    help="For each reduced-precision variant that fails its verdict, find the nodes to leave in fp32 (fp16, bf16) or "
         "unquantized (int8) so that it passes — ranked by the error each adds, added greedily, pruned by delta "
         "debugging — and write the repaired graph beside the variant (model.PRECISION-repaired.onnx).")]
ErrorStat = Annotated[Optional[list[str]], typer.Option(
    "--error-stat", rich_help_panel=RUNTIMES,
    help=escape("The statistic a reduced-precision verdict uses, [OUTPUT:]STAT: max, median, mean, pNN (a quantile, "
                "e.g. p99) or signal (cosine and SQNR only); with OUTPUT: for that output only; repeatable. "
                "Default: each precision's own (fp16 p99, int8 signal)."))]
Threads = Annotated[Optional[str], typer.Option(
    "--threads", rich_help_panel=RUNTIMES,
    help="Intra-op threads for every runtime (default: physical cores; `run --quick`: 1); `bench` also takes "
         "counts to sweep, comma-separated (e.g. 1,2), each a run of its own.")]

# --- timing
Batch = Annotated[Optional[str], typer.Option(
    "--batch", rich_help_panel=TIMING,
    help="Batch sizes, comma-separated (bench and run: default 1,8, `run --quick` 1; ONNX files: their inputs' "
         "dynamic first axes, default 1; `generate` and `noise` take one).")]
Repeats = Annotated[Optional[int], typer.Option(
    "--repeats", min=1, max=50, rich_help_panel=TIMING,
    help="Processes per timing configuration, in interleaved rounds (default 3; a full `run` 5); CIs and "
         "effects count the variance between them.")]
MinTime = Annotated[float, typer.Option(
    "--min-time", min=0.01, rich_help_panel=TIMING,
    help="Sampling seconds per batch and process, in slots of 0.1 s alternating with the model's other "
         "configurations (3 at least).")]
Timeout = Annotated[float, typer.Option(
    "--timeout", min=1, rich_help_panel=TIMING,
    help="Seconds per job or configuration before its process is killed (a process doing several gets the sum "
         "of theirs).")]
Bench = Annotated[bool, typer.Option(
    "--bench", rich_help_panel=TIMING,
    help="Also time what was checked, as `aibench bench` does: 3 processes per configuration, interleaved; "
         "effects with CIs.")]

# --- decoders
Prompt = Annotated[str, typer.Option(
    "--prompt", rich_help_panel=DECODERS,
    help="Prompt lengths in tokens, comma-separated (`generate`: one): `bench` times each one's prefill (time to "
         "first token) and the decode steps after it (time per output token).")]
NewTokens = Annotated[int, typer.Option(
    "--new-tokens", min=1, max=4096, rich_help_panel=DECODERS,
    help="Tokens a greedy generation makes (`bench`: 2 at least; a decode step is timed with the cache at its "
         "start and at its end).")]

# --- output
Out = Annotated[Optional[str], typer.Option(
    "-o", "--out", rich_help_panel=OUTPUT,
    help="Artifact directory (default aibench-runs/COMMAND-<time>; `run`: the parent of the run's directory; "
         "`export`: where model.onnx and export.json go).")]
Format = Annotated[str, typer.Option(
    "--format", rich_help_panel=OUTPUT, help="terminal, markdown or html (tables to stdout).")]
Repro = Annotated[Optional[str], typer.Option(
    "--repro", metavar="DIR", rich_help_panel=OUTPUT,
    help="Write a reproduction for each divergence into DIR: the smallest subgraph that still shows it, its inputs "
         "and expected values, repro.py (numpy + the runtime only; exit 1 while it reproduces) and a README naming "
         "the tracker it belongs to. Each is run in a fresh process before it is called a reproduction.")]
NodeData = Annotated[Optional[str], typer.Option(
    "--node-data", metavar="DIR", rich_help_panel=OUTPUT,
    help="Write Model Explorer node-data files into DIR (open them with the ONNX adapter, model-explorer-onnx): "
         "the error each node's output carries in a failing cell (check), the nodes a --repair kept in fp32 (check), "
         "the time an explained effect moved to or from each node (explain).")]
Json = Annotated[Optional[str], typer.Option(
    "--json", metavar="PATH", rich_help_panel=OUTPUT,
    help="Also write the result as JSON to this path; '-' writes only JSON to stdout.")]
