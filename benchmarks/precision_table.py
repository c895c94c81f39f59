"""The zoo's reduced-precision table: per model x precision, the error against the fp32 native outputs
(mean / max error, cosine, SQNR, top-1 agreement), the framework's own fp16 error beside the ONNX variant's
(inherent vs conversion), and the precision effect on ORT latency at batch 1 and 8 with CIs.

    python benchmarks/precision_table.py --out prec                 # zoo at size small, torch graphs, CPU
    python benchmarks/precision_table.py --out prec --table-only    # redraw from the JSON files

It runs `aibench parity --precision ...` and `aibench bench --runtime ort --precision ...`; options:
--framework (whose exports, default torch), --size (default small), --repeats (default 3), --ep,
--parity-only (judge without timing; a bench.json already in DIR still gives the latency columns).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

PRECISIONS = "fp32,fp16,bf16,int8-dynamic,int8-static"
# bf16 has no kernels on ORT's CPU provider: timed only on CUDA
BENCH_PRECISIONS = {"cpu": "fp32,fp16,int8-dynamic,int8-static", "cuda": PRECISIONS}


def aibench(*argv: str) -> None:
    subprocess.run([sys.executable, "-m", "aibench_onnx.cli", *argv], capture_output=True, text=True)


def measure(out: Path, framework: str, size: str, repeats: int, ep: str, parity_only: bool = False) -> None:
    aibench("parity", "-f", framework, "--size", size, "--seeds", "2", "--ep", ep, "--opt-level", "all",
            "--precision", PRECISIONS, "-o", str(out / "parity"), "--json", str(out / "parity.json"))
    if parity_only:
        return
    aibench("bench", "-f", framework, "--size", size, "--runtime", "ort", "--ep", ep, "--opt-level", "all",
            "--precision", BENCH_PRECISIONS[ep], "--batch", "1,8", "--repeats", str(repeats), "--min-time", "0.5",
            "-o", str(out / "bench"), "--json", str(out / "bench.json"))


def _num(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def table(out: Path) -> str:
    parity = json.loads((out / "parity.json").read_text())
    bench = json.loads((out / "bench.json").read_text()) if (out / "bench.json").exists() else {"results": []}
    effects = {(b["model"], e["candidate"].rsplit(":", 1)[-1], e["batch"]): e
               for b in bench["results"] for e in b["effects"] if e["kind"] == "precision"}
    lines = ["| model | precision | verdict | mean abs err | max abs err | cosine | SQNR dB | top-1 | framework's own "
             "(mean err, SQNR) | latency vs fp32, batch 1 | batch 8 |", "|" + "---|" * 11]
    for result in parity["results"]:
        for cell in result["cells"]:
            outputs = cell["outputs"]
            pick = lambda key, worst: worst([o[key] for o in outputs if o.get(key) is not None], default=None)  # noqa: E731
            inherent = cell.get("inherent") or {}
            own = (f"{_num(inherent.get('mean_abs'), '.2e')}, {_num(inherent.get('sqnr_db'), '.1f')}"
                   if inherent.get("status") in ("passed", "failed") else inherent.get("reason", "")[:60])
            speed = []
            for batch in (1, 8):
                effect = effects.get((result["model"], cell["precision"], batch))
                speed.append(f"{effect['ratio']:.2f} [{effect['ci_low']:.2f}–{effect['ci_high']:.2f}]" if effect else "—")
            lines.append(f"| {result['model']} | {cell['precision']} | {cell['status']} | "
                         f"{_num(pick('mean_abs', max), '.2e')} | {_num(cell.get('max_abs'), '.2e')} | "
                         f"{_num(pick('cosine', min), '.5f')} | {_num(pick('sqnr_db', min), '.1f')} | "
                         f"{_num(pick('top1_agreement', min), '.0%')} | {own} | {speed[0]} | {speed[1]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--framework", default="torch")
    parser.add_argument("--size", default="small")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ep", default="cpu")
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--parity-only", action="store_true", help="judge, do not time (keeps DIR/bench.json)")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        measure(out, args.framework, args.size, args.repeats, args.ep, args.parity_only)
    text = table(out)
    (out / "table.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
