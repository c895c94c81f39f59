"""Reduced precision on third-party models through `aibench check --precision` (the users' path): Hugging Face
text and vision models, Keras applications and jax2onnx's Flax examples from small configs with random
weights (benchmarks/third_party/archs.py), each converted to fp16 / bf16 / int8 and judged against its own
native fp32 outputs, with the framework's own fp16 / bf16 run beside it.

    python benchmarks/precision_users.py --out DIR [--only bert,jax_cnn] [--table-only]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from third_party_table import ARCHITECTURES, aibench  # noqa: E402 - a sibling script

PRECISIONS = "fp16,bf16,int8-dynamic,int8-static"
CHOSEN = ("bert", "gpt2", "vit", "resnet", "keras_mobilenet_v3", "keras_efficientnet_b0", "jax_cnn", "jax_gpt")


def measure(out: Path, only: list[str]) -> None:
    for name, framework, model_args, _, _ in ARCHITECTURES:
        if name in only:
            aibench("check", f"archs:{name}", "--framework", framework, *model_args, "--opt-level", "all",
                    "--precision", PRECISIONS, "-o", str(out / name), "--json", str(out / f"{name}.json"))


def _num(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def table(out: Path, only: list[str]) -> str:
    lines = ["| model | precision | verdict | mean abs err | SQNR dB | top-1 | framework's own (SQNR dB) | size | "
             "what stayed as it was |", "|" + "---|" * 9]
    for name in only:
        path = out / f"{name}.json"
        if not path.exists():
            lines.append(f"| {name} | — | no result | | | | | | |")
            continue
        document = json.loads(path.read_text())
        for cell in document["cells"]:
            outputs = cell["outputs"]
            pick = lambda key, worst: worst([o[key] for o in outputs if o.get(key) is not None], default=None)  # noqa: E731
            inherent = cell.get("inherent") or {}
            record = document["variants"].get(cell["precision"], {})
            size = f"{record['bytes'] / record['fp32_bytes']:.0%}" if record.get("bytes") else ""
            kept = record.get("nodes_kept_fp32") or record.get("left_float") or {}
            verdict = cell["status"] + (f": {cell['reason'][:90]}" if cell["status"] != "passed" else "")
            lines.append(f"| {name} | {cell['precision']} | {verdict} | {_num(pick('mean_abs', max), '.2e')} | "
                         f"{_num(pick('sqnr_db', min), '.1f')} | {_num(pick('top1_agreement', min), '.0%')} | "
                         f"{_num(inherent.get('sqnr_db'), '.1f')} | {size} | "
                         f"{', '.join(f'{op}×{n}' for op, n in kept.items())} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", default=",".join(CHOSEN))
    parser.add_argument("--table-only", action="store_true")
    options = parser.parse_args()
    out, only = Path(options.out).resolve(), options.only.split(",")
    out.mkdir(parents=True, exist_ok=True)
    if not options.table_only:
        measure(out, only)
    (out / "table.md").write_text(table(out, only))
    print((out / "table.md").read_text())


if __name__ == "__main__":
    main()
