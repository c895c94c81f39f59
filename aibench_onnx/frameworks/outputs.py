"""Stable names for whatever a model returns, the same for every framework: a tensor is `output_0`; the items
of a tuple or list are `output_<i>` (nested: `<parent>.<i>`); a mapping's entries — a Hugging Face
`ModelOutput` is one — are named by their keys (nested: `<parent>.<key>`); `None` entries are dropped. The
order is the one torch.export, tf.function and jax flatten outputs in, so the names line up with the
exported graph's outputs."""

from __future__ import annotations

from typing import Any, Callable


def flatten_outputs(value: Any, is_leaf: Callable[[Any], bool]) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def visit(node: Any, name: str | None) -> None:
        if node is None:
            return
        if is_leaf(node):
            found[name or "output_0"] = node
        elif hasattr(node, "items") and callable(node.items):
            for key, item in node.items():
                visit(item, f"{name}.{key}" if name else str(key))
        elif isinstance(node, (tuple, list)):
            for index, item in enumerate(node):
                visit(item, f"{name}.{index}" if name else f"output_{index}")
        else:
            cache = "Cache" in type(node).__name__  # transformers' DynamicCache and friends: a decoder's cache
            advice = ("; a key/value cache: pass --call-arg use_cache=false for one forward pass, or check it "
                      "over a generation with `aibench generate`") if cache else ""
            raise TypeError(f"the model returned a {type(node).__name__}{f' at {name}' if name else ''}; accepted: "
                            f"tensors, tuples, lists, dicts, ModelOutput, nested in any way{advice}")

    visit(value, None)
    if not found:
        raise TypeError("the model returned no tensor")
    return found
