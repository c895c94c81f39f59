"""`aibench env`: what this machine can really run, gathered without importing any ML framework.

Versions come from package metadata; ONNX Runtime providers are probed in a subprocess; the frameworks
themselves are imported only with `--frameworks`, each in its own subprocess.
"""

from __future__ import annotations

import datetime as _dt
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

from aibench_onnx import __version__
from aibench_onnx.env.system import gpu_info, system_info
from aibench_onnx.frameworks import FRAMEWORKS, FrameworkProbeRequest
from aibench_onnx.launch import run_worker
from aibench_onnx.ort.install import inspect_ort_install

ENV_SCHEMA_VERSION = 1

# Shown name -> distributions that provide it, first installed one wins.
PACKAGES: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy",),
    "onnx": ("onnx",),
    "onnxscript": ("onnxscript",),
    "torch": ("torch",),
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tf-nightly", "tensorflow-macos"),
    "keras": ("keras",),
    "tf2onnx": ("tf2onnx",),
    "jax": ("jax",),
    "jaxlib": ("jaxlib",),
    "jax-cuda-plugin": ("jax-cuda13-plugin", "jax-cuda12-plugin"),
    "flax": ("flax",),
    "jax2onnx": ("jax2onnx",),
    "openvino": ("openvino",),
    "typer": ("typer",),
    "rich": ("rich",),
}
PROBE_TIMEOUT_S = 180.0


def package_versions() -> dict[str, dict | None]:
    """name -> {"distribution", "version"}, or None when not installed."""
    versions: dict[str, dict | None] = {}
    for shown, candidates in PACKAGES.items():
        versions[shown] = None
        for dist in candidates:
            try:
                versions[shown] = {"distribution": dist, "version": metadata.version(dist)}
                break
            except metadata.PackageNotFoundError:
                continue
    return versions


def onnxruntime_info() -> dict:
    """Distribution forensics (metadata + hashes) plus the provider probe (subprocess)."""
    install = inspect_ort_install().to_dict()
    outcome = run_worker("ort_probe", {}, PROBE_TIMEOUT_S)
    probe = outcome.document if outcome.ok else {"probe_failed": outcome.reason}  # the env schema's name
    warnings = list(install.pop("warnings"))
    if probe.get("probe_failed"):
        warnings.append(f"ONNX Runtime probe failed: {probe['probe_failed']}")
    elif not probe.get("import_ok"):
        reason = probe.get("import_error") or probe.get("probe_error", "unknown")
        warnings.append(f"onnxruntime is broken: import failed: {reason}")
    elif probe.get("probe_error"):
        warnings.append(probe["probe_error"])
    return {"install": install, "probe": probe, "warnings": warnings}


def framework_devices() -> dict[str, dict]:
    """Import each framework in its own subprocess, in parallel, and report the devices it sees. Keyed by
    the package name users know (torch, tensorflow, jax)."""
    installed = package_versions()
    wanted = [fw for fw in FRAMEWORKS.values() if installed.get(fw.package)]
    results = {fw.package: {"ok": False, "error": "not installed"} for fw in FRAMEWORKS.values() if fw not in wanted}
    with ThreadPoolExecutor(max_workers=len(wanted) or 1) as pool:
        futures = {fw.package: pool.submit(run_worker, "framework_probe", FrameworkProbeRequest(fw.name),
                                           PROBE_TIMEOUT_S)
                   for fw in wanted}
        for package, future in futures.items():
            outcome = future.result()
            results[package] = outcome.document if outcome.ok else {"ok": False, "error": outcome.reason}
    return {fw.package: results[fw.package] for fw in FRAMEWORKS.values()}


def collect_environment(with_frameworks: bool = False) -> dict:
    """The whole environment document that `aibench env --json` writes and every run embeds."""
    ort = onnxruntime_info()
    document = {
        "schema_version": ENV_SCHEMA_VERSION,
        "aibench_onnx": __version__,
        "collected_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "system": system_info(),
        "gpu": gpu_info(),
        "packages": package_versions(),
        "onnxruntime": ort,
        "frameworks": framework_devices() if with_frameworks else None,
        "warnings": list(ort["warnings"]),
    }
    return document
