"""Energy per inference where the machine exposes a counter: NVML on NVIDIA GPUs, RAPL on CPUs.
Otherwise the record says "unavailable" and why — never a made-up number."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

RAPL_COUNTER = Path("/sys/class/powercap/intel-rapl:0/energy_uj")


class EnergyMeter:
    def __init__(self, device: str) -> None:
        self.device = device
        self.source, self.reason, self._handle = None, "", None
        if device == "cuda":
            try:
                import pynvml

                pynvml.nvmlInit()
                self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
                pynvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
                self.source = "nvml"
            except Exception as exc:  # noqa: BLE001
                self.reason = f"NVML energy counter unavailable: {exc}"
        elif RAPL_COUNTER.exists():
            try:
                int(RAPL_COUNTER.read_text())
                self.source = "rapl"
            except (OSError, ValueError) as exc:
                self.reason = f"RAPL counter not readable: {exc}"
        else:
            self.reason = f"no RAPL counter ({RAPL_COUNTER} does not exist: virtual machine or non-Intel/AMD RAPL)"

    def _read_joules(self) -> float:
        if self.source == "nvml":
            import pynvml

            return pynvml.nvmlDeviceGetTotalEnergyConsumption(self._handle) / 1000.0  # mJ
        return int(RAPL_COUNTER.read_text()) / 1e6  # µJ

    def start(self) -> float | None:
        return self._read_joules() if self.source else None

    def stop(self, start: float | None, calls: int) -> dict:
        if self.source is None or start is None:
            return {"available": False, "reason": self.reason}
        joules = self._read_joules() - start
        return {"available": True, "source": self.source, "joules_total": joules, "calls": calls,
                "joules_per_inference": joules / calls if calls else None,
                "note": "whole package / board energy while measuring, idle power included"}

    def peak_device_memory(self, allocator_peak: Callable[[], dict] | None = None) -> dict:
        """The framework allocator's own peak when it has one (`allocator_peak`, from its adapter), else what
        NVML says this process holds at the end."""
        if self.device != "cuda":
            return {"available": False, "reason": "CPU run: no device memory"}
        if allocator_peak is not None:
            return allocator_peak()
        try:
            import os

            import pynvml

            for proc in pynvml.nvmlDeviceGetComputeRunningProcesses(self._handle):
                if proc.pid == os.getpid():
                    return {"available": True, "bytes": int(proc.usedGpuMemory), "source": "NVML (at the end)"}
            return {"available": False, "reason": "process not listed by NVML"}
        except Exception as exc:  # noqa: BLE001
            return {"available": False, "reason": f"NVML: {exc}"}


class EnergyTally:
    """Energy over an interleaved measurement: summed over its own slots only (the other processes' slots
    between them are theirs)."""

    def __init__(self) -> None:
        self.joules, self.calls, self.source = 0.0, 0, None

    def add(self, reading: dict) -> None:
        if reading.get("available"):
            self.joules += reading["joules_total"]
            self.calls += reading["calls"]
            self.source = reading["source"]

    def to_dict(self, reason: str) -> dict:
        if self.source is None:
            return {"available": False, "reason": reason}
        return {"available": True, "source": self.source, "joules_total": self.joules, "calls": self.calls,
                "joules_per_inference": self.joules / self.calls if self.calls else None,
                "note": "whole package / board energy over its slots, idle power included"}
