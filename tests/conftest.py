"""Test markers and the rule that decides when a missing framework skips a test and when it fails it.

Locally, a test marked `torch`, `tf` or `jax` is skipped when that framework is not installed. With
AIBENCH_REQUIRE_FRAMEWORKS=1 (set by .ci/run) a missing framework is an error instead: CI installs
everything, so a skip there would hide a broken install. Only `gpu` tests may skip in CI.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

REQUIRE_ENV_VAR = "AIBENCH_REQUIRE_FRAMEWORKS"

# pytest-xdist's workers start with COLUMNS=80 and LINES=24 in their environment, where a plain pytest run has
# neither: the CLI would wrap its tables at 80 columns instead of the 160 it gives a pipe or a CI log, and the tests
# read its output as a user's log would. Every worker runs as the plain run does.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)

# marker -> import names that must be importable, and the extra that installs them
FRAMEWORK_MARKERS: dict[str, tuple[tuple[str, ...], str]] = {
    "torch": (("torch", "onnxscript"), "torch"),
    "tf": (("tensorflow", "tf2onnx"), "tf"),
    "jax": (("jax", "flax", "jax2onnx"), "jax"),
    "ray": (("ray",), "ray"),
    "openvino": (("openvino",), "openvino"),
}


def frameworks_required() -> bool:
    return os.environ.get(REQUIRE_ENV_VAR, "").lower() in {"1", "true", "yes"}


def missing_modules(modules: tuple[str, ...]) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


def cuda_provider_loads() -> bool:
    from aibench_onnx.launch import run_worker

    probe = run_worker("ort_probe", {}, 120).document
    return any(p["provider"] == "CUDAExecutionProvider" and p["loads"] for p in probe.get("providers", []))


_cuda_state: dict[str, bool] = {}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, (modules, extra) in FRAMEWORK_MARKERS.items():
        if item.get_closest_marker(marker) is None:
            continue
        missing = missing_modules(modules)
        if not missing:
            continue
        message = f"needs {', '.join(missing)}: pip install -e '.[{extra}]'"
        if frameworks_required():
            pytest.fail(f"{REQUIRE_ENV_VAR} is set but {message}", pytrace=False)
        pytest.skip(message)
    if item.get_closest_marker("gpu") is not None:
        if "cuda" not in _cuda_state:
            _cuda_state["cuda"] = cuda_provider_loads()
        if not _cuda_state["cuda"]:
            pytest.skip("no CUDA execution provider loads on this machine")


# The longest test files, longest first (seconds on the 2-core CI, from --durations): pytest-xdist's loadfile
# mode hands files out in collection order as its workers free up, so a long file collected late (the
# alphabet put test_user_models_comparator there) runs alone at the end while the other workers idle. Handed
# out longest first, the workers finish together. A file not listed keeps its place after these. xdist
# reorders files by their number of tests unless told not to (pytest_configure below): a file of three long
# tests would then go out last.
LONGEST_FIRST = ("test_bench.py",  # 195 s (stop 40, this machine, 3 workers)
                 "test_onnx_parity_zoo.py",  # 194
                 "test_user_models_comparator.py",  # 167
                 "test_generation.py",  # 143
                 "test_generation_hf.py",  # 143 (Hugging Face decoders; the zoo decoder's half is above)
                 "test_run_jobs.py",  # 143 (a killed run resumed; a crash and a hang recorded)
                 "test_saved_models.py",  # 125
                 "test_precision.py",  # 124
                 "test_ray_executor.py",  # 105
                 "test_openvino.py",  # 97
                 "test_explain.py",  # 76
                 "test_precision_users.py",  # 68
                 "test_user_models.py",  # 62
                 "test_processes.py",  # 57
                 "test_repro.py",  # 53
                 "test_file_inputs.py")  # 48


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist: keep LONGEST_FIRST's order
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's own order kept
