"""Small, explicit edits of ONNX graphs (renaming graph inputs and outputs)."""

from __future__ import annotations


def rename_graph_io(model, input_names: list[str], output_names: list[str]) -> None:
    """Rename graph inputs/outputs, in order, everywhere they are referenced."""
    graph = model.graph
    initializers = {init.name for init in graph.initializer}
    real_inputs = [value for value in graph.input if value.name not in initializers]
    mapping = {}
    for value, new in zip(real_inputs, input_names):
        mapping[value.name] = new
    for value, new in zip(graph.output, output_names):
        mapping[value.name] = new
    if len(real_inputs) != len(input_names) or len(graph.output) != len(output_names):
        raise ValueError(f"graph has {len(real_inputs)} inputs / {len(graph.output)} outputs, "
                         f"expected {len(input_names)} / {len(output_names)}")
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        value.name = mapping.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]


def name_dynamic_axes(model, axes: dict[str, dict[int, str]]) -> None:
    """Give the graph inputs' dynamic axes the names the user declared (an exporter writes s0, unk__12, ...),
    and rename the same symbol wherever else it appears (outputs, value_info)."""
    renamed: dict[str, str] = {}
    for value in model.graph.input:
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            wanted = axes.get(value.name, {}).get(axis)
            if wanted and dim.dim_param and dim.dim_param != wanted:
                renamed.setdefault(dim.dim_param, wanted)
    for value in list(model.graph.input) + list(model.graph.output) + list(model.graph.value_info):
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param in renamed:
                dim.dim_param = renamed[dim.dim_param]


def fixed_axes(model, axes: dict[str, dict[int, str]]) -> list[str]:
    """Declared-dynamic axes that came out as fixed sizes in the graph: the exporter specialised them, and
    the graph will refuse every other size (a silent specialisation: pytorch #152018, #151582)."""
    fixed = []
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        for axis, name in sorted(axes.get(value.name, {}).items()):
            if axis < len(dims) and dims[axis].HasField("dim_value"):
                fixed.append(f"{value.name}[{axis}] ({name}) fixed to {dims[axis].dim_value}")
    return fixed


def inline_local_functions(model):
    """The model with its local functions inlined (jax2onnx exports each Flax module as one), or as it was
    when there are none. The fp16 converter and ONNX Runtime's quantizer see only the main graph: inside a
    function they convert and quantize nothing, and declare a function call's outputs in a type the call
    does not produce. jax2onnx declares its function domains as version 1 in the model and 18 inside the
    functions; the inliner refuses such a mismatch, so the functions take the model's versions first (a
    local function's domain version has no meaning of its own)."""
    if not model.functions:
        return model
    import onnx.inliner

    declared = {o.domain: o.version for o in model.opset_import if o.domain}
    for function in model.functions:
        for opset in function.opset_import:
            if opset.domain in declared:
                opset.version = declared[opset.domain]
    return onnx.inliner.inline_local_functions(model)


def constants_to_initializers(model) -> int:
    """Constant nodes of the main graph (their `value` tensor) become initializers of the same name: ONNX
    Runtime's quantizer quantizes weights only when they are initializers, and jax2onnx emits its weights as
    Constant nodes (inside functions; inline_local_functions brings them to the main graph). Returns how
    many."""
    moved = []
    for node in model.graph.node:
        value = next((a.t for a in node.attribute if a.name == "value"), None) if node.op_type == "Constant" else None
        if value is not None and len(node.attribute) == 1:
            tensor = model.graph.initializer.add()
            tensor.CopyFrom(value)
            tensor.name = node.output[0]
            moved.append(node)
    for node in moved:
        model.graph.node.remove(node)
    return len(moved)


def symbolic_unknown_dims(model) -> list[str]:
    """Graph inputs' and outputs' dims declared as 0 or -1 (an old exporter's "unknown") made symbolic, in place;
    returns them as INPUT[AXIS]. ONNX Runtime reads a declared 0 as a static size 0 and refuses every other
    size ("Got: 20 Expected: 0"), so such a file runs only after this edit."""
    changed = []
    for value in list(model.graph.input) + list(model.graph.output):
        if not value.type.HasField("tensor_type") or not value.type.tensor_type.HasField("shape"):
            continue
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value <= 0:
                declared = dim.dim_value
                dim.dim_param = f"{value.name}[{axis}]"  # clears dim_value (a oneof)
                changed.append(f"{value.name}[{axis}] (declared {declared})")
    return changed
