#!/usr/bin/env bash
# The GPU checks of issues 2, 4, 5, 11, 13, 19, 20, 22 and 30, for a machine with an NVIDIA GPU and no package registry
# (the device machine): `bash benchmarks/gpu_check.sh STEP...` with steps setup env parity tf32 bench aa precision
# exporters explain decoder repair tests.
# `setup` installs onnxruntime-gpu (when the machine's onnxruntime has no CUDA provider) from a zstd tar of
# its wheel's files split into /tmp/parts/part00..part03, jax2onnx from /tmp/parts, and this project
# (editable, no deps). The device tool carries 64 MiB per call and drops what the next call does not name,
# so each part travels in its own call (.gpu/a .. .gpu/d, ignored by git) and is copied to /tmp/parts there:
#   here:  tar -cf - onnxruntime onnxruntime_gpu-*.dist-info | zstd -19 --long=27 > ortgpu.tar.zst  (from the
#          unzipped wheel), then split -n 4 -d ortgpu.tar.zst part
#   there: mkdir -p /tmp/parts && cp .gpu/a/* /tmp/parts/   (and b, c, d; the wheels with a)
# Every step writes into $OUT (default /tmp/gpu-out) and has its own time limit, so one slow step cannot
# take the others' results with it.
set -u
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
PATH="$(dirname "$(python3 -c "import sys; print(sys.executable)")"):$PATH"
say() { echo "== $(date +%T) $*"; }
cuda_listed() { python3 -c 'import onnxruntime as o, sys; sys.exit("CUDAExecutionProvider" not in o.get_available_providers())' 2>/dev/null; }

setup() {
  site=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  if ! cuda_listed; then
    say "installing onnxruntime-gpu from the carried parts into $site"
    python3 -m pip uninstall -y -q onnxruntime onnxruntime-gpu
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/tools /tmp/parts/zstandard-*.whl
    if command -v zstd >/dev/null; then
      cat /tmp/parts/part0? | zstd -d --long=27 -c | tar -x -C "$site"
    else
      cat /tmp/parts/part0? | PYTHONPATH=/tmp/tools python3 -c 'import sys, zstandard
zstandard.ZstdDecompressor(max_window_size=2**31).copy_stream(sys.stdin.buffer, sys.stdout.buffer)' | tar -x -C "$site"
    fi
  fi
  python3 -m pip install -q --no-index --no-deps /tmp/parts/jax2onnx-*.whl
  python3 -m pip install -q --no-index --no-deps --no-build-isolation -e .
  python3 -c 'import onnxruntime as o; print("onnxruntime", o.__version__, o.get_available_providers())'
}

step_env() {
  nvidia-smi -L
  timeout 120 aibench env --frameworks | tee "$OUT/env.txt"
  timeout 60 aibench env --json "$OUT/env.json" >/dev/null
}

step_parity() {
  timeout 300 aibench parity cnn transformer -f torch,jax --ep cuda,tensorrt --opt-level disabled,all \
    --seeds 2 -o /tmp/parity --json "$OUT/parity.json" 2>&1 | tee "$OUT/parity.txt"
}

step_tf32() {
  timeout 120 python3 benchmarks/gpu_tf32.py "${PARITY_JSON:-$OUT/parity.json}" 2>&1 | tee "$OUT/tf32.md"
}

step_bench() {
  for model in cnn transformer; do
    timeout 500 aibench bench "$model" -f torch,jax --runtime torch-eager,torch-compile,jax-jit,ort \
      --device cuda --ep cuda --opt-level disabled,all --io-binding both --cuda-graph both --batch 1,8 \
      --repeats 2 --min-time 0.2 --timeout 150 -o /tmp/bench --json "$OUT/bench_$model.json" 2>&1 \
      | tee "$OUT/bench_$model.txt"
  done
}

# A/A on CUDA (issue 11): false positives and the minimum detectable effect of ORT CUDA with IO binding and of
# torch eager / compile, each in 8 processes.
step_aa() {
  for model in cnn transformer; do
    for runtime in ort torch-eager torch-compile; do
      timeout 300 aibench noise "$model" -f torch --runtime "$runtime" --ep cuda --device cuda --batch 8 \
        --processes 8 --repeats 3 --min-time 0.2 --json "$OUT/noise_${model}_$runtime.json" 2>&1 \
        | tee "$OUT/noise_${model}_$runtime.txt"
    done
  done
}

# Reduced precision on the GPU (issue 13): fp16 / bf16 / int8 of cnn, transformer and mobilenet on the CUDA and
# TensorRT providers, judged and timed (bf16 runs only where the provider has kernels: CUDA does).
step_precision() {
  timeout 400 aibench parity cnn transformer mobilenet -f torch --size small --ep cuda,tensorrt --opt-level all \
    --seeds 2 --precision fp32,fp16,bf16,int8-dynamic,int8-static -o /tmp/prec --json "$OUT/precision_parity.json" 2>&1 \
    | tee "$OUT/precision_parity.txt"
  timeout 500 aibench bench cnn transformer mobilenet -f torch --size small --runtime ort --ep cuda --opt-level all \
    --precision fp32,fp16,bf16,int8-dynamic --batch 1,8 --repeats 2 --min-time 0.2 --timeout 150 \
    -o /tmp/prec-bench --json "$OUT/precision_bench.json" 2>&1 | tee "$OUT/precision_bench.txt"
}

