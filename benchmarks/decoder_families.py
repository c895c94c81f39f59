"""Hugging Face causal-LM families through `aibench generate` as a user would run them (benchmarks/third_party/
lms.py: small configs, random weights), then one Markdown table: export route, tokens that agree with the
native model, the largest decode error, and the verdict — or the one line that says why not.

    python benchmarks/decoder_families.py --out families             # every family (~15 min, 2 cores)
    python benchmarks/decoder_families.py --out families --only gemma,mixtral_moe
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent / "third_party"
sys.path.insert(0, str(HERE))
from lms import FAMILIES  # noqa: E402


def run(name: str, out: Path) -> dict:
    aibench = Path(sys.executable).with_name("aibench")
    document = out / f"{name}.json"
    started = time.perf_counter()
    done = subprocess.run([str(aibench), "generate", f"lms:{name}", "--opt-level", "all", "-o", str(out / name),
                           "--json", str(document)], cwd=HERE, capture_output=True, text=True)
    found = json.loads(document.read_text()) if document.exists() else {}
    row = {"family": name, "exit": done.returncode, "seconds": round(time.perf_counter() - started, 1)}
    if found.get("status") == "error" or not found.get("results"):
        return {**row, "verdict": "refused", "reason": found.get("reason") or done.stderr.strip()[-300:]}
    result = found["results"][0]
    export = result.get("export") or {}
    check = next((c for c in result.get("checks", []) if c.get("runtime") == "ort"), {})
    tokens, decode = check.get("tokens") or {}, check.get("decode") or {}
    route = export.get("exporter", "") + (f" ({export['route']})" if export.get("route") else "")
    return {**row, "route": route, "verdict": check.get("verdict") or result.get("status", ""),
            "tokens": f"{tokens['agreed']}/{tokens['total']}" if tokens else "",
            "decode_max_abs": f"{decode['max_abs']:.2e}" if decode.get("max_abs") is not None else "",
            "reason": (check.get("reason") or result.get("reason") or export.get("reason", ""))[:200]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    names = [n for n in (args.only.split(",") if args.only else FAMILIES)]
    rows = []
    for name in names:
        rows.append(run(name, out))
        print(json.dumps(rows[-1]), flush=True)
    (out / "families.json").write_text(json.dumps(rows, indent=2))
    lines = ["| family | export route | verdict | tokens | decode max abs | s | note |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['family']} | {r.get('route', '')} | {r['verdict']} | {r.get('tokens', '')} | "
              f"{r.get('decode_max_abs', '')} | {r['seconds']} | {r.get('reason', '')} |" for r in rows]
    (out / "families.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
