"""`python -m aibench_onnx.workers.precision_variant REQUEST.json OUT.json`: build the precision variants of
an exported graph (artifacts.variants.build_variant: int8 needs ONNX Runtime's quantizer) in a process of its
own, for bench and run, which time them."""

from __future__ import annotations

import sys


def build_variants(request: dict) -> dict:
    from aibench_onnx.artifacts.variants import build_variant
    from aibench_onnx.status import Status

    return {"status": Status.OK,
            "variants": {precision: build_variant(request["onnx_path"], precision, request["calibration_files"])
                         for precision in request["precisions"]}}


def main(argv: list[str]) -> int:
    from aibench_onnx.launch import worker_main

    return worker_main(argv, "aibench_onnx.workers.precision_variant", build_variants, traceback_limit=6)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