# Two torch exporters on the GPU (issue 19): the TorchScript graph beside the dynamo graph on CUDA and TensorRT,
# checked and timed, with the exporter effect per provider.
step_exporters() {
  timeout 300 aibench parity cnn transformer lstm -f torch --exporter torch-dynamo,torch-script --size small \
    --ep cuda,tensorrt --opt-level all --seeds 2 -o /tmp/exp --json "$OUT/exporters_parity.json" 2>&1 \
    | tee "$OUT/exporters_parity.txt"
  timeout 400 aibench bench cnn transformer lstm -f torch --exporter torch-dynamo,torch-script --size small \
    --runtime ort --ep cuda --opt-level all --batch 1,8 --repeats 3 --min-time 0.2 --timeout 150 \
    -o /tmp/exp-bench --json "$OUT/exporters_bench.json" 2>&1 | tee "$OUT/exporters_bench.txt"
}

# Where the time goes on the GPU (issue 20): the exporter effects on the CUDA provider explained — per-node
# kernel times from ONNX Runtime's profiler (CUDA kernels as node events where the installed build reports
# them; say so when it does not), the attribution, and the fusion ledgers of the CUDA graphs.
step_explain() {
  timeout 400 aibench bench lstm layernorm attention -f torch,tf,jax --size small --runtime ort --ep cuda \
    --opt-level disabled,all --batch 1 --repeats 3 --min-time 0.2 --timeout 150 -o /tmp/explain-bench \
    --json "$OUT/explain_bench.json" 2>&1 | tail -40 | tee "$OUT/explain_bench.txt"
  timeout 300 aibench explain "$OUT/explain_bench.json" --json "$OUT/explain.json" 2>&1 | tee "$OUT/explain.txt"
}

# Decoders on CUDA (issue 22): generation parity of the zoo decoder's three exports on ORT CPU and CUDA (greedy, 32
# new tokens), then TTFT / TPOT by phase with the cache bound on the GPU (IO binding), native eager and jit beside.
step_decoder() {
  timeout 300 aibench generate decoder --ep cpu,cuda --opt-level all -o /tmp/generate --json "$OUT/generate.json" \
    --format markdown 2>&1 | tee "$OUT/generate.md"
  timeout 500 aibench bench decoder -f torch,jax --runtime torch-eager,jax-jit,ort --device cuda --ep cuda \
    --opt-level all --prompt 16,128 --new-tokens 32 --batch 1,4 --repeats 2 --min-time 0.2 \
    --timeout 150 -o /tmp/bench-decoder --json "$OUT/bench_decoder.json" 2>&1 | tee "$OUT/bench_decoder.txt"
}

# Precision repair and the per-node picture on the GPU (issue 30): a graph whose fp16 variant overflows in one
# MatMul on the CUDA provider (ORT's CPU provider computes those fp16 kernels in fp32 and never overflows), repaired
# by `check --repair`, compared with onnxconverter-common's auto_convert_mixed_precision (which validates on the
# CPU provider), and fp32 / fp16 / repaired timed as files (processes, CIs).
step_repair() {
  timeout 300 python3 benchmarks/fp16_overflow.py /tmp/repair --compare-auto 2>&1 | tee "$OUT/repair_auto.txt"
  timeout 400 aibench check /tmp/repair/fp16_overflow.onnx --precision fp32,fp16 --ep cuda --opt-level all --repair \
    --node-data "$OUT/node_data" -o /tmp/repair/out --json "$OUT/repair.json" 2>&1 | tee "$OUT/repair.txt"
  timeout 400 aibench bench /tmp/repair/fp16_overflow.onnx /tmp/repair/out/variants/model.fp16.onnx \
    /tmp/repair/out/variants/model.fp16-repaired.onnx --input "x:float32[8,64]" --ep cuda --opt-level all \
    --repeats 3 --min-time 0.2 -o /tmp/repair/bench --json "$OUT/repair_bench.json" 2>&1 | tee "$OUT/repair_bench.txt"
}

step_tests() {
  timeout 120 python3 -m pytest -q -p no:cacheprovider tests/test_ort_cuda_libs.py tests/test_cli_env.py \
    "tests/test_bench.py::test_unavailable_provider_is_recorded_and_exits_3" 2>&1 | tee "$OUT/tests.txt"
}

for step in "$@"; do
  say "$step"
  case "$step" in
    setup) setup ;;
    *) "step_$step" ;;
  esac
done
say done
