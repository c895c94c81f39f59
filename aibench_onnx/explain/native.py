"""The native side of a native-vs-graph effect, where the framework allows (and the operator families that
let two runtimes' vocabularies — aten, ONNX, OpenVINO's layers — be compared): PyTorch eager's operators from
torch.profiler (self CPU time per aten operator, median call of the profiled calls), in a torch process of its
own (the worker native_profile), on exactly the call the timing measures (the adapter's prepare_timed).

The two sides speak different vocabularies (aten::addmm against Gemm), so both are grouped into operator
families (matrix products, convolution, normalization, ...) for the split. What the other frameworks give:
TensorFlow's profiler writes a trace of TF ops (no per-op table aibench reads yet); JAX compiles the whole
function into one XLA executable, whose profile names fused XLA kernels, not the model's operations; torch.compile
likewise runs Inductor's fused kernels. Those effects are stated as not explained, with this reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from aibench_onnx.measuring.loop import TimingConfig, measure
from aibench_onnx.profiles import WARMUP_RUNS, GraphProfile, NodeTime
from aibench_onnx.subjects import Subject

PROFILED_CALLS = 30
FAMILIES = {
    "matrix products": ("addmm", "mm", "bmm", "matmul", "linear", "baddbmm", "MatMul", "Gemm", "FusedMatMul",
                        "FusedGemm", "MatMulInteger", "QLinearMatMul", "DynamicQuantizeMatMul",
                        "MatMulIntegerToFloat", "Einsum", "einsum", "FullyConnected"),
    "convolution": ("convolution", "_convolution", "mkldnn_convolution", "conv2d", "conv1d", "Conv", "FusedConv",
                    "NchwcConv", "QLinearConv", "ConvInteger", "ConvTranspose", "conv_transpose2d", "Convolution",
                    "GroupConvolution"),
    "attention": ("scaled_dot_product_attention", "_scaled_dot_product_flash_attention_for_cpu",
                  "_scaled_dot_product_attention_math", "Attention", "MultiHeadAttention", "GroupQueryAttention", "ScaledDotProductAttention"),
    "normalization": ("native_layer_norm", "layer_norm", "batch_norm", "native_batch_norm", "_native_batch_norm_legit",
                      "group_norm", "LayerNormalization", "SkipLayerNormalization", "SimplifiedLayerNormalization",
                      "BatchNormalization", "InstanceNormalization", "GroupNormalization", "MVN"),
    "softmax": ("softmax", "_softmax", "log_softmax", "Softmax", "LogSoftmax", "SoftMax"),
    "recurrence": ("lstm", "gru", "rnn_tanh", "_thnn_fused_lstm_cell", "LSTM", "GRU", "RNN", "Loop", "Scan",
                   "RNNSeq", "LSTMSequence", "TensorIterator"),
    "pooling": ("max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "MaxPool", "AveragePool", "GlobalAveragePool",
                "NchwcMaxPool", "NchwcGlobalAveragePool", "Pooling"),
    "reduction": ("mean", "sum", "amax", "ReduceMean", "ReduceSum", "ReduceMax", "Reduce"),
    "elementwise": ("add", "sub", "mul", "div", "gelu", "relu", "silu", "tanh", "sigmoid", "erf", "exp", "sqrt",
                    "rsqrt", "pow", "neg", "clamp", "where", "masked_fill", "hardtanh", "Add", "Sub", "Mul", "Div",
                    "Gelu", "FastGelu", "BiasGelu", "Relu", "Tanh", "Sigmoid", "Erf", "Exp", "Sqrt", "Pow", "Neg",
                    "Clip", "Where", "Max", "Min", "HardSigmoid", "HardSwish", "LeakyRelu", "QuickGelu", "Eltwise",
                    "Subgraph", "MulAdd", "PowerStatic", "Multiply", "Select", "Equal"),
    "data movement": ("view", "reshape", "transpose", "permute", "contiguous", "copy_", "clone", "expand", "cat",
                      "slice", "select", "unsqueeze", "squeeze", "flatten", "embedding", "index_select", "to",
                      "_to_copy", "split", "chunk", "stack", "Reshape", "Transpose", "Concat", "Slice", "Gather",
                      "Expand", "Squeeze", "Unsqueeze", "Identity", "Cast", "Split", "Flatten", "ReorderInput",
                      "ReorderOutput", "MemcpyToHost", "MemcpyFromHost", "Tile", "Pad", "Reorder", "Concatenation",
                      "Convert", "ShapeOf", "Broadcast", "StridedSlice", "VariadicSplit"),
}
_FAMILY_OF = {name: family for family, names in FAMILIES.items() for name in names}


def family(op: str) -> str:
    """The operator family of an aten operator (`aten::addmm`) or an ONNX operator (`Gemm`)."""
    return _FAMILY_OF.get(op.removeprefix("aten::").removeprefix("mkldnn::"), "other")


@dataclass(frozen=True)
class NativeProfileRequest:
    """The worker native_profile: one model's PyTorch eager call at `batch`, on `threads` threads (set before
    torch is imported: workers/__main__ reads them first)."""

    subject: Subject
    batch: int
    threads: int

    def to_dict(self) -> dict:
        return {"subject": self.subject.to_dict(), "batch": self.batch, "threads": self.threads}

    @classmethod
    def from_dict(cls, data: dict) -> NativeProfileRequest:
        return cls(Subject.from_dict(data["subject"]), int(data["batch"]), int(data["threads"]))


def profile_torch(document: dict) -> dict:
    """The worker's job (a NativeProfileRequest): the timed call's latency unprofiled, then each aten
    operator's self CPU time per call under torch.profiler."""
    from aibench_onnx.frameworks import adapter
    from aibench_onnx.frameworks.torch_profile import profile_operators

    request = NativeProfileRequest.from_dict(document)
    fw = adapter("torch")
    fw.configure_threads(request.threads)
    subject = request.subject
    arrays = subject.arrays(request.batch)
    prepared = fw.prepare_timed("torch-eager", subject.build("torch"), list(arrays.values()), "cpu")
    # the unprofiled latency with the one loop (sync after every call), as its timing process measures it
    latency = measure(prepared.run, prepared.sync, TimingConfig(min_time_s=0.5, max_time_s=2.0, min_samples=30,
                                                                warmup_calls=WARMUP_RUNS))
    operators, profiled_s = profile_operators(prepared.run, PROFILED_CALLS)
    nodes = [NodeTime(op, op, "torch", self_us) for op, self_us in operators]
    profile = GraphProfile(f"torch-eager:{subject.name}", "cpu", "eager",
                           request.threads, PROFILED_CALLS, latency.median * 1e6,
                           profiled_s / PROFILED_CALLS * 1e6, nodes)
    return {"status": "ok", "profile": profile.to_dict()}
