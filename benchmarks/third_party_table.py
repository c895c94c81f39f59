"""Third-party architectures through the user-model path, as a user would run them: `aibench check` (export +
parity) and `aibench bench` (native eager and compiled vs ONNX Runtime, R processes each), then one Markdown
table. The models are in benchmarks/third_party/archs.py (small configs, random weights, no downloads).

    python benchmarks/third_party_table.py --out third-party            # every architecture (~40 min, 2 cores)
    python benchmarks/third_party_table.py --out tp --only bert,jax_mlp  # some
    python benchmarks/third_party_table.py --out tp --table-only        # redraw the table from the JSON files

Options: --repeats (processes per configuration, default 3), --ep cpu|cuda (ORT provider; --device for native).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent / "third_party"
TEXT = ["--inputs", "archs:text", "--dim", "seq=32"]
IMAGE_NCHW = ["--input", "pixel_values:float32[batch,3,64,64]@0..1"]
IMAGE_NHWC = ["--input", "x:float32[batch,64,64,3]@0..1"]
# name, framework, model arguments, eager runtime, compiled runtime
ARCHITECTURES = [
    ("bert", "torch", TEXT, "torch-eager", "torch-compile"),
    ("roberta", "torch", TEXT, "torch-eager", "torch-compile"),
    ("distilbert", "torch", TEXT, "torch-eager", "torch-compile"),
    ("gpt2", "torch", TEXT + ["--call-arg", "use_cache=false"], "torch-eager", "torch-compile"),
    ("vit", "torch", IMAGE_NCHW, "torch-eager", "torch-compile"),
    ("resnet", "torch", IMAGE_NCHW, "torch-eager", "torch-compile"),
    ("convnext", "torch", IMAGE_NCHW, "torch-eager", "torch-compile"),
    ("keras_resnet50", "tf", IMAGE_NHWC, "tf-eager", "tf-xla"),
    ("keras_mobilenet_v3", "tf", IMAGE_NHWC, "tf-eager", "tf-xla"),
    ("keras_densenet121", "tf", IMAGE_NHWC, "tf-eager", "tf-xla"),
    ("keras_efficientnet_b0", "tf", IMAGE_NHWC, "tf-eager", "tf-xla"),
    ("jax_mlp", "jax", ["--input", "x:float32[batch,256]", "--call-arg", "deterministic=true"], None, "jax-jit"),
    ("jax_cnn", "jax", ["--input", "x:float32[batch,28,28,1]"], None, "jax-jit"),
    ("jax_vit", "jax", ["--input", "x:float32[batch,28,28,1]", "--call-arg", "deterministic=true"], None, "jax-jit"),
    ("jax_gpt", "jax", ["--input", "x:int32[batch,64]@0..999", "--call-arg", "deterministic=true"], None, "jax-jit"),
]


def aibench(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aibench_onnx.cli", *argv], cwd=HERE, capture_output=True, text=True)


def measure(name, framework, model_args, eager, compiled, out: Path, repeats: int, ep: str) -> None:
    target = f"archs:{name}"
    check = aibench("check", target, "--framework", framework, *model_args, "--ep", ep, "--opt-level", "all",
                    "-o", str(out / name / "check"), "--json", str(out / f"{name}.check.json"))
    if not (out / f"{name}.check.json").exists():  # refused or failed before a result: keep its one line
        (out / f"{name}.check.json").write_text(json.dumps({"error": (check.stdout + check.stderr).strip()[-400:]}))
    runtimes = ",".join(r for r in (eager, compiled, "ort") if r)
    device = "cuda" if ep == "cuda" else "cpu"
    aibench("bench", target, "--framework", framework, *model_args, "--runtime", runtimes, "--ep", ep,
            "--device", device, "--opt-level", "all", "--batch", "1,8", "--repeats", str(repeats),
            "--min-time", "0.5", "-o", str(out / name / "bench"), "--json", str(out / f"{name}.bench.json"))


def _latency(bench: dict, label_start: str, batch: int) -> str:
    for result in bench["results"][0]["results"] if bench.get("results") else []:
        if result["config"]["label"].startswith(label_start) and result["status"] == "ok":
            summary = result["summary"].get(str(batch))
            if summary:
                low, high = summary["ci95_s"]
                return f"{summary['median_s'] * 1e3:.3g} [{low * 1e3:.3g}–{high * 1e3:.3g}]"
    return "—"


def _ratio(bench: dict, baseline: str | None, batch: int) -> str:
    for effect in bench["results"][0]["effects"] if bench.get("results") and baseline else []:
        if effect["batch"] == batch and effect["baseline"] == baseline and effect["candidate"].startswith("ort:"):
            return f"{effect['ratio']:.2f} [{effect['ci_low']:.2f}–{effect['ci_high']:.2f}]"
    return "—"


def table(out: Path, ep: str) -> str:
    lines = ["| model | framework | parameters | export | max abs err | batch | eager ms | compiled ms | ORT ms | "
             "ORT / eager | ORT / compiled |", "|" + "---|" * 11]
    for name, framework, _, eager, compiled in ARCHITECTURES:
        check_file, bench_file = out / f"{name}.check.json", out / f"{name}.bench.json"
        if not check_file.exists():
            continue
        check = json.loads(check_file.read_text())
        bench = json.loads(bench_file.read_text()) if bench_file.exists() else {}
        export = check.get("export", {})
        if "error" in check:
            exported, error = f"fails: {check['error'].splitlines()[-1][:160]}", "—"
        else:
            exported = "ok" + (f" (fixed: {', '.join(export['fixed_dims'])})" if export.get("fixed_dims") else "")
            error = f"{max((c['max_abs'] or 0) for c in check['cells']):.2e}"
        params = f"{export['parameters']:,}" if export.get("parameters") else "—"
        ort = f"ort:{framework}-graph:{ep}:all"
        for batch in (1, 8):
            lines.append(f"| {name if batch == 1 else ''} | {framework if batch == 1 else ''} | "
                         f"{params if batch == 1 else ''} | {exported if batch == 1 else ''} | "
                         f"{error if batch == 1 else ''} | {batch} | {_latency(bench, eager, batch) if eager else '—'} | "
                         f"{_latency(bench, compiled, batch)} | {_latency(bench, ort, batch)} | "
                         f"{_ratio(bench, eager, batch)} | {_ratio(bench, compiled, batch)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", default="")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ep", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    chosen = set(filter(None, args.only.split(",")))
    if not args.table_only:
        for name, framework, model_args, eager, compiled in ARCHITECTURES:
            if chosen and name not in chosen:
                continue
            print(f"{name} ({framework})...", flush=True)
            measure(name, framework, model_args, eager, compiled, out, args.repeats, args.ep)
    text = table(out, args.ep)
    (out / "table.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
