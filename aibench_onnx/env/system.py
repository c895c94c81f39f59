"""Machine facts that change benchmark numbers: CPU, cores, memory, frequency governor, GPUs (NVML)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

# Environment variables that change thread counts or device visibility, and so timings.
RELEVANT_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "CUDA_VISIBLE_DEVICES",
    "XLA_FLAGS",
    "TF_ENABLE_ONEDNN_OPTS",
    "JAX_PLATFORMS",
    "LD_LIBRARY_PATH",
)


def _read_text(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _os_name() -> str:
    pretty = None
    release = _read_text("/etc/os-release")
    if release:
        for line in release.splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.split("=", 1)[1].strip('"')
    base = f"{platform.system()} {platform.release()}"
    return f"{pretty} ({base})" if pretty else base


def _cpu_model() -> str:
    cpuinfo = _read_text("/proc/cpuinfo")
    if cpuinfo:
        for line in cpuinfo.splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _frequency_governors() -> list[str] | None:
    """Distinct scaling governors over all CPUs; None where cpufreq is not exposed (VMs, macOS)."""
    governors = {
        text
        for path in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_governor")
        if (text := _read_text(str(path)))
    }
    return sorted(governors) or None


def system_info() -> dict:
    import psutil  # light (C extension, ~10 ms); only imported when asked

    memory = psutil.virtual_memory()
    try:
        usable_cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS / Windows
        usable_cpus = os.cpu_count()
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_executable": sys.executable,
        "os": _os_name(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "physical_cores": psutil.cpu_count(logical=False),
        "logical_cores": psutil.cpu_count(logical=True),
        "usable_cpus": usable_cpus,  # affinity / container limit: what a process may really use
        "memory_total_gib": round(memory.total / 2**30, 2),
        "memory_available_gib": round(memory.available / 2**30, 2),
        "cpu_governors": _frequency_governors(),
        "env_vars": {name: os.environ[name] for name in RELEVANT_ENV_VARS if name in os.environ},
    }


def gpu_info() -> dict:
    """GPUs through NVML. Never raises: no driver, no GPU and no pynvml are answers, not errors."""
    try:
        import pynvml
    except ImportError:
        return {"nvml": False, "reason": "nvidia-ml-py is not installed", "gpus": []}
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - pynvml raises NVMLError subclasses, or OSError
        return {"nvml": False, "reason": f"NVML unavailable: {exc}", "gpus": []}
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        cuda = pynvml.nvmlSystemGetCudaDriverVersion_v2()
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
            gpus.append(
                {
                    "index": index,
                    "name": _text(pynvml.nvmlDeviceGetName(handle)),
                    "memory_total_mib": memory.total // 2**20,
                    "memory_used_mib": memory.used // 2**20,
                    "compute_capability": f"{major}.{minor}",
                    "uuid": _text(pynvml.nvmlDeviceGetUUID(handle)),
                }
            )
        return {
            "nvml": True,
            "driver_version": driver,
            "cuda_driver_version": f"{cuda // 1000}.{cuda % 1000 // 10}",
            "gpus": gpus,
        }
    except Exception as exc:  # noqa: BLE001
        return {"nvml": False, "reason": f"NVML query failed: {exc}", "gpus": []}
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


def hardware_fingerprint() -> dict:
    """What makes two machines' timings comparable: CPU model, cores, memory, the CPU's top clock where
    sysfs shows it, GPU models, driver and each GPU's top SM clock. Two records with different fingerprints
    measured different hardware."""
    import psutil

    max_khz = _read_text("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    gpus = gpu_info()
    return {"cpu_model": _cpu_model(), "logical_cores": psutil.cpu_count(logical=True),
            "memory_gib": round(psutil.virtual_memory().total / 2**30), "cpu_max_mhz": int(max_khz) // 1000
            if max_khz and max_khz.isdigit() else None,
            "gpus": [g["name"] for g in gpus["gpus"]], "gpu_driver": gpus.get("driver_version"),
            "gpu_max_sm_mhz": _gpu_max_clocks() if gpus["gpus"] else []}


def _gpu_max_clocks() -> list[int | None]:
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return [pynvml.nvmlDeviceGetMaxClockInfo(pynvml.nvmlDeviceGetHandleByIndex(i), pynvml.NVML_CLOCK_SM)
                    for i in range(pynvml.nvmlDeviceGetCount())]
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # noqa: BLE001 - clocks are not readable everywhere (MIG, containers)
        return []


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
